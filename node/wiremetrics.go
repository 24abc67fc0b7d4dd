package node

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
)

// registerWireMetrics exports what crosses between nodes as Prometheus counters, so that a
// benchmark or an operator can read per-node traffic from /metrics without asking the cluster
// (GET /cluster/status itself sends Calls to every member): the forwarder's Calls and their bytes,
// and the number of replication requests (their bytes are registerReplicationMetrics'). Bytes are
// protobuf payloads, without gRPC and TLS framing. fwd and r may be nil (a node alone).
func registerWireMetrics(reg prometheus.Registerer, fwd *awcluster.Forwarder, r *replication.Replicator) {
	counter := func(name, help string, v interface{ Load() int64 }) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "actorweave", Name: name, Help: help},
			func() float64 { return float64(v.Load()) }))
	}
	if fwd != nil {
		s := fwd.Stats()
		counter("cluster_forward_calls_sent_total", "Calls this node forwarded to other members", &s.CallsOut)
		counter("cluster_forward_calls_received_total", "Calls other members forwarded to this node", &s.CallsIn)
		counter("cluster_forward_call_bytes_sent_total", "protobuf bytes of the Calls this node sent", &s.BytesOut)
		counter("cluster_forward_reply_bytes_received_total", "protobuf bytes of the Replies to this node's Calls", &s.ReplyIn)
		counter("cluster_forward_call_bytes_received_total", "protobuf bytes of the Calls this node received", &s.BytesIn)
		counter("cluster_forward_reply_bytes_sent_total", "protobuf bytes of the Replies this node sent", &s.ReplyBytesOut)
	}
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "actorweave", Name: "signature_verifications_total",
		Help: "Data item signatures this node verified (ans104.Verify: items from clients, items forwarded without a member's proof, items fetched or recovered)"},
		func() float64 { return float64(ans104.Verifications()) }))
	if r != nil {
		counter("replication_requests_total", "requests this node sent to peers for replication and hand-over", &r.Stats().Requests)
	}
}

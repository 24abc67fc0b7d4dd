package node

import (
	"fmt"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
)

// startQuorum sets up the split-brain guard of a cluster member, whatever its replication factor:
// the known members (kept in <data>/cluster-members.json, which is also what tells a restarted
// node that it was part of a cluster), freshness by the heartbeat lease, every view recorded as it
// comes, and the guard every request and append asks first (actors.Deps.Quorum).
func (n *Node) startQuorum() error {
	if n.provider == nil {
		return nil
	}
	q, err := awcluster.OpenQuorum(filepath.Join(n.cfg.DataDir, "cluster-members.json"))
	if err != nil {
		return err
	}
	q.SetFresh(n.provider.Name(), n.provider.Fresh)
	if err := q.Observe(n.host.Members().View()); err != nil {
		return err
	}
	n.quorum = q
	n.host.SetQuorum(q.Lease)
	// Every view's members recorded as it comes (cluster.Quorum.Follow).
	n.stopQuorum = q.Follow(n.host.Members(), n.provider.Lease()/2, n.log)
	return nil
}

// startReplication makes the node replicate every append to each process's backups when it has a
// placement (cluster membership, or Config.Placement) and a replication factor of 2 or more (2 is
// the default in a cluster; a single node has no backup).
func (n *Node) startReplication(reg prometheus.Registerer) error {
	rc := n.cfg.Replication
	if err := replication.CheckFactor(rc.Factor); err != nil {
		return err
	}
	if rc.Factor == 0 {
		// The default, as replication.Config reads a zero Factor: DefaultFactor in a cluster with
		// Auto (a member that was never part of one runs alone until one joins), which Clustered
		// answers from the store (an explicit member list: always a cluster).
		rc.Factor, rc.Auto = replication.DefaultFactor, true
		if n.quorum != nil {
			rc.Clustered = n.quorum.Clustered
		}
	}
	n.factor = rc.Factor
	place := n.cfg.Placement
	if place == nil && n.provider != nil {
		// The live view's placement, the router's order cut to the factor.
		place = n.placementOf(nil)
	}
	if place == nil {
		return nil // single node: factor 1
	}
	if rc.Factor == 1 {
		return nil
	}
	if n.quorum != nil && rc.Quorum == nil {
		q := n.quorum
		rc.Quorum = func() error { return q.Check(n.host.Members().View()) }
	}
	if rc.NodeName == nil {
		rc.NodeName = n.memberName
	}
	r, err := replication.New(n.host.System(), n.store, place, rc)
	if err != nil {
		return fmt.Errorf("replication: %w", err)
	}
	n.repl = r
	n.host.SetReplication(r)
	r.SetActive(func(pid persistence.ID) bool { return n.host.Activated(ans104.ID(pid)) })
	registerReplicationMetrics(reg, r)
	if reg != nil && n.provider != nil {
		members := n.host.Members()
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "cluster_view_members",
			Help: "members in this node's current view (a leaving member drops out at once; a dead one after failure detection)"},
			func() float64 { return float64(len(members.View().Members)) }))
		pr := n.provider
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "actorweave", Name: "cluster_suspicions_total",
			Help: "members this node took out of its view because it did not hear them within --failure-timeout (their processes moved to their backups)"},
			func() float64 { return float64(pr.FailureStats().Suspected) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "actorweave", Name: "cluster_false_suspicions_total",
			Help: "members taken out for silence that were heard again under the same id: alive, wrongly taken for dead"},
			func() float64 { return float64(pr.FailureStats().FalseSuspicions) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "cluster_silent_members",
			Help: "members out of this node's view now because they were not heard within --failure-timeout"},
			func() float64 { return float64(pr.FailureStats().Silent) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "cluster_capacity",
			Help: "this node's placement weight (changed at run time by SIGHUP, 0 while draining)"},
			func() float64 { return float64(n.provider.Capacity()) }))
	}
	if n.provider != nil {
		// A member its peers may have taken for dead (a pause, a cut that healed before
		// memberlist removed anyone) proves each process current again before serving it.
		n.provider.OnStale(func() {
			r.ForgetAll()
			n.log.Warn("this member may have been taken for dead by its peers: every process syncs with its backup again before it is served")
		})
	}
	if n.provider != nil && n.cfg.Placement == nil {
		n.rebalanceStop = make(chan struct{})
		n.rebalanceDone = make(chan struct{})
		go func() {
			defer close(n.rebalanceDone)
			r.Follow(n.host.Members(), n.placementOf, n.log, n.rebalanceStop)
		}()
	}
	return nil
}

// placementOf is the replication placement under view v (nil: the live view): each process's
// replica set, the router's order cut to the replication factor (actors.Host.ReplicaSet).
func (n *Node) placementOf(v *awcluster.View) replication.Placement {
	factor := max(n.factor, 1)
	return func(pid persistence.ID) replication.Replicas {
		return replication.Replicas(n.host.ReplicaSet(ans104.ID(pid), v, factor))
	}
}

func registerReplicationMetrics(reg prometheus.Registerer, r *replication.Replicator) {
	if reg == nil {
		return
	}
	s := r.Stats()
	for _, c := range []struct {
		name, help string
		v          interface{ Load() int64 }
	}{
		{"replication_bytes_sent_total", "protobuf bytes this node sent to peers for replication and hand-over", &s.BytesSent},
		{"replication_bytes_received_total", "protobuf bytes of replies this node received", &s.BytesReceived},
		{"replication_entries_acknowledged_total", "log entries a backup acknowledged in the write path", &s.Replicated},
		{"replication_entries_caught_up_total", "log entries pushed to a lagging or new backup", &s.CaughtUp},
		{"replication_entries_pulled_total", "log entries pulled from another node on a hand-over", &s.Pulled},
		{"replication_replica_entries_total", "log entries this node appended as a backup", &s.ReplicaEntries},
		{"replication_taken_over_total", "processes handed over to this node", &s.TakenOver},
		{"replication_handed_off_total", "processes this node handed to a new owner", &s.HandedOff},
		{"replication_truncated_total", "diverged unacknowledged tails dropped", &s.Truncated},
		{"replication_rebalances_total", "membership changes rebalanced", &s.Rebalances},
		{"replication_checkpoints_received_total", "checkpoints received in hand-overs, SHA-256 checked and stored", &s.Checkpoints},
		{"replication_results_received_total", "stored results received with them: evaluations this node skipped", &s.ResultsReceived},
		{"replication_compute_failed_total", "hand-overs whose checkpoint did not arrive (the new owner evaluates the whole log)", &s.ComputeFailed},
		{"replication_handover_bytes_total", "bytes of hand-overs and backup seeding (requests and replies) this node initiated", &s.HandoverBytes},
	} {
		v := c.v
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "actorweave", Name: c.name, Help: c.help},
			func() float64 { return float64(v.Load()) }))
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "actorweave", Name: "replication_last_rebalance_seconds",
		Help: "wall time of the last rebalance"}, func() float64 { return float64(s.RebalanceNanos.Load()) / 1e9 }))
}

// RemoteAddress is the node's Proto.Actor remote address (what placement names owners and backups by).
func (n *Node) RemoteAddress() string { return n.host.System().Address() }

// Replication is the node's replicator (nil without a backup).
func (n *Node) Replication() *replication.Replicator { return n.repl }

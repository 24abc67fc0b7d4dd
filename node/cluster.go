package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/cluster/items"
	"github.com/actorweave/actorweave/persistence"
)

// ClusterConfig makes the node a cluster member. Without Listen the node runs alone.
type ClusterConfig struct {
	// Listen is memberlist's host:port (--cluster-listen).
	Listen string
	// Remote is Proto.Actor remote's host:port (--cluster-remote); default: Listen's host, any port.
	Remote string
	// Join lists memberlist addresses of members (--join).
	Join     []string
	Capacity uint32
	Labels   awcluster.Labels
	// KeyFile is the shared cluster key (--cluster-key): it encrypts and authenticates memberlist
	// and Proto.Actor remote (mutual TLS with a CA derived from it).
	KeyFile string
	// Insecure runs the cluster without a key (tests only; no flag).
	Insecure bool
	// Resync is the provider's periodic full republish (default 1 s).
	Resync time.Duration
	// JoinTimeout bounds the attempts to join at start (default 10 s).
	JoinTimeout time.Duration
	// Timing is memberlist's failure detection (--gossip-interval, --probe-interval,
	// --probe-timeout, --suspicion-mult; zero fields: memberlist's LAN defaults).
	Timing awcluster.Timing
	// ReconnectInterval and ReconnectTimeout: how often remembered members that are not live are
	// joined again, and for how long after they were last seen (--cluster-reconnect-interval,
	// --cluster-reconnect-timeout; defaults 2 s and 24 h). The remembered addresses are kept in
	// <data>/cluster-peers.json, so a restarted node (a seed too) finds its cluster again.
	ReconnectInterval, ReconnectTimeout time.Duration
	// Lease is the quorum lease (--quorum-lease; default cluster.DefaultLease): how long a peer
	// heard from counts as present.
	Lease time.Duration
	// FailureTimeout is how long a member may go unheard before this node takes it out of its view
	// until it is heard again (--failure-timeout; cluster/failure.go): 0 is two leases, negative
	// leaves failure detection to memberlist alone.
	FailureTimeout time.Duration
}

// Enabled reports whether the node joins a cluster.
func (c ClusterConfig) Enabled() bool { return c.Listen != "" }

// clusterDeps builds the provider and the remote options of a clustered node.
func clusterDeps(cfg *Config, name string, onFenced func(string)) (*awcluster.Provider, []remote.ConfigOption, error) {
	cc := cfg.Cluster
	var sec *awcluster.Security
	switch {
	case cc.KeyFile != "":
		var err error
		if sec, err = awcluster.LoadSecurity(cc.KeyFile); err != nil {
			return nil, nil, err
		}
	case !cc.Insecure:
		return nil, nil, fmt.Errorf("%w: a cluster needs a shared key file (e.g. head -c 32 /dev/urandom > cluster.key)", awcluster.ErrNoKey)
	}
	host, _, err := net.SplitHostPort(cc.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("--cluster-listen %q: %w", cc.Listen, err)
	}
	rhost, rport := host, 0
	if cc.Remote != "" {
		h, p, err := net.SplitHostPort(cc.Remote)
		if err != nil {
			return nil, nil, fmt.Errorf("--cluster-remote %q: %w", cc.Remote, err)
		}
		if rport, err = strconv.Atoi(p); err != nil {
			return nil, nil, fmt.Errorf("--cluster-remote port %q: %w", p, err)
		}
		rhost = h
	}
	if rhost == "" || rhost == "0.0.0.0" || rhost == "::" {
		return nil, nil, fmt.Errorf("--cluster-remote host %q: give the address other members reach this node at (it is the member's address)", rhost)
	}
	cfg.Actors.RemoteHost, cfg.Actors.RemotePort = rhost, rport
	// Half-open connections are otherwise noticed only when memberlist drops the member.
	ka := keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: true}
	server, client := insecure.NewCredentials(), insecure.NewCredentials()
	if sec != nil {
		server, client = credentials.NewTLS(sec.Server), credentials.NewTLS(sec.Client)
	}
	probe := &probeCreds{TransportCredentials: server}
	opts := []remote.ConfigOption{
		remote.WithDialOptions(grpc.WithTransportCredentials(client), grpc.WithKeepaliveParams(ka)),
		remote.WithServerOptions(grpc.Creds(probe),
			grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true})),
	}
	cfg.remoteProbe = func(addr string) error { return probe.check(addr, client) }
	cfg.itemProof = sec.ItemProof() // nil without a key: forwarded items are then verified by their owner too
	// Hidden until Start has registered every op peers call (Provider.Ready at the end of Start):
	// a member visible before its forwarder and replication server are up answers dead letters.
	p, err := awcluster.NewProvider(awcluster.Config{Listen: cc.Listen, Join: cc.Join, Capacity: cc.Capacity,
		Labels: cc.Labels, Name: name, Security: sec, Resync: cc.Resync, JoinTimeout: cc.JoinTimeout, Logger: cfg.Logger, OnFenced: onFenced,
		Timing: cc.Timing, Lease: cc.Lease, FailureTimeout: cc.FailureTimeout, ReconnectInterval: cc.ReconnectInterval, ReconnectTimeout: cc.ReconnectTimeout,
		PeersFile: filepath.Join(cfg.DataDir, "cluster-peers.json"), Hidden: true}, []string{"process"})
	return p, opts, err
}

// opStatus asks a member for its line of the cluster status (the items ops of cluster/items are
// registered by serveItems).
const opStatus = "node.status"

// apiWireErrors are the API's status classes, which cross nodes after the packages' own sentinels
// (actors.WireErrors, more specific) in the forwarder's one error table.
func apiWireErrors() awcluster.ErrorTable {
	return awcluster.ErrorTable{{Code: "api_not_found", Err: api.ErrNotFound}, {Code: "api_conflict", Err: api.ErrConflict},
		{Code: "api_bad_request", Err: api.ErrBadRequest}, {Code: "api_forbidden", Err: api.ErrForbidden},
		{Code: "api_unsupported", Err: api.ErrUnsupported}, {Code: "api_too_large", Err: api.ErrTooLarge},
		{Code: "api_unavailable", Err: api.ErrUnavailable}, {Code: "api_timeout", Err: api.ErrTimeout},
		{Code: "api_overloaded", Err: api.ErrOverloaded}, {Code: "api_not_implemented", Err: api.ErrNotImplemented}}
}

// fetchItem asks every other member for an item and returns the first copy found.
func (n *Node) fetchItem(ctx context.Context, id ans104.ID) ([]byte, error) {
	return items.Fetch(ctx, n.host.Members().View(), n.host.Forwarder(), id)
}

// MemberStatus is one member's line of `actorweave cluster status`.
type MemberStatus struct {
	awcluster.Member
	Self bool `json:"self"`
	// Processes counts the processes registered in the member's store; Owned those of them it owns
	// in its current view; Active its live activations.
	Processes int    `json:"processes"`
	Owned     int    `json:"owned"`
	Active    int    `json:"active"`
	ViewSeq   uint64 `json:"view_seq"`
	ViewSize  int    `json:"view_members"`
	// Known is how many members the split-brain guard knows (0: no guard, a single node);
	// Quorate is whether the view holds a majority of them (writes are refused otherwise).
	Known     int  `json:"known_members,omitempty"`
	Quorate   bool `json:"quorate"`
	Forwarded struct {
		CallsOut int64 `json:"calls_out"`
		CallsIn  int64 `json:"calls_in"`
		BytesOut int64 `json:"bytes_out"`
		BytesIn  int64 `json:"bytes_in"`
	} `json:"wire"`
	Error string `json:"error,omitempty"`
}

// ClusterStatus is GET /cluster/status.
type ClusterStatus struct {
	Node    string         `json:"node"` // the member that answered
	Members []MemberStatus `json:"members"`
}

func (n *Node) localStatus() (MemberStatus, error) {
	v := n.host.Members().View()
	st := MemberStatus{Member: v.Self, Self: true, Active: n.host.Active(), ViewSeq: v.Seq, ViewSize: len(v.Members)}
	err := n.store.ProcessIDs(func(id persistence.ID) bool {
		st.Processes++
		if m, _, err := n.host.Owner(context.Background(), ans104.ID(id)); err == nil && v.IsSelf(m) {
			st.Owned++
		}
		return true
	})
	st.Quorate = true
	if n.quorum != nil {
		st.Quorate = n.quorum.Check(v) == nil && n.quorum.Lease() == nil
		st.Known = len(n.quorum.Known())
	}
	ws := n.host.Forwarder().Stats()
	st.Forwarded.CallsOut, st.Forwarded.CallsIn = ws.CallsOut.Load(), ws.CallsIn.Load()
	st.Forwarded.BytesOut, st.Forwarded.BytesIn = ws.BytesOut.Load()+ws.ReplyIn.Load(), ws.BytesIn.Load()+ws.ReplyBytesOut.Load()
	return st, err
}

// statusTimeout bounds each member's answer to GET /cluster/status.
const statusTimeout = time.Second

// statusOp answers a member's line of the cluster status, each member for itself.
func (n *Node) statusOp() *awcluster.Op[*clusterpb.Empty, *clusterpb.MemberStatus] {
	return &awcluster.Op[*clusterpb.Empty, *clusterpb.MemberStatus]{Name: opStatus,
		Serve: func(context.Context, *clusterpb.Empty) (*clusterpb.MemberStatus, error) {
			st, err := n.localStatus()
			if err != nil {
				return nil, err
			}
			return st.counters(), nil
		}}
}

// Status gathers every member's status (each member answers for itself; one cut off by a
// partition is reported as unreachable after statusTimeout, without holding the others up).
func (n *Node) Status(ctx context.Context) (*ClusterStatus, error) {
	v := n.host.Members().View()
	out := &ClusterStatus{Node: v.Self.Address}
	for _, a := range n.statusOp().All(ctx, v, n.host.Forwarder(), &clusterpb.Empty{}, statusTimeout) {
		st := MemberStatus{Member: a.Member, Self: v.IsSelf(a.Member)}
		if a.Err != nil {
			st.Error = a.Err.Error()
		} else {
			st.setCounters(a.Rep)
		}
		out.Members = append(out.Members, st)
	}
	sort.Slice(out.Members, func(i, j int) bool { return out.Members[i].Address < out.Members[j].Address })
	return out, nil
}

// counters is the wire form of st's counters.
func (st *MemberStatus) counters() *clusterpb.MemberStatus {
	return &clusterpb.MemberStatus{Processes: uint64(st.Processes), Owned: uint64(st.Owned), Active: uint64(st.Active),
		ViewSeq: st.ViewSeq, ViewMembers: uint64(st.ViewSize), KnownMembers: uint64(st.Known), Quorate: st.Quorate,
		CallsOut: st.Forwarded.CallsOut, CallsIn: st.Forwarded.CallsIn, BytesOut: st.Forwarded.BytesOut, BytesIn: st.Forwarded.BytesIn}
}

// setCounters reads a member's counters off the wire.
func (st *MemberStatus) setCounters(r *clusterpb.MemberStatus) {
	st.Processes, st.Owned, st.Active = int(r.Processes), int(r.Owned), int(r.Active)
	st.ViewSeq, st.ViewSize, st.Known, st.Quorate = r.ViewSeq, int(r.ViewMembers), int(r.KnownMembers), r.Quorate
	st.Forwarded.CallsOut, st.Forwarded.CallsIn, st.Forwarded.BytesOut, st.Forwarded.BytesIn = r.CallsOut, r.CallsIn, r.BytesOut, r.BytesIn
}

// serveNodeOps registers the node's ops on the host's forwarder.
func (n *Node) serveNodeOps(b *backend) {
	f := n.host.Forwarder()
	b.serveItems()
	n.statusOp().Register(f)
	awcluster.ServeForget(f, n.quorum)
	b.resolveForkOp().Register(f)
}

// Members is the node's membership (for tests and status).
func (n *Node) Members() awcluster.Membership { return n.host.Members() }

// ClusterProvider is the memberlist provider, nil on a single node.
func (n *Node) ClusterProvider() *awcluster.Provider { return n.provider }

// ErrFenced is what Wait returns when the watchdog found this node removed from the cluster: its
// member id is blocked for ever, so it must close (passivating everything) and start again, which
// gives it a new id. `actorweave node` does that by itself.
var ErrFenced = errors.New("node: removed from the cluster (fenced); restart to rejoin with a new identity")

func (n *Node) fenced(reason string) {
	select {
	case n.served <- fmt.Errorf("%w: %s", ErrFenced, reason):
	default:
	}
}

// probeCreds wraps the gRPC server's credentials so that the node can check, at start, that its
// own remote endpoint is up and accepts this node's certificate: it dials itself, and waits until
// the server has closed that connection. Waiting for the server's close also orders every log
// line gRPC writes for the probe before anything that follows: in one test process, the next
// node's Remote.Start replaces gRPC's global logger (docs/design.md §8).
type probeCreds struct {
	credentials.TransportCredentials
	mu   sync.Mutex
	from string        // the probe's local address, as the server sees it
	done chan struct{} // closed when the server closes the probe's connection
}

func (p *probeCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := p.TransportCredentials.ServerHandshake(c)
	p.mu.Lock()
	probe := err == nil && p.from != "" && c.RemoteAddr().String() == p.from
	done := p.done
	p.mu.Unlock()
	if probe {
		conn = &closeSignal{Conn: conn, done: done}
	}
	return conn, info, err
}

func (p *probeCreds) Clone() credentials.TransportCredentials {
	return &probeCreds{TransportCredentials: p.TransportCredentials.Clone()}
}

type closeSignal struct {
	net.Conn
	once sync.Once
	done chan struct{}
}

func (c *closeSignal) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { close(c.done) })
	return err
}

func (p *probeCreds) check(addr string, client credentials.TransportCredentials) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cluster: own gRPC endpoint %s: %w", addr, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.from, p.done = raw.LocalAddr().String(), done
	p.mu.Unlock()
	_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn, _, err := client.ClientHandshake(ctx, "actorweave-cluster", raw)
	if err != nil {
		raw.Close()
		return fmt.Errorf("cluster: own gRPC endpoint %s refused this node's credentials: %w", addr, err)
	}
	conn.Close() // a clean close: the server reads EOF where it expects the HTTP/2 preface
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("cluster: own gRPC endpoint %s did not close the probe connection", addr)
	}
}

// Wire returns the Calls this node sent to other members and the bytes of those Calls and of
// their Replies (protobuf payloads, without gRPC and TLS framing).
func (n *Node) Wire() (calls, bytes int64) {
	ws := n.host.Forwarder().Stats()
	return ws.CallsOut.Load(), ws.BytesOut.Load() + ws.ReplyIn.Load()
}

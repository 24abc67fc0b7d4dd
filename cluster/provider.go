package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	pacluster "github.com/asynkron/protoactor-go/cluster"
	"github.com/hashicorp/memberlist"
)

// Config configures a node's membership.
type Config struct {
	// Listen is memberlist's address (UDP and TCP), host:port; port 0 picks a free one.
	Listen string
	// Join lists members' memberlist addresses to join through; empty starts a new cluster.
	Join []string
	// Capacity is this node's placement weight (default 1).
	Capacity uint32
	Labels   Labels
	// Name is the stable placement name (the node key's wallet address).
	Name string
	// Security holds the keys derived from the cluster key. Nil runs the cluster unencrypted and
	// unauthenticated, which only tests that say so should do.
	Security *Security
	// ClusterName keeps separate clusters apart on one network (default "actorweave").
	ClusterName string
	// Resync republishes the full membership this often even without events (default 1 s).
	Resync time.Duration
	// JoinTimeout bounds the start's attempts to join (default 10 s).
	JoinTimeout time.Duration
	// Timing is memberlist's failure detection (zero fields: memberlist's LAN defaults).
	Timing Timing
	// ReconnectInterval is how often remembered members that are not live are joined again
	// (default 2 s; each address backs off to 30 s while it does not answer).
	ReconnectInterval time.Duration
	// ReconnectTimeout is how long an address is retried after it was last seen alive (default 24 h).
	ReconnectTimeout time.Duration
	// Lease is how long a member heard from counts as present for the quorum (lease.go; default
	// DefaultLease, --quorum-lease). Heartbeats go out every Lease/5.
	Lease time.Duration
	// FailureTimeout is how long a member may go unheard before this member takes it out of its
	// view until it is heard again (failure.go; --failure-timeout). 0: two leases; negative: never
	// (memberlist's failure detection alone).
	FailureTimeout time.Duration
	// PeersFile keeps the remembered addresses across restarts ("": memory only).
	PeersFile string
	// Hidden starts the member hidden: peers keep it out of their views (and route nothing to it)
	// until Ready is called, so a node can finish starting what serves its peers first.
	Hidden bool
	// OnFenced is called (once, on its own goroutine) when the watchdog finds that this
	// incarnation was removed from the cluster: its id is blocked for ever, so the node must stop
	// its activations and come back with a new identity.
	OnFenced func(reason string)
	Logger   *slog.Logger
}

// Provider is the memberlist ClusterProvider for protoactor-go's cluster, and the node's
// Membership. Member id = the actor system's id, address = its remote address exactly; one
// goroutine publishes full snapshots of memberlist's members (alive and suspect, self included)
// on every event and every Resync (docs/design.md §8).
type Provider struct {
	views
	cfg   Config
	log   *slog.Logger
	kinds []string

	mu      sync.Mutex
	ml      *memberlist.Memberlist
	pa      *pacluster.Cluster
	self    Member
	metaB   []byte
	removed map[string]time.Time // ids seen leaving: never admitted again (protoactor blocks them too)
	dying   map[string]dying     // ids declared dead, not yet removed (deathGrace)
	// nodes is memberlist's alive and suspect members, copied in its event callbacks (which run
	// under its lock): the *Node values Members() returns are updated in place by memberlist
	// without a lock the caller could take (found by -race).
	nodes    map[string]nodeInfo
	fenced   bool
	hidden   bool
	signal   chan struct{}
	stop     chan struct{}
	done     chan struct{}
	shutdown bool

	peers         *peerBook
	reconnectDone chan struct{}
	beats         heartbeats
	beatDone      chan struct{}
	// The failure signal (failure.go), under mu: members out of the view for silence (since
	// when), the counters, and when this member itself last resumed from a pause.
	silent                     map[string]time.Time
	suspected, falseSuspicions int64
	selfPausedAt               time.Time
	onStale                    func()
	wrongly                    map[string][]time.Time // false suspicions by member name (timeoutFor)
	suspectedBy                map[string]bool        // peers whose heartbeats say they took this member out
	// wrapTransport lets a test put memberlist's transport behind a switch (a simulated cut).
	wrapTransport func(memberlist.NodeAwareTransport) memberlist.Transport
}

// NewProvider checks cfg (the metadata must fit memberlist's 512 bytes) and returns a provider to
// pass to protoactor's cluster.Configure.
func NewProvider(cfg Config, kinds []string) (*Provider, error) {
	if cfg.Capacity == 0 {
		cfg.Capacity = 1
	}
	if cfg.ClusterName == "" {
		cfg.ClusterName = "actorweave"
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Second
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReconnectInterval == 0 {
		cfg.ReconnectInterval = 2 * time.Second
	}
	if cfg.ReconnectTimeout == 0 {
		cfg.ReconnectTimeout = 24 * time.Hour
	}
	if cfg.Lease < 0 {
		return nil, fmt.Errorf("cluster: --quorum-lease must not be negative")
	}
	if cfg.ReconnectInterval < 0 || cfg.ReconnectTimeout < 0 {
		return nil, fmt.Errorf("cluster: --cluster-reconnect-interval and --cluster-reconnect-timeout must not be negative")
	}
	if err := cfg.Timing.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateFailureTimeout(cfg.FailureTimeout, cfg.Lease); err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("cluster: --cluster-listen %q: %w", cfg.Listen, err)
	}
	peers, err := loadPeerBook(cfg.PeersFile, cfg.ReconnectTimeout)
	if err != nil {
		return nil, fmt.Errorf("cluster: remembered members: %w", err)
	}
	p := &Provider{cfg: cfg, log: cfg.Logger.With("component", "cluster"), kinds: kinds,
		removed: map[string]time.Time{}, dying: map[string]dying{}, nodes: map[string]nodeInfo{}, silent: map[string]time.Time{}, wrongly: map[string][]time.Time{}, suspectedBy: map[string]bool{}, signal: make(chan struct{}, 1), peers: peers, hidden: cfg.Hidden}
	// Check the metadata with the longest address it could carry, so a too-long label set fails
	// at start, with the flag named, not when memberlist is asked for it.
	if _, err := encodeMeta(p.metaOf("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Provider) metaOf(addr string) meta {
	return meta{Cluster: p.cfg.ClusterName, Protocol: ProtocolVersion, Name: p.cfg.Name, Address: addr,
		Capacity: p.cfg.Capacity, Labels: p.cfg.Labels, Kinds: p.kinds, Hidden: p.hidden}
}

// StartMember joins the cluster. It runs after Proto.Actor remote has started, so the actor
// system's address is known.
func (p *Provider) StartMember(c *pacluster.Cluster) error {
	p.mu.Lock()
	p.pa = c
	p.mu.Unlock()
	return p.start(c.ActorSystem.ID, c.ActorSystem.Address())
}

// start runs memberlist as member id with remote address addr (protoactor's part is in StartMember;
// the package's tests run memberlist alone).
func (p *Provider) start(id, addr string) error {
	mb, err := encodeMeta(p.metaOf(addr))
	if err != nil {
		return err
	}
	host, portS, err := net.SplitHostPort(p.cfg.Listen)
	if err != nil {
		return err
	}
	port, err := strconv.Atoi(portS)
	if err != nil {
		return fmt.Errorf("cluster: --cluster-listen port %q: %w", portS, err)
	}
	mc := memberlist.DefaultLANConfig()
	mc.Name = id
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertisePort = port
	mc.Delegate = &delegate{p}
	mc.Events = &events{p}
	mc.Logger = log.New(&slogWriter{p.log}, "", 0)
	p.cfg.Timing.apply(mc)
	if s := p.cfg.Security; s != nil {
		mc.SecretKey = s.GossipKey
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	if p.wrapTransport != nil {
		nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{host}, BindPort: port, Logger: mc.Logger})
		if err != nil {
			return fmt.Errorf("cluster: memberlist on %s: %w", p.cfg.Listen, err)
		}
		mc.Transport = p.wrapTransport(nt)
		mc.BindPort, mc.AdvertisePort = nt.GetAutoBindPort(), nt.GetAutoBindPort()
	}
	p.mu.Lock()
	p.metaB = mb
	p.self = Member{ID: id, Name: p.cfg.Name, Address: addr, Capacity: p.cfg.Capacity,
		Labels: p.cfg.Labels, Protocol: ProtocolVersion}
	p.mu.Unlock()
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("cluster: memberlist on %s: %w", p.cfg.Listen, err)
	}
	gossip := ml.LocalNode().Address() // outside p.mu: memberlist's callbacks take p.mu under its lock
	p.mu.Lock()
	p.ml = ml
	p.self.Gossip = gossip
	p.mu.Unlock()
	// The seeds are remembered too: a seed that is down now is retried by the reconnect loop.
	remembered := p.peers.list(p.cfg.ReconnectTimeout, time.Now())
	p.peers.add(p.cfg.Join, time.Now())
	if len(p.cfg.Join) > 0 {
		if err := p.join(remembered); err != nil {
			if len(remembered) == 0 {
				ml.Shutdown()
				return err
			}
			// This node was a member before (it remembers members): start, and let the reconnect
			// loop find them, as a seed does.
			p.log.Warn("cluster: no remembered member answered at start; reconnecting in the background", "err", err)
		}
	}
	p.stop, p.done, p.reconnectDone, p.beatDone = make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	p.publishOnce()
	go p.run()
	go p.reconnect()
	go p.beat()
	p.log.Info("cluster member started", "id", p.self.ID, "remote", addr, "gossip", p.self.Gossip,
		"capacity", p.cfg.Capacity, "labels", p.cfg.Labels.String(), "encrypted", p.cfg.Security != nil,
		"remembered", len(remembered), "hidden", p.hidden)
	return nil
}

// Ready makes a member started Hidden visible to its peers: it re-advertises its metadata.
func (p *Provider) Ready() error { return p.setHidden(false) }

// Hide takes this member out of its peers' views (they route nothing more to it) while it stays
// a member: a node about to leave calls it first, and Shutdown(true) does.
func (p *Provider) Hide() error { return p.setHidden(true) }

func (p *Provider) setHidden(h bool) error {
	p.mu.Lock()
	if p.hidden == h || p.shutdown {
		p.mu.Unlock()
		return nil
	}
	p.hidden = h
	mb, err := encodeMeta(p.metaOf(p.self.Address))
	if err != nil {
		p.mu.Unlock()
		return err
	}
	p.metaB = mb
	ml := p.ml
	p.mu.Unlock()
	if ml == nil {
		return nil
	}
	// UpdateNode gossips the new metadata with a higher incarnation; it waits (up to the timeout)
	// for the broadcast to go out.
	if err := ml.UpdateNode(2 * time.Second); err != nil {
		p.log.Warn("cluster: advertising metadata", "hidden", h, "err", err)
	}
	p.poke()
	return nil
}

// join retries until one seed answers or JoinTimeout passes. A seed that refuses our key (or
// that we cannot decrypt) counts as not answering: a node with the wrong key never joins.
func (p *Provider) join(remembered []string) error {
	deadline := time.Now().Add(p.cfg.JoinTimeout)
	targets := append([]string(nil), p.cfg.Join...)
	for _, a := range remembered {
		if !slices.Contains(targets, a) && a != p.self.Gossip {
			targets = append(targets, a)
		}
	}
	var err error
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		var n int
		if n, err = p.ml.Join(targets); n > 0 {
			return nil
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("cluster: could not join any of %s within %v (a different or missing --cluster-key also looks like this): %w",
				strings.Join(p.cfg.Join, ","), p.cfg.JoinTimeout, err)
		}
		time.Sleep(delay)
	}
}

// GossipAddr is memberlist's address (for others' --join).
func (p *Provider) GossipAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.self.Gossip
}

func (p *Provider) StartClient(*pacluster.Cluster) error {
	return errors.New("cluster: client members are not supported")
}

// Shutdown leaves gracefully (when asked) and stops gossiping. Protoactor's Shutdown(false) never
// calls it; the node does, at exit.
func (p *Provider) Shutdown(graceful bool) error {
	if graceful {
		// Peers drop a hidden member from their views at once; its leave message then only
		// confirms it (NotifyLeave cannot tell a leave from a death).
		_ = p.Hide()
	}
	p.mu.Lock()
	if p.shutdown || p.ml == nil {
		p.mu.Unlock()
		return nil
	}
	p.shutdown = true
	ml := p.ml
	p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
		<-p.reconnectDone
		<-p.beatDone
	}
	p.peers.save(time.Now())
	if graceful {
		_ = ml.Leave(2 * time.Second)
	}
	return ml.Shutdown()
}

// run is the one goroutine that publishes membership: on every memberlist event (coalesced) and
// every Resync tick, which is also what makes heartbeat-expiry blocks take effect.
func (p *Provider) run() {
	defer close(p.done)
	t := time.NewTicker(p.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.signal:
		case <-t.C:
		}
		p.publishOnce()
	}
}

func (p *Provider) poke() {
	select {
	case p.signal <- struct{}{}:
	default:
	}
}

// publishOnce snapshots memberlist and hands the members to protoactor and to our subscribers.
func (p *Provider) publishOnce() {
	p.mu.Lock()
	ml, pa, self := p.ml, p.pa, p.self
	silent := make(map[string]bool, len(p.silent))
	for id := range p.silent {
		silent[id] = true
	}
	removed := make(map[string]bool, len(p.removed))
	for id, at := range p.removed {
		if time.Since(at) > tombstoneTTL {
			delete(p.removed, id)
			continue
		}
		removed[id] = true
	}
	p.mu.Unlock()
	if ml == nil {
		return
	}
	var ours []Member
	var theirs pacluster.Members
	var seen []string
	alive := map[string]bool{}
	for _, n := range p.nodeList() {
		m, pm, hidden, ok := p.decodeNode(n)
		if !ok {
			continue
		}
		alive[n.Name] = true
		if n.Name != self.ID {
			seen = append(seen, n.Addr)
		}
		// Ids memberlist once declared gone stay out: protoactor blocks them for ever too. A member
		// still starting stays out until it says it is ready (it would answer with dead letters).
		if n.Name != self.ID && (removed[n.Name] || hidden) {
			continue
		}
		theirs = append(theirs, pm)
		// A member out for silence (failure.go) leaves placement and routing only: Proto.Actor
		// would block its id for ever, and it may come back.
		if !silent[n.Name] {
			ours = append(ours, m)
		}
	}
	// Members memberlist just declared dead stay for deathGrace: if the death was news gossiped by
	// the other side of a partition that just healed, the member refutes it within that time and
	// must not be removed for ever (nor fenced, nor its processes moved). Past it, the removal is final.
	now := time.Now()
	grace := p.deathGrace()
	p.mu.Lock()
	for id, d := range p.dying {
		switch {
		case alive[id]:
			delete(p.dying, id)
			p.log.Info("a member declared dead came back within the grace period", "id", id, "after", now.Sub(d.at).Round(time.Millisecond))
		case now.Sub(d.at) >= grace || removed[id]:
			delete(p.dying, id)
			if _, ok := p.removed[id]; !ok {
				p.removed[id] = d.at
				p.log.Info("member removed: declared dead and not back within the grace period", "id", id, "grace", grace)
			}
		case !d.hidden:
			theirs = append(theirs, d.pm)
			if !silent[id] {
				ours = append(ours, d.m)
			}
		}
	}
	p.mu.Unlock()
	found := false
	for _, m := range ours {
		found = found || m.ID == self.ID
	}
	if !found { // always include self (memberlist does, but never let a decode slip drop us)
		ours = append(ours, self)
		host, portS, _ := net.SplitHostPort(self.Address)
		port, _ := strconv.Atoi(portS)
		theirs = append(theirs, &pacluster.Member{Id: self.ID, Host: host, Port: int32(port), Kinds: p.kinds})
	}
	p.peers.saw(seen, time.Now())
	if pa != nil { // nil only in this package's tests, which run memberlist alone
		pa.MemberList.UpdateClusterTopology(theirs)
	}
	if p.publish(self, ours) {
		p.log.Info("cluster view", "members", len(ours), "seq", p.View().Seq)
	}
}

// decodeNode reads a memberlist node's metadata: ok is false for nodes of another cluster or
// protocol version, or with an unreadable address.
func (p *Provider) decodeNode(n nodeInfo) (Member, *pacluster.Member, bool, bool) {
	m, err := decodeMeta(n.Meta)
	if err != nil || m.Cluster != p.cfg.ClusterName || m.Protocol != ProtocolVersion {
		return Member{}, nil, false, false
	}
	host, portS, err := net.SplitHostPort(m.Address)
	if err != nil {
		return Member{}, nil, false, false
	}
	port, _ := strconv.Atoi(portS)
	return Member{ID: n.Name, Name: m.Name, Address: m.Address, Gossip: n.Addr, Capacity: m.Capacity, Labels: m.Labels, Protocol: m.Protocol},
		&pacluster.Member{Id: n.Name, Host: host, Port: int32(port), Kinds: m.Kinds}, m.Hidden, true
}

// nodeInfo is a copy of what memberlist knows of a node.
type nodeInfo struct {
	Name, Addr string
	Meta       []byte
}

func infoOf(n *memberlist.Node) nodeInfo {
	return nodeInfo{Name: n.Name, Addr: n.Address(), Meta: append([]byte(nil), n.Meta...)}
}

// nodeList is a snapshot of the nodes table.
func (p *Provider) nodeList() []nodeInfo {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]nodeInfo, 0, len(p.nodes))
	for _, n := range p.nodes {
		out = append(out, n)
	}
	return out
}

// deathGrace is how long a member declared dead stays in the view, waiting for a refutation:
// a probe interval, and at least five gossip rounds.
func (p *Provider) deathGrace() time.Duration {
	t := p.cfg.Timing.withDefaults()
	return max(t.ProbeInterval, 5*t.GossipInterval)
}

// dying is a member memberlist declared dead, within deathGrace.
type dying struct {
	at     time.Time
	m      Member
	pm     *pacluster.Member
	hidden bool
}

// tombstoneTTL is how long a removed id is remembered (and gossiped, so that a node removed while
// partitioned learns it on return and fences itself).
const tombstoneTTL = 30 * time.Minute

// fence calls OnFenced once.
func (p *Provider) fence(reason string) {
	p.mu.Lock()
	if p.fenced || p.shutdown {
		p.mu.Unlock()
		return
	}
	p.fenced = true
	p.mu.Unlock()
	p.log.Error("watchdog: this member was removed from the cluster; restarting with a new identity", "reason", reason)
	if p.cfg.OnFenced != nil {
		go p.cfg.OnFenced(reason)
	}
}

// Fenced reports whether the watchdog found this incarnation removed.
func (p *Provider) Fenced() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fenced
}

// delegate gives memberlist our metadata and exchanges tombstones in push-pull syncs.
type delegate struct{ p *Provider }

func (d *delegate) NodeMeta(limit int) []byte {
	d.p.mu.Lock()
	defer d.p.mu.Unlock()
	return d.p.metaB
}
func (d *delegate) NotifyMsg(b []byte)                         { d.p.noteHeartbeat(b) }
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// syncState is what a member sends in memberlist's push-pull exchanges: its id, how many members
// its view holds, and the ids it saw removed.
type syncState struct {
	ID      string   `json:"i"`
	Live    int      `json:"n"`
	Removed []string `json:"r"`
}

// LocalState sends this member's syncState (at most 1,000 removed ids).
func (d *delegate) LocalState(join bool) []byte {
	live := 0
	if v := d.p.View(); v != nil {
		live = len(v.Members)
	}
	d.p.mu.Lock()
	st := syncState{ID: d.p.self.ID, Live: live, Removed: make([]string, 0, len(d.p.removed))}
	for id := range d.p.removed {
		if len(st.Removed) == 1000 {
			break
		}
		st.Removed = append(st.Removed, id)
	}
	d.p.mu.Unlock()
	b, _ := json.Marshal(st)
	return b
}

// MergeRemoteState is the watchdog. A member finding its own id among a peer's removed ids must
// come back under a new identity (protoactor blocks a removed id for ever), and it learns the
// peer's other removals. Two rules keep a healed partition from fencing everyone:
//   - removals reported by a peer this member itself removed are ignored: that peer was on the
//     other side, and its opinion of who is gone is the stale one;
//   - when both removed each other (each side of a partition declared the other dead), only one
//     side restarts: the one whose view held fewer members, and on a tie the smaller id. Both
//     sides compute the same answer from the same exchange; if they disagree for a moment (a view
//     changed in between), the next exchange, one reconnect interval later, decides again.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	var st syncState
	if json.Unmarshal(buf, &st) != nil {
		return
	}
	live := 0
	if v := d.p.View(); v != nil {
		live = len(v.Members)
	}
	d.p.mu.Lock()
	selfID := d.p.self.ID
	_, peerGone := d.p.removed[st.ID]
	hit := slices.Contains(st.Removed, selfID)
	var learnt []string
	if !peerGone {
		for _, id := range st.Removed {
			if id == selfID {
				continue
			}
			if _, ok := d.p.removed[id]; !ok {
				d.p.removed[id] = time.Now()
				learnt = append(learnt, id)
			}
		}
	}
	d.p.mu.Unlock()
	if len(learnt) > 0 {
		d.p.log.Info("learnt members removed by a peer", "peer", st.ID, "removed", learnt)
	}
	switch {
	case hit && !peerGone:
		d.p.fence(fmt.Sprintf("peer %s saw this member leave the cluster", st.ID))
	case hit && peerGone && fenceOnMutual(live, selfID, st.Live, st.ID):
		d.p.fence(fmt.Sprintf("a partition healed: this side had %d members, the other (%s) %d", live, st.ID, st.Live))
	}
	d.p.poke()
}

// fenceOnMutual decides, for two members that removed each other, whether the first restarts:
// the smaller side does, and on a tie the smaller id.
func fenceOnMutual(live int, id string, peerLive int, peerID string) bool {
	if live != peerLive {
		return live < peerLive
	}
	return id < peerID
}

type events struct{ p *Provider }

func (e *events) NotifyJoin(n *memberlist.Node) { e.p.noteNode(n) }

func (e *events) NotifyUpdate(n *memberlist.Node) { e.p.noteNode(n) }

func (p *Provider) noteNode(n *memberlist.Node) {
	info := infoOf(n)
	p.mu.Lock()
	p.nodes[n.Name] = info
	p.mu.Unlock()
	p.poke()
}

// NotifyLeave: a member declared dead is removed after deathGrace unless it refutes its death
// first (publishOnce). memberlist does not say here whether the member left or died (Node.State
// is not maintained), so a member leaving gracefully hides itself first (Shutdown): it is out of
// the views at once, and removed for good after the same grace.
func (e *events) NotifyLeave(n *memberlist.Node) {
	p := e.p
	m, pm, hidden, ok := p.decodeNode(infoOf(n))
	p.mu.Lock()
	delete(p.nodes, n.Name)
	if _, gone := p.removed[n.Name]; n.Name != p.self.ID && !gone {
		if ok {
			p.dying[n.Name] = dying{at: time.Now(), m: m, pm: pm, hidden: hidden}
			time.AfterFunc(p.deathGrace(), p.poke)
		} else {
			p.removed[n.Name] = time.Now()
		}
	}
	p.mu.Unlock()
	p.poke()
}

// slogWriter turns memberlist's log lines into slog records: [ERR]/[WARN] at Warn, the rest at Debug.
type slogWriter struct{ l *slog.Logger }

func (w *slogWriter) Write(b []byte) (int, error) {
	msg := string(bytes.TrimSpace(b))
	level := slog.LevelDebug
	if strings.Contains(msg, "[ERR]") || strings.Contains(msg, "[WARN]") {
		level = slog.LevelWarn
	}
	w.l.Log(context.Background(), level, msg, "lib", "memberlist")
	return len(b), nil
}

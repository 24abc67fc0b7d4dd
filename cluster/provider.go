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
	// OnFenced is called (once, on its own goroutine) when the watchdog finds that this
	// incarnation was removed from the cluster: its id is blocked for ever, so the node must stop
	// its activations and come back with a new identity.
	OnFenced func(reason string)
	Logger   *slog.Logger
}

// Provider is the memberlist ClusterProvider for protoactor-go's cluster, and the node's
// Membership. Member id = the actor system's id, address = its remote address exactly; one
// goroutine publishes full snapshots of memberlist's members (alive and suspect, self included)
// on every event and every Resync (protoactor-notes.md §2.2).
type Provider struct {
	views
	cfg   Config
	log   *slog.Logger
	kinds []string

	mu       sync.Mutex
	ml       *memberlist.Memberlist
	pa       *pacluster.Cluster
	self     Member
	metaB    []byte
	removed  map[string]time.Time // ids seen leaving: never admitted again (protoactor blocks them too)
	fenced   bool
	signal   chan struct{}
	stop     chan struct{}
	done     chan struct{}
	shutdown bool
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
	if _, _, err := net.SplitHostPort(cfg.Listen); err != nil {
		return nil, fmt.Errorf("cluster: --cluster-listen %q: %w", cfg.Listen, err)
	}
	p := &Provider{cfg: cfg, log: cfg.Logger.With("component", "cluster"), kinds: kinds,
		removed: map[string]time.Time{}, signal: make(chan struct{}, 1)}
	// Check the metadata with the longest address it could carry, so a too-long label set fails
	// at start, with the flag named, not when memberlist is asked for it.
	if _, err := encodeMeta(p.metaOf("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535")); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Provider) metaOf(addr string) meta {
	return meta{Cluster: p.cfg.ClusterName, Protocol: ProtocolVersion, Name: p.cfg.Name, Address: addr,
		Capacity: p.cfg.Capacity, Labels: p.cfg.Labels, Kinds: p.kinds}
}

// StartMember joins the cluster. It runs after Proto.Actor remote has started, so the actor
// system's address is known.
func (p *Provider) StartMember(c *pacluster.Cluster) error {
	addr := c.ActorSystem.Address()
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
	mc.Name = c.ActorSystem.ID
	mc.BindAddr, mc.BindPort = host, port
	mc.AdvertisePort = port
	mc.Delegate = &delegate{p}
	mc.Events = &events{p}
	mc.Logger = log.New(&slogWriter{p.log}, "", 0)
	if s := p.cfg.Security; s != nil {
		mc.SecretKey = s.GossipKey
		mc.GossipVerifyIncoming, mc.GossipVerifyOutgoing = true, true
	}
	p.mu.Lock()
	p.pa, p.metaB = c, mb
	p.self = Member{ID: c.ActorSystem.ID, Name: p.cfg.Name, Address: addr, Capacity: p.cfg.Capacity,
		Labels: p.cfg.Labels, Protocol: ProtocolVersion}
	p.mu.Unlock()
	ml, err := memberlist.Create(mc)
	if err != nil {
		return fmt.Errorf("cluster: memberlist on %s: %w", p.cfg.Listen, err)
	}
	p.mu.Lock()
	p.ml = ml
	p.self.Gossip = ml.LocalNode().Address()
	p.mu.Unlock()
	if len(p.cfg.Join) > 0 {
		if err := p.join(); err != nil {
			ml.Shutdown()
			return err
		}
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	p.publishOnce()
	go p.run()
	p.log.Info("cluster member started", "id", p.self.ID, "remote", addr, "gossip", p.self.Gossip,
		"capacity", p.cfg.Capacity, "labels", p.cfg.Labels.String(), "encrypted", p.cfg.Security != nil)
	return nil
}

// join retries until one seed answers or JoinTimeout passes. A seed that refuses our key (or
// that we cannot decrypt) counts as not answering: a node with the wrong key never joins.
func (p *Provider) join() error {
	deadline := time.Now().Add(p.cfg.JoinTimeout)
	var err error
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 2*time.Second) {
		var n int
		if n, err = p.ml.Join(p.cfg.Join); n > 0 {
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
	}
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
	for _, n := range ml.Members() {
		m, err := decodeMeta(n.Meta)
		if err != nil || m.Cluster != p.cfg.ClusterName || m.Protocol != ProtocolVersion {
			continue
		}
		// Ids memberlist once declared gone stay out: protoactor blocks them for ever too.
		if n.Name != self.ID && removed[n.Name] {
			continue
		}
		host, portS, err := net.SplitHostPort(m.Address)
		if err != nil {
			continue
		}
		port, _ := strconv.Atoi(portS)
		ours = append(ours, Member{ID: n.Name, Name: m.Name, Address: m.Address, Gossip: n.Address(),
			Capacity: m.Capacity, Labels: m.Labels, Protocol: m.Protocol})
		theirs = append(theirs, &pacluster.Member{Id: n.Name, Host: host, Port: int32(port), Kinds: m.Kinds})
	}
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
	pa.MemberList.UpdateClusterTopology(theirs)
	if p.publish(self, ours) {
		p.log.Info("cluster view", "members", len(ours), "seq", p.View().Seq)
	}
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
func (d *delegate) NotifyMsg([]byte)                           {}
func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }

// LocalState sends the ids this node saw removed (at most 1,000, newest first).
func (d *delegate) LocalState(join bool) []byte {
	d.p.mu.Lock()
	ids := make([]string, 0, len(d.p.removed))
	for id := range d.p.removed {
		if len(ids) == 1000 {
			break
		}
		ids = append(ids, id)
	}
	d.p.mu.Unlock()
	b, _ := json.Marshal(ids)
	return b
}

// MergeRemoteState learns removals from peers; finding itself among them fences this node.
func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	var ids []string
	if json.Unmarshal(buf, &ids) != nil {
		return
	}
	d.p.mu.Lock()
	selfID := d.p.self.ID
	hit := false
	for _, id := range ids {
		if id == selfID {
			hit = true
			continue
		}
		if _, ok := d.p.removed[id]; !ok {
			d.p.removed[id] = time.Now()
		}
	}
	d.p.mu.Unlock()
	if hit {
		d.p.fence("a peer saw this member leave the cluster")
	}
	d.p.poke()
}

type events struct{ p *Provider }

func (e *events) NotifyJoin(*memberlist.Node) { e.p.poke() }
func (e *events) NotifyLeave(n *memberlist.Node) {
	e.p.mu.Lock()
	if n.Name != e.p.self.ID {
		e.p.removed[n.Name] = time.Now()
	}
	e.p.mu.Unlock()
	e.p.poke()
}
func (e *events) NotifyUpdate(*memberlist.Node) { e.p.poke() }

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

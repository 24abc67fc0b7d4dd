package cluster

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// Partitions of real memberlist instances over loopback UDP and TCP. The cut is a switch in front
// of one member's transport: while it is off, that member's packets and streams are dropped both
// ways (its peers see it go silent, it sees them go silent), as a pulled cable would.

type cutTransport struct {
	inner   memberlist.NodeAwareTransport
	cut     *atomic.Bool
	packets chan *memberlist.Packet
	streams chan net.Conn
	stop    chan struct{} // closed at Shutdown: nothing more is handed to memberlist
	drained chan struct{} // closed once the inner transport has shut down: stop draining it
	once    sync.Once
}

var errCut = errors.New("test: link cut")

func newCutTransport(inner memberlist.NodeAwareTransport, cut *atomic.Bool) *cutTransport {
	t := &cutTransport{inner: inner, cut: cut, packets: make(chan *memberlist.Packet), streams: make(chan net.Conn),
		stop: make(chan struct{}), drained: make(chan struct{})}
	stopped := func() bool {
		select {
		case <-t.stop:
			return true
		default:
			return false
		}
	}
	// Both loops keep reading the inner transport until it has shut down: its listeners block on
	// an unread channel, and its Shutdown waits for them.
	go func() {
		for {
			select {
			case <-t.drained:
				return
			case p := <-inner.PacketCh():
				if t.cut.Load() || stopped() {
					continue
				}
				select {
				case t.packets <- p:
				case <-t.stop:
				}
			}
		}
	}()
	go func() {
		for {
			select {
			case <-t.drained:
				return
			case c := <-inner.StreamCh():
				if t.cut.Load() || stopped() {
					c.Close()
					continue
				}
				select {
				case t.streams <- c:
				case <-t.stop:
					c.Close()
				}
			}
		}
	}()
	return t
}

func (t *cutTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}
func (t *cutTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.cut.Load() {
		return time.Now(), nil // lost on the wire
	}
	return t.inner.WriteTo(b, addr)
}
func (t *cutTransport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.cut.Load() {
		return time.Now(), nil
	}
	return t.inner.WriteToAddress(b, a)
}
func (t *cutTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }
func (t *cutTransport) DialTimeout(addr string, d time.Duration) (net.Conn, error) {
	if t.cut.Load() {
		return nil, errCut
	}
	return t.inner.DialTimeout(addr, d)
}
func (t *cutTransport) DialAddressTimeout(a memberlist.Address, d time.Duration) (net.Conn, error) {
	if t.cut.Load() {
		return nil, errCut
	}
	return t.inner.DialAddressTimeout(a, d)
}
func (t *cutTransport) StreamCh() <-chan net.Conn { return t.streams }
func (t *cutTransport) Shutdown() error {
	var err error
	t.once.Do(func() {
		close(t.stop)
		err = t.inner.Shutdown()
		close(t.drained)
	})
	return err
}

// fastTiming detects a silent member in about a second.
var fastTiming = Timing{GossipInterval: 50 * time.Millisecond, ProbeInterval: 200 * time.Millisecond,
	ProbeTimeout: 100 * time.Millisecond, SuspicionMult: 3}

type testMember struct {
	t      *testing.T
	name   string // placement name, stable across incarnations
	inc    int
	p      *Provider
	cut    atomic.Bool
	fenced atomic.Int32
	peers  string // the remembered-peers file
	listen string
}

// startTestMember starts (or restarts, with a new id, on the same port) member m.
func startTestMember(t *testing.T, m *testMember, join ...string) {
	t.Helper()
	startTimedMember(t, m, fastTiming, 0, join...)
}

// startTimedMember is startTestMember with memberlist timing tm and the failure timeout ft (0:
// the provider's default).
func startTimedMember(t *testing.T, m *testMember, tm Timing, ft time.Duration, join ...string) {
	t.Helper()
	m.inc++
	p, err := NewProvider(Config{Listen: m.listen, Join: join, Name: m.name, Timing: tm, FailureTimeout: ft, ClusterName: testClusterName(t),
		Resync: 50 * time.Millisecond, ReconnectInterval: 100 * time.Millisecond, PeersFile: m.peers,
		OnFenced: func(string) { m.fenced.Add(1) }, Logger: testLogger(t, m.name)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.wrapTransport = func(nt memberlist.NodeAwareTransport) memberlist.Transport { return newCutTransport(nt, &m.cut) }
	if err := p.start(fmt.Sprintf("%s-%d", m.name, m.inc), "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	m.p = p
	m.fenced.Store(0)
	if strings.HasSuffix(m.listen, ":0") {
		_, port, _ := net.SplitHostPort(p.GossipAddr())
		m.listen = "127.0.0.1:" + port // a restart keeps the port, as node.Run does
	}
	t.Cleanup(func() { _ = p.Shutdown(false) })
}

// ids is the sorted member ids of m's current view.
func (m *testMember) ids() string {
	var out []string
	for _, x := range m.p.View().Members {
		out = append(out, x.ID)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// converged reports whether every member's view holds exactly the given members' current ids.
func converged(ms ...*testMember) bool {
	var want []string
	for _, m := range ms {
		want = append(want, m.p.View().Self.ID)
	}
	sort.Strings(want)
	w := strings.Join(want, ",")
	for _, m := range ms {
		if m.ids() != w {
			return false
		}
	}
	return true
}

func viewsOf(ms ...*testMember) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.p.View().Self.ID+": "+m.ids())
	}
	return strings.Join(out, "; ")
}

// TestPartitionHealRejoin: three members, one cut off (the seed, which has no --join, or another).
// Each side removes the other. After the link heals, the reconnect loop brings them in touch,
// exactly the cut-off side is fenced (not the majority), and once it is back under a new id on the
// same port, every member holds one view of all three, and it stays so (no fencing loop).
func TestPartitionHealRejoin(t *testing.T) {
	for _, victim := range []int{0, 2} {
		t.Run(fmt.Sprintf("cut%d", victim), func(t *testing.T) {
			dir := t.TempDir()
			ms := make([]*testMember, 3)
			for i := range ms {
				ms[i] = &testMember{t: t, name: fmt.Sprintf("n%d", i), listen: "127.0.0.1:0",
					peers: filepath.Join(dir, fmt.Sprintf("peers-%d.json", i))}
				var join []string
				if i > 0 {
					join = []string{ms[0].p.GossipAddr()} // member 0 is the seed
				}
				startTestMember(t, ms[i], join...)
			}
			waitFor(t, 10*time.Second, "three members in every view", func() bool { return converged(ms...) })
			v := ms[victim]
			var others []*testMember
			for i, m := range ms {
				if i != victim {
					others = append(others, m)
				}
			}
			v.cut.Store(true)
			waitFor(t, 15*time.Second, "both sides remove each other: "+viewsOf(ms...), func() bool {
				return converged(others...) && converged(v)
			})
			// Let the cut-off side's news settle: memberlist gossips its "n0 dead" and "n1 dead"
			// for a few rounds after declaring them (and to dead members for a while), so a heal in
			// that window hands those declarations to the majority, which then fences its own
			// members too (safe, an extra restart each; a known gap, documented in the README).
			// This test is about the heal after both sides settled.
			time.Sleep(time.Second)
			cutAt := time.Now()
			v.cut.Store(false)
			waitFor(t, 15*time.Second, "the cut-off member fenced after the heal", func() bool { return v.fenced.Load() > 0 })
			t.Logf("cut-off member fenced %v after the heal", time.Since(cutAt).Round(time.Millisecond))
			for _, m := range others {
				if m.fenced.Load() != 0 {
					t.Fatalf("majority member %s was fenced too", m.name)
				}
			}
			// The restart node.Run does: the old incarnation leaves, a new id starts on the same
			// port with the same remembered peers. The seed gets no --join, the others their seed.
			_ = v.p.Shutdown(true)
			var join []string
			if victim != 0 {
				join = []string{ms[0].p.GossipAddr()}
			}
			startTestMember(t, v, join...)
			waitFor(t, 15*time.Second, "one view of all three after the restart: "+viewsOf(ms...), func() bool { return converged(ms...) })
			t.Logf("one view of three %v after the heal", time.Since(cutAt).Round(time.Millisecond))
			// And it holds: no member fences, the views do not change.
			seq := map[*testMember]uint64{}
			for _, m := range ms {
				seq[m] = m.p.View().Seq
			}
			time.Sleep(2 * time.Second)
			for _, m := range ms {
				if m.fenced.Load() != 0 {
					t.Fatalf("%s fenced after the cluster converged", m.name)
				}
				if got := m.p.View().Seq; got != seq[m] || !converged(ms...) {
					t.Fatalf("views moved after converging: %s (seq %d → %d)", viewsOf(ms...), seq[m], got)
				}
			}
		})
	}
}

// TestSeedRestartRejoins: a seed that stops and starts again on its data (a new id, no --join, a
// new port) finds the cluster through the members it remembers; the members find it too.
func TestSeedRestartRejoins(t *testing.T) {
	dir := t.TempDir()
	seed := &testMember{t: t, name: "seed", listen: "127.0.0.1:0", peers: filepath.Join(dir, "seed.json")}
	other := &testMember{t: t, name: "other", listen: "127.0.0.1:0", peers: filepath.Join(dir, "other.json")}
	startTestMember(t, seed)
	startTestMember(t, other, seed.p.GossipAddr())
	waitFor(t, 10*time.Second, "two members", func() bool { return converged(seed, other) })
	_ = seed.p.Shutdown(false) // as a crash: no leave message
	waitFor(t, 15*time.Second, "the other member alone", func() bool { return converged(other) })
	seed.listen = "127.0.0.1:0"
	startTestMember(t, seed)
	waitFor(t, 15*time.Second, "the restarted seed rejoins: "+viewsOf(seed, other), func() bool { return converged(seed, other) })
}

// A hidden member is out of its peers' views until it is ready.
func TestHiddenUntilReady(t *testing.T) {
	a := &testMember{t: t, name: "a", listen: "127.0.0.1:0"}
	startTestMember(t, a)
	b := &testMember{t: t, name: "b", listen: "127.0.0.1:0"}
	p, err := NewProvider(Config{Listen: b.listen, Join: []string{a.p.GossipAddr()}, Name: "b", Timing: fastTiming, ClusterName: testClusterName(t),
		Resync: 50 * time.Millisecond, Hidden: true, Logger: testLogger(t, "b")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.start("b-1", "127.0.0.1:2"); err != nil {
		t.Fatal(err)
	}
	b.p = p
	t.Cleanup(func() { _ = p.Shutdown(false) })
	waitFor(t, 5*time.Second, "the hidden member sees its peer", func() bool { return len(p.View().Members) == 2 })
	time.Sleep(500 * time.Millisecond)
	if len(a.p.View().Members) != 1 {
		t.Fatalf("a hidden member is in its peer's view: %s", a.ids())
	}
	if err := p.Ready(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the member visible once ready", func() bool { return converged(a, b) })
}

// testLogger keeps a member's log in memory and prints it when the test fails.
func testLogger(t *testing.T, name string) *slog.Logger {
	w := &lockedBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, w.String())
		}
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testClusterName keeps a test's unencrypted members apart from any other memberlist on loopback
// (another package's test may take a port a member here remembers).
func testClusterName(t *testing.T) string {
	h := sha256.Sum256([]byte(t.Name() + fmt.Sprint(os.Getpid())))
	return "test-" + hex.EncodeToString(h[:6])
}

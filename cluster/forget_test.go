package cluster

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
)

// forgetMember is a member with what forgetting needs: a real memberlist provider on loopback
// and its quorum file. The members share one actor system and so one forwarder, which serves the
// other member's quorum: a second Proto.Actor remote in one -race test binary races on grpc's
// global logger (docs/design.md §8), and the forwarder encodes every Call whether or not it leaves
// the process.
type forgetMember struct {
	p *Provider
	q *Quorum
}

func startForgetMember(t *testing.T, name, addr string, join ...string) *forgetMember {
	t.Helper()
	q, err := OpenQuorum(filepath.Join(t.TempDir(), "cluster-members.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(Config{Listen: "127.0.0.1:0", Join: join, Name: name, Timing: fastTiming, ClusterName: testClusterName(t),
		Resync: 50 * time.Millisecond, Logger: testLogger(t, name)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.start(name+"-1", addr); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Shutdown(false) })
	return &forgetMember{p: p, q: q}
}

var (
	remoteOnce sync.Once
	remoteSys  *actor.ActorSystem
)

// remoteSystem is the test binary's one actor system with Proto.Actor remote on loopback (members
// name each other by remote address).
func remoteSystem() *actor.ActorSystem {
	remoteOnce.Do(func() {
		remoteSys = actor.NewActorSystem()
		remote.NewRemote(remoteSys, remote.Configure("127.0.0.1", 0)).Start()
	})
	return remoteSys
}

// TestBroadcastForget: every member of the view, this one included, drops the names from its known
// members; a name still in the view is refused before anything is asked.
func TestBroadcastForget(t *testing.T) {
	system := remoteSystem()
	f, err := NewForwarder(system, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	a := startForgetMember(t, "a", system.Address())
	b := startForgetMember(t, "b", system.Address(), a.p.GossipAddr())
	ServeForget(f, b.q) // what a asks b reaches b's quorum
	waitFor(t, 10*time.Second, "a and b in each other's views", func() bool {
		return len(a.p.View().Members) == 2 && len(b.p.View().Members) == 2
	})
	// Both know a third member, "gone", that is in no view.
	gone := Member{ID: "gone-1", Name: "gone", Address: "127.0.0.1:1", Capacity: 1}
	for _, m := range []*forgetMember{a, b} {
		v := *m.p.View()
		v.Members = append(slices.Clone(v.Members), gone)
		if err := m.q.record(inView(&v)); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(m.q.Known(), "gone") {
			t.Fatalf("known members %v lack gone", m.q.Known())
		}
	}

	if err := CheckForgettable(a.p.View(), []string{"gone", "b"}); !errors.Is(err, ErrForgetAlive) {
		t.Fatalf("forgetting a live member: %v, want ErrForgetAlive", err)
	}
	if err := CheckForgettable(a.p.View(), []string{"gone"}); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res := BroadcastForget(ctx, a.p.View(), f, a.q, []string{"gone"})
	if len(res.Members) != 2 {
		t.Fatalf("outcomes %v, want one per member of the view", res.Members)
	}
	for name, o := range res.Members {
		if o.Error != "" || !slices.Equal(o.Forgotten, []string{"gone"}) {
			t.Errorf("member %s: %+v, want gone forgotten", name, o)
		}
	}
	for _, m := range []*forgetMember{a, b} {
		if slices.Contains(m.q.Known(), "gone") {
			t.Errorf("%s still knows gone: %v", m.p.View().Self.Name, m.q.Known())
		}
	}
	// Again: nothing left to forget, and every member says so.
	res = BroadcastForget(ctx, a.p.View(), f, a.q, []string{"gone"})
	for name, o := range res.Members {
		if o.Error != "" || o.Forgotten == nil || len(o.Forgotten) != 0 {
			t.Errorf("member %s the second time: %+v, want nothing forgotten", name, o)
		}
	}
}

// TestServeForgetWithoutQuorum: a member that keeps no quorum answers with the reason.
func TestServeForgetWithoutQuorum(t *testing.T) {
	system := remoteSystem()
	f, err := NewForwarder(system, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	ServeForget(f, nil)
	self := Member{ID: "x", Name: "x", Address: system.Address()}
	other := Member{ID: "y", Name: "y", Address: system.Address()} // the same forwarder, as another member
	v := &View{Self: self, Members: []Member{self, other}}
	res := BroadcastForget(context.Background(), v, f, nil, []string{"z"})
	for name, o := range res.Members {
		if o.Error == "" {
			t.Errorf("member %s: %+v, want an error saying it keeps no quorum", name, o)
		}
	}
}

// TestQuorumFollow: a member that joins enters the known set of a member following its views, and
// stop ends the loop (the known set no longer follows).
func TestQuorumFollow(t *testing.T) {
	a := startForgetMember(t, "a", "127.0.0.1:1")
	a.q.SetFresh("a", a.p.Fresh)
	stop := a.q.Follow(a.p, 50*time.Millisecond, testLogger(t, "follow"))
	startForgetMember(t, "b", "127.0.0.1:2", a.p.GossipAddr())
	waitFor(t, 10*time.Second, "b known to a's quorum", func() bool { return slices.Contains(a.q.Known(), "b") })
	if !a.q.Clustered() {
		t.Fatal("a knows two members but does not say it was part of a cluster")
	}
	stop()
	startForgetMember(t, "c", "127.0.0.1:3", a.p.GossipAddr())
	waitFor(t, 10*time.Second, "c in a's view", func() bool { return len(a.p.View().Members) == 3 })
	time.Sleep(200 * time.Millisecond) // four ticks of a loop that should have ended
	if slices.Contains(a.q.Known(), "c") {
		t.Fatal("the quorum still followed the views after stop")
	}
}

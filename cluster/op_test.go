package cluster

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorweave/actorweave/cluster/clusterpb"
)

var errNotHeld = errors.New("not held here")

// namesOp answers the names it is asked for that it holds, and refuses with errNotHeld when it
// holds none; served counts its calls.
func namesOp(hold string, served *atomic.Int64) *Op[*clusterpb.Names, *clusterpb.Names] {
	return &Op[*clusterpb.Names, *clusterpb.Names]{Name: "test.names",
		Serve: func(ctx context.Context, req *clusterpb.Names) (*clusterpb.Names, error) {
			served.Add(1)
			for _, n := range req.Names {
				if n == hold {
					return &clusterpb.Names{Names: []string{n}}, nil
				}
			}
			return nil, errNotHeld
		}}
}

// TestOpFanOut: All serves this member directly and every other over the wire, keeps the members'
// order, and bounds a member that cannot answer without holding the others up; Others leaves this
// member out; Any returns the first answer that holds what was asked, tells "nobody holds it" from
// "somebody could not be asked", and a request the receiver cannot decode is refused by name.
func TestOpFanOut(t *testing.T) {
	system := remoteSystem()
	f, err := NewForwarder(system, nil, ErrorTable{{Code: "test_not_held", Err: errNotHeld}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Stop()
	var served atomic.Int64
	op := namesOp("x", &served)
	op.Register(f)

	self := Member{ID: "a", Name: "a", Address: system.Address()}
	other := Member{ID: "b", Name: "b", Address: system.Address()} // the same forwarder, as another member
	dead := Member{ID: "c", Name: "c", Address: "127.0.0.1:1"}
	v := &View{Self: self, Members: []Member{dead, self, other}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	start, wireIn := time.Now(), f.Stats().CallsIn.Load()
	answers := op.All(ctx, v, f, &clusterpb.Names{Names: []string{"x"}}, 500*time.Millisecond)
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("All took %v: the dead member held it up beyond its bound", took)
	}
	if len(answers) != 3 {
		t.Fatalf("%d answers, want one per member", len(answers))
	}
	for i, want := range []string{"c", "a", "b"} {
		if answers[i].Member.Name != want {
			t.Errorf("answer %d is %s's, want %s's (the view's order)", i, answers[i].Member.Name, want)
		}
	}
	if answers[0].Err == nil {
		t.Error("the dead member answered")
	}
	for _, a := range answers[1:] {
		if a.Err != nil || len(a.Rep.GetNames()) != 1 {
			t.Errorf("member %s: %v, %v; want x", a.Member.Name, a.Rep, a.Err)
		}
	}
	if n := f.Stats().CallsIn.Load() - wireIn; n != 1 {
		t.Errorf("%d calls arrived over the wire, want 1: this member is served directly", n)
	}
	if n := served.Load(); n != 2 {
		t.Errorf("served %d times, want 2 (this member and the other)", n)
	}

	served.Store(0)
	others := op.Others(ctx, &View{Self: self, Members: []Member{self, other}}, f, &clusterpb.Names{Names: []string{"x"}}, 0)
	if len(others) != 1 || others[0].Member.Name != "b" || others[0].Err != nil || served.Load() != 1 {
		t.Errorf("Others: %+v, served %d; want b's answer alone", others, served.Load())
	}

	notHeld := func(err error) bool { return errors.Is(err, errNotHeld) }
	rep, ok, err := op.Any(ctx, v, f, &clusterpb.Names{Names: []string{"x"}}, nil, notHeld)
	if !ok || err != nil || rep.GetNames()[0] != "x" {
		t.Errorf("Any for a held name: %v, %v, %v; want b's answer", rep, ok, err)
	}
	// Nobody holds y: b's refusal crossed the wire as errNotHeld and is not an error of the
	// lookup, but the dead member could not be asked, and that is.
	_, ok, err = op.Any(ctx, v, f, &clusterpb.Names{Names: []string{"y"}}, nil, notHeld)
	if ok || err == nil || errors.Is(err, errNotHeld) {
		t.Errorf("Any for a name nobody holds, with a dead member: ok %v, err %v; want the dead member's error", ok, err)
	}
	_, ok, err = op.Any(ctx, &View{Self: self, Members: []Member{self, other}}, f, &clusterpb.Names{Names: []string{"y"}}, nil, notHeld)
	if ok || err != nil {
		t.Errorf("Any for a name nobody holds: ok %v, err %v; want neither", ok, err)
	}
	// found filters answers too: an answer that does not hold what was asked is no answer.
	_, ok, _ = op.Any(ctx, &View{Self: self, Members: []Member{self, other}}, f, &clusterpb.Names{Names: []string{"x"}},
		func(r *clusterpb.Names) bool { return false }, notHeld)
	if ok {
		t.Error("Any returned an answer found refused")
	}

	// A Reply's body is field 1 as bytes; as Names' field 1 it is a string, and 0xff is no UTF-8.
	if _, err := f.CallBody(ctx, other, op.Name, &clusterpb.Reply{Body: []byte{0xff}}); err == nil || !strings.Contains(err.Error(), op.Name) {
		t.Errorf("a request of another type: %v, want a refusal naming %s", err, op.Name)
	}
}

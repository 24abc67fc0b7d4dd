package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/actorweave/actorweave/cluster/clusterpb"
)

// TestForwarderStopEndsItsHandlers: a handler still running when the forwarder stops is cancelled,
// and Stop returns only once it has returned, not when its Call's deadline (a minute) passes.
func TestForwarderStopEndsItsHandlers(t *testing.T) {
	system := actor.NewActorSystem()
	f, err := NewForwarder(system, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	started, ended := make(chan struct{}), make(chan error, 1)
	f.Handle("block", func(ctx context.Context, _ []byte) (proto.Message, error) {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { _ = f.Call(ctx, Member{Address: system.Address()}, "block", &clusterpb.Reply{}, nil) }()
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never started")
	}
	stopped := make(chan struct{})
	go func() { f.Stop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return: it does not cancel the handlers it waits for")
	}
	select {
	case err := <-ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("the handler ended with %v, want its context cancelled by Stop", err)
		}
	default:
		t.Fatal("Stop returned while a handler was still running")
	}
}

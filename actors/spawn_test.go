package actors

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/persistence"
)

// TestSpawnLoadsItsModuleOffTheMailbox: while a spawn waits for its module to be fetched from
// another member, the process's grain keeps answering; once the fetch fails, the spawn is refused
// with ErrModuleNotFound.
func TestSpawnLoadsItsModuleOffTheMailbox(t *testing.T) {
	fetching, release := make(chan struct{}), make(chan struct{})
	h := startTestHost(t, Config{IdleTimeout: time.Hour}, nil, func(d *Deps) {
		d.FetchItem = func(ctx context.Context, id ans104.ID) ([]byte, error) {
			close(fetching) // the test spawns once
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil, fmt.Errorf("%w: no member holds %s", persistence.ErrNotFound, id)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer h.Stop(ctx)

	signer, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	module := ans104.ID{9, 9, 9}
	proc := ans104.NewItem(nil, nil, nil, ans104.Tags{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: module.String()}, {Name: "Scheduler", Value: "s"}})
	if err := proc.Sign(signer); err != nil {
		t.Fatal(err)
	}
	spawned := make(chan error, 1)
	go func() {
		_, err := h.Submit(ctx, proc)
		spawned <- err
	}()
	select {
	case <-fetching:
	case <-ctx.Done():
		t.Fatal("the spawn never asked for its module")
	}
	// The module is being fetched: the grain answers a request for the process at once (it holds
	// nothing yet), instead of waiting behind the spawn.
	qctx, qcancel := context.WithTimeout(ctx, 5*time.Second)
	defer qcancel()
	if _, err := h.requestGrain(qctx, proc.ID(), &stateRequest{}); err != nil {
		t.Fatalf("the grain did not answer while its spawn's module was fetched: %v", err)
	}
	close(release)
	if err := <-spawned; !errors.Is(err, ErrModuleNotFound) {
		t.Fatalf("spawn with a module nobody holds: %v, want ErrModuleNotFound", err)
	}
}

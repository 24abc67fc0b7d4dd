package replication

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

// TestCallEndsWhenQuorumLapses: a request to a peer that does not answer (a backup on the other
// side of a cut) ends with the quorum guard's "no quorum" soon after the guard starts refusing,
// not after the request's Timeout: the minority answers "no quorum" within a lease even for the
// writes it had in flight.
func TestCallEndsWhenQuorumLapses(t *testing.T) {
	c := newCluster(t)
	// A member whose process is stopped (SIGSTOP): it takes the connection and never answers.
	peer := c.start(Config{})
	if err := peer.proc.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = peer.proc.Process.Signal(syscall.SIGCONT) }()
	sys := c.sys
	st, err := persistence.Open(filepath.Join(t.TempDir(), "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var lapsed atomic.Bool
	cfg := Config{Factor: 2, Timeout: 20 * time.Second, Quorum: func() error {
		if lapsed.Load() {
			return awcluster.ErrNoQuorum
		}
		return nil
	}}
	// The replicator of this test process (New names its actor; one per actor system).
	r, err := New(sys, st, func(persistence.ID) Replicas { return nil }, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop()
	time.AfterFunc(300*time.Millisecond, func() { lapsed.Store(true) })
	began := time.Now()
	_, err = r.call(context.Background(), peer.addr, &replpb.Fence{Process: make([]byte, 32), MinEpoch: 1, From: sys.Address()})
	took := time.Since(began)
	if !errors.Is(err, awcluster.ErrNoQuorum) {
		t.Fatalf("call to a silent peer after the quorum lapsed: %v, want no quorum", err)
	}
	if took > 2*time.Second {
		t.Fatalf("call ended %v after it began (the quorum lapsed at 300 ms, Timeout 20 s)", took)
	}
	t.Logf("ended %v after it began, the quorum lapsed at 300 ms", took.Round(time.Millisecond))
}

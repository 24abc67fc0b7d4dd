package node

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/api"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/persistence"
)

// TestForkIsUnavailable: a forked process is a 503 (api.ErrUnavailable), whose message names the
// process, the nonce where the histories part and both nodes, also after crossing the cluster wire
// as another error's cause.
func TestForkIsUnavailable(t *testing.T) {
	t.Parallel()
	var pid persistence.ID
	pid[0] = 7
	f := persistence.ForkRecord{Process: pid, Nonce: 272, Node: "node-a", Peer: "node-b", NodeCount: 280, PeerCount: 275, Reason: "same epoch"}
	err := fmt.Errorf("forwarded: %w", fmt.Errorf("%w: %s", replication.ErrForked, f.Describe()))
	c := classify(err)
	if !errors.Is(c, api.ErrUnavailable) || errors.Is(c, api.ErrNotFound) || errors.Is(c, api.ErrBadRequest) {
		t.Fatalf("a fork classified as %v", c)
	}
	for _, want := range []string{"nonce 272", "node-a", "node-b", "resolve-fork"} {
		if !strings.Contains(c.Error(), want) {
			t.Errorf("the 503's message %q does not name %q", c.Error(), want)
		}
	}
}

func TestAdminRequestUsedOnce(t *testing.T) {
	t.Parallel()
	var once adminOnce
	now := time.Now()
	if err := once.use("mac-1", now, now); err != nil {
		t.Fatal(err)
	}
	if err := once.use("mac-1", now, now); !errors.Is(err, awcluster.ErrAdminAuth) {
		t.Fatalf("a replayed admin request: %v", err)
	}
	if err := once.use("mac-2", now, now); err != nil {
		t.Fatal(err)
	}
	// Past twice the accepted skew a MAC is forgotten: VerifyAdmin refuses its time by then.
	if err := once.use("mac-3", now, now.Add(3*awcluster.AdminSkew)); err != nil || len(once.seen) != 1 {
		t.Fatalf("stale MACs kept: %v, %d remembered", err, len(once.seen))
	}
}

package node

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestClusterKill9FailureSignal: three memberlist members whose memberlist failure detection is
// slowed to half a minute or more (probe interval 1 s, suspicion mult 30: its suspicion timeout
// alone is 30 s); the member that owns the most processes is killed with SIGKILL. Every process it
// owned must acknowledge a write through the survivors within 20 s, before memberlist could have
// declared the dead member gone: only the failure signal (cluster/failure.go, two quorum leases of
// silence) moves them that soon. The survivors count a suspicion each and no false one.
func TestClusterKill9FailureSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := []string{"AW_CLUSTER_TIMING=200ms,1s,500ms,30", "AW_CLUSTER_LAZY=1"}
	c := startTestCluster(t, 3, true, env)
	waitOneView(ctx, t, c.members, "at start")
	user, _ := ans104.GenerateEd25519Signer()
	signer := client.New("http://unused", user)
	clientOf := memberClients(user, 10*time.Second)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	const procs = 6
	pids := c.spawnOnOwners(ctx, user, modItem, procs)
	// send posts a new message to pid through a live member (the i-th), once.
	send := func(pid ans104.ID, i int) error {
		item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return err
		}
		_, err = clientOf(c.entry(pid, i)).PostItem(ctx, item)
		return err
	}
	for i, pid := range pids {
		// Before the kill: retried, since a loaded machine may refuse one for a moment.
		for try := 0; ; try++ {
			err := send(pid, i+try)
			if err == nil {
				break
			}
			if try == 20 {
				t.Fatalf("first message to %s: %v", pid, err)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	victim := c.busiestOwner(pids)
	var moved []ans104.ID
	for _, pid := range pids {
		if o, _ := c.owner(pid); o == victim {
			moved = append(moved, pid)
		}
	}
	killedAt := time.Now()
	c.kill(victim)
	const bound = 20 * time.Second // memberlist: at least 30 s
	var took []time.Duration
	for _, pid := range moved {
		for try := 0; ; try++ {
			err := send(pid, try)
			if err == nil {
				took = append(took, time.Since(killedAt))
				break
			}
			if time.Since(killedAt) > bound {
				t.Fatalf("process %s of the killed member acknowledged nothing within %v of the kill (memberlist's own detection takes 30 s or more here): %v", pid, bound, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("kill -9 to the first acknowledgement of each of the %d processes the killed member owned: %v", len(moved), took)
	for _, m := range c.members {
		if !m.alive {
			continue
		}
		if n := metric(t, m.url, "actorweave_cluster_suspicions_total"); n < 1 {
			t.Errorf("member %s counted %v suspicions, want at least 1 (the killed member)", m.name, n)
		}
		if n := metric(t, m.url, "actorweave_cluster_false_suspicions_total"); n != 0 {
			t.Errorf("member %s counted %v false suspicions, want none", m.name, n)
		}
	}
}

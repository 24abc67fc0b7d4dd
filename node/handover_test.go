package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestClusterHandoverWithFrozenBackup: a passivated process wakes on its owner while its backup is
// frozen (SIGSTOP), so the activation's hand-over cannot fence it and hangs on the replication
// call. The hand-over runs off the grain's mailbox: requests beyond --max-pending are refused at
// once with 503 (busy) while it runs, the ones within wait without being acknowledged, and once
// the backup thaws they are acknowledged and held by both members.
func TestClusterHandoverWithFrozenBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two member nodes")
	}
	const maxPending, sent = 2, 6
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c := startTestCluster(t, 2, false, []string{"AW_CLUSTER_IDLE_TIMEOUT=1s", fmt.Sprintf("AW_CLUSTER_MAX_PENDING=%d", maxPending),
		"AW_CLUSTER_REQUEST_TIMEOUT=60s"})
	c.setMembers()
	user, _ := ans104.GenerateEd25519Signer()
	clientOf := memberClients(user, 2*time.Minute)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	signer := client.New("http://unused", user)
	pid := c.spawnOnOwners(ctx, user, modItem, 1)[0]
	owner, backup := c.owner(pid)
	// The process passivates on its owner (idle for 1 s).
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, owner.url, "actorweave_active_processes") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the process did not passivate")
		}
		time.Sleep(100 * time.Millisecond)
	}

	if err := backup.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	defer func() {
		if !thawed {
			_ = backup.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	type outcome struct {
		err  error
		took time.Duration
	}
	msgs := make([]*ans104.DataItem, sent)
	for i := range msgs {
		var err error
		if msgs[i], err = signer.MessageItem(pid, []byte(fmt.Sprintf("return %d", i)), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]outcome, sent)
	var mu sync.Mutex // out, read at the freeze's 3 s while requests still end
	var wg sync.WaitGroup
	start := time.Now()
	for i, m := range msgs {
		wg.Go(func() {
			_, err := clientOf(owner).PostItem(ctx, m)
			mu.Lock()
			out[i] = outcome{err, time.Since(start)}
			mu.Unlock()
		})
	}
	// The busy refusals come while the hand-over hangs on the frozen backup; the waiting requests
	// are still unanswered.
	time.Sleep(3 * time.Second)
	var busy, early []int
	mu.Lock()
	snapshot := slices.Clone(out)
	mu.Unlock()
	for i, o := range snapshot {
		if o.took == 0 {
			continue // still waiting
		}
		early = append(early, i)
		var ce *client.Error
		if errors.As(o.err, &ce) && ce.Status == http.StatusServiceUnavailable && o.took < 2*time.Second {
			busy = append(busy, i)
		} else {
			t.Errorf("message %d answered within 3 s of the freeze with %v after %v; want 503 busy at once, or no answer yet", i, o.err, o.took)
		}
	}
	if len(busy) < sent-maxPending {
		t.Errorf("%d of %d requests refused as busy while the hand-over ran, want at least %d (beyond --max-pending %d)",
			len(busy), sent, sent-maxPending, maxPending)
	}
	if len(early) == sent {
		t.Fatal("every request was answered while the backup was frozen: none waited for the hand-over")
	}

	if err := backup.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	thawed = true
	wg.Wait()
	acked := 0
	for i, o := range out {
		if slices.Contains(early, i) {
			continue
		}
		if o.err != nil {
			t.Errorf("message %d waited for the hand-over and then failed: %v", i, o.err)
			continue
		}
		acked++
	}
	t.Logf("%d refused as busy during the hand-over, %d waited and were acknowledged after the thaw", len(busy), acked)
	// What was acknowledged is on both members.
	replicas := map[ans104.ID][2]string{pid: {owner.dir, backup.dir}}
	ackedIDs := map[ans104.ID]ans104.ID{}
	for i, o := range out {
		if o.err == nil {
			ackedIDs[msgs[i].ID()] = pid
		}
	}
	c.kill(owner)
	c.kill(backup)
	if lost, forked := checkLogs(t, c.members, replicas, ackedIDs); lost != 0 || forked != 0 {
		t.Fatalf("%d acknowledged messages lost, %d forked logs", lost, forked)
	}
}

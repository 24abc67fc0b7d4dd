package node

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// replicaSet is pid's replica set under the test's current view of live members: the placement's
// order (the explicit member list's rendezvous, or the cluster's over member names) cut to factor.
func (c *testCluster) replicaSet(pid ans104.ID, factor int) []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	byRemote := map[string]*member{}
	var live []string
	var ms []awcluster.Member
	for _, m := range c.members {
		if m.alive {
			live = append(live, m.remote)
			byRemote[m.remote] = m
			ms = append(ms, awcluster.Member{Name: m.name, Address: m.remote, Capacity: 1})
		}
	}
	r := rendezvous(pid, live)
	if c.key != "" {
		r = r[:0]
		for _, m := range awcluster.Rank(pid.String(), ms, nil) {
			r = append(r, m.Address)
		}
	}
	var out []*member
	for _, a := range r[:min(len(r), factor)] {
		out = append(out, byRemote[a])
	}
	return out
}

// TestClusterFactor3Kill2: five member nodes (child processes) with --replication-factor 3. Messages
// are acknowledged to processes; then two members are killed -9 at once: the owner of the first
// process and its first backup, so that of that process's three replicas only the last backup
// survives, and of every other process at least one replica does. After membership settles (the
// test's member list without the two; under memberlist, failure detection, with the quorum guard
// counting 3 of 5), every acknowledged message is in the log the surviving cluster serves, exactly
// once, and every process acknowledges new messages (its replica set is three live members again).
// With the last backup alone holding the first process's log, a write acknowledged before every
// backup held it would be missing here.
func TestClusterFactor3Kill2(t *testing.T) {
	if testing.Short() {
		t.Skip("runs five member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	for _, memberlist := range []bool{false, true} {
		name := "explicit-members"
		if memberlist {
			name = "memberlist"
		}
		t.Run(name, func(t *testing.T) { factor3Kill2(t, wasm, memberlist) })
	}
}

func factor3Kill2(t *testing.T, wasm []byte, memberlist bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const factor = 3
	env := []string{fmt.Sprintf("AW_CLUSTER_REPLICATION_FACTOR=%d", factor), "AW_CLUSTER_COMPILE_CACHE=" + wasmcache.Dir(t)}
	c := startTestCluster(t, 5, memberlist, env)
	c.setMembers()
	if memberlist {
		waitOneView(ctx, t, c.members, "after the start")
	}
	user, _ := ans104.GenerateEd25519Signer()
	signer := client.New("http://unused", user)
	clientOf := memberClients(user, 30*time.Second)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	const procs = 6
	pids := c.spawnOnOwners(ctx, user, modItem, procs)
	// send posts one message with a unique token to pid's owner under the current view, retrying
	// the same item until it is acknowledged (a 409: already in the log) or the bound passes.
	acked := map[string]ans104.ID{}       // token → process
	ackedIDs := map[ans104.ID]ans104.ID{} // message id → process (checkLogs)
	send := func(pid ans104.ID, token string, bound time.Duration) error {
		item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}, {Name: "Token", Value: token}})
		if err != nil {
			return err
		}
		deadline := time.Now().Add(bound)
		for try := 0; ; try++ {
			to := c.replicaSet(pid, factor)[0]
			if memberlist {
				to = c.entry(pid, try) // any member: it forwards to the owner of its view
			}
			_, err := clientOf(to).PostItem(ctx, item)
			if err == nil || conflict(err) {
				acked[token] = pid
				ackedIDs[item.ID()] = pid
				return nil
			}
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for round := 0; round < 4; round++ {
		for i, pid := range pids {
			if err := send(pid, fmt.Sprintf("before-%d-%d", i, round), 30*time.Second); err != nil {
				t.Fatalf("message to process %d: %v", i, err)
			}
		}
	}
	// Kill the first process's owner and first backup together.
	set := c.replicaSet(pids[0], factor)
	survivor := set[2]
	start := time.Now()
	c.kill(set[0])
	c.kill(set[1])
	c.setMembers()
	if o := c.replicaSet(pids[0], factor)[0]; o != survivor {
		t.Fatalf("placement: the last backup is not the owner after its two betters died")
	}
	// New messages are accepted by every process.
	for i, pid := range pids {
		if err := send(pid, fmt.Sprintf("after-%d", i), 60*time.Second); err != nil {
			t.Fatalf("process %d takes no message after the kill: %v", i, err)
		}
	}
	t.Logf("every process acknowledged again %v after killing two of five members", time.Since(start).Round(time.Millisecond))
	// Every acknowledged message, exactly once, in each process's log on its owner now.
	exactlyOnce := func(when string) {
		t.Helper()
		for i, pid := range pids {
			owner := c.replicaSet(pid, factor)[0]
			count := map[string]int{}
			for _, tok := range logTokens(t, ctx, clientOf(owner), pid) {
				count[tok]++
			}
			for tok, p := range acked {
				if p == pid && count[tok] != 1 {
					t.Errorf("%s: process %d: acknowledged message %s is %d times in the log its owner serves", when, i, tok, count[tok])
				}
			}
		}
	}
	exactlyOnce("after the kill")

	// The first victim comes back on its data folder (a new incarnation) and takes its processes
	// back: hand-overs from their owners now to it, with the whole backup list, under load.
	back := startMemberNodeIn(t, nil, env, set[0].dir, c.key, func() []string {
		if memberlist {
			return []string{survivor.gossip}
		}
		return nil
	}()...)
	c.mu.Lock()
	*set[0] = *back
	c.mu.Unlock()
	c.setMembers()
	for i, pid := range pids {
		if err := send(pid, fmt.Sprintf("rejoin-%d", i), 60*time.Second); err != nil {
			t.Fatalf("process %d takes no message after the rejoin: %v", i, err)
		}
	}
	exactlyOnce("after the rejoin")
	t.Logf("the returning member took %.0f processes over (hand-overs with the backup list), %.0f entries pulled",
		metric(t, set[0].url, "actorweave_replication_taken_over_total"), metric(t, set[0].url, "actorweave_replication_entries_pulled_total"))
	// On disk, with every member stopped: each copy one hash chain, one signer per epoch, the owner
	// and each of its two backups identical and holding every acknowledged message.
	var sets []map[ans104.ID][2]string // owner with its first backup, owner with its second
	for b := 1; b < factor; b++ {
		replicas := map[ans104.ID][2]string{}
		for _, pid := range pids {
			rs := c.replicaSet(pid, factor)
			replicas[pid] = [2]string{rs[0].dir, rs[b].dir}
		}
		sets = append(sets, replicas)
	}
	for _, m := range c.members {
		if m.alive {
			c.kill(m)
		}
	}
	for _, replicas := range sets {
		checkLogs(t, c.members, replicas, ackedIDs)
	}
}

package node

import (
	"context"
	crand "crypto/rand"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestClusterPartitionRestart: three members in network namespaces under steady load through every
// member; one is cut off from the other two (its clients still reach it), then killed -9 and
// restarted while still cut off. Before the "was a cluster" fact was durable, the restarted member
// saw itself alone, ran at replication factor 1 and acknowledged writes the majority never saw:
// hundreds of acknowledged messages were lost at healing and logs forked. Now:
//   - the cut-off member answers 503 "no quorum" within about a lease of the cut (measured);
//   - it acknowledges nothing while cut off, before and after its restart;
//   - after healing, every process takes writes through every member, and every copy of every log
//     on every node is checked: owner and backup identical, no fork, nothing acknowledged missing.
//
// AW_PARTITION_RESTART_ROUNDS repeats it with random timings (make cluster-partition-restart-long).
func TestClusterPartitionRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("needs network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("the partition test creates network namespaces: it runs as root (CI does)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal("the partition test needs iproute2 (ip): run make deps")
	}
	wasm := testutil.Module(t, "aoslike")
	rounds := 1
	if v := os.Getenv("AW_PARTITION_RESTART_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	var acked, lost, forked, victimAcks int
	var firstNoQuorum []time.Duration
	for r := 0; r < rounds; r++ {
		checked := false // the round got as far as counting (a loss or a fork does not stop the rounds)
		t.Run(fmt.Sprintf("round-%d", r), func(t *testing.T) {
			res := partitionRestartRound(t, wasm, r%3, r > 0)
			acked += res.acked
			lost += res.lost
			forked += res.forked
			victimAcks += res.victimAcks
			firstNoQuorum = append(firstNoQuorum, res.firstNoQuorum)
			checked = true
		})
		if !checked {
			break
		}
	}
	// A lost message or a forked log fails its round (checkLogs); the counts are over every round run.
	t.Logf("restart-inside-partition rounds: %d; acknowledged %d, lost %d, forked %d; acknowledged by the cut-off member %d; cut → first 'no quorum' %v",
		len(firstNoQuorum), acked, lost, forked, victimAcks, firstNoQuorum)
}

type partitionRestartResult struct {
	acked, lost, forked, victimAcks int
	firstNoQuorum                   time.Duration
}

func partitionRestartRound(t *testing.T, wasm []byte, vi int, randomTimings bool) partitionRestartResult {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	nn := newNetns(t, 3)
	c := &testCluster{t: t, key: filepath.Join(t.TempDir(), "cluster.key")}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	if err := os.WriteFile(c.key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	envOf := func(i int) []string {
		return []string{"AW_CLUSTER_HTTP=" + nn.clientIP(i) + ":0", "AW_CLUSTER_BIND=" + nn.clusterIP(i), "AW_CLUSTER_REQUEST_TIMEOUT=10s"}
	}
	prefixOf := func(i int) []string { return []string{"ip", "netns", "exec", nn.ns(i)} }
	for i := 0; i < 3; i++ {
		var join []string
		if i > 0 {
			join = []string{c.members[0].gossip}
		}
		c.members = append(c.members, startMemberNodeIn(t, prefixOf(i), envOf(i), t.TempDir(), c.key, join...))
	}
	waitOneView(ctx, t, c.members, "at start")
	user, _ := ans104.GenerateEd25519Signer()
	clientOf := memberClients(user, 15*time.Second)
	modItem := signModule(t, user, wasm)
	if err := postTx(ctx, c.members[0].url, modItem.Bytes()); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acked := map[ans104.ID]ans104.ID{}
	var victimAcks atomic.Int64
	var cur atomic.Pointer[member] // the victim's current incarnation (its HTTP port changes on restart)
	post := func(via *member, item *ans104.DataItem) error {
		_, err := clientOf(via).PostItem(ctx, item)
		if err == nil || conflict(err) {
			mu.Lock()
			acked[item.ID()] = item.TargetID()
			mu.Unlock()
		}
		return err
	}
	const procs = 12
	var pids []ans104.ID
	for i := 0; i < procs; i++ {
		item, _ := clientOf(c.members[0]).Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		if err := post(c.members[i%3], item); err != nil {
			t.Fatalf("spawn: %v", err)
		}
		pids = append(pids, item.ID())
	}
	mu.Lock()
	for _, pid := range pids {
		delete(acked, pid) // spawns are checked as processes (every log is), not as messages
	}
	mu.Unlock()
	victim := c.members[vi]
	cur.Store(victim)
	// Steady load: four writers, each through a random member (the victim included), no retries.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; ; k++ {
				select {
				case <-stop:
					return
				default:
				}
				c.mu.Lock()
				via, first := c.members[(w+k)%3], c.members[0]
				c.mu.Unlock()
				if via.name == victim.name {
					via = cur.Load()
				}
				msg, _ := clientOf(first).MessageItem(pids[rand.Intn(len(pids))], []byte("return 1"), nil)
				// A write the cut-off member took before it could know (within a lease of the cut)
				// may be acknowledged: it reached the majority. One it took later must not be.
				late := cutFlag.Load() && time.Since(cutTime()) > time.Second
				if err := post(via, msg); err != nil {
					time.Sleep(50 * time.Millisecond)
				} else if via.name == victim.name && late {
					victimAcks.Add(1)
				}
			}
		}(w)
	}
	time.Sleep(2 * time.Second)
	nn.cut(vi)
	cutAt := time.Now()
	cutAtNano.Store(cutAt.UnixNano())
	cutFlag.Store(true)
	defer cutFlag.Store(false)
	// Time from the cut to the first "no quorum" answer of the cut-off member.
	var firstNoQuorum time.Duration
	for firstNoQuorum == 0 {
		msg, _ := clientOf(c.members[0]).MessageItem(pids[rand.Intn(len(pids))], []byte("return 1"), nil)
		err := post(victim, msg)
		switch {
		case err == nil:
			victimAcks.Add(1)
		case strings.Contains(err.Error(), "no quorum"):
			firstNoQuorum = time.Since(cutAt)
		case time.Since(cutAt) > 30*time.Second:
			t.Fatalf("the cut-off member never answered 'no quorum' within 30 s; last: %v", err)
		}
	}
	t.Logf("cut → first 'no quorum' from the cut-off member: %v", firstNoQuorum.Round(time.Millisecond))
	wait := 2 * time.Second
	if randomTimings {
		wait = time.Duration(rand.Intn(8000)) * time.Millisecond
	}
	time.Sleep(wait)
	// Kill -9 and restart it while still cut off.
	c.kill(victim)
	var join []string
	if vi != 0 {
		join = []string{c.members[0].gossip}
	}
	reborn := startMemberNodeIn(t, prefixOf(vi), envOf(vi), victim.dir, c.key, join...)
	reborn.name = victim.name
	c.mu.Lock()
	c.members[vi] = reborn
	c.mu.Unlock()
	cur.Store(reborn)
	t.Logf("cut-off member restarted %v after the cut", time.Since(cutAt).Round(time.Millisecond))
	// Writes through the restarted member, to every process: each must be refused with a 503.
	deadline := time.Now().Add(6 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		msg, _ := clientOf(c.members[0]).MessageItem(pids[i%len(pids)], []byte("return 1"), nil)
		err := post(reborn, msg)
		if err == nil {
			victimAcks.Add(1)
			continue
		}
		if !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "no quorum") {
			t.Errorf("the restarted cut-off member refused a write without 503 'no quorum': %v", err)
		}
		if i == 0 {
			t.Logf("restarted cut-off member: %v", err)
		}
	}
	if n := victimAcks.Load(); n > 0 {
		t.Fatalf("the cut-off member acknowledged %d writes while cut off", n)
	}
	time.Sleep(wait)
	nn.heal(vi)
	cutFlag.Store(false)
	healAt := time.Now()
	waitOneView(ctx, t, c.members, "after healing")
	t.Logf("one view of all three members %v after healing", time.Since(healAt).Round(time.Millisecond))
	close(stop)
	wg.Wait()
	// Every process takes writes through every member.
	for _, pid := range pids {
		for _, via := range c.members {
			msg, _ := clientOf(c.members[0]).MessageItem(pid, []byte("return 1"), nil)
			for try := 0; ; try++ {
				err := post(via, msg)
				if err == nil || conflict(err) { // 409: an earlier try was acknowledged
					break
				}
				if ctx.Err() != nil || time.Since(healAt) > 3*time.Minute {
					t.Fatalf("process %s takes no write through %s %v after healing: %v", pid, via.url, time.Since(healAt), err)
				}
				if try%20 == 19 {
					t.Logf("after healing, %s through %s: %v", pid, via.url, err)
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
	}
	t.Logf("every process acknowledged through every member %v after healing", time.Since(healAt).Round(time.Millisecond))
	view := waitOneView(ctx, t, c.members, "at the end")
	dirOf := map[string]string{}
	for _, m := range c.members {
		dirOf[m.name] = m.dir
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range pids {
		r := awcluster.Rank(pid.String(), view, nil)
		replicas[pid] = [2]string{dirOf[r[0].Name], dirOf[r[1].Name]}
	}
	for _, m := range c.members {
		c.kill(m)
	}
	mu.Lock()
	defer mu.Unlock()
	lost, forked := checkLogs(t, c.members, replicas, acked)
	return partitionRestartResult{acked: len(acked), lost: lost, forked: forked, victimAcks: int(victimAcks.Load()), firstNoQuorum: firstNoQuorum}
}

// cutFlag is set while the test's victim is cut off (the load's acknowledgements through it then
// count as violations).
var cutFlag atomic.Bool

var cutAtNano atomic.Int64

func cutTime() time.Time { return time.Unix(0, cutAtNano.Load()) }

package node

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/verify"
)

// TestClusterFailoverVerifiedFromArweave: two- and three-member clusters (memberlist, one cluster
// key, so one derived scheduler key) flushing to arlocal. Processes are spawned through every
// member, messages sent through random members, and the owner of a random process is killed with
// SIGKILL and restarted, several times, with messages sent while it is down. Then every process is
// rebuilt from the gateway alone by `verify` (a fresh store), its whole log checked (signatures,
// hash chain, every assignment signed by the Scheduler the Process names, whichever member wrote
// it), every result and the final memory recomputed and compared with the cluster's, and its
// coverage must be full: as many entries on Arweave as in the cluster's log.
func TestClusterFailoverVerifiedFromArweave(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs member nodes and arlocal")
	}
	wasm := testutil.Module(t, "aoslike")
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprintf("%d-members", n), func(t *testing.T) { failoverVerify(t, wasm, n, n) })
	}
}

func failoverVerify(t *testing.T, wasm []byte, members, rounds int) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	c := &testCluster{t: t, key: filepath.Join(t.TempDir(), "cluster.key")}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	if err := os.WriteFile(c.key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	childEnv := []string{"AW_CLUSTER_GATEWAY=" + env.ar.URL, "AW_CLUSTER_WALLET=" + env.walletPath}
	start := func(dir string, join ...string) *member {
		return startMemberNodeIn(t, nil, childEnv, dir, c.key, join...)
	}
	for i := 0; i < members; i++ {
		var join []string
		if i > 0 {
			join = []string{c.members[0].gossip}
		}
		c.members = append(c.members, start(t.TempDir(), join...))
	}
	waitOneView(ctx, t, c.members, "at start")
	sched := c.scheduler()
	for _, m := range c.members {
		if m.sched != sched {
			t.Fatalf("member %s schedules as %s, member %s as %s: not one scheduler identity", m.name, m.sched, c.members[0].name, sched)
		}
		if m.sched == m.name {
			t.Fatalf("member %s schedules with its own node key", m.name)
		}
	}
	user, _ := ans104.GenerateEd25519Signer()
	for _, a := range []string{sched, ans104.Address(user.SignatureType(), user.Owner())} {
		if err := env.ar.Mint(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	clientOf := memberClients(user, 30*time.Second)
	signer := client.New("http://unused", user)
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	// GET / on every member answers the one scheduler address.
	for _, m := range c.members {
		if got, err := clientOf(m).SchedulerAddress(ctx); err != nil || got != sched {
			t.Fatalf("GET / on %s: %q, %v; want %s", m.name, got, err, sched)
		}
	}
	// post retries an item through random live members until it is acknowledged (409: already in).
	post := func(item *ans104.DataItem) {
		deadline := time.Now().Add(2 * time.Minute)
		for try := 0; ; try++ {
			_, err := clientOf(c.entry(item.ID(), rand.Intn(1000))).PostItem(ctx, item)
			if err == nil || conflict(err) {
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("item %s not acknowledged after %d tries: %v", item.ID(), try+1, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	procs := 2 * members
	pids := make([]ans104.ID, procs)
	for i := range pids {
		item, err := signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: sched},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = item.ID()
		// Spawned through every member in turn, whoever owns it.
		if _, err := clientOf(c.members[i%members]).PostItem(ctx, item); err != nil {
			t.Fatalf("spawn through member %d: %v", i%members, err)
		}
	}
	send := func(perProcess int) {
		var wg sync.WaitGroup
		for _, pid := range pids {
			wg.Add(1)
			go func(pid ans104.ID) {
				defer wg.Done()
				for k := 0; k < perProcess; k++ {
					item, err := signer.MessageItem(pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
					if err != nil {
						t.Error(err)
						return
					}
					post(item)
				}
			}(pid)
		}
		wg.Wait()
	}
	send(3)
	for r := 0; r < rounds; r++ {
		victim, _ := c.owner(pids[rand.Intn(len(pids))])
		t.Logf("round %d: kill -9 %s (owner of processes)", r, victim.name)
		c.kill(victim)
		done := make(chan struct{})
		go func() { defer close(done); send(2) }() // during the failover (with two members: until the restart)
		time.Sleep(3 * time.Second)
		var join []string
		for _, m := range c.members {
			if m.alive {
				join = append(join, m.gossip)
			}
		}
		restarted := start(victim.dir, join...)
		c.mu.Lock()
		*victim = *restarted
		c.mu.Unlock()
		<-done
		waitOneView(ctx, t, c.members, fmt.Sprintf("after restart %d", r))
		send(2)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Every process: the cluster's log length, then the gateway until it has as much.
	heads := map[ans104.ID]uint64{}
	for _, pid := range pids {
		o, _ := c.owner(pid)
		heads[pid] = latestNonce(ctx, t, clientOf(o), pid)
	}
	deadline := time.Now().Add(3 * time.Minute)
	for _, pid := range pids {
		for {
			on, err := env.gw.ListBatches(ctx, pid)
			top := int64(-1)
			if err == nil {
				for _, b := range on {
					top = max(top, int64(b.To))
				}
			}
			if top >= int64(heads[pid]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("process %s: the gateway has nonces up to %d, the cluster's log ends at %d (err %v)", pid, top, heads[pid], err)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}
	// Every process rebuilt from the gateway alone and verified against the cluster.
	verified := 0
	src := recovery.Gateway(env.gw, arweave.DefaultRetry, 0)
	for _, pid := range pids {
		// Compared with the process's owner (its state is read there without a hop). A read the
		// cluster cannot serve yet (a member still settling after the restarts answers 504) is asked
		// again: it is the cluster's read path, not what Arweave holds, that is being waited for.
		var rep *verify.Report
		for try := 0; ; try++ {
			o, _ := c.owner(pid)
			var err error
			if rep, err = verify.Run(ctx, verify.Config{Source: src, Node: o.url, TempDir: t.TempDir()}, pid); err != nil {
				t.Fatalf("verify %s: %v", pid, err)
			}
			if rep.OK || try == 4 || !onlyUnservedReads(rep) {
				break
			}
			time.Sleep(5 * time.Second)
		}
		if !rep.OK || rep.Entries != heads[pid]+1 {
			var bad []string
			for _, ch := range rep.Checks {
				if ch.Status != verify.OK {
					bad = append(bad, fmt.Sprintf("%d %s %s: %s", ch.Nonce, ch.What, ch.Status, ch.Detail))
				}
			}
			t.Errorf("process %s: verify ok=%v, %d entries from Arweave of %d in the cluster; %s", pid, rep.OK, rep.Entries, heads[pid]+1, strings.Join(bad, "; "))
			continue
		}
		verified++
	}
	t.Logf("%d members, %d kill -9 and restarts of owners: %d of %d processes verified from Arweave alone with full coverage", members, rounds, verified, procs)
}

// onlyUnservedReads: every failed check is the node not serving a read (not a difference).
func onlyUnservedReads(rep *verify.Report) bool {
	for _, ch := range rep.Checks {
		if (ch.Status == verify.Mismatch || ch.Status == verify.Missing) && !strings.Contains(ch.Detail, "does not serve") {
			return false
		}
	}
	return true
}

// latestNonce is the nonce of pid's last log entry, as GET /{pid}/latest answers it.
func latestNonce(ctx context.Context, t *testing.T, c *client.Client, pid ans104.ID) uint64 {
	t.Helper()
	b, err := c.Raw(ctx, "/"+pid.String()+"/latest")
	if err != nil {
		t.Fatalf("latest of %s: %v", pid, err)
	}
	var e struct {
		Assignment struct {
			Tags []ans104.Tag `json:"tags"`
		} `json:"assignment"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("latest of %s: %v", pid, err)
	}
	n, err := strconv.ParseUint(ans104.Tags(e.Assignment.Tags).Value("Nonce"), 10, 64)
	if err != nil {
		t.Fatalf("latest of %s: no Nonce tag in %s", pid, b)
	}
	return n
}

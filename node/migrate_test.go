package node

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/internal/testutil"
)

// Migration tests (issue 7): graceful leave on SIGTERM, and requests that wait for a dead owner's
// successor instead of failing. The clients here do NOT retry: every request is sent once, so every
// failure the node returns is counted.

// migrateSetup starts n memberlist members and spawns procs processes on their owners.
type migrateSetup struct {
	c        *testCluster
	pids     []ans104.ID
	signer   *client.Client
	clientOf func(*member) *client.Client
}

func startMigrateCluster(t *testing.T, ctx context.Context, n, procs int) *migrateSetup {
	t.Helper()
	wasm := testutil.Module(t, "aoslike")
	t.Setenv("AW_CLUSTER_COMPILE_CACHE", t.TempDir())
	c := &testCluster{t: t, key: filepath.Join(t.TempDir(), "cluster.key")}
	key := make([]byte, 32)
	_, _ = crand.Read(key)
	if err := os.WriteFile(c.key, key, 0o600); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		var join []string
		if i > 0 {
			join = []string{c.members[0].gossip}
		}
		c.members = append(c.members, startMemberNode(t, t.TempDir(), c.key, join...))
	}
	waitViews(t, c.members, n)
	user, _ := ans104.GenerateEd25519Signer()
	s := &migrateSetup{c: c, signer: client.New("http://unused", user), clientOf: memberClients(user, 2*time.Minute)}
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)
	for i := 0; i < procs; i++ {
		item, err := s.signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()}, {Name: "SDK", Value: "actorweave"},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		if err != nil {
			t.Fatal(err)
		}
		s.pids = append(s.pids, item.ID())
		// Set-up, not measured: the first spawn on a node compiles the module, which under -race on
		// a loaded 2-core machine has taken longer than a request's bound; try again (409: done).
		for try := 0; ; try++ {
			_, err := s.clientOf(c.mustOwner(item.ID())).PostItem(ctx, item)
			if err == nil || conflict(err) {
				break
			}
			if try == 2 {
				t.Fatalf("spawn: %v", err)
			}
			t.Logf("spawn (set-up) failed, trying again: %v", err)
		}
	}
	return s
}

// waitViews waits until the view of every live member of ms holds want members.
func waitViews(t *testing.T, ms []*member, want int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok := true
		for _, m := range ms {
			if !m.alive {
				continue
			}
			if got := metric(t, m.url, "actorweave_cluster_view_members"); got != float64(want) {
				ok = false
			}
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("views did not reach %d members", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// load sends messages to pids through the entry members (one attempt each) until stop closes.
type load struct {
	mu       sync.Mutex
	acked    map[ans104.ID]ans104.ID
	failures []string
	failedAt []time.Time
	slowest  time.Duration
	sent     atomic.Int64
}

func (s *migrateSetup) run(ctx context.Context, l *load, workers int, entries func(i int) *member, stop <-chan struct{}) *sync.WaitGroup {
	l.acked = map[ans104.ID]ans104.ID{}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pid := s.pids[(w*7+i)%len(s.pids)]
				item, err := s.signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
				if err != nil {
					return
				}
				m := entries(w + i)
				start := time.Now()
				_, err = s.clientOf(m).PostItem(ctx, item)
				took := time.Since(start)
				l.sent.Add(1)
				l.mu.Lock()
				l.slowest = max(l.slowest, took)
				if err == nil {
					l.acked[item.ID()] = pid
				} else {
					l.failures = append(l.failures, fmt.Sprintf("%s via %s after %v: %v", pid, m.url, took.Round(time.Millisecond), err))
					l.failedAt = append(l.failedAt, time.Now())
				}
				l.mu.Unlock()
			}
		}(w)
	}
	return &wg
}

// verify checks that every acknowledged message is on its process's owner and that every copy of
// every log is sound (checkLogs), after stopping every member.
func (s *migrateSetup) verify(t *testing.T, ctx context.Context, acked map[ans104.ID]ans104.ID) {
	t.Helper()
	for id, pid := range acked {
		if _, err := s.clientOf(s.c.mustOwner(pid)).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			t.Fatalf("acknowledged message %s missing from process %s on its owner: %v", id, pid, err)
		}
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range s.pids {
		o, b := s.c.owner(pid)
		replicas[pid] = [2]string{o.dir, b.dir}
	}
	for _, m := range s.c.members {
		if m.alive {
			s.c.kill(m)
		}
	}
	checkLogs(t, s.c.members, replicas, acked)
}

func (s *migrateSetup) except(victim *member) func(int) *member {
	var live []*member
	for _, m := range s.c.members {
		if m != victim {
			live = append(live, m)
		}
	}
	return func(i int) *member { return live[i%len(live)] }
}

// victim is the member owning the most processes.
func (s *migrateSetup) victim() *member {
	count := map[*member]int{}
	for _, pid := range s.pids {
		count[s.c.mustOwner(pid)]++
	}
	v := s.c.members[0]
	for m, n := range count {
		if n > count[v] {
			v = m
		}
	}
	return v
}

func routeWaits(t *testing.T, c *testCluster) float64 {
	var n float64
	for _, m := range c.members {
		if m.alive {
			n += metric(t, m.url, "actorweave_route_waits_total")
		}
	}
	return n
}

// TestClusterKill9NoRetry: kill -9 of the member owning the most processes while clients that never
// retry send through the other members. Requests for the dead owner's processes wait (the router
// routes them again on every membership change, bounded by the request's deadline) until memberlist
// declares it dead and the backups take over; none may fail. Nothing acknowledged may be lost.
func TestClusterKill9NoRetry(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s := startMigrateCluster(t, ctx, 3, 9)
	victim := s.victim()
	l := &load{}
	stop := make(chan struct{})
	wg := s.run(ctx, l, 6, s.except(victim), stop)
	time.Sleep(2 * time.Second)
	l.mu.Lock()
	before, failedBefore := len(l.acked), len(l.failures)
	l.mu.Unlock()
	waits0 := routeWaits(t, s.c)
	killedAt := time.Now()
	s.c.kill(victim)
	waitViews(t, s.c.members, 2)
	detected := time.Since(killedAt)
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("kill -9: %d requests sent, %d acknowledged (%d before the kill), %d failed (%d before the kill); memberlist dropped the dead member after %v; slowest answer %v; %.0f requests waited for an owner after the kill",
		l.sent.Load(), len(l.acked), before, len(l.failures), failedBefore, detected.Round(time.Millisecond), l.slowest.Round(time.Millisecond), routeWaits(t, s.c)-waits0)
	for i, f := range l.failures {
		if i < 10 {
			t.Logf("failed at kill%+v: %s", l.failedAt[i].Sub(killedAt).Round(time.Millisecond), f)
		}
	}
	if before == 0 {
		t.Fatal("nothing acknowledged before the kill")
	}
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests failed; a client that does not retry should see none", len(l.failures), l.sent.Load())
	}
	s.verify(t, ctx, l.acked)
}

// TestClusterGracefulLeave: SIGTERM to the member owning the most processes, under load from
// clients (no retries) sending through the other members. The leaving node drains (capacity 0,
// hands each process it owns to its successor), leaves memberlist and exits; peers drop it at once
// (no failure detection); no request fails and nothing acknowledged is lost.
func TestClusterGracefulLeave(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s := startMigrateCluster(t, ctx, 3, 12)
	leaver := s.victim()
	owned := 0
	for _, pid := range s.pids {
		if s.c.mustOwner(pid) == leaver {
			owned++
		}
	}
	l := &load{}
	stop := make(chan struct{})
	wg := s.run(ctx, l, 6, s.except(leaver), stop)
	time.Sleep(2 * time.Second)
	l.mu.Lock()
	before := len(l.acked)
	l.mu.Unlock()
	waits0 := routeWaits(t, s.c)
	termAt := time.Now()
	_ = leaver.cmd.Process.Signal(syscall.SIGTERM)
	_ = leaver.cmd.Wait()
	exited := time.Since(termAt)
	s.c.mu.Lock()
	leaver.alive = false
	s.c.mu.Unlock()
	waitViews(t, s.c.members, 2)
	dropped := time.Since(termAt)
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	logs, _ := filepath.Glob(filepath.Join(leaver.dir, "node-*.log"))
	sort.Strings(logs)
	var drainLine string
	if len(logs) > 0 {
		b, _ := os.ReadFile(logs[len(logs)-1])
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, " drained handed_off=") || strings.Contains(line, "drain: time is up") {
				drainLine = line
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("graceful leave of a member owning %d of %d processes: SIGTERM to exit %v, to both peers' views without it %v; %q",
		owned, len(s.pids), exited.Round(time.Millisecond), dropped.Round(time.Millisecond), drainLine)
	t.Logf("%d requests sent, %d acknowledged (%d before SIGTERM), %d failed; slowest answer %v; %.0f requests waited for an owner",
		l.sent.Load(), len(l.acked), before, len(l.failures), l.slowest.Round(time.Millisecond), routeWaits(t, s.c)-waits0)
	for i, f := range l.failures {
		if i < 10 {
			t.Logf("failed at SIGTERM%+v: %s", l.failedAt[i].Sub(termAt).Round(time.Millisecond), f)
		}
	}
	if !strings.Contains(drainLine, fmt.Sprintf(" drained handed_off=%d ", owned)) {
		t.Errorf("the leaving node did not hand over its %d processes: %q", owned, drainLine)
	}
	if dropped > exited+5*time.Second {
		t.Errorf("peers dropped the leaving member %v after SIGTERM (it exited after %v): it did not leave memberlist", dropped, exited)
	}
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests failed during a graceful leave", len(l.failures), l.sent.Load())
	}
	s.verify(t, ctx, l.acked)
}

// TestClusterHandoverCarriesCheckpoint: processes whose owner checkpoints every 5 evaluations get
// 23 messages each, each adding to a counter in the process's memory; then their owner leaves
// gracefully. The new owners receive the latest checkpoint (SHA-256 checked) and the results before
// it with the hand-over, so they evaluate only the tail: their evaluation count is far below the
// number of entries handed over, results read on the new owner equal the old owner's, and the next
// message continues the counter (the memory was restored, not rebuilt from nothing).
func TestClusterHandoverCarriesCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	t.Setenv("AW_CLUSTER_CHECKPOINT_EVERY", "5")
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	s := startMigrateCluster(t, ctx, 3, 6)
	leaver := s.victim()
	const msgs = 23
	sent := map[ans104.ID][]ans104.ID{}
	var moved []ans104.ID
	for _, pid := range s.pids {
		if s.c.mustOwner(pid) == leaver {
			moved = append(moved, pid)
		}
		for i := 0; i < msgs; i++ {
			item, err := s.signer.MessageItem(pid, []byte("N = (N or 0) + 1; return N"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.clientOf(s.c.members[i%3]).PostItem(ctx, item); err != nil {
				t.Fatal(err)
			}
			sent[pid] = append(sent[pid], item.ID())
		}
	}
	// Every result on the old owner, before it leaves.
	before := map[ans104.ID]string{}
	for _, pid := range moved {
		for _, id := range sent[pid] {
			r, err := s.clientOf(leaver).ResultJSON(ctx, pid, id)
			if err != nil {
				t.Fatal(err)
			}
			before[id] = string(r)
		}
	}
	evals0, received0 := 0.0, 0.0
	for _, m := range s.c.members {
		if m != leaver {
			evals0 += metric(t, m.url, "actorweave_evaluations_total") + metric(t, m.url, "actorweave_replayed_total")
			received0 += metric(t, m.url, "actorweave_replication_results_received_total")
		}
	}
	termAt := time.Now()
	_ = leaver.cmd.Process.Signal(syscall.SIGTERM)
	_ = leaver.cmd.Wait()
	s.c.mu.Lock()
	leaver.alive = false
	s.c.mu.Unlock()
	waitViews(t, s.c.members, 2)
	t.Logf("owner of %d processes left after %v", len(moved), time.Since(termAt).Round(time.Millisecond))
	// Old results, read on the new owners, are the old owner's.
	for _, pid := range moved {
		for _, id := range sent[pid] {
			r, err := s.clientOf(s.c.mustOwner(pid)).ResultJSON(ctx, pid, id)
			if err != nil {
				t.Fatal(err)
			}
			if string(r) != before[id] {
				t.Fatalf("result of %s on the new owner differs:\n%s\nold owner:\n%s", id, r, before[id])
			}
		}
	}
	// The counter goes on from the restored memory.
	for _, pid := range moved {
		item, err := s.signer.MessageItem(pid, []byte("N = (N or 0) + 1; return N"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		owner := s.c.mustOwner(pid)
		if _, err := s.clientOf(owner).PostItem(ctx, item); err != nil {
			t.Fatal(err)
		}
		r, err := s.clientOf(owner).ResultJSON(ctx, pid, item.ID())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(r), fmt.Sprint(msgs+1)) {
			t.Fatalf("message %d of process %s on its new owner: %s (want the counter at %d)", msgs+1, pid, r, msgs+1)
		}
	}
	evals, received, cps, failed := -evals0, -received0, 0.0, 0.0
	for _, m := range s.c.members {
		if m.alive {
			evals += metric(t, m.url, "actorweave_evaluations_total") + metric(t, m.url, "actorweave_replayed_total")
			received += metric(t, m.url, "actorweave_replication_results_received_total")
			cps += metric(t, m.url, "actorweave_replication_checkpoints_received_total")
			failed += metric(t, m.url, "actorweave_replication_compute_failed_total")
		}
	}
	handed := len(moved) * (msgs + 1) // the spawn's entry and the messages
	t.Logf("%d processes handed over with %d log entries: %.0f checkpoints and %.0f results received, %.0f hand-overs without; the new owners evaluated or replayed %.0f entries (the whole logs would be %d, plus %d new messages)",
		len(moved), handed, cps, received, failed, evals, handed, len(moved))
	if cps < float64(len(moved)) {
		t.Errorf("%.0f checkpoints received for %d processes handed over", cps, len(moved))
	}
	if evals >= float64(handed) {
		t.Errorf("the new owners evaluated %.0f entries for %d handed over: they did not start from the checkpoints", evals, handed)
	}
	s.verify(t, ctx, nil)
}

// TestClusterWeightChange: one member of three (capacity 1 each) is given capacity 3 at run time
// (SIGHUP, which `actorweave node` answers by reloading "capacity" from its --config file), under
// load from clients that never retry. Placement now gives it about 3/5 of the processes; the
// rebalance hands exactly the processes whose owner changed to it; no request fails; nothing
// acknowledged is lost; every log's owner and backup copies (under the new weights) are identical.
func TestClusterWeightChange(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	t.Setenv("AW_CLUSTER_LAZY", "1")
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	const procs = 60
	s := startMigrateCluster(t, ctx, 3, procs)
	heavy := s.c.members[0]
	capacity := map[*member]uint32{}
	for _, m := range s.c.members {
		capacity[m] = 1
	}
	placement := func(pid ans104.ID) (*member, *member) {
		var ms []awcluster.Member
		by := map[string]*member{}
		for _, m := range s.c.members {
			ms = append(ms, awcluster.Member{Name: m.name, Address: m.remote, Capacity: capacity[m]})
			by[m.remote] = m
		}
		r := awcluster.Rank(pid.String(), ms, nil)
		return by[r[0].Address], by[r[1].Address]
	}
	oldOwner := map[ans104.ID]*member{}
	for _, pid := range s.pids {
		oldOwner[pid], _ = placement(pid)
	}
	capacity[heavy] = 3
	var expectMoved, expectHeavy int
	for _, pid := range s.pids {
		o, _ := placement(pid)
		if o != oldOwner[pid] {
			expectMoved++
		}
		if o == heavy {
			expectHeavy++
		}
	}
	l := &load{}
	stop := make(chan struct{})
	wg := s.run(ctx, l, 6, func(i int) *member { return s.c.members[i%3] }, stop)
	time.Sleep(2 * time.Second)
	taken0 := metric(t, heavy.url, "actorweave_replication_taken_over_total")
	if err := os.WriteFile(filepath.Join(heavy.dir, "capacity"), []byte("3"), 0o600); err != nil {
		t.Fatal(err)
	}
	hupAt := time.Now()
	_ = heavy.cmd.Process.Signal(syscall.SIGHUP)
	// Wait until every member, in its own view, owns what the new weights give it, and the heavier
	// member took its share over.
	want := map[string]int{}
	for _, pid := range s.pids {
		o, _ := placement(pid)
		want[o.remote]++
	}
	var seen, moved time.Duration
	for {
		var st ClusterStatus
		all := false
		resp, err := http.DefaultClient.Do(statusRequest(ctx, s.c.members[1].url, s.c.members[1].key))
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
		}
		if err == nil {
			all = len(st.Members) == 3
			for _, m := range st.Members {
				all = all && m.Error == "" && m.Owned == want[m.Address]
			}
		}
		if all && seen == 0 {
			seen = time.Since(hupAt)
		}
		taken := metric(t, heavy.url, "actorweave_replication_taken_over_total") - taken0
		if seen > 0 && taken >= float64(expectMoved) {
			moved = time.Since(hupAt)
			break
		}
		if time.Since(hupAt) > 90*time.Second {
			t.Fatalf("after 90 s: placement by the new weights in every view = %v (%+v), %.0f of %d processes taken over by the heavier member", seen > 0, st.Members, taken, expectMoved)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	taken := metric(t, heavy.url, "actorweave_replication_taken_over_total") - taken0
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("capacity 1→3 on one of 3 members, %d processes: every member placed by it after %v; %.0f hand-overs to it (placement predicts %d moves, %d of %d processes on it = %.0f%%, 3/5 expected) done %v after SIGHUP",
		procs, seen.Round(time.Millisecond), taken, expectMoved, expectHeavy, procs, 100*float64(expectHeavy)/procs, moved.Round(time.Millisecond))
	t.Logf("%d requests sent, %d acknowledged, %d failed; slowest answer %v", l.sent.Load(), len(l.acked), len(l.failures), l.slowest.Round(time.Millisecond))
	for i, f := range l.failures {
		if i < 10 {
			t.Logf("failed at SIGHUP%+v: %s", l.failedAt[i].Sub(hupAt).Round(time.Millisecond), f)
		}
	}
	if taken != float64(expectMoved) {
		t.Errorf("%.0f processes handed to the heavier member, placement moved %d", taken, expectMoved)
	}
	if len(l.failures) > 0 {
		t.Errorf("%d of %d requests failed during a weight change", len(l.failures), l.sent.Load())
	}
	for id, pid := range l.acked {
		o, _ := placement(pid)
		if _, err := s.clientOf(o).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			t.Fatalf("acknowledged message %s missing from process %s on its owner: %v", id, pid, err)
		}
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range s.pids {
		o, b := placement(pid)
		replicas[pid] = [2]string{o.dir, b.dir}
	}
	for _, m := range s.c.members {
		s.c.kill(m)
	}
	checkLogs(t, s.c.members, replicas, l.acked)
}

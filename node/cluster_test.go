package node

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/persistence"
)

// Cluster tests with an explicit member list: every node is a child process (this test binary
// re-executed) running a real node whose placement comes from a members file the test rewrites, in
// place of cluster membership (the cluster package's memberlist provider fills the same seam). Each
// process's owner and backup are the first two members by rendezvous hashing over the members'
// remote addresses, computed the same way by the nodes and by the test's clients, which send every
// request to the owner (forwarding between nodes belongs to the cluster package).

// rendezvous orders members for pid, best first.
func rendezvous(pid persistence.ID, members []string) []string {
	out := append([]string(nil), members...)
	score := func(m string) uint64 {
		h := sha256.Sum256(append(pid[:], m...))
		return binary.BigEndian.Uint64(h[:8])
	}
	sort.Slice(out, func(i, j int) bool { return score(out[i]) > score(out[j]) })
	return out
}

// filePlacement reads the members (one remote address a line) from file, re-reading it when it
// changes; a replica set is the first factor of their rendezvous order.
func filePlacement(file string, factor int) replication.Placement {
	var mu sync.Mutex
	var members []string
	var mtime time.Time
	var checked time.Time
	return func(pid persistence.ID) replication.Replicas {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(checked) > 10*time.Millisecond {
			checked = time.Now()
			if st, err := os.Stat(file); err == nil && !st.ModTime().Equal(mtime) {
				if b, err := os.ReadFile(file); err == nil {
					mtime, members = st.ModTime(), strings.Fields(string(b))
				}
			}
		}
		r := rendezvous(pid, members)
		return replication.Replicas(r[:min(len(r), factor)])
	}
}

// TestClusterNodeChild is not a test: the cluster tests re-execute the binary with
// AW_CLUSTER_CHILD_DIR set to run one member node.
func TestClusterNodeChild(t *testing.T) {
	dir := os.Getenv("AW_CLUSTER_CHILD_DIR")
	if dir == "" {
		t.Skip("helper process of the cluster tests")
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = filepath.Join(dir, "data"), "127.0.0.1:0"
	if a := os.Getenv("AW_CLUSTER_HTTP"); a != "" {
		cfg.Listen = a // in a network namespace: the clients' link
	}
	cfg.Replication.Timeout = 2 * time.Second
	if v := os.Getenv("AW_CLUSTER_REPLICATION_FACTOR"); v != "" {
		fmt.Sscan(v, &cfg.Replication.Factor) // --replication-factor
	}
	cfg.API.RequestTimeout = time.Minute
	if v := os.Getenv("AW_CLUSTER_REQUEST_TIMEOUT"); v != "" {
		cfg.API.RequestTimeout, _ = time.ParseDuration(v) // the default is 10 s; the tests give slack
	}
	cfg.Actors.LazyEval = os.Getenv("AW_CLUSTER_LAZY") != ""
	if v := os.Getenv("AW_CLUSTER_COMPILE_CACHE"); v != "" {
		cfg.Runtime.CacheDir = v // one compilation per test cluster, as cluster/clustertest does
	}
	if v := os.Getenv("AW_CLUSTER_CHECKPOINT_EVERY"); v != "" {
		fmt.Sscan(v, &cfg.Actors.CheckpointEvery)
	}
	if v := os.Getenv("AW_CLUSTER_IDLE_TIMEOUT"); v != "" {
		cfg.Actors.IdleTimeout, _ = time.ParseDuration(v) // --idle-timeout
	}
	if v := os.Getenv("AW_CLUSTER_MAX_PENDING"); v != "" {
		fmt.Sscan(v, &cfg.Actors.MaxPending) // --max-pending
	}
	if key := os.Getenv("AW_CLUSTER_KEY"); key != "" {
		// Real membership: memberlist over loopback UDP/TCP, joined through the given members.
		cfg.Cluster = ClusterConfig{Listen: "127.0.0.1:0", KeyFile: key, Capacity: 1, Resync: 200 * time.Millisecond}
		if a := os.Getenv("AW_CLUSTER_BIND"); a != "" {
			cfg.Cluster.Listen = a + ":0" // in a network namespace: the cluster's link
		}
		if j := os.Getenv("AW_CLUSTER_JOIN"); j != "" {
			cfg.Cluster.Join = strings.Split(j, ",")
		}
	} else {
		cfg.Placement = filePlacement(filepath.Join(dir, "members"), max(cfg.Replication.Factor, 2))
	}
	if seed := os.Getenv("AW_SCHEDULER_SEED"); seed != "" && os.Getenv("AW_CLUSTER_KEY") == "" {
		// Explicit members have no cluster key to derive the scheduler key from: the test gives
		// every member the same one, as an operator gives --scheduler-key.
		cfg.SchedulerKeyFile = filepath.Join(dir, "scheduler-key.json")
		if err := ans104.SaveKeyFile(cfg.SchedulerKeyFile, DeriveSchedulerKey([]byte(seed))); err != nil && !os.IsExist(err) {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(3)
		}
	}
	if gw := os.Getenv("AW_CLUSTER_GATEWAY"); gw != "" {
		cfg.Flush.Gateway, cfg.Flush.Wallet, cfg.Flush.Interval = gw, os.Getenv("AW_CLUSTER_WALLET"), 200*time.Millisecond
	}
	if tm := os.Getenv("AW_CLUSTER_TIMING"); tm != "" && cfg.Cluster.Enabled() {
		var err error
		if cfg.Cluster.Timing, err = parseTiming(tm); err != nil {
			fmt.Fprintln(os.Stderr, "child node:", err)
			os.Exit(3)
		}
	}
	// SIGTERM: graceful leave, as `actorweave node` does (drain HTTP, passivate, leave the cluster).
	// Run also restarts the node under a new member id when the cluster fences it, on the same
	// ports; the address file is rewritten for every incarnation.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	// SIGHUP: a new capacity from the file "capacity" (as `actorweave node` reloads it from --config).
	var cur atomic.Pointer[Node]
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			var w uint32
			b, _ := os.ReadFile(filepath.Join(dir, "capacity"))
			_, err := fmt.Sscan(string(b), &w)
			if n := cur.Load(); err == nil && n != nil {
				err = n.SetCapacity(w)
			}
			fmt.Fprintf(os.Stderr, "child node: capacity %d (err %v)\n", w, err)
		}
	}()
	err := Run(ctx, cfg, func(n *Node) {
		cur.Store(n)
		gossip := "-"
		if n.ClusterProvider() != nil {
			gossip = n.ClusterProvider().GossipAddr()
		}
		_ = os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(n.URL()+" "+n.RemoteAddress()+" "+n.NodeAddress()+" "+gossip+" "+n.Address()), 0o600)
		_ = os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child node:", err)
		os.Exit(3)
	}
	os.Exit(0)
}

// parseTiming reads AW_CLUSTER_TIMING: gossip-interval,probe-interval,probe-timeout,suspicion-mult
// (e.g. 50ms,250ms,100ms,3), the node's --gossip-interval, --probe-interval, --probe-timeout and
// --suspicion-mult.
func parseTiming(s string) (awcluster.Timing, error) {
	var t awcluster.Timing
	f := strings.Split(s, ",")
	if len(f) != 4 {
		return t, fmt.Errorf("AW_CLUSTER_TIMING %q: want gossip,probe,timeout,mult", s)
	}
	var err error
	for i, d := range []*time.Duration{&t.GossipInterval, &t.ProbeInterval, &t.ProbeTimeout} {
		if *d, err = time.ParseDuration(f[i]); err != nil {
			return t, fmt.Errorf("AW_CLUSTER_TIMING: %w", err)
		}
	}
	if _, err := fmt.Sscan(f[3], &t.SuspicionMult); err != nil {
		return t, fmt.Errorf("AW_CLUSTER_TIMING: %w", err)
	}
	return t, t.Validate()
}

type member struct {
	dir    string
	url    string
	remote string
	name   string // node key's wallet address: the placement name under memberlist
	gossip string
	key    string // the cluster key file ("" without memberlist): signs GET /cluster/status
	sched  string // the cluster's scheduler address, what its processes name
	cmd    *exec.Cmd
	alive  bool
}

// startMemberNode starts a member node in dir. With a key it joins real membership through join
// (memberlist addresses); without, it follows the members file.
func startMemberNode(t *testing.T, dir, key string, join ...string) *member {
	t.Helper()
	return startMemberNodeIn(t, nil, nil, dir, key, join...)
}

// startMemberNodeIn starts a member node with prefix before the command (e.g. ip netns exec NS) and
// extra environment.
func startMemberNodeIn(t *testing.T, prefix, env []string, dir, key string, join ...string) *member {
	t.Helper()
	_ = os.Remove(filepath.Join(dir, "addr"))
	args := append(append([]string(nil), prefix...), os.Args[0], "-test.run=^TestClusterNodeChild$", "-test.v=false")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "AW_CLUSTER_CHILD_DIR="+dir, "AW_CLUSTER_KEY="+key, "AW_CLUSTER_JOIN="+strings.Join(join, ","),
		"AW_SCHEDULER_SEED="+testSchedulerSeed)
	cmd.Env = append(cmd.Env, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a killed test binary
	logf, _ := os.Create(filepath.Join(dir, fmt.Sprintf("node-%d.log", time.Now().UnixNano())))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			f := strings.Fields(string(b))
			return &member{dir: dir, url: f[0], remote: f[1], name: f[2], gossip: f[3], sched: f[4], key: key, cmd: cmd, alive: true}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("member node did not start")
	return nil
}

// startMemberlistCluster starts n member nodes under real memberlist with a fresh cluster key,
// each joining through the first.
func startMemberlistCluster(t *testing.T, n int) *testCluster {
	t.Helper()
	return startTestCluster(t, n, true, nil)
}

// startTestCluster starts n member nodes with env: under real memberlist with a fresh cluster key
// (each joining through the first), or with the member list the test writes (setMembers).
func startTestCluster(t *testing.T, n int, memberlist bool, env []string) *testCluster {
	t.Helper()
	c := &testCluster{t: t}
	if memberlist {
		c.key = filepath.Join(t.TempDir(), "cluster.key")
		key := make([]byte, 32)
		_, _ = crand.Read(key)
		if err := os.WriteFile(c.key, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < n; i++ {
		var join []string
		if memberlist && i > 0 {
			join = []string{c.members[0].gossip}
		}
		c.members = append(c.members, startMemberNodeIn(t, nil, env, t.TempDir(), c.key, join...))
	}
	return c
}

// testSchedulerSeed: the scheduler key material every explicit-members child of this test binary
// shares (memberlist children derive theirs from the cluster key).
var testSchedulerSeed = fmt.Sprintf("test scheduler %d", time.Now().UnixNano())

// scheduler is the address the cluster's processes name: the same on every member.
func (c *testCluster) scheduler() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[0].sched
}

// testCluster is the test's view of the members; setMembers rewrites every live member's file.
type testCluster struct {
	t       *testing.T
	key     string // memberlist mode: the cluster key file
	mu      sync.Mutex
	members []*member
}

func (c *testCluster) setMembers() {
	if c.key != "" {
		return // memberlist decides
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []string
	for _, m := range c.members {
		if m.alive {
			live = append(live, m.remote)
		}
	}
	for _, m := range c.members {
		if m.alive {
			tmp := filepath.Join(m.dir, "members.tmp")
			_ = os.WriteFile(tmp, []byte(strings.Join(live, "\n")), 0o600)
			_ = os.Rename(tmp, filepath.Join(m.dir, "members"))
		}
	}
}

// owner returns pid's owner and backup members under the test's current view.
// busiestOwner is the member that owns the most of pids.
func (c *testCluster) busiestOwner(pids []ans104.ID) *member {
	count := map[*member]int{}
	for _, pid := range pids {
		o, _ := c.owner(pid)
		count[o]++
	}
	busiest := c.members[0]
	for m, n := range count {
		if n > count[busiest] {
			busiest = m
		}
	}
	return busiest
}

func (c *testCluster) owner(pid ans104.ID) (*member, *member) {
	r := c.replicaSet(pid, 2)
	if len(r) < 2 {
		return r[0], nil
	}
	return r[0], r[1]
}

// entry is the node a client sends pid's requests to: its owner with an explicit member list (no
// forwarding without the cluster package), any live member under memberlist (they forward).
func (c *testCluster) entry(pid ans104.ID, i int) *member {
	if c.key == "" {
		o, _ := c.owner(pid)
		c.mu.Lock()
		defer c.mu.Unlock()
		cp := *o
		return &cp
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []*member
	for _, m := range c.members {
		if m.alive {
			live = append(live, m)
		}
	}
	cp := *live[i%len(live)] // a copy: a restart rewrites the member under c.mu
	return &cp
}

func (c *testCluster) kill(m *member) {
	c.mu.Lock()
	m.alive = false
	c.mu.Unlock()
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	_ = m.cmd.Wait()
}

// TestClusterKill9: three member nodes with replication factor 2 under load; one is killed with
// SIGKILL. Every acknowledged message must survive on its process's new owner and backup, every
// process must answer again on its new owner, and every copy of every log, on every node, must be
// one hash chain in which each epoch was written by one node only (docs/design.md invariants 1 and 2).
func TestClusterKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	for _, mode := range []struct {
		name       string
		memberlist bool
		freeze     bool // SIGSTOP/SIGCONT instead of kill -9/restart: a partition that heals
		rounds     int
	}{{"explicit-members", false, false, 2}, {"memberlist", true, false, 2}, {"memberlist-freeze", true, true, 1}} {
		t.Run(mode.name, func(t *testing.T) {
			var failovers []time.Duration
			if n, err := strconv.Atoi(os.Getenv("AW_CLUSTER_KILL_ROUNDS")); err == nil && n > 0 {
				mode.rounds = n // more rounds for the failover figures (AW_CLUSTER_TIMING sets detection)
			}
			for r := 0; r < mode.rounds; r++ {
				t.Run(fmt.Sprintf("round%d", r), func(t *testing.T) {
					failovers = append(failovers, clusterKillRound(t, wasm, mode.memberlist, mode.freeze)...)
				})
			}
			sort.Slice(failovers, func(i, j int) bool { return failovers[i] < failovers[j] })
			if len(failovers) > 0 {
				what := "membership change applied by the test at the kill"
				if mode.memberlist {
					what = "memberlist detection + takeover"
				}
				t.Logf("kill -9 to the first acknowledgement of each affected process (%s), %d processes: p50 %v, p99 %v, max %v",
					what, len(failovers), failovers[len(failovers)/2].Round(time.Millisecond),
					failovers[len(failovers)*99/100].Round(time.Millisecond), failovers[len(failovers)-1].Round(time.Millisecond))
			}
		})
	}
}

// clusterKillRound runs one round. With freeze the victim is stopped with SIGSTOP instead (cut off:
// it cannot answer, its peers declare it dead and take over) and later resumed with SIGCONT with its
// old view, connections and activations: a zombie whose partition healed. Its writes must be
// refused and no log may fork.
func clusterKillRound(t *testing.T, wasm []byte, memberlist, freeze bool) []time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := startTestCluster(t, 3, memberlist, nil)
	c.setMembers()
	if memberlist {
		time.Sleep(time.Second) // views settle (a request meanwhile is retried by the router anyway)
	}
	user, _ := ans104.GenerateEd25519Signer()
	signer := client.New("http://unused", user) // signs items only (members' URLs change on restart)
	clientOf := memberClients(user, 10*time.Second)
	// Publish one module item to all nodes (the same bytes, so the same id everywhere).
	modItem := signModule(t, user, wasm)
	c.publish(ctx, modItem)

	const procs = 9
	pids := c.spawnOnOwners(ctx, user, modItem, procs)

	// Load: every worker sends to its process's owner (under the test's current view) and retries the
	// same item until it is acknowledged; 409 (already in the log) counts as acknowledged.
	var mu sync.Mutex
	acked := map[ans104.ID]ans104.ID{}
	ackNote := map[ans104.ID]string{}
	var killedAt atomic.Int64
	firstAfter := map[ans104.ID]time.Duration{}
	var refusals atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 9; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				pid := pids[(w+i)%procs]
				item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
				if err != nil {
					return
				}
				for try := 0; ; try++ {
					_, err := clientOf(c.entry(pid, w+i+try)).PostItem(ctx, item)
					if err == nil || conflict(err) {
						mu.Lock()
						acked[item.ID()] = pid
						if err != nil {
							ackNote[item.ID()] = fmt.Sprintf("acknowledged by a 409 on try %d through %s: %v", try, c.entry(pid, w+i+try).name, err)
						} else {
							ackNote[item.ID()] = fmt.Sprintf("acknowledged on try %d through %s at %v", try, c.entry(pid, w+i+try).name, time.Now().Format("15:04:05.000"))
						}
						if k := killedAt.Load(); k != 0 {
							if _, ok := firstAfter[pid]; !ok {
								firstAfter[pid] = time.Since(time.Unix(0, k))
							}
						}
						mu.Unlock()
						break
					}
					refusals.Add(1)
					if ctx.Err() != nil {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}(w)
	}
	time.Sleep(time.Duration(1500+rand.Intn(1000)) * time.Millisecond)
	// Kill the member that owns the most processes.
	victim := c.busiestOwner(pids)
	var moved []ans104.ID
	for _, pid := range pids {
		if o, b := c.owner(pid); o == victim || b == victim {
			moved = append(moved, pid)
		}
	}
	mu.Lock()
	before := len(acked)
	mu.Unlock()
	killedAt.Store(time.Now().UnixNano())
	if freeze {
		c.mu.Lock()
		victim.alive = false
		c.mu.Unlock()
		_ = victim.cmd.Process.Signal(syscall.SIGSTOP)
	} else {
		c.kill(victim)
	}
	c.setMembers() // membership notices the death (memberlist's detection time is not part of this figure)
	mu.Lock()
	for _, pid := range pids {
		delete(firstAfter, pid)
	}
	mu.Unlock()
	bound := 15 * time.Second // generous for -race on a shared machine; the figures are logged
	if memberlist {
		bound = 40 * time.Second
	}
	var took []time.Duration
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		took = took[:0]
		for _, pid := range moved {
			if d, ok := firstAfter[pid]; ok {
				took = append(took, d)
			}
		}
		mu.Unlock()
		if len(took) == len(moved) && time.Since(start) > 2*time.Second {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("%d of %d processes whose owner or backup was killed acknowledged nothing within %v", len(moved)-len(took), len(moved), bound)
		}
	}
	mu.Lock()
	atKill := len(acked)
	mu.Unlock()
	// The killed node comes back on its data folder (a new incarnation, a new remote address) and
	// rejoins under load: processes move back to it and its stale copies are reconciled.
	var join []string
	for _, m := range c.members {
		if m.alive && memberlist {
			join = append(join, m.gossip)
		}
	}
	if freeze {
		// The partition heals: the zombie resumes as it was; membership decides what it is now:
		// the watchdog fences a member its peers removed, and node.Run restarts it under a new id on
		// the same ports; it rejoins (its peers reconnect to it) and takes its processes back.
		_ = victim.cmd.Process.Signal(syscall.SIGCONT)
		contAt := time.Now()
		waitOneView(ctx, t, c.members, "after SIGCONT")
		t.Logf("the resumed member is back in every view %v after SIGCONT", time.Since(contAt).Round(time.Millisecond))
		c.mu.Lock()
		victim.alive = true
		c.mu.Unlock()
	} else {
		restarted := startMemberNode(t, victim.dir, c.key, join...)
		c.mu.Lock()
		*victim = *restarted
		c.mu.Unlock()
	}
	c.setMembers()
	time.Sleep(4 * time.Second)
	close(stop)
	wg.Wait()
	if before == 0 {
		t.Fatal("nothing acknowledged before the kill")
	}
	t.Logf("%d acknowledged (%d before the kill, %d before the rejoin), %d refusals retried; %d processes had the killed node as owner or backup",
		len(acked), before, atKill, refusals.Load(), len(moved))

	// Every acknowledged message is on its process's current owner, and evaluates there. A miss is
	// reported, read again after a pause (a stale read, or lost?), and the on-disk check below
	// still runs: it tells a stale read from a lost message.
	for id, pid := range acked {
		o, _ := c.owner(pid)
		if _, err := clientOf(o).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			time.Sleep(3 * time.Second)
			_, again := clientOf(o).Raw(ctx, "/"+id.String()+"?process-id="+pid.String())
			t.Errorf("acknowledged message %s missing from process %s on its owner %s: %v (read again 3 s later: %v)\nwhat the members logged about it:\n%s",
				id, pid, o.name, err, again, c.logsAbout(pid.String()))
		}
	}
	for _, pid := range pids {
		for id, p := range acked {
			if p == pid {
				if _, err := clientOf(c.mustOwner(pid)).Result(ctx, pid, id); err != nil {
					t.Fatalf("result of %s on its owner: %v", id, err)
				}
				break
			}
		}
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range pids {
		o, b := c.owner(pid)
		replicas[pid] = [2]string{o.dir, b.dir}
	}
	replBytes, replEntries := 0.0, 0.0
	for _, m := range c.members {
		if m.alive {
			replBytes += metric(t, m.url, "actorweave_replication_bytes_sent_total") + metric(t, m.url, "actorweave_replication_bytes_received_total")
			replEntries += metric(t, m.url, "actorweave_replication_entries_acknowledged_total")
		}
	}
	t.Logf("replication on the surviving members: %.0f bytes for %.0f acknowledged entries (%.0f bytes per entry incl. hand-overs and catch-up)", replBytes, replEntries, replBytes/max(replEntries, 1))
	// Stop every member (the resumed zombie too) and check every copy of every log on disk.
	for _, m := range c.members {
		if m.alive || freeze {
			c.kill(m)
		}
	}
	checkLogs(t, c.members, replicas, acked, ackNote)
	return took
}

func (c *testCluster) mustOwner(pid ans104.ID) *member { o, _ := c.owner(pid); return o }

// logsAbout collects the members' log lines that mention s (a process id), for a failure's report.
func (c *testCluster) logsAbout(s string) string {
	var out strings.Builder
	for i, m := range c.members {
		files, _ := filepath.Glob(filepath.Join(m.dir, "node-*.log"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(b), "\n") {
				if strings.Contains(line, s) && out.Len() < 20_000 {
					fmt.Fprintf(&out, "member %d (%s) %s: %s\n", i, m.name, filepath.Base(f), line)
				}
			}
		}
	}
	return out.String()
}

// compactEpochs renders per-nonce epochs as runs: "0-11:e1 12-30:e3".
func compactEpochs(es []uint64) string {
	var b strings.Builder
	for i := 0; i < len(es); {
		j := i
		for j+1 < len(es) && es[j+1] == es[i] {
			j++
		}
		fmt.Fprintf(&b, "%d-%d:e%d ", i, j, es[i])
		i = j + 1
	}
	return strings.TrimSpace(b.String())
}

// postTx posts a signed item to POST /tx (the same bytes, so the same id, on every node).
func postTx(ctx context.Context, url string, raw []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/tx", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return &client.Error{Status: resp.StatusCode, Message: "POST /tx: " + string(b)}
	}
	return nil
}

// processItem is a new Process of modItem scheduled by this cluster, signed by signer (a fresh
// Nonce-Salt makes every one a new process).
func (c *testCluster) processItem(signer *client.Client, modItem *ans104.DataItem) (*ans104.DataItem, error) {
	return signer.Sign([]byte(" "), nil, nil, []ans104.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()}, {Name: "SDK", Value: "actorweave"},
		{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
}

// spawnOnOwners spawns n new processes of modItem signed by user, each posted to its owner under
// the test's current view, and returns their ids. No client timeout: the first spawn on a node
// compiles the module (slow under -race on a loaded machine); ctx bounds it.
func (c *testCluster) spawnOnOwners(ctx context.Context, user ans104.Signer, modItem *ans104.DataItem, n int) []ans104.ID {
	c.t.Helper()
	signer := client.New("http://unused", user)
	pids := make([]ans104.ID, n)
	for i := range pids {
		item, err := c.processItem(signer, modItem)
		if err != nil {
			c.t.Fatal(err)
		}
		pids[i] = item.ID()
		o, _ := c.owner(pids[i])
		if _, err := client.New(o.url, user).PostItem(ctx, item); err != nil {
			c.t.Fatalf("spawn on its owner: %v", err)
		}
	}
	return pids
}

// publish posts the module item to every member (409: a member holds it already).
func (c *testCluster) publish(ctx context.Context, modItem *ans104.DataItem) {
	c.t.Helper()
	for _, m := range c.members {
		if err := postTx(ctx, m.url, modItem.Bytes()); err != nil && !conflict(err) {
			c.t.Fatal(err)
		}
	}
}

// conflict reports whether err is the node's 409 (the item is already in the log). It reads the
// status, not the text: a transport error's message can hold "409" in a port number.
func conflict(err error) bool {
	var ce *client.Error
	return errors.As(err, &ce) && ce.Status == http.StatusConflict
}

// checkLogs opens every member's store and checks, for every process: each copy is one unbroken hash
// chain with non-decreasing epochs; each epoch's assignments are signed by one node only (one writer
// per epoch); the owner's and the backup's copies are identical; any other copy (a node that left the
// replica set) agrees with the owner's up to a point after which its entries have lower epochs than
// the owner's (a tail nobody acknowledged, which the node drops when it is next a replica); and every
// acknowledged message is in the owner's and the backup's copies.
func checkLogs(t *testing.T, members []*member, replicas map[ans104.ID][2]string, acked map[ans104.ID]ans104.ID, notes ...map[ans104.ID]string) (lost, forked int) {
	t.Helper()
	type copyOf struct {
		dir    string
		asg    []persistence.ID
		epochs []uint64
		msgs   map[persistence.ID]bool
		at     map[persistence.ID]uint64 // nonce of each message
	}
	logs := map[ans104.ID]map[string]*copyOf{}
	writer := map[ans104.ID]map[uint64]string{}
	for _, m := range members {
		st, err := persistence.Open(filepath.Join(m.dir, "data", "pebble"), persistence.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for pid := range replicas {
			h, ok, err := st.Head(pid)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				continue
			}
			cp := &copyOf{dir: m.dir, msgs: map[persistence.ID]bool{}, at: map[persistence.ID]uint64{}}
			hc, lastEpoch := persistence.FirstHashChain(pid), uint64(0)
			for n := uint64(0); n <= h.Nonce; n++ {
				e, err := st.Entry(pid, n)
				if err != nil {
					t.Fatal(err)
				}
				if e.HashChain != hc {
					t.Fatalf("process %s on %s: entry %d breaks the hash chain", pid, m.dir, n)
				}
				if e.Epoch < lastEpoch {
					t.Fatalf("process %s on %s: epoch goes down at entry %d", pid, m.dir, n)
				}
				item, err := ans104.Parse(e.Assignment, ans104.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if writer[pid] == nil {
					writer[pid] = map[uint64]string{}
				}
				if w, ok := writer[pid][e.Epoch]; ok && w != item.OwnerAddress() {
					t.Fatalf("process %s: epoch %d has assignments signed by two nodes (%s and %s)", pid, e.Epoch, w, item.OwnerAddress())
				}
				writer[pid][e.Epoch] = item.OwnerAddress()
				hc, lastEpoch = persistence.NextHashChain(e.AssignmentID, e.HashChain), e.Epoch
				cp.asg = append(cp.asg, e.AssignmentID)
				cp.epochs = append(cp.epochs, e.Epoch)
				cp.msgs[e.MessageID] = true
				cp.at[e.MessageID] = n
			}
			if logs[pid] == nil {
				logs[pid] = map[string]*copyOf{}
			}
			logs[pid][m.dir] = cp
		}
		st.Close()
	}
	// A fork or a lost message is counted and reported, and the check goes on: the long
	// partition test reports how many of each over all its rounds.
	stale := 0
	for pid, rs := range replicas {
		own, bak := logs[pid][rs[0]], logs[pid][rs[1]]
		if own == nil || bak == nil {
			t.Fatalf("process %s: no copy on its owner or backup", pid)
		}
	copies:
		for dir, cp := range logs[pid] {
			inSet := dir == rs[0] || dir == rs[1]
			if inSet && len(cp.asg) != len(own.asg) {
				t.Errorf("process %s: owner holds %d entries, backup %d", pid, len(own.asg), len(cp.asg))
				forked++
				break copies
			}
			for n := 0; n < min(len(cp.asg), len(own.asg)); n++ {
				if cp.asg[n] == own.asg[n] {
					continue
				}
				if inSet {
					t.Errorf("process %s: owner's and backup's copies differ at nonce %d", pid, n)
					forked++
					break copies
				}
				if cp.epochs[n] >= own.epochs[n] {
					t.Fatalf("process %s: a copy outside the replica set diverges at nonce %d with epoch %d >= the owner's %d", pid, n, cp.epochs[n], own.epochs[n])
				}
				stale++
				break
			}
		}
	}
	for id, pid := range acked {
		rs := replicas[pid]
		if !logs[pid][rs[0]].msgs[id] || !logs[pid][rs[1]].msgs[id] {
			// Say where it is, if anywhere, and what each copy looks like (for the diagnosis).
			var where strings.Builder
			for dir, cp := range logs[pid] {
				role := "other"
				switch dir {
				case rs[0]:
					role = "owner"
				case rs[1]:
					role = "backup"
				}
				fmt.Fprintf(&where, "\n  %s %s: %d entries, holds it %v (nonce %d), epochs by nonce %v", role, filepath.Base(filepath.Dir(dir)), len(cp.asg), cp.msgs[id], cp.at[id], compactEpochs(cp.epochs))
			}
			for _, n := range notes {
				fmt.Fprintf(&where, "\n  %s", n[id])
			}
			if lost++; lost <= 5 {
				t.Errorf("acknowledged message %s of process %s is not on both its owner and its backup:%s", id, pid, where.String())
			}
		}
	}
	if lost > 5 {
		t.Errorf("%d acknowledged messages in all are not on both their owner and backup", lost)
	}
	t.Logf("checked %d processes on %d nodes: %d forked, %d acknowledged messages lost; %d stale copies outside the replica set", len(replicas), len(members), forked, lost, stale)
	return lost, forked
}

// TestClusterRollingRestart: every member of a three-node cluster (real memberlist) is restarted in
// turn with SIGTERM (graceful leave) under load; nothing acknowledged is lost and every copy of every
// log checks out.
func TestClusterRollingRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("runs three member nodes")
	}
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := startMemberlistCluster(t, 3)
	time.Sleep(time.Second)
	user, _ := ans104.GenerateEd25519Signer()
	signer := client.New("http://unused", user) // signs items only (members' URLs change on restart)
	clientOf := memberClients(user, 30*time.Second)
	modItem := signModule(t, user, wasm)
	if err := postTx(ctx, c.members[0].url, modItem.Bytes()); err != nil {
		t.Fatal(err)
	}
	const procs = 9
	pids := make([]ans104.ID, procs)
	var mu sync.Mutex
	acked := map[ans104.ID]ans104.ID{}
	post := func(item *ans104.DataItem, pid ans104.ID, i int) bool {
		for try := 0; ; try++ {
			_, err := clientOf(c.entry(pid, i+try)).PostItem(ctx, item)
			if err == nil || conflict(err) {
				return true
			}
			if ctx.Err() != nil {
				return false
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for i := range pids {
		item, err := clientOf(c.members[0]).Sign([]byte(" "), nil, nil, []ans104.Tag{
			{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Process"},
			{Name: "Module", Value: modItem.ID().String()}, {Name: "Scheduler", Value: c.scheduler()},
			{Name: "Nonce-Salt", Value: fmt.Sprint(rand.Int63())}})
		if err != nil {
			t.Fatal(err)
		}
		pids[i] = item.ID()
		if !post(item, pids[i], i) {
			t.Fatal("spawn did not succeed")
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i += 6 {
				select {
				case <-stop:
					return
				default:
				}
				pid := pids[i%procs]
				item, err := signer.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
				if err != nil {
					return
				}
				if post(item, pid, i) {
					mu.Lock()
					acked[item.ID()] = pid
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(time.Second)
	for i, m := range c.members {
		start := time.Now()
		c.mu.Lock()
		m.alive = false
		c.mu.Unlock()
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
		_ = m.cmd.Wait()
		stopped := time.Since(start)
		var join []string
		for _, o := range c.members {
			if o.alive {
				join = append(join, o.gossip)
			}
		}
		restarted := startMemberNode(t, m.dir, c.key, join...)
		c.mu.Lock()
		*m = *restarted
		c.mu.Unlock()
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		t.Logf("member %d: graceful stop %v, back after %v; %d acknowledged so far", i, stopped.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), n)
		time.Sleep(2 * time.Second)
	}
	close(stop)
	wg.Wait()
	for id, pid := range acked {
		o, _ := c.owner(pid)
		if _, err := clientOf(o).Raw(ctx, "/"+id.String()+"?process-id="+pid.String()); err != nil {
			t.Fatalf("acknowledged message %s missing from process %s on its owner after the rolling restart: %v", id, pid, err)
		}
	}
	replicas := map[ans104.ID][2]string{}
	for _, pid := range pids {
		o, b := c.owner(pid)
		replicas[pid] = [2]string{o.dir, b.dir}
	}
	// Every process takes one more write, so each replica set is synced in the final view.
	for i, pid := range pids {
		item, _ := signer.MessageItem(pid, []byte("return 1"), nil)
		if post(item, pid, i) {
			acked[item.ID()] = pid
		}
	}
	for _, m := range c.members {
		c.kill(m)
	}
	checkLogs(t, c.members, replicas, acked)
	t.Logf("rolling restart of 3 members under load: %d acknowledged messages, none lost", len(acked))
}

// memberClients returns one client (one connection pool) per member URL, signing as user, each with
// the given request timeout.
func memberClients(user ans104.Signer, timeout time.Duration) func(*member) *client.Client {
	var clients sync.Map
	return func(m *member) *client.Client {
		if cl, ok := clients.Load(m.url); ok {
			return cl.(*client.Client)
		}
		cl := client.New(m.url, user)
		cl.HTTP.Timeout = timeout
		v, _ := clients.LoadOrStore(m.url, cl)
		return v.(*client.Client)
	}
}

// signModule signs wasm as the aos-like test module's Module item; the same bytes posted to any
// member publish the same id.
func signModule(t *testing.T, user ans104.Signer, wasm []byte) *ans104.DataItem {
	t.Helper()
	item, err := client.New("http://unused", user).Sign(wasm, nil, nil, []ans104.Tag{
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"}, {Name: "Type", Value: "Module"},
		{Name: "Module-Format", Value: "wasm32-unknown-emscripten2"}, {Name: "Input-Encoding", Value: "JSON-1"},
		{Name: "Output-Encoding", Value: "JSON-1"}, {Name: "Content-Type", Value: "application/wasm"},
		{Name: "Memory-Limit", Value: "512-mb"}, {Name: "Compute-Limit", Value: "9000000000000"}})
	if err != nil {
		t.Fatal(err)
	}
	return item
}

// statusRequest is GET url/cluster/status signed with the cluster key file (if any): anonymous
// callers are not shown the members' addresses.
func statusRequest(ctx context.Context, url, keyFile string) *http.Request {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url+"/cluster/status", nil)
	if keyFile != "" {
		if sec, err := awcluster.LoadSecurity(keyFile); err == nil && sec.AdminKey != nil {
			now := time.Now()
			req.Header.Set("X-Cluster-Time", strconv.FormatInt(now.UnixMilli(), 10))
			req.Header.Set("X-Cluster-Mac", awcluster.SignAdmin(sec.AdminKey, "status", now, nil))
		}
	}
	return req
}

package clustertest_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
)

func evalOutput(t *testing.T, r *client.Result) string {
	t.Helper()
	if len(r.Error) > 0 {
		t.Fatalf("result has an error: %s", r.Error)
	}
	var out struct {
		Data struct {
			Output json.RawMessage `json:"output"`
		} `json:"data"`
	}
	if err := json.Unmarshal(r.Output, &out); err != nil {
		t.Fatalf("output %s: %v", r.Output, err)
	}
	return strings.Trim(string(out.Data.Output), `"`)
}

// runSpawnAndMessage spawns processes and messages them through random nodes, then reads every
// result from every node.
func runSpawnAndMessage(t *testing.T, n, processes, messages int) {
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, n, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	urls := c.URLs()
	clients := make([]*client.Client, len(urls))
	for i, u := range urls {
		clients[i] = client.New(u, user)
	}
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	pick := func() *client.Client { return clients[rng.IntN(len(clients))] }
	mod, err := pick().PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		pid, msg ans104.ID
		want     string
	}
	var all []sent
	for p := 0; p < processes; p++ {
		pid, err := pick().Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprint("p", p)}})
		if err != nil {
			t.Fatalf("spawn %d: %v", p, err)
		}
		for i := 1; i <= messages; i++ {
			id, err := pick().Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err != nil {
				t.Fatalf("process %d message %d: %v", p, i, err)
			}
			all = append(all, sent{pid, id, fmt.Sprint(i)})
		}
	}
	for _, s := range all {
		for i, cl := range clients {
			r, err := cl.Result(ctx, s.pid, s.msg)
			if err != nil {
				t.Fatalf("result of %s on node %d: %v", s.msg, i, err)
			}
			if got := evalOutput(t, r); got != s.want {
				t.Fatalf("result of %s on node %d: %q, want %q", s.msg, i, got, s.want)
			}
		}
	}
	// Each process lives on exactly one member: the owned counts add up to the processes.
	st, err := c.Running()[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owned, active := 0, 0
	for _, m := range st.Members {
		if m.Error != "" {
			t.Fatalf("status of %s: %s", m.Address, m.Error)
		}
		owned += m.Owned
		active += m.Active
		t.Logf("member %s capacity %d: processes %d owned %d active %d wire out %d calls", m.Address, m.Capacity, m.Processes, m.Owned, m.Active, m.Forwarded.CallsOut)
	}
	if owned != processes {
		t.Fatalf("members own %d processes in total, want %d", owned, processes)
	}
}

// TestMain runs the tests; a child node when the harness re-executes the binary.
//
// Which tests run in parallel (t.Parallel): a test here spends most of its time waiting (a
// cluster's start and convergence, failure detection, and at the end Close, where every member
// drains for up to --drain-timeout, 30 s, because its successors are leaving too); the package
// used 17 % of one core over its run. Each test has its own cluster: child processes on ports
// the kernel picks, a fresh cluster key, its own folders; the compilation cache is shared and
// safe to share. Four stay serial: TestJoinUnderLoadNoDeadLetters, which loads the machine on
// purpose and requires that no request fail; TestCronFollowsJoin, which requires every
// process's last tick to be under 5 s old (the tightest timing here); and TestRecoverInCluster
// (a node in this process) and TestNonMemberCannotInjectUnverifiedItem (a Proto.Actor remote in
// this process): each Remote.Start replaces gRPC's global logger, a data race with any other
// gRPC user of the process (docs/design.md §8), so they must not overlap.
func TestMain(m *testing.M) { clustertest.Main(m) }

func TestThreeNodes(t *testing.T) {
	t.Parallel()
	runSpawnAndMessage(t, 3, 6, 3)
}

func TestFiveNodes(t *testing.T) {
	t.Parallel()
	runSpawnAndMessage(t, 5, 5, 2)
}

// Placement spreads processes by capacity: a node of capacity 3 owns more than either node of
// capacity 1, and the owned counts add up (a process stored off its owner would be missing).
func TestPlacementFollowsCapacity(t *testing.T) {
	t.Parallel()
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, 3, clustertest.Options{Capacities: []uint32{1, 1, 3}})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	cl := client.New(c.URLs()[0], user)
	mod, err := cl.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	const processes = 50
	for p := 0; p < processes; p++ {
		if _, err := client.New(c.URLs()[p%3], user).Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprint("p", p)}}); err != nil {
			t.Fatalf("spawn %d: %v", p, err)
		}
	}
	st, err := c.Running()[1].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owned := map[uint32][]int{}
	total := 0
	for _, m := range st.Members {
		owned[m.Capacity] = append(owned[m.Capacity], m.Owned)
		total += m.Owned
		t.Logf("capacity %d: owns %d of %d", m.Capacity, m.Owned, processes)
	}
	if total != processes {
		t.Fatalf("members own %d processes, want %d", total, processes)
	}
	if big := owned[3][0]; big <= owned[1][0] || big <= owned[1][1] {
		t.Fatalf("the capacity-3 node owns %d, the capacity-1 nodes %v", big, owned[1])
	}
}

// A process with a Placement-Labels tag lives only on members with those labels, is reachable
// through every member, and a requirement no member meets fails the spawn with a clear error.
func TestPlacementLabels(t *testing.T) {
	t.Parallel()
	wasm := testutil.Module(t, "aoslike")
	// One member has region=us: the processes below have no second eligible member to hold their
	// backup (labels place the backup too), so with replication factor 2 their writes would be
	// refused. This test is about routing by labels: run it with factor 1.
	c := clustertest.Start(t, 3, clustertest.Options{Labels: []awcluster.Labels{{"region": "eu"}, {"region": "us"}, {"region": "eu"}},
		Configure: func(i int, nc *clustertest.NodeConfig) { nc.ReplicationFactor = 1 }})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	urls := c.URLs()
	mod, err := client.New(urls[0], user).PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	const processes = 4
	for p := 0; p < processes; p++ {
		via := client.New(urls[p%3], user)
		pid, err := via.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Placement-Labels", Value: "region=us"}})
		if err != nil {
			t.Fatalf("spawn %d: %v", p, err)
		}
		// Through a member that does not hold it and has not seen the spawn.
		other := client.New(urls[(p+2)%3], user)
		id, err := other.Send(ctx, pid, []byte("return 7 * 6"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatalf("message to %d: %v", p, err)
		}
		r, err := client.New(urls[(p+1)%3], user).Result(ctx, pid, id)
		if err != nil || evalOutput(t, r) != "42" {
			t.Fatalf("result on %d: %v", p, err)
		}
	}
	_, err = client.New(urls[0], user).Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Placement-Labels", Value: "region=mars"}})
	if err == nil || !strings.Contains(err.Error(), "503") || !strings.Contains(err.Error(), "region=mars") {
		t.Fatalf("spawn requiring region=mars: %v", err)
	}
	st, err := c.Running()[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		want := 0
		if m.Labels["region"] == "us" {
			want = processes
		}
		if m.Owned != want || m.Processes != want {
			t.Fatalf("member %s (%s) owns %d and holds %d processes, want %d", m.Address, m.Labels, m.Owned, m.Processes, want)
		}
	}
}

// Membership follows real process deaths and departures: a node killed with SIGKILL leaves every
// other view after memberlist's failure detection; one stopped with SIGTERM leaves at once
// (it leaves memberlist before exiting). The times are logged, not asserted beyond a bound.
func TestMembershipFollowsKillAndLeave(t *testing.T) {
	t.Parallel()
	c := clustertest.Start(t, 4, clustertest.Options{})
	nodes := c.Nodes()
	waitSize := func(want int, bound time.Duration) time.Duration {
		start := time.Now()
		for {
			ok := true
			for _, n := range c.Running() {
				got, err := n.ViewSize(context.Background())
				ok = ok && err == nil && got == want
			}
			if ok {
				return time.Since(start)
			}
			if time.Since(start) > bound {
				t.Fatalf("views did not shrink to %d members within %v", want, bound)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	nodes[3].Kill()
	t.Logf("kill -9: removed from every view after %v", waitSize(3, 60*time.Second))
	nodes[2].Stop()
	t.Logf("SIGTERM: removed from every view after %v", waitSize(2, 30*time.Second))
}

// When a node joins, the processes it now owns are no longer served by their old owners: their
// activations there passivate (no requests reach them any more), so each member's live
// activations are among the processes it owns.
func TestJoinPassivatesMovedActivations(t *testing.T) {
	t.Parallel()
	wasm := testutil.Module(t, "aoslike")
	c := clustertest.Start(t, 2, clustertest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	cl := client.New(c.URLs()[0], user)
	mod, err := cl.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	for p := 0; p < 12; p++ {
		if _, err := cl.Spawn(ctx, mod, "", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Add(); err != nil {
		t.Fatal(err)
	}
	c.WaitConverged(3)
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, moved := true, 0
		var lines []string
		for _, n := range c.Running() {
			st, err := n.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range st.Members {
				if m.Self {
					ok = ok && m.Active <= m.Owned
					moved += m.Processes - m.Owned
					lines = append(lines, fmt.Sprintf("%s: holds %d owns %d active %d", m.Address, m.Processes, m.Owned, m.Active))
				}
			}
		}
		if ok {
			t.Logf("after the join (%d processes now owned by the new node): %s", moved, strings.Join(lines, "; "))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("stale activations remain: %s", strings.Join(lines, "; "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

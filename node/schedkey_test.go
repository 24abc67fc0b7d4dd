package node

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
)

// Invariant 8: a node refuses a Process naming a Scheduler it cannot sign for, with a 400 naming
// both addresses; it takes one naming its scheduler address.
func TestRefusesForeignScheduler(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := startNode(t, t.TempDir(), nil)
	defer n.Close(ctx)
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ans104.GenerateEd25519Signer()
	foreign := ans104.Address(other.SignatureType(), other.Owner())
	proc := func(sched string) *ans104.DataItem {
		item, err := c.Sign([]byte(" "), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"},
			{Name: "Type", Value: "Process"}, {Name: "Module", Value: mod.String()}, {Name: "Scheduler", Value: sched}})
		if err != nil {
			t.Fatal(err)
		}
		return item
	}
	_, err = c.PostItem(ctx, proc(foreign))
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), foreign) || !strings.Contains(err.Error(), n.Address()) {
		t.Fatalf("a Process naming another scheduler: %v; want 400 naming %s and %s", err, foreign, n.Address())
	}
	if _, err := c.PostItem(ctx, proc(n.Address())); err != nil {
		t.Fatalf("a Process naming this node's scheduler: %v", err)
	}
}

// A single node upgrades to a scheduler key (as it does when it joins a cluster): its process
// keeps naming the node key as Scheduler, its new assignments are signed by the scheduler key, and
// the process is still recovered from the gateway alone because the node flushed a delegation
// signed by the node key. GET / answers the scheduler address after the upgrade.
func TestSchedulerKeyUpgradeRecoverable(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	dir := t.TempDir()
	flushCfg := func(c *Config) {
		c.Flush.Gateway, c.Flush.Wallet, c.Flush.Interval = env.ar.URL, env.walletPath, 100*time.Millisecond
		c.API.RequestTimeout = time.Minute
	}
	n := startNode(t, dir, flushCfg)
	env.mint(t, ctx, n.signer)
	own := n.Address()
	user, _ := ans104.GenerateEd25519Signer()
	env.mint(t, ctx, user)
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFlushed(t, n, []ans104.ID{pid}, time.Minute)
	n.Close(ctx)

	sched, _ := ans104.GenerateEd25519Signer()
	schedFile := filepath.Join(t.TempDir(), "scheduler.json")
	if err := ans104.SaveKeyFile(schedFile, sched); err != nil {
		t.Fatal(err)
	}
	n = startNode(t, dir, func(c *Config) { flushCfg(c); c.SchedulerKeyFile = schedFile })
	defer n.Close(ctx)
	env.mint(t, ctx, n.sched)
	if got, err := client.New(n.URL(), user).SchedulerAddress(ctx); err != nil || got != addressOf(sched) || got == own {
		t.Fatalf("GET / after the upgrade: %q, %v; want the scheduler key's %s", got, err, addressOf(sched))
	}
	c = client.New(n.URL(), user)
	for i := 0; i < 3; i++ {
		if _, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFlushed(t, n, []ans104.ID{pid}, time.Minute)
	waitQueueEmpty(t, n, time.Minute)
	last, _ := n.store.Entry(pid, 6)
	if a, _ := ans104.Parse(last.Assignment, ans104.Limits{}); a.OwnerAddress() != addressOf(sched) {
		t.Fatalf("the new assignment is signed by %s, not the scheduler key", a.OwnerAddress())
	}

	st, err := persistence.Open(filepath.Join(t.TempDir(), "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rep, err := recovery.Recover(ctx, recovery.Gateway(env.gw, arweave.DefaultRetry, 0), st, pid, recovery.Options{})
	if err != nil {
		t.Fatalf("recovery of the upgraded process: %v", err)
	}
	if rep.Entries != 7 || rep.Scheduler != own {
		t.Fatalf("recovered %d entries of a process naming %s; want 7 naming %s", rep.Entries, rep.Scheduler, own)
	}
}

// waitQueueEmpty waits until every queued standalone item (modules, processes, delegations) is up.
func waitQueueEmpty(t *testing.T, n *Node, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		q, err := n.store.QueuedItems(10)
		if err == nil && len(q) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d items still queued for Arweave after %v", len(q), timeout)
		}
		n.Flusher().Kick()
		time.Sleep(100 * time.Millisecond)
	}
}

package verify_test

import (
	"context"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/node"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/verify"
)

// verify says what it covered: a node whose flush is behind (only the first entries on the
// gateway) fails with partial coverage, passes with Partial while saying how much it checked,
// and passes in full with Wait once the flush catches up.
func TestVerifyCoverage(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	dir := t.TempDir()
	key, _ := env.nodeKey(t, ctx, dir)
	// First life: the module and the spawn flushed as they come.
	n := startNode(t, dir, func(c *node.Config) { c.KeyFile = key; env.flushing(c) })
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
	waitFlush(t, n, 1, 0, time.Minute) // nonce 0
	n.Close(ctx)
	// Second life: uploads only when kicked, so the gateway stays behind the node.
	n = startNode(t, dir, func(c *node.Config) {
		c.KeyFile = key
		env.flushing(c)
		c.Flush.Interval = time.Hour
	})
	defer n.Close(ctx)
	c = client.New(n.URL(), user)
	var last ans104.ID
	for i := 0; i < 10; i++ {
		if last, err = c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Result(ctx, pid, last); err != nil {
		t.Fatal(err)
	}
	src := recovery.Gateway(arweave.NewGateway(env.ar.URL), arweave.DefaultRetry, 0)

	rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n.URL()}, pid)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.Coverage.Complete || !rep.Coverage.Known || rep.Coverage.OnArweave != 1 || rep.Coverage.NodeEntries != 11 {
		t.Fatalf("one of 11 entries on the gateway: ok=%v coverage %+v; want not ok, 1 of 11", rep.OK, rep.Coverage)
	}
	t.Log(verify.Summary(rep))

	rep, err = verify.Run(ctx, verify.Config{Source: src, Node: n.URL(), Partial: true}, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.Coverage.Complete || rep.Coverage.OnArweave != 1 {
		t.Fatalf("with Partial: ok=%v coverage %+v; want ok, 1 of 11", rep.OK, rep.Coverage)
	}
	t.Log(verify.Summary(rep))

	go func() { // the flush catches up while verify waits
		time.Sleep(2 * time.Second)
		n.Flusher().Kick()
	}()
	rep, err = verify.Run(ctx, verify.Config{Source: src, Node: n.URL(), Wait: time.Minute}, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || !rep.Coverage.Complete || rep.Coverage.OnArweave != 11 || rep.Coverage.Waited < time.Second {
		t.Fatalf("with Wait: ok=%v coverage %+v; want ok, all 11, after a wait", rep.OK, rep.Coverage)
	}
	t.Log(verify.Summary(rep))
}

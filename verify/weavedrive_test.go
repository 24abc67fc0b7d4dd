package verify_test

import (
	"context"
	"crypto/rand"
	"strings"
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

// TestVerifyWeaveDrive: a process that read an item through WeaveDrive (and was refused another)
// is recomputed by verify from the gateway alone, its drive reading from that gateway: every
// result equals the node's.
func TestVerifyWeaveDrive(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	dir := t.TempDir()
	_, nodeKey := env.nodeKey(t, ctx, dir)
	data := make([]byte, 200<<10)
	_, _ = rand.Read(data)
	user, _ := ans104.GenerateEd25519Signer()
	env.mint(t, ctx, user)
	item := ans104.NewItem(data, nil, nil, nil)
	plain := ans104.NewItem([]byte("nobody attested this"), nil, nil, nil)
	for _, it := range []*ans104.DataItem{item, plain} {
		if err := it.Sign(user); err != nil {
			t.Fatal(err)
		}
	}
	att := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Attestation"},
		{Name: "Message", Value: item.ID().String()}})
	if err := att.Sign(nodeKey); err != nil { // the node is the process's Scheduler
		t.Fatal(err)
	}
	env.post(t, ctx, []*ans104.DataItem{item, plain, att})

	n := startNode(t, dir, func(c *node.Config) { env.flushing(c); c.BlockHeight = 1000 })
	open := true
	defer func() {
		if open {
			n.Close(ctx)
		}
	}()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "drive"), Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000", Tags: []ans104.Tag{{Name: "Extension", Value: "WeaveDrive"}}})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"read /data/" + item.ID().String() + " 32768", "read /data/" + plain.ID().String() + " 4096",
		"range /data/" + item.ID().String() + " 100000 64"} {
		id, err := c.Send(ctx, pid, []byte(cmd), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Result(ctx, pid, id)
		if err != nil {
			t.Fatal(err)
		}
		if refused := strings.Contains(cmd, plain.ID().String()); refused != (len(r.Error) > 0) {
			t.Fatalf("%s: Error %s, Output %s", cmd, r.Error, r.Output)
		}
	}
	waitFlush(t, n, 4, 0, 2*time.Minute)
	if err := env.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	src := recovery.Gateway(arweave.NewGateway(env.ar.URL), arweave.DefaultRetry, 0)
	rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n.URL(), TempDir: t.TempDir()}, pid)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK {
		var b strings.Builder
		verify.Render(&b, rep)
		t.Fatalf("verify of a WeaveDrive process:\n%s", b.String())
	}
}

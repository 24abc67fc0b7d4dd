package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestWeaveDriveNode: a process of a node reads an item posted to arlocal through WeaveDrive,
// admitted by an attestation its Scheduler (the node) signed; an item without one is an Error
// result naming the refusal, and so is a bad path. After a restart with arlocal gone, the log is
// replayed and a new read answered from the node's cache: the same bytes without the network.
func TestWeaveDriveNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	dir := t.TempDir()
	withDrive := func(c *Config) { c.WeaveDrive.Gateway, c.BlockHeight = ar.URL, 1000 }
	n := startNode(t, dir, withDrive)
	defer func() { n.Close(context.Background()) }()

	// Items on arlocal: data, data nobody attested, and the node's (the Scheduler's) attestation.
	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	if err := ar.Mint(ctx, ans104.Address(wallet.SignatureType(), wallet.Owner())); err != nil {
		t.Fatal(err)
	}
	user, _ := ans104.GenerateEd25519Signer()
	data := make([]byte, 300<<10+7)
	_, _ = rand.Read(data)
	item := ans104.NewItem(data, nil, nil, []ans104.Tag{{Name: "Content-Type", Value: "application/octet-stream"}})
	plain := ans104.NewItem([]byte("nobody attested this"), nil, nil, nil)
	for _, it := range []*ans104.DataItem{item, plain} {
		if err := it.Sign(user); err != nil {
			t.Fatal(err)
		}
	}
	att := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Attestation"},
		{Name: "Message", Value: item.ID().String()}})
	if err := att.Sign(n.sched); err != nil {
		t.Fatal(err)
	}
	l1, err := arweave.NewL1(ar.URL, wallet)
	if err != nil {
		t.Fatal(err)
	}
	up, err := l1.Prepare(ctx, []*ans104.DataItem{item, plain, att})
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Post(ctx, up); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := ar.Mine(ctx); err != nil {
			t.Fatal(err)
		}
	}

	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "drive"), Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000", Tags: []ans104.Tag{{Name: "Extension", Value: "WeaveDrive"}}})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: "drive"}})
	if err != nil {
		t.Fatal(err)
	}
	type output struct {
		FD   int    `json:"fd"`
		Read int64  `json:"read"`
		FNV  string `json:"fnv"`
	}
	send := func(cmd string) (output, string) {
		t.Helper()
		id, err := c.Send(ctx, pid, []byte(cmd), nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := c.Result(ctx, pid, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Error) > 0 {
			var e string
			if json.Unmarshal(r.Error, &e) != nil {
				e = string(r.Error)
			}
			return output{}, e
		}
		var out output
		if err := json.Unmarshal(r.Output, &out); err != nil {
			t.Fatalf("%s: output %s: %v", cmd, r.Output, err)
		}
		return out, ""
	}
	h := fnv.New64a()
	h.Write(data)
	want := fmt.Sprintf("%016x", h.Sum64())
	read := "read /data/" + item.ID().String() + " 32768"
	if out, e := send(read); e != "" || out.FD != 3 || out.Read != int64(len(data)) || out.FNV != want {
		t.Fatalf("read: %+v %q, want %d bytes fnv %s", out, e, len(data), want)
	}
	if _, e := send("read /data/" + plain.ID().String()); !strings.Contains(e, "refused: no Attestation") {
		t.Fatalf("unattested: Error %q", e)
	}
	if _, e := send("read /data/../../etc/passwd"); !strings.Contains(e, "path traversal") {
		t.Fatalf("traversal: Error %q", e)
	}

	// Restart without arlocal: the evaluator replays the log (its reads come from the cache), and
	// a new read is answered from the cache.
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ar.Stop()
	n = startNode(t, dir, withDrive)
	c = client.New(n.URL(), user)
	if out, e := send(read); e != "" || out.FNV != want {
		t.Fatalf("read after the restart, arlocal gone: %+v %q", out, e)
	}
}

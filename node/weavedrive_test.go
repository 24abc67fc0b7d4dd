package node

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
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
// While the gateway is down, a read of an item not yet cached leaves its message without a result
// (not an Error: that would not be the answer a reachable gateway gives); once the gateway is back
// the message is evaluated and its result is the item.
func TestWeaveDriveNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	dir := t.TempDir()
	// The drive reads arlocal through a proxy that can play a gateway outage.
	arURL, err := url.Parse(ar.URL)
	if err != nil {
		t.Fatal(err)
	}
	var down atomic.Bool
	rp := httputil.NewSingleHostReverseProxy(arURL)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "gateway down for the test", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	withDrive := func(c *Config) { c.WeaveDrive.Gateway, c.BlockHeight = proxy.URL, 1000 }
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
	later := ans104.NewItem([]byte("read while the gateway is down"), nil, nil, nil)
	for _, it := range []*ans104.DataItem{item, plain, later} {
		if err := it.Sign(user); err != nil {
			t.Fatal(err)
		}
	}
	att := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Attestation"},
		{Name: "Message", Value: item.ID().String()}})
	if err := att.Sign(n.sched); err != nil {
		t.Fatal(err)
	}
	attLater := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Attestation"},
		{Name: "Message", Value: later.ID().String()}})
	if err := attLater.Sign(n.sched); err != nil {
		t.Fatal(err)
	}
	l1, err := arweave.NewL1(ar.URL, wallet)
	if err != nil {
		t.Fatal(err)
	}
	up, err := l1.Prepare(ctx, []*ans104.DataItem{item, plain, att, later, attLater})
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

	// The gateway down: the read's message is acknowledged but has no result while it lasts.
	down.Store(true)
	laterID, err := c.Send(ctx, pid, []byte("read /data/"+later.ID().String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	r, err := c.Result(wctx, pid, laterID)
	wcancel()
	if err == nil {
		t.Fatalf("a read with the gateway down has a result: Error %s, Output %s", r.Error, r.Output)
	}
	down.Store(false)
	r, err = c.Result(ctx, pid, laterID)
	if err != nil {
		t.Fatal(err)
	}
	var lout struct {
		Read int64  `json:"read"`
		FNV  string `json:"fnv"`
	}
	lh := fnv.New64a()
	lh.Write(later.Data)
	if len(r.Error) > 0 || json.Unmarshal(r.Output, &lout) != nil || lout.Read != int64(len(later.Data)) || lout.FNV != fmt.Sprintf("%016x", lh.Sum64()) {
		t.Fatalf("the read once the gateway is back: Error %s, Output %s", r.Error, r.Output)
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

package verify_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/arlocal"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/node"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/scheduler"
	"github.com/actorweave/actorweave/verify"
)

var (
	walletOnce sync.Once
	wallet     *ans104.RSASigner
)

func testWallet() *ans104.RSASigner {
	walletOnce.Do(func() {
		w, err := ans104.GenerateRSASigner()
		if err != nil {
			panic(err)
		}
		wallet = w
	})
	return wallet
}

func startNode(t *testing.T, dir string, mod func(*node.Config)) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir = dir
	cfg.Listen = "127.0.0.1:0"
	cfg.Actors.CheckpointEvery = 2
	if mod != nil {
		mod(&cfg)
	}
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// world is a node's worth of processes with the results it served, then put on arlocal.
type world struct {
	ar      *arlocal.Instance
	dir     string // the first node's data folder (its key signs everything)
	key     string
	user    ans104.Signer // the processes' owner (aos evaluates only its Evals)
	results map[ans104.ID][]msgResult // per process, in nonce order from 1
}

type msgResult struct {
	id   ans104.ID
	json json.RawMessage
}

// uploadStore is the test's stand-in for the flusher (FORMAT.md): it reads a closed node's store
// and posts, in one L1 transaction, every process's log as Log-Batch items of batchSize entries,
// its newest checkpoint, and the standalone items (module, process items). edit may change the
// entries of a process before they are batched (to break a chain on purpose).
func uploadStore(t *testing.T, ctx context.Context, ar *arlocal.Instance, dir string, batchSize int, edit func(pid ans104.ID, es []arweave.LogEntry) []arweave.LogEntry) {
	t.Helper()
	key, err := ans104.LoadKeyFile(filepath.Join(dir, "node-key.json"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var items []*ans104.DataItem
	sign := func(d *ans104.DataItem, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Sign(key); err != nil {
			t.Fatal(err)
		}
		items = append(items, d)
	}
	type proc struct {
		pid    ans104.ID
		length uint64
	}
	var procs []proc
	if err := st.FlushBacklog(func(pid persistence.ID, _, length uint64) bool {
		procs = append(procs, proc{pid, length})
		return true
	}); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		rec, err := st.Process(p.pid)
		if err != nil {
			t.Fatal(err)
		}
		var es []arweave.LogEntry
		for n := uint64(0); n < p.length; n++ {
			e, err := st.Entry(p.pid, n)
			if err != nil {
				t.Fatal(err)
			}
			le := arweave.LogEntry{Nonce: n, Assignment: e.Assignment, Message: e.Message}
			if n == 0 {
				le.Message = rec.Item
			}
			es = append(es, le)
		}
		if edit != nil {
			es = edit(p.pid, es)
		}
		for i := 0; i < len(es); i += batchSize {
			sign(arweave.LogBatch(p.pid, es[i:min(i+batchSize, len(es))]))
		}
		if cp, err := st.LatestCheckpoint(p.pid, p.length-1); err == nil {
			stored, err := st.CheckpointAt(p.pid, cp.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			e, _ := st.Entry(p.pid, cp.Nonce)
			sign(arweave.CheckpointItem(ans104.Checkpoint{Process: p.pid, Module: rec.ModuleID, Nonce: cp.Nonce, Timestamp: cp.Timestamp,
				BlockHeight: cp.BlockHeight, HashChain: ans104.ID(e.HashChain).String(), Epoch: e.Epoch}, cp.SHA256, stored.Compressed), nil)
		}
		for _, id := range []ans104.ID{rec.ModuleID, p.pid} {
			it, err := st.GetItem(id)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ans104.Parse(it.Raw, ans104.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			items = append(items, d)
		}
	}
	// One copy of each standalone item (processes share the module).
	seen := map[ans104.ID]bool{}
	uniq := items[:0]
	for _, d := range items {
		if !seen[d.ID()] {
			seen[d.ID()] = true
			uniq = append(uniq, d)
		}
	}
	w := testWallet()
	if err := ar.Mint(ctx, ans104.Address(w.SignatureType(), w.Owner())); err != nil {
		t.Fatal(err)
	}
	l1, err := arweave.NewL1(ar.URL, w)
	if err != nil {
		t.Fatal(err)
	}
	up, err := l1.Prepare(ctx, uniq)
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Post(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
}

// breakChain re-signs the assignment at nonce 2 with a wrong Hash-Chain: a batch a node key
// signed, but whose chain does not follow.
func breakChain(t *testing.T, key ans104.Signer) func(ans104.ID, []arweave.LogEntry) []arweave.LogEntry {
	return func(_ ans104.ID, es []arweave.LogEntry) []arweave.LogEntry {
		it, _ := ans104.Parse(es[2].Assignment, ans104.Limits{})
		a, err := ans104.AsAssignment(it)
		if err != nil {
			t.Fatal(err)
		}
		a.HashChain[0] ^= 0xff
		bad, err := scheduler.Sign(*a, key)
		if err != nil {
			t.Fatal(err)
		}
		es[2].Assignment = bad.Bytes()
		return es
	}
}

// makeWorld runs a node with `procs` processes of `msgs` messages each, records every result it
// serves, and puts the lot on arlocal; processes listed in broken get a broken chain there.
func makeWorld(t *testing.T, ctx context.Context, procs, msgs int, broken map[int]bool) (*world, []ans104.ID) {
	t.Helper()
	w := &world{ar: testutil.Arlocal(t), dir: t.TempDir(), results: map[ans104.ID][]msgResult{}}
	w.key = filepath.Join(w.dir, "node-key.json")
	wasm := testutil.Module(t, "aoslike")
	n1 := startNode(t, w.dir, nil)
	user, _ := ans104.GenerateEd25519Signer()
	w.user = user
	c := client.New(n1.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	var pids []ans104.ID
	brokenPIDs := map[ans104.ID]bool{}
	for p := 0; p < procs; p++ {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("p%d", p)}})
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
		if broken[p] {
			brokenPIDs[pid] = true
		}
		for i := 1; i <= msgs; i++ {
			id, err := c.Send(ctx, pid, []byte(fmt.Sprintf("x = (x or 0) + %d; return x", p+1)), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.ResultJSON(ctx, pid, id)
			if err != nil {
				t.Fatal(err)
			}
			w.results[pid] = append(w.results[pid], msgResult{id: id, json: r})
		}
	}
	if err := n1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	key, err := ans104.LoadKeyFile(w.key)
	if err != nil {
		t.Fatal(err)
	}
	bc := breakChain(t, key)
	uploadStore(t, ctx, w.ar, w.dir, 2, func(pid ans104.ID, es []arweave.LogEntry) []arweave.LogEntry {
		if brokenPIDs[pid] {
			return bc(pid, es)
		}
		return es
	})
	return w, pids
}

func canon(t *testing.T, b []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// A fresh node (empty data folder, the same node key) on the same gateway recovers processes it
// is asked about, serves the same results, and continues each log at the next nonce; verify
// agrees with it; a gateway whose chain is broken is refused with a clear error.
func TestRecoverFromArlocalThenVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	w, pids := makeWorld(t, ctx, 3, 4, map[int]bool{2: true})
	good, bad := pids[:2], pids[2]

	dir2 := t.TempDir()
	n2 := startNode(t, dir2, func(c *node.Config) { c.KeyFile = w.key; c.Recovery.Gateway = w.ar.URL })
	n2open := true
	defer func() {
		if n2open { // Node.Close is not idempotent
			n2.Close(ctx)
		}
	}()
	c2 := client.New(n2.URL(), w.user)

	// Concurrent askers of one process share one recovery and all get the results the first
	// node served.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for _, pid := range good {
		for _, m := range w.results[pid] {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := c2.ResultJSON(ctx, pid, m.id)
				if err != nil {
					errs <- fmt.Errorf("result %s of %s: %w", m.id, pid, err)
					return
				}
				if canon(t, got) != canon(t, m.json) {
					errs <- fmt.Errorf("result %s of %s after recovery:\n%s\nthe first node served:\n%s", m.id, pid, got, m.json)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// The log continues at the next nonce, chained to the recovered one and signed by the node key.
	id, err := c2.Send(ctx, good[0], []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := c2.Result(ctx, good[0], id)
	if err != nil || len(r.Error) > 0 {
		t.Fatalf("new message after recovery: %v %s", err, r.Error)
	}
	if !strings.Contains(string(r.Output), `"output":5`) {
		t.Fatalf("new message after recovery: output %s, want 5 (4 recovered increments + 1)", r.Output)
	}

	// A broken chain on the gateway: the node refuses to recover it and says why.
	_, err = c2.Result(ctx, bad, w.results[bad][0].id)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || !strings.Contains(ce.Message, "hash chain") {
		t.Fatalf("process with a broken chain on the gateway: %v", err)
	}
	// An id the gateway does not know is a plain 404.
	if _, err := c2.Result(ctx, ans104.ID{9}, ans104.ID{9}); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Fatalf("unknown process: %v", err)
	}

	src := recovery.Gateway(arweave.NewGateway(w.ar.URL), arweave.DefaultRetry, 0)
	// verify against the recovering node: the recovered process it continued is ahead of the
	// gateway by one entry, the other one is at the same nonce.
	for i, pid := range good {
		rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n2.URL()}, pid)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		verify.Render(&buf, rep)
		if !rep.OK || rep.Entries != 5 || rep.Counts[verify.OK] < 5+1 {
			t.Fatalf("process %d: verify on an honest node:\n%s", i, buf.String())
		}
		cps := 0
		for _, c := range rep.Checks {
			if c.What == "checkpoint" && c.Status == verify.OK {
				cps++
			}
		}
		if cps != 1 {
			t.Fatalf("process %d: %d checkpoints checked, want 1:\n%s", i, cps, buf.String())
		}
		if i == 1 && rep.Counts[verify.Skipped] != 0 {
			t.Fatalf("the final memory of an idle process was not compared:\n%s", buf.String())
		}
	}
	rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n2.URL()}, bad)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || !strings.Contains(verify.Summary(rep), "hash chain") {
		t.Fatalf("verify of a broken chain: %s", verify.Summary(rep))
	}

	// A node that serves a different result: rewrite one stored result of the recovered node.
	n2open = false
	if err := n2.Close(ctx); err != nil {
		t.Fatal(err)
	}
	corruptResult(t, filepath.Join(dir2, "pebble"), good[1], 2)
	n3 := startNode(t, dir2, func(c *node.Config) { c.KeyFile = w.key })
	defer n3.Close(ctx)
	rep, err = verify.Run(ctx, verify.Config{Source: src, Node: n3.URL()}, good[1])
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	verify.Render(&buf, rep)
	if rep.OK || rep.Counts[verify.Mismatch] != 1 || !strings.Contains(buf.String(), "MISMATCH") || !strings.Contains(buf.String(), "Output") {
		t.Fatalf("verify against a node serving a tampered result:\n%s", buf.String())
	}
	t.Logf("tampered-node report:\n%s", buf.String())
}

// corruptResult rewrites the stored result of entry nonce of pid in a closed node's Pebble store
// (key 'r' pid nonce, persistence/evaluation.go): its Output becomes something else.
func corruptResult(t *testing.T, dir string, pid ans104.ID, nonce uint64) {
	t.Helper()
	db, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	key := binary.BigEndian.AppendUint64(append([]byte{'r'}, pid[:]...), nonce)
	v, closer, err := db.Get(key)
	if err != nil {
		t.Fatalf("stored result %d of %s: %v", nonce, pid, err)
	}
	var r map[string]any
	err = json.Unmarshal(v, &r)
	closer.Close()
	if err != nil {
		t.Fatal(err)
	}
	r["Output"] = map[string]any{"data": map[string]any{"output": "tampered"}}
	b, _ := json.Marshal(r)
	if err := db.Set(key, b, pebble.Sync); err != nil {
		t.Fatal(err)
	}
}

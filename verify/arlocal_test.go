package verify_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
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
	"github.com/actorweave/actorweave/runtime"
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
	cfg.API.RequestTimeout = time.Minute // a shared, loaded machine compiles modules slowly under -race
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
	env     *flushEnv
	dir     string // the first node's data folder
	key     string // its node key file (the Scheduler of every process)
	nodeKey ans104.Signer
	module  ans104.ID
	user    ans104.Signer             // the processes' owner (aos evaluates only its Evals)
	results map[ans104.ID][]msgResult // per process, in nonce order from 1
}

type msgResult struct {
	id   ans104.ID
	json json.RawMessage
}

// flushEnv is arlocal with a funded RSA wallet saved for --wallet, and a node key made ahead so
// that its address can be funded too (arlocal then indexes the node's items without a /mine).
type flushEnv struct {
	ar         *arlocal.Instance
	walletPath string
	wallet     ans104.Signer
}

func newFlushEnv(t *testing.T, ctx context.Context) *flushEnv {
	t.Helper()
	e := &flushEnv{ar: testutil.Arlocal(t), wallet: testWallet()}
	e.walletPath = filepath.Join(t.TempDir(), "wallet.json")
	if err := ans104.SaveKeyFile(e.walletPath, e.wallet); err != nil {
		t.Fatal(err)
	}
	e.mint(t, ctx, e.wallet)
	return e
}

func (e *flushEnv) mint(t *testing.T, ctx context.Context, s ans104.Signer) {
	t.Helper()
	if err := e.ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
		t.Fatal(err)
	}
}

// nodeKey writes a fresh ed25519 node key into dir (where a node looks for it) and funds it.
func (e *flushEnv) nodeKey(t *testing.T, ctx context.Context, dir string) (string, ans104.Signer) {
	t.Helper()
	k, _ := ans104.GenerateEd25519Signer()
	path := filepath.Join(dir, "node-key.json")
	if err := ans104.SaveKeyFile(path, k); err != nil {
		t.Fatal(err)
	}
	e.mint(t, ctx, k)
	return path, k
}

// flushing configures a node to flush to the env's arlocal every 100 ms.
func (e *flushEnv) flushing(c *node.Config) {
	c.Flush.Gateway, c.Flush.Wallet, c.Flush.Interval = e.ar.URL, e.walletPath, 100*time.Millisecond
}

// waitFlush waits until the node's flusher has uploaded entries log entries and checkpoints
// checkpoints.
func waitFlush(t *testing.T, n *node.Node, entries, checkpoints int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := n.Flusher().Stats()
		if st.Entries >= entries && st.Checkpoints >= checkpoints {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("flush: %+v after %v, want %d entries and %d checkpoints", st, timeout, entries, checkpoints)
		}
		n.Flusher().Kick()
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCertified waits until the node's flusher has uploaded n result certificates (they follow
// their entries' log batches, one upload later at most).
func waitCertified(t *testing.T, nd *node.Node, n int64, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for nd.Flusher().Stats().Certificates < n {
		if time.Now().After(deadline) {
			t.Fatalf("flush: %+v after %v, want %d result certificates", nd.Flusher().Stats(), timeout, n)
		}
		nd.Flusher().Kick()
		time.Sleep(50 * time.Millisecond)
	}
}

// post uploads items in one L1 transaction and mines it.
func (e *flushEnv) post(t *testing.T, ctx context.Context, items []*ans104.DataItem) {
	t.Helper()
	l1, err := arweave.NewL1(e.ar.URL, e.wallet)
	if err != nil {
		t.Fatal(err)
	}
	up, err := l1.Prepare(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Post(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := e.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
}

// craftedLog is a process log made by hand, signed by the node key as a node would sign it (the
// process item names the node as Scheduler and a real module), to put on the gateway what an
// honest node never uploads: a broken chain, a hole.
func craftedLog(t *testing.T, key, user ans104.Signer, mod ans104.ID, n int) (ans104.ID, []arweave.LogEntry) {
	t.Helper()
	proc := ans104.NewItem([]byte("crafted"), nil, client.RandomAnchor(), []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: mod.String()}, {Name: "Scheduler", Value: ans104.Address(key.SignatureType(), key.Owner())}})
	if err := proc.Sign(user); err != nil {
		t.Fatal(err)
	}
	pid := proc.ID()
	st := scheduler.Fresh(pid)
	var out []arweave.LogEntry
	for i := 0; i < n; i++ {
		le := arweave.LogEntry{Nonce: uint64(i), Message: proc.Bytes()}
		in := scheduler.Input{Clock: time.Now().UnixMilli()}
		if i > 0 {
			msg := ans104.NewItem([]byte("return 1"), pid[:], client.RandomAnchor(), []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Action", Value: "Eval"}})
			if err := msg.Sign(user); err != nil {
				t.Fatal(err)
			}
			le.Message, in.Message = msg.Bytes(), msg.ID()
		}
		a, err := scheduler.Next(st, in)
		if err != nil {
			t.Fatal(err)
		}
		ai, err := scheduler.Sign(a, key)
		if err != nil {
			t.Fatal(err)
		}
		st = st.Advance(a, ai.ID())
		le.Assignment = ai.Bytes()
		out = append(out, le)
	}
	return pid, out
}

// batches signs Log-Batch items of es, size entries each.
func batches(t *testing.T, key ans104.Signer, pid ans104.ID, es []arweave.LogEntry, size int) []*ans104.DataItem {
	t.Helper()
	var out []*ans104.DataItem
	for i := 0; i < len(es); i += size {
		b, err := arweave.LogBatch(pid, es[i:min(i+size, len(es))])
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Sign(key); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// breakChain re-signs the assignment at nonce 2 with a wrong Hash-Chain: a batch the node key
// signed, but whose chain does not follow.
func breakChain(t *testing.T, key ans104.Signer, es []arweave.LogEntry) {
	t.Helper()
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
}

// makeWorld runs a node flushing to arlocal with `procs` processes of `msgs` messages each (a
// checkpoint every 2 evaluations), records every result it serves, waits until all of it is on
// the gateway, and stops the node.
func makeWorld(t *testing.T, ctx context.Context, procs, msgs int) (*world, []ans104.ID) {
	t.Helper()
	env := newFlushEnv(t, ctx)
	w := &world{env: env, dir: t.TempDir(), results: map[ans104.ID][]msgResult{}}
	w.key, w.nodeKey = env.nodeKey(t, ctx, w.dir)
	wasm := testutil.Module(t, "aoslike")
	n1 := startNode(t, w.dir, env.flushing)
	user, _ := ans104.GenerateEd25519Signer()
	env.mint(t, ctx, user)
	w.user = user
	c := client.New(n1.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	w.module = mod
	var pids []ans104.ID
	for p := 0; p < procs; p++ {
		pid, err := c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("p%d", p)}})
		if err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
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
	cps := int64(0)
	if msgs >= 1 {
		cps = int64(procs)
	}
	waitFlush(t, n1, int64(procs*(msgs+1)), cps, 2*time.Minute)
	waitCertified(t, n1, int64(procs*(msgs+1)), time.Minute)
	if err := n1.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := env.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
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
	w, good := makeWorld(t, ctx, 2, 4)
	// What an honest node never uploads, signed by its key: a broken chain, and a log with a hole
	// (nonces 2..3 missing); and an honest crafted log whose first batch is posted twice.
	bad, badLog := craftedLog(t, w.nodeKey, w.user, w.module, 5)
	breakChain(t, w.nodeKey, badLog)
	holed, holedLog := craftedLog(t, w.nodeKey, w.user, w.module, 6)
	hb := batches(t, w.nodeKey, holed, holedLog, 2)
	twice, twiceLog := craftedLog(t, w.nodeKey, w.user, w.module, 4)
	tb := batches(t, w.nodeKey, twice, twiceLog, 2)
	w.env.post(t, ctx, append(append(batches(t, w.nodeKey, bad, badLog, 2), hb[0], hb[2]), tb...))
	w.env.post(t, ctx, tb[:1])

	dir2 := t.TempDir()
	n2 := startNode(t, dir2, func(c *node.Config) { c.KeyFile = w.key; w.env.flushing(c) })
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
	_, err = c2.Result(ctx, bad, bad)
	var ce *client.Error
	if !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || !strings.Contains(ce.Message, "hash chain") {
		t.Fatalf("process with a broken chain on the gateway: %v", err)
	}
	// An id the gateway does not know is a plain 404.
	if _, err := c2.Result(ctx, ans104.ID{9}, ans104.ID{9}); !errors.As(err, &ce) || ce.Status != http.StatusNotFound {
		t.Fatalf("unknown process: %v", err)
	}

	// The batch posted twice (same id) is read once; the log with a hole is refused.
	if _, err := c2.Result(ctx, twice, itemID(t, twiceLog[3].Message)); err != nil {
		t.Fatalf("process whose first batch is on the gateway twice: %v", err)
	}
	if _, err := c2.Result(ctx, holed, holed); !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable || !strings.Contains(ce.Message, "nonces 2..3 are missing") {
		t.Fatalf("process with a hole on the gateway: %v", err)
	}
	// The refused log left nothing behind: asking again fails the same way, it is not served half.
	if _, err := c2.Raw(ctx, "/processes/"+holed.String()); !errors.As(err, &ce) || ce.Status != http.StatusServiceUnavailable {
		t.Fatalf("process with a hole, asked again: %v", err)
	}
	// A recovery that writes as it reads (a log over the buffer) and fails half-way stays marked and
	// resumes once the gateway has the missing batch.
	src := recovery.Gateway(arweave.NewGateway(w.env.ar.URL), arweave.DefaultRetry, 0)
	tmp, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if _, err := recovery.Recover(ctx, src, tmp, holed, recovery.Options{MaxBufferBytes: 1}); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("streaming recovery of a log with a hole: %v", err)
	}
	if on, _ := tmp.Recovering(holed); !on {
		t.Fatal("a half-written recovery is not marked as unfinished")
	}
	w.env.post(t, ctx, hb[1:2])
	rr, err := recovery.Recover(ctx, src, tmp, holed, recovery.Options{MaxBufferBytes: 1})
	if err != nil || rr.Entries != 6 {
		t.Fatalf("resumed recovery: %v %+v", err, rr)
	}
	if on, _ := tmp.Recovering(holed); on {
		t.Fatal("a finished recovery is still marked")
	}
	if _, err := c2.Result(ctx, holed, itemID(t, holedLog[5].Message)); err != nil {
		t.Fatalf("process whose hole was filled: %v", err)
	}

	// The message sent after recovery reaches the gateway as the next batch (the recovered entries
	// are not uploaded again).
	waitFlush(t, n2, 1, 0, time.Minute)
	if err := w.env.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	// verify against the recovering node: the recovered process it continued is ahead of the
	// gateway by one entry, the other one is at the same nonce.
	for i, pid := range good {
		rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n2.URL()}, pid)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		verify.Render(&buf, rep)
		want := uint64(5 + 1 - i) // the first one got a message after recovery
		if !rep.OK || rep.Entries != want || rep.Counts[verify.OK] < int(want)+2 || rep.Counts[verify.Skipped] != 0 {
			t.Fatalf("process %d: verify on an honest node:\n%s", i, buf.String())
		}
		cps := 0
		for _, c := range rep.Checks {
			if c.What == "checkpoint" && c.Status == verify.OK {
				cps++
			}
		}
		if cps < 1 {
			t.Fatalf("process %d: no checkpoint checked:\n%s", i, buf.String())
		}
		// Every entry the first node evaluated is certified on the gateway, the first one after
		// its activation with the memory hash, and all agree with the recomputation.
		if c := rep.Certificates; c.Entries < 5 || c.Memory < 1 || c.Mismatch != 0 {
			t.Fatalf("process %d: result certificates %+v, want the 5 entries the first node evaluated, one with memory:\n%s", i, c, buf.String())
		}
	}

	// Result certificates on the gateway that do not hold: one the Scheduler signed certifying
	// another answer than the recomputed one is a MISMATCH; one signed by a stranger is left out
	// (skipped with the reason), never trusted.
	stranger, _ := ans104.GenerateEd25519Signer()
	w.env.mint(t, ctx, stranger)
	var forged []*ans104.DataItem
	for _, key := range []ans104.Signer{w.nodeKey, stranger} {
		wrong := arweave.Certified{Nonce: 1, Outcome: [32]byte{1, 2, 3}}
		it, err := arweave.ResultBatch(twice, 1, 1, wrong.AppendBinary(nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := it.Sign(key); err != nil {
			t.Fatal(err)
		}
		forged = append(forged, it)
	}
	w.env.post(t, ctx, forged)
	rep, err := verify.Run(ctx, verify.Config{Source: src}, twice)
	if err != nil {
		t.Fatal(err)
	}
	var forgedOut bytes.Buffer
	verify.Render(&forgedOut, rep)
	var certMismatch, strangerSkipped bool
	for _, c := range rep.Checks {
		certMismatch = certMismatch || (c.What == "certificate" && c.Nonce == 1 && c.Status == verify.Mismatch && strings.Contains(c.Detail, forged[0].ID().String()))
		strangerSkipped = strangerSkipped || (c.What == "certificate" && c.Status == verify.Skipped && strings.Contains(c.Detail, forged[1].ID().String()) && strings.Contains(c.Detail, "not by the process's Scheduler"))
	}
	if rep.OK || !certMismatch || !strangerSkipped || rep.Certificates.Mismatch != 1 {
		t.Fatalf("verify with a forged certificate (Scheduler's key) and a stranger's: mismatch %v, stranger skipped %v:\n%s", certMismatch, strangerSkipped, forgedOut.String())
	}
	rep, err = verify.Run(ctx, verify.Config{Source: src, Node: n2.URL()}, bad)
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
	n3 := startNode(t, dir2, func(c *node.Config) { c.KeyFile = w.key; c.Recovery.Disabled = true })
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

func itemID(t *testing.T, raw []byte) ans104.ID {
	t.Helper()
	d, err := ans104.Parse(raw, ans104.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return d.ID()
}

// TestRecoverManyProcesses measures a fresh node recovering many processes from arlocal, and
// verify checking each one against it. AW_RECOVER_PROCESSES sets how many (default 5, so the suite
// stays short; the closing note's figure is with 100). It asserts only correctness; the timings are
// logged (the machine is shared: they are indications, not limits).
func TestRecoverManyProcesses(t *testing.T) {
	procs := 5
	if v := os.Getenv("AW_RECOVER_PROCESSES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("AW_RECOVER_PROCESSES=%q", v)
		}
		procs = n
	}
	const msgs = 3
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	start := time.Now()
	w, pids := makeWorld(t, ctx, procs, msgs)
	t.Logf("%d processes × %d messages run and flushed in %v", procs, msgs, time.Since(start).Round(time.Millisecond))

	n2 := startNode(t, t.TempDir(), func(c *node.Config) { c.KeyFile = w.key; w.env.flushing(c) })
	defer n2.Close(ctx)
	c2 := client.New(n2.URL(), w.user)
	const askers = 8
	each := func(fn func(pid ans104.ID) error) {
		var wg sync.WaitGroup
		work := make(chan ans104.ID)
		var mu sync.Mutex
		for range askers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for pid := range work {
					if err := fn(pid); err != nil {
						mu.Lock()
						t.Error(err)
						mu.Unlock()
					}
				}
			}()
		}
		for _, pid := range pids {
			work <- pid
		}
		close(work)
		wg.Wait()
	}
	// Recovery alone: GET /processes/{pid} (the SU's process route) makes the node recover it.
	start = time.Now()
	each(func(pid ans104.ID) error {
		_, err := c2.Raw(ctx, "/processes/"+pid.String())
		return err
	})
	recovered := time.Since(start)
	// Then every result, which evaluates the recovered logs.
	start = time.Now()
	each(func(pid ans104.ID) error {
		for _, m := range w.results[pid] {
			got, err := c2.ResultJSON(ctx, pid, m.id)
			if err != nil {
				return fmt.Errorf("result %s of %s: %w", m.id, pid, err)
			}
			if canon(t, got) != canon(t, m.json) {
				return fmt.Errorf("result %s of %s differs after recovery", m.id, pid)
			}
		}
		return nil
	})
	evaluated := time.Since(start)

	eng, err := runtime.NewEngine(ctx, runtime.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close(ctx)
	src := recovery.Gateway(arweave.NewGateway(w.env.ar.URL), arweave.DefaultRetry, 0)
	start = time.Now()
	var mu sync.Mutex
	matching := 0
	each(func(pid ans104.ID) error {
		rep, err := verify.Run(ctx, verify.Config{Source: src, Node: n2.URL(), Engine: eng}, pid)
		if err != nil {
			return err
		}
		if !rep.OK {
			var b bytes.Buffer
			verify.Render(&b, rep)
			return fmt.Errorf("verify %s:\n%s", pid, b.String())
		}
		mu.Lock()
		matching++
		mu.Unlock()
		return nil
	})
	verified := time.Since(start)
	if matching != procs {
		t.Fatalf("verify: %d of %d processes match", matching, procs)
	}
	t.Logf("fresh node, %d askers: %d processes recovered from arlocal in %v (%.1f ms each), their %d results re-evaluated and equal in %v; verify: %d/%d processes match, in %v",
		askers, procs, recovered.Round(time.Millisecond), float64(recovered.Microseconds())/1000/float64(procs), procs*msgs, evaluated.Round(time.Millisecond), matching, procs, verified.Round(time.Millisecond))
}

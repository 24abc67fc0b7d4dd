package weavedrive_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/internal/arlocal"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/weavedrive"
)

// world is arlocal with items posted, and what the tests read through the drive.
type world struct {
	ar       *arlocal.Instance
	sched    ans104.Signer // the process's Scheduler: signs attestations
	attested *ans104.DataItem
	plain    *ans104.DataItem // no attestation
	bundleTx string           // the L1 transaction that carried them: /tx/<id>
	height   uint64           // the block they are in
}

func newWorld(t *testing.T, ctx context.Context) *world {
	t.Helper()
	w := &world{ar: testutil.Arlocal(t)}
	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	if err := w.ar.Mint(ctx, ans104.Address(wallet.SignatureType(), wallet.Owner())); err != nil {
		t.Fatal(err)
	}
	w.sched, _ = ans104.GenerateEd25519Signer()
	user, _ := ans104.GenerateEd25519Signer()
	sign := func(it *ans104.DataItem, s ans104.Signer) *ans104.DataItem {
		if err := it.Sign(s); err != nil {
			t.Fatal(err)
		}
		return it
	}
	// Blocks first, so that the items' block is above 1 (arlocal reads a block maximum of 0 as
	// none).
	for i := 0; i < 2; i++ {
		if err := w.ar.Mine(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// 700 KiB + 123 bytes: over two cache chunks, not a multiple of one.
	data := make([]byte, 700<<10+123)
	_, _ = rand.Read(data)
	w.attested = sign(ans104.NewItem(data, nil, nil, []ans104.Tag{{Name: "Content-Type", Value: "application/octet-stream"}}), user)
	w.plain = sign(ans104.NewItem([]byte("not attested"), nil, nil, []ans104.Tag{{Name: "Content-Type", Value: "text/plain"}}), user)
	att := sign(ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Attestation"},
		{Name: "Message", Value: w.attested.ID().String()}}), w.sched)
	l1, err := arweave.NewL1(w.ar.URL, wallet)
	if err != nil {
		t.Fatal(err)
	}
	up, err := l1.Prepare(ctx, []*ans104.DataItem{w.attested, w.plain, att})
	if err != nil {
		t.Fatal(err)
	}
	if err := l1.Post(ctx, up); err != nil {
		t.Fatal(err)
	}
	if err := w.ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}
	w.bundleTx = up.TxID
	txs, err := arweave.NewGateway(w.ar.URL).ByIDs(ctx, []ans104.ID{att.ID()})
	if err != nil || len(txs) != 1 || txs[0].Block == nil {
		t.Fatalf("the attestation on arlocal: %+v, %v", txs, err)
	}
	w.height = uint64(txs[0].Block.Height)
	return w
}

// process returns a process's and its module's tags as a spawn would give them.
func (w *world) process(extra ...ans104.Tag) []ans104.Tag {
	sched := ans104.Address(w.sched.SignatureType(), w.sched.Owner())
	return append([]ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Scheduler", Value: sched}, {Name: "Extension", Value: "WeaveDrive"}}, extra...)
}

type output struct {
	FD    int    `json:"fd"`
	Size  int64  `json:"size"`
	Read  int64  `json:"read"`
	Reads int64  `json:"reads"`
	FNV   string `json:"fnv"`
	Head  string `json:"head"`
}

// proc is one instance of the drive test module reading through a drive.
type proc struct {
	t    *testing.T
	eng  *runtime.Engine
	inst *runtime.Instance
}

func newProc(t *testing.T, ctx context.Context, module, format string, drive runtime.Drive, budget int64) *proc {
	t.Helper()
	eng, err := runtime.NewEngine(ctx, runtime.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close(context.Background()) })
	mod, err := eng.Compile(ctx, testutil.Module(t, module), format)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := eng.Instantiate(ctx, mod, runtime.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	inst.SetDrive(drive, budget)
	return &proc{t: t, eng: eng, inst: inst}
}

// run sends the command at a block height; it returns the output, or the Error.
func (p *proc) run(ctx context.Context, height uint64, cmd string) (output, string) {
	p.t.Helper()
	out, e, _ := p.runAll(ctx, height, cmd)
	return out, e
}

// runAll is run that also says whether the message went unevaluated (runtime.Result.Unavailable).
func (p *proc) runAll(ctx context.Context, height uint64, cmd string) (output, string, bool) {
	p.t.Helper()
	msg, _ := json.Marshal(map[string]any{"Id": "m", "Block-Height": height, "Data": cmd})
	res, err := p.inst.Handle(ctx, msg, []byte(`{"Process":{"Id":"p"}}`))
	if err != nil {
		p.t.Fatal(err)
	}
	if res.Error != "" {
		return output{}, res.Error, res.Unavailable
	}
	var out output
	if err := json.Unmarshal(res.Output, &out); err != nil {
		p.t.Fatalf("output %s: %v", res.Output, err)
	}
	return out, "", false
}

func (p *proc) ok(ctx context.Context, height uint64, cmd string) output {
	p.t.Helper()
	out, e := p.run(ctx, height, cmd)
	if e != "" {
		p.t.Fatalf("%s: Error %q", cmd, e)
	}
	return out
}

// fails expects the message's answer to be an Error with want in it (the process's own answer,
// the same on every node).
func (p *proc) fails(ctx context.Context, height uint64, cmd, want string) {
	p.t.Helper()
	p.failsAs(ctx, height, cmd, want, false)
}

// unavailable expects the message to go unevaluated (runtime.ErrDriveUnavailable: the gateway or
// the cache, not the process), with want in the reason.
func (p *proc) unavailable(ctx context.Context, height uint64, cmd, want string) {
	p.t.Helper()
	p.failsAs(ctx, height, cmd, want, true)
}

func (p *proc) failsAs(ctx context.Context, height uint64, cmd, want string, unavailable bool) {
	p.t.Helper()
	out, e, u := p.runAll(ctx, height, cmd)
	if e == "" {
		p.t.Fatalf("%s: no Error (output %+v), want one with %q", cmd, out, want)
	}
	if !strings.Contains(e, want) {
		p.t.Fatalf("%s: Error %q, want %q in it", cmd, e, want)
	}
	if u != unavailable {
		p.t.Fatalf("%s: Error %q with Unavailable %v, want %v", cmd, e, u, unavailable)
	}
}

func fnvHex(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64())
}

func openStore(t testing.TB, dir string) *persistence.Store {
	t.Helper()
	st, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestWeaveDriveArlocal reads items posted to arlocal through the drive from the test module, as
// aos does: admitted by a Scheduler's attestation, refused without one, headers of a transaction
// and a block, ranges, bad paths; then, with arlocal stopped, the same bytes from the cache.
func TestWeaveDriveArlocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	dir := t.TempDir()
	st := openStore(t, dir)
	d, err := weavedrive.New(weavedrive.Config{Gateway: w.ar.URL, Timeout: 10 * time.Second}, st)
	if err != nil {
		t.Fatal(err)
	}
	pid := ans104.ID{7}
	module := []ans104.Tag{{Name: "Module-Format", Value: "wasm32-unknown-emscripten2"}}
	p := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", d.For(pid, w.process(), module), d.ReadBudget())
	data := w.attested.Data
	id := w.attested.ID().String()

	out := p.ok(ctx, w.height, "read /data/"+id+" 32768")
	if out.FD != 3 || out.Size != int64(len(data)) || out.Read != int64(len(data)) || out.FNV != fnvHex(data) {
		t.Fatalf("read: %+v, want fd 3, %d bytes, fnv %s, head %x", out, len(data), fnvHex(data), data[:16])
	}
	if want := (len(data) + 32767) / 32768; out.Reads != int64(want) {
		t.Fatalf("reads %d, want %d (the last one short, then 0 at EOF)", out.Reads, want)
	}
	// A range across a chunk boundary.
	out = p.ok(ctx, w.height, fmt.Sprintf("range /data/%s %d 100", id, 256<<10-5))
	if out.Read != 100 || out.FNV != fnvHex(data[256<<10-5:256<<10+95]) {
		t.Fatalf("range: %+v", out)
	}
	// aos's file:read(file:seek("end")): the reference reads from the start after the seek.
	out = p.ok(ctx, w.height, "endread /data/"+id)
	if out.Size != int64(len(data)) || out.FNV != fnvHex(data) {
		t.Fatalf("endread: %+v", out)
	}

	// Refusals and the reference's answers.
	p.fails(ctx, w.height, "read /data/"+w.plain.ID().String(), "refused: no Attestation of "+w.plain.ID().String())
	below := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", d.For(ans104.ID{6}, w.process(), module), 0)
	below.fails(ctx, w.height-1, "read /data/"+id, fmt.Sprintf("at or below block %d", w.height-1))
	noExt := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", d.For(ans104.ID{5}, w.process()[:3], module), 0)
	noExt.fails(ctx, w.height, "read /data/"+id, "Extension: WeaveDrive")
	missing := ans104.ID{9, 9, 9}.String()
	boot := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2",
		d.For(ans104.ID{8}, w.process(ans104.Tag{Name: "On-Boot", Value: missing}), module), 0)
	if out := boot.ok(ctx, w.height, "read /data/"+missing); out.FD != 0 {
		t.Fatalf("a missing On-Boot item: fd %d, want 0 (the emscripten4 glue's answer)", out.FD)
	}
	if out := p.ok(ctx, w.height, "open /etc/passwd"); out.FD != 0 {
		t.Fatalf("/etc/passwd: fd %d, want 0", out.FD)
	}
	p.fails(ctx, w.height, "read /data/../../etc/passwd", "path traversal")
	p.fails(ctx, w.height, "read /data/"+id+"/..", "path traversal")
	p.fails(ctx, w.height, "read /data/short-id", "bad id")
	p.fails(ctx, w.height, "read /block/12ab", "bad block height")
	p.fails(ctx, w.height, "huge /data/"+id, "outside the module's memory")

	// Headers: /tx is the gateway's JSON with ownerAddress, /block its answer.
	gw := arweave.NewGateway(w.ar.URL)
	tx, err := gw.TxHeader(ctx, w.bundleTx, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out = p.ok(ctx, w.height, "endread /tx/"+w.bundleTx)
	if out.Size < int64(len(tx))/2 || !strings.HasPrefix(out.Head, "7b") { // '{'
		t.Fatalf("/tx: %+v (gateway's header %d bytes)", out, len(tx))
	}
	txOut := out
	block, err := gw.BlockHeader(ctx, w.height, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out = p.ok(ctx, w.height, fmt.Sprintf("endread /block/%d", w.height))
	if out.Size != int64(len(block)) || out.FNV != fnvHex(block) {
		t.Fatalf("/block: %+v, want %d bytes fnv %s", out, len(block), fnvHex(block))
	}
	blockOut := out
	p.fails(ctx, w.height, "read /tx/"+missing, "404")

	// Budget: one message may read at most the budget.
	small := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", d.For(pid, w.process(), module), 100<<10)
	small.fails(ctx, w.height, "read /data/"+id+" 32768", "read budget exhausted")

	// The cache's bound: an item over it is not read (this node cannot hold it: the message waits,
	// it gets no Error another node would not give); the oldest content not being read makes room.
	tiny, err := weavedrive.New(weavedrive.Config{Gateway: w.ar.URL, CacheBytes: 100 << 10}, openStore(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", tiny.For(pid, w.process(), module), 0).
		unavailable(ctx, w.height, "read /data/"+id+" 32768", "more than the whole cache")
	bounded, err := weavedrive.New(weavedrive.Config{Gateway: w.ar.URL, CacheBytes: int64(len(data)) + 100}, openStore(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	bp := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", bounded.For(pid, w.process(), module), 0)
	if out := bp.ok(ctx, w.height, "read /data/"+id+" 32768"); out.FNV != fnvHex(data) || bounded.CachedBytes() != int64(len(data)) {
		t.Fatalf("bounded cache: %+v, %d bytes cached", out, bounded.CachedBytes())
	}
	bp.ok(ctx, w.height, "endread /tx/"+w.bundleTx)
	if got := bounded.CachedBytes(); got >= int64(len(data)) || got == 0 {
		t.Fatalf("after a /tx read over the bound the cache holds %d bytes, want the header alone", got)
	}
	if out := bp.ok(ctx, w.height, "read /data/"+id+" 32768"); out.FNV != fnvHex(data) {
		t.Fatalf("the evicted item read again: %+v", out)
	}

	// The same bytes with arlocal gone: from the cache, admission included.
	w.ar.Stop()
	d2, err := weavedrive.New(weavedrive.Config{Gateway: "http://127.0.0.1:1", Timeout: 2 * time.Second}, st)
	if err != nil {
		t.Fatal(err)
	}
	if d2.CachedBytes() < int64(len(data)) {
		t.Fatalf("cache holds %d bytes, want at least %d", d2.CachedBytes(), len(data))
	}
	p2 := newProc(t, ctx, "drive", "wasm32-unknown-emscripten2", d2.For(pid, w.process(), module), d2.ReadBudget())
	if out := p2.ok(ctx, w.height, "read /data/"+id+" 32768"); out.FNV != fnvHex(data) || out.Read != int64(len(data)) {
		t.Fatalf("from the cache: %+v", out)
	}
	if out := p2.ok(ctx, w.height, "endread /tx/"+w.bundleTx); out != txOut {
		t.Fatalf("/tx from the cache: %+v, first %+v", out, txOut)
	}
	if out := p2.ok(ctx, w.height, fmt.Sprintf("endread /block/%d", w.height)); out != blockOut {
		t.Fatalf("/block from the cache: %+v, first %+v", out, blockOut)
	}
	// What the cache does not hold needs the gateway: unavailable, naming it, not a hang, and not
	// an Error (a replay that reaches the gateway would answer otherwise).
	p2.unavailable(ctx, w.height+5, "read /data/"+w.plain.ID().String(), "admission")
	// A rebuild that meets it stops: memory past it would not be the log's.
	msg, _ := json.Marshal(map[string]any{"Id": "m", "Block-Height": w.height + 5, "Data": "read /data/" + w.plain.ID().String()})
	if err := p2.inst.Replay(ctx, msg, []byte(`{"Process":{"Id":"p"}}`)); !errors.Is(err, runtime.ErrDriveUnavailable) {
		t.Fatalf("Replay of an unavailable read: %v, want runtime.ErrDriveUnavailable", err)
	}
	if err := p2.inst.Replay(ctx, []byte(`{"Id":"m2","Block-Height":1,"Data":"noop"}`), []byte(`{"Process":{"Id":"p"}}`)); err != nil {
		t.Fatalf("Replay of a message the module answers (an Error is an answer): %v", err)
	}
}

// TestWeaveDriveWasm64: the wasm64 glue's answers: the same reads, and a missing item is the
// reference's "HALT: FILE NOT FOUND" Error.
func TestWeaveDriveWasm64(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	w := newWorld(t, ctx)
	st := openStore(t, t.TempDir())
	d, err := weavedrive.New(weavedrive.Config{Gateway: w.ar.URL, Timeout: 10 * time.Second}, st)
	if err != nil {
		t.Fatal(err)
	}
	missing := ans104.ID{9, 9, 9}.String()
	module := []ans104.Tag{{Name: "Extension", Value: "WeaveDrive"}}
	p := newProc(t, ctx, "drive64", runtime.FormatWasm64, d.For(ans104.ID{7}, append(w.process()[:3:3], ans104.Tag{Name: "On-Boot", Value: missing}), module), 0)
	data := w.attested.Data
	out := p.ok(ctx, w.height, "read /data/"+w.attested.ID().String()+" 32768")
	if out.FD != 3 || out.Read != int64(len(data)) || out.FNV != fnvHex(data) {
		t.Fatalf("read: %+v", out)
	}
	p.fails(ctx, w.height, "read /data/"+missing, runtime.DriveNotFound)
	p.fails(ctx, w.height, "read /data/"+w.plain.ID().String(), "refused")
}

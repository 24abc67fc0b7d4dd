package evaluation_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/bench/benchmodule"
	"github.com/actorweave/actorweave/compute"
	"github.com/actorweave/actorweave/evaluation"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/scheduler"
)

// memLog is a log held in memory: the pipeline's Source without a store.
type memLog struct {
	entries     []compute.LogEntry
	items       map[ans104.ID]*ans104.DataItem // standalone items (assignment-only entries)
	checkpoints []evaluation.Checkpoint
}

func (l *memLog) Entry(n uint64) (compute.LogEntry, *ans104.DataItem, error) {
	if n >= uint64(len(l.entries)) {
		return compute.LogEntry{}, nil, fmt.Errorf("no entry %d", n)
	}
	return l.entries[n], nil, nil
}

func (l *memLog) Item(id ans104.ID) *ans104.DataItem { return l.items[id] }

func (l *memLog) Checkpoint(n uint64) (*evaluation.Checkpoint, error) {
	var best *evaluation.Checkpoint
	for i := range l.checkpoints {
		if c := &l.checkpoints[i]; c.Nonce <= n && (best == nil || c.Nonce > best.Nonce) {
			best = c
		}
	}
	if best == nil {
		return nil, nil
	}
	cp := *best
	cp.Memory = slices.Clone(best.Memory) // the pipeline owns what it is given
	return &cp, nil
}

// fixture is a process of the embedded bench module whose owner sends Evals of the commands in
// its log (bench/benchmodule/src/benchmodule.c: "count" adds one to a counter and outputs it,
// anything unknown is the message's Error).
type fixture struct {
	eng        *runtime.Engine
	mod        *runtime.Module
	proc, modI *ans104.DataItem
	log        *memLog
}

func newFixture(t *testing.T, commands ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	key, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(data []byte, tags ...ans104.Tag) *ans104.DataItem {
		it := ans104.NewItem(data, nil, nil, tags)
		if err := it.Sign(key); err != nil {
			t.Fatal(err)
		}
		return it
	}
	modI := sign(benchmodule.Wasm, ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Type", Value: "Module"},
		ans104.Tag{Name: "Module-Format", Value: benchmodule.Format})
	proc := sign([]byte("process"), ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Type", Value: "Process"},
		ans104.Tag{Name: "Module", Value: modI.ID().String()})
	f := &fixture{proc: proc, modI: modI, log: &memLog{items: map[ans104.ID]*ans104.DataItem{}}}
	asg := func(nonce uint64, msg ans104.ID) []byte {
		a, err := scheduler.Sign(ans104.Assignment{Process: proc.ID(), Epoch: 0, Nonce: nonce, Message: msg,
			Timestamp: 1_700_000_000_000 + int64(nonce), BlockHeight: 1000 + nonce}, key)
		if err != nil {
			t.Fatal(err)
		}
		return a.Bytes()
	}
	f.log.entries = append(f.log.entries, compute.LogEntry{Nonce: 0, Assignment: asg(0, ans104.ID{})})
	for i, c := range commands {
		n := uint64(i + 1)
		m := sign([]byte(c), ans104.Tag{Name: "Data-Protocol", Value: "ao"}, ans104.Tag{Name: "Type", Value: "Message"},
			ans104.Tag{Name: "Action", Value: "Eval"})
		le := compute.LogEntry{Nonce: n, Assignment: asg(n, m.ID()), MessageID: m.ID()}
		if n%2 == 0 {
			le.Message = m.Bytes() // the log holds the message
		} else {
			f.log.items[m.ID()] = m // an assignment of a message held elsewhere
		}
		f.log.entries = append(f.log.entries, le)
	}
	if f.eng, err = runtime.NewEngine(ctx, runtime.DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.eng.Close(context.Background()) })
	if f.mod, err = f.eng.Compile(ctx, benchmodule.Wasm, benchmodule.Format); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) pipeline(t *testing.T, replayed *[]uint64) *evaluation.Pipeline {
	t.Helper()
	return f.pipelineOn(t, f.log, replayed)
}

func (f *fixture) pipelineOn(t *testing.T, src evaluation.Source, replayed *[]uint64) *evaluation.Pipeline {
	t.Helper()
	cfg := evaluation.Config{Engine: f.eng, Module: f.mod, Process: f.proc, ModuleItem: f.modI, Source: src}
	if replayed != nil {
		cfg.Replayed = func(n uint64) { *replayed = append(*replayed, n) }
	}
	p, err := evaluation.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// step evaluates entry n in p (opened there first) and returns its result.
func step(t *testing.T, p *evaluation.Pipeline, n uint64) *runtime.Result {
	t.Helper()
	ctx := context.Background()
	if err := p.Open(ctx, n); err != nil {
		t.Fatalf("open at %d: %v", n, err)
	}
	m, err := p.Message(n)
	if err != nil {
		t.Fatalf("message %d: %v", n, err)
	}
	res, err := p.Evaluate(ctx, m)
	if err != nil {
		t.Fatalf("evaluate %d: %v", n, err)
	}
	return res
}

func memory(t *testing.T, p *evaluation.Pipeline) [32]byte {
	t.Helper()
	if p.Instance() == nil {
		t.Fatal("no open instance")
	}
	sum, _ := p.Instance().MemorySha256()
	return sum
}

func output(res *runtime.Result) string {
	if res.Error != "" {
		return "error: " + res.Error
	}
	return string(res.Output)
}

// The log's entries evaluated one by one, then a fresh pipeline opened at each entry: replaying
// the log rebuilds the memory the evaluation left, and the next entry evaluates the same.
func TestFreshReplayEqualsEvaluation(t *testing.T) {
	f := newFixture(t, "count", "count", "count", "count")
	p := f.pipeline(t, nil)
	var mems [][32]byte
	var outs []string
	for n := uint64(0); n < uint64(len(f.log.entries)); n++ {
		outs = append(outs, output(step(t, p, n)))
		mems = append(mems, memory(t, p))
	}
	if !strings.Contains(outs[4], `"output":4,`) {
		t.Fatalf("the fourth count output %s", outs[4])
	}
	for k := uint64(1); k < uint64(len(f.log.entries)); k++ {
		var replayed []uint64
		q := f.pipeline(t, &replayed)
		if err := q.Open(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		if got := memory(t, q); got != mems[k-1] {
			t.Fatalf("open at %d: memory %x, evaluation left %x", k, got[:8], mems[k-1][:8])
		}
		if len(replayed) != int(k) {
			t.Fatalf("open at %d replayed %v", k, replayed)
		}
		if ts, h := q.Last(); ts != 1_700_000_000_000+int64(k-1) || h != 1000+k-1 {
			t.Fatalf("open at %d: last %d %d", k, ts, h)
		}
		if k < uint64(len(f.log.entries)) {
			if got := output(step(t, q, k)); got != outs[k] {
				t.Fatalf("entry %d after a replay: %s, evaluated in order: %s", k, got, outs[k])
			}
		}
	}
}

// Restoring a checkpoint and replaying the entries after it equals replaying the whole log.
func TestCheckpointThenReplayEqualsFreshReplay(t *testing.T) {
	f := newFixture(t, "count", "count", "nonsense", "count", "count", "count")
	p := f.pipeline(t, nil)
	for n := uint64(0); n <= 2; n++ {
		step(t, p, n)
	}
	mem, _ := p.Instance().Snapshot()
	ts, h := p.Last()
	f.log.checkpoints = append(f.log.checkpoints, evaluation.Checkpoint{Nonce: 2, Timestamp: ts, BlockHeight: h, Memory: mem})

	// The same log without the checkpoint: replayed from entry 0.
	freshLog := *f.log
	freshLog.checkpoints = nil
	fresh := f.pipelineOn(t, &freshLog, nil)
	var replayed []uint64
	restored := f.pipeline(t, &replayed)
	ctx := context.Background()
	const at = 6
	if err := fresh.Open(ctx, at); err != nil {
		t.Fatal(err)
	}
	if err := restored.Open(ctx, at); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(replayed, []uint64{3, 4, 5}) {
		t.Fatalf("restored from the checkpoint after entry 2, replayed %v", replayed)
	}
	if a, b := memory(t, fresh), memory(t, restored); a != b {
		t.Fatalf("memory after a fresh replay %x, after the checkpoint and a replay %x", a[:8], b[:8])
	}
	fts, fh := fresh.Last()
	rts, rh := restored.Last()
	if fts != rts || fh != rh || fts != 1_700_000_000_000+at-1 {
		t.Fatalf("last entry: fresh %d/%d, restored %d/%d", fts, fh, rts, rh)
	}
	a, b := step(t, fresh, at), step(t, restored, at)
	if output(a) != output(b) || !strings.Contains(output(a), `"output":5,`) {
		t.Fatalf("entry %d: fresh %s, restored %s (the failed entry must not count)", at, output(a), output(b))
	}
	if a, b := memory(t, fresh), memory(t, restored); a != b {
		t.Fatalf("memory after entry %d: fresh %x, restored %x", at, a[:8], b[:8])
	}
}

// An instance that fails makes the entry's result that error; the pipeline closes it and the next
// Open rebuilds it from the log, so the next entry sees the memory as if the failed entry had not
// changed it: the same memory and answer as where the entry's own error was undone by the runtime.
func TestFailedInstanceIsRebuiltFromTheLog(t *testing.T) {
	f := newFixture(t, "count", "count", "nonsense", "count")
	ctx := context.Background()

	// The reference: entry 3's error is the message's own, undone by the runtime.
	ref := f.pipeline(t, nil)
	for n := uint64(0); n < 3; n++ {
		step(t, ref, n)
	}
	if res := step(t, ref, 3); res.Error == "" {
		t.Fatalf("entry 3 (an unknown command) answered %s", output(res))
	}
	want := output(step(t, ref, 4))
	if !strings.Contains(want, `"output":3,`) {
		t.Fatalf("the count after two counts and a failure output %s", want)
	}

	var replayed []uint64
	p := f.pipeline(t, &replayed)
	for n := uint64(0); n < 3; n++ {
		step(t, p, n)
	}
	// The instance fails under entry 3 (closed under the pipeline: Handle's error).
	_ = p.Instance().Close(ctx)
	m, err := p.Message(3)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Evaluate(ctx, m)
	if err != nil {
		t.Fatalf("a failed instance is a result, not an error: %v", err)
	}
	if res.Error == "" || p.Instance() != nil {
		t.Fatalf("result %s, instance %v: want the error, and no instance", output(res), p.Instance())
	}
	if ts, _ := p.Last(); ts != 1_700_000_000_000+3 {
		t.Fatalf("after entry 3 the last timestamp is %d", ts)
	}
	if _, err := p.Evaluate(ctx, m); err == nil {
		t.Fatal("evaluated without an open instance")
	}
	replayed = nil
	if got := output(step(t, p, 4)); got != want {
		t.Fatalf("entry 4 after the rebuild: %s, want %s", got, want)
	}
	if !slices.Equal(replayed, []uint64{0, 1, 2, 3}) {
		t.Fatalf("the rebuild replayed %v, want the log up to the failed entry", replayed)
	}
	if a, b := memory(t, ref), memory(t, p); a != b {
		t.Fatalf("memory after entry 4: %x, reference %x", b[:8], a[:8])
	}
}

// An evaluation cut short has no result: the instance is closed, and the entry evaluated again
// later answers as if nothing had happened.
func TestInterruptedIsNoResult(t *testing.T) {
	f := newFixture(t, "count", "count")
	p := f.pipeline(t, nil)
	step(t, p, 0)
	step(t, p, 1)
	m, err := p.Message(2)
	if err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := p.Evaluate(cancelled, m)
	var stop *evaluation.Interrupted
	if !errors.As(err, &stop) || res != nil || p.Instance() != nil {
		t.Fatalf("a cancelled evaluation: result %v, error %v, instance %v", res, err, p.Instance())
	}
	if got := output(step(t, p, 2)); !strings.Contains(got, `"output":2,`) {
		t.Fatalf("entry 2 evaluated again: %s", got)
	}
}

// Message names the entry (the process at nonce 0) and finds an assignment-only entry's message
// through the source; an open instance elsewhere in the log is not evaluated on.
func TestMessageAndPosition(t *testing.T) {
	f := newFixture(t, "count", "count")
	p := f.pipeline(t, nil)
	m0, err := p.Message(0)
	if err != nil {
		t.Fatal(err)
	}
	if m0.ID != f.proc.ID() || m0.Entry.Message.ID() != f.proc.ID() {
		t.Fatalf("entry 0 is named %s", m0.ID)
	}
	m1, err := p.Message(1) // assignment-only: Source.Item
	if err != nil {
		t.Fatal(err)
	}
	if m1.Entry.Message == nil || m1.ID != m1.Entry.Message.ID() || !strings.Contains(string(m1.JSON), `"count"`) {
		t.Fatalf("entry 1: %s", m1.JSON)
	}
	if err := p.Open(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Evaluate(context.Background(), m1); err == nil {
		t.Fatal("entry 1 evaluated on the memory before entry 0")
	}
	if _, err := p.Message(9); err == nil {
		t.Fatal("a missing entry read")
	}
}

package persistence

import (
	"context"
	"errors"
	"testing"
	"time"
)

// forkedStore opens a store on disk with one process of n entries, evaluated up to evaluated (each
// evaluation with one push), and a checkpoint after every entry.
func forkedStore(t *testing.T, dir string, n, evaluated int) (*Store, Process, []Entry) {
	t.Helper()
	s := openTest(t, dir, Options{})
	p := newProcess(t)
	c := mustPut(t, s, p)
	es := c.appendN(t, s, n)
	for i := 0; i < evaluated; i++ {
		ev := Evaluation{Process: p.ID, Nonce: uint64(i), Result: []byte{byte(i)},
			Pushes: []Push{{Kind: 1, Target: randID(t), Item: []byte("push")}}}
		if err := s.CommitEvaluation(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if _, err := s.PutCheckpoint(Checkpoint{Process: p.ID, Nonce: uint64(i), Memory: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return s, p, es
}

func TestTruncateFromArchivesTheTail(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, p, es := forkedStore(t, dir, 6, 2)
	if err := s.TruncateFrom(ctx, p.ID, 4, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.TruncateFrom(ctx, p.ID, 3, 0); err != nil {
		t.Fatal(err)
	}
	// Durable: reopen the store before reading.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	defer s.Close()
	st, _ := s.State(ctx, p.ID)
	if st.Count != 3 || st.LastHC != es[2].HashChain {
		t.Fatalf("state after truncation: %+v", st)
	}
	arch, err := s.Archives(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(arch) != 2 || arch[0].Number != 0 || arch[1].Number != 1 {
		t.Fatalf("archives: %+v", arch)
	}
	if len(arch[0].Entries) != 2 || arch[0].Entries[0].AssignmentID != es[4].AssignmentID || arch[0].Entries[1].AssignmentID != es[5].AssignmentID {
		t.Fatal("first archive does not hold entries 4 and 5")
	}
	if len(arch[1].Entries) != 1 || arch[1].Entries[0].Nonce != 3 || string(arch[1].Entries[0].Message) != string(es[3].Message) {
		t.Fatal("second archive does not hold entry 3")
	}
	// The indexes no longer point into the dropped tail: the message may be scheduled again.
	if ok, _ := s.HasMessage(p.ID, es[4].MessageID); ok {
		t.Fatal("a truncated message is still indexed")
	}
}

func TestTruncateFromRefusesEvaluated(t *testing.T) {
	ctx := context.Background()
	s, p, _ := forkedStore(t, t.TempDir(), 5, 3)
	defer s.Close()
	err := s.TruncateFrom(ctx, p.ID, 1, 0)
	if !errors.Is(err, ErrEvaluated) {
		t.Fatalf("truncate over evaluated entries: %v", err)
	}
	if st, _ := s.State(ctx, p.ID); st.Count != 5 {
		t.Fatalf("refused truncation changed the log: %+v", st)
	}
	if a, _ := s.Archives(p.ID); len(a) != 0 {
		t.Fatal("refused truncation archived entries")
	}
}

func TestForkRecord(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, p, _ := forkedStore(t, dir, 2, 0)
	if _, ok, err := s.Fork(p.ID); ok || err != nil {
		t.Fatalf("fresh process forked: %v %v", ok, err)
	}
	at := time.UnixMilli(1_700_000_123_000)
	f := ForkRecord{Process: p.ID, Nonce: 1, Node: "a:1", Peer: "b:2", NodeCount: 2, PeerCount: 3, Reason: "same epoch", Detected: at}
	if err := s.MarkForked(ctx, f); err != nil {
		t.Fatal(err)
	}
	later := f
	later.Nonce, later.Reason = 0, "again"
	if err := s.MarkForked(ctx, later); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	got, ok, err := s.Fork(p.ID)
	if err != nil || !ok {
		t.Fatalf("fork record lost: %v %v", ok, err)
	}
	if got.Nonce != 1 || got.Node != "a:1" || got.Peer != "b:2" || got.NodeCount != 2 || got.PeerCount != 3 ||
		got.Reason != "same epoch" || !got.Detected.Equal(at) {
		t.Fatalf("fork record: %+v (the first detection must stay)", got)
	}
	if err := s.ClearFork(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Fork(p.ID); ok {
		t.Fatal("cleared fork still recorded")
	}
}

func TestDiscardFromRollsBackEvaluation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, p, es := forkedStore(t, dir, 6, 5)
	d, err := s.DiscardFrom(ctx, p.ID, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Entries) != 4 || d.Entries[0].Nonce != 2 || d.Evaluated != 3 {
		t.Fatalf("discarded: %d entries from %d, %d evaluated", len(d.Entries), d.Entries[0].Nonce, d.Evaluated)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	st, _ := s.State(ctx, p.ID)
	if st.Count != 2 || st.Epoch != 7 || st.LastAsg != es[1].AssignmentID {
		t.Fatalf("state after discard: %+v", st)
	}
	if n, _ := s.Evaluated(p.ID); n != 2 {
		t.Fatalf("cursor %d after discard from 2", n)
	}
	if _, err := s.Result(p.ID, 2); !errors.Is(err, ErrNotFound) {
		t.Fatalf("result of a discarded entry: %v", err)
	}
	if _, err := s.Result(p.ID, 1); err != nil {
		t.Fatalf("result of a kept entry: %v", err)
	}
	pushes, _ := s.PendingPushes(nil, 100)
	for _, pp := range pushes {
		if pp.Process == p.ID && pp.Nonce >= 2 {
			t.Fatalf("push of discarded entry %d still pending", pp.Nonce)
		}
	}
	if len(pushes) != 2 {
		t.Fatalf("%d pushes left, want those of entries 0 and 1", len(pushes))
	}
	if n, ok, _ := s.LatestCheckpointNonce(p.ID, 100); !ok || n != 1 {
		t.Fatalf("latest checkpoint %d %v, want 1", n, ok)
	}
	if q, _ := s.QueuedCheckpoints(100); len(q) != 2 {
		t.Fatalf("%d checkpoints queued for upload, want 2", len(q))
	}
	arch, _ := s.Archives(p.ID)
	if len(arch) != 1 || len(arch[0].Entries) != 4 || arch[0].Entries[3].AssignmentID != es[5].AssignmentID {
		t.Fatalf("archive: %+v", arch)
	}
	// The log continues from the kept prefix.
	c := newChain(p.ID)
	c.epoch = 7
	c.accepted(es[1])
	e := c.next(t, []byte("after the fork"))
	if err := s.Append(ctx, e); err != nil {
		t.Fatalf("append after discard: %v", err)
	}
	if _, err := s.DiscardFrom(ctx, p.ID, 0, 6); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("discard at a stale epoch: %v", err)
	}
}

package persistence

import (
	"context"
	"errors"
	"testing"
)

// The flush bookkeeping: backlog, in-flight record surviving a reopen, completion advancing the
// cursors and emptying the queues in one step, and refusal of a range that is not contiguous.
func TestFlushCursorsAndInFlight(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	pa, pb := newProcess(t), newProcess(t)
	ca, cb := mustPut(t, s, pa), mustPut(t, s, pb)
	ca.appendN(t, s, 5)
	cb.appendN(t, s, 2)
	it := Item{ID: randID(t), Raw: randBytes(t, 100), Owner: "w", Timestamp: 42}
	if err := s.PutItem(ctx, it); err != nil {
		t.Fatal(err)
	}
	for _, n := range []uint64{1, 3} {
		if _, err := s.PutCheckpoint(Checkpoint{Process: pa.ID, Nonce: n, Memory: []byte("mem"), SHA256: sha256Sum([]byte("mem"))}); err != nil {
			t.Fatal(err)
		}
	}
	backlog := map[ID][2]uint64{}
	if err := s.FlushBacklog(func(pid ID, flushed, length uint64) bool {
		backlog[pid] = [2]uint64{flushed, length}
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if backlog[pa.ID] != [2]uint64{0, 5} || backlog[pb.ID] != [2]uint64{0, 2} || len(backlog) != 2 {
		t.Fatalf("backlog %v", backlog)
	}
	qi, err := s.QueuedItems(10)
	if err != nil || len(qi) != 1 || qi[0].ID != it.ID || qi[0].Timestamp != 42 {
		t.Fatalf("queued items %v %v", qi, err)
	}
	qc, err := s.QueuedCheckpoints(10)
	if err != nil || len(qc) != 2 || qc[1] != (QueuedCheckpoint{pa.ID, 3}) {
		t.Fatalf("queued checkpoints %v %v", qc, err)
	}
	cp, err := s.CheckpointAt(pa.ID, 3)
	if err != nil || cp.Size != 3 || len(cp.Compressed) == 0 || cp.SHA256 != sha256Sum([]byte("mem")) {
		t.Fatalf("stored checkpoint %+v %v", cp, err)
	}

	rec := &FlushRecord{Upload: []byte("signed bytes"), Logs: []FlushRange{{pa.ID, 0, 2}, {pb.ID, 0, 1}}, Items: qi, Checkpoints: qc[1:]}
	if err := s.PutFlushInFlight(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFlushInFlight(ctx, rec); err == nil {
		t.Fatal("a second in-flight record was accepted")
	}
	// The record survives a restart, byte for byte.
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	got, ok, err := s.FlushInFlight()
	if err != nil || !ok || string(got.Upload) != "signed bytes" || len(got.Logs) != 2 || got.Logs[0] != rec.Logs[0] || got.Items[0] != qi[0] || got.Checkpoints[0] != qc[1] {
		t.Fatalf("in-flight after reopen: %+v %v %v", got, ok, err)
	}
	if err := s.CompleteFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.FlushInFlight(); ok {
		t.Fatal("in-flight record left after completion")
	}
	if n, _ := s.FlushCursor(pa.ID); n != 3 {
		t.Fatalf("cursor of a = %d, want 3", n)
	}
	if n, _ := s.FlushCursor(pb.ID); n != 2 {
		t.Fatalf("cursor of b = %d, want 2", n)
	}
	if qi, _ := s.QueuedItems(10); len(qi) != 0 {
		t.Fatalf("items still queued: %v", qi)
	}
	if qc, _ := s.QueuedCheckpoints(10); len(qc) != 0 {
		t.Fatalf("checkpoints still queued (the older one is superseded): %v", qc)
	}
	backlog = map[ID][2]uint64{}
	_ = s.FlushBacklog(func(pid ID, flushed, length uint64) bool { backlog[pid] = [2]uint64{flushed, length}; return true })
	if backlog[pa.ID] != [2]uint64{3, 5} || len(backlog) != 1 {
		t.Fatalf("backlog after completion %v", backlog)
	}
	// A range that does not start at the cursor is refused, and nothing moves.
	if err := s.PutFlushInFlight(ctx, &FlushRecord{Logs: []FlushRange{{pa.ID, 4, 4}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteFlush(ctx); !errors.Is(err, ErrNonceGap) {
		t.Fatalf("gap completion: %v", err)
	}
	if n, _ := s.FlushCursor(pa.ID); n != 3 {
		t.Fatalf("cursor moved to %d", n)
	}
	// After the first look, only appended processes are visited: b (fully flushed) shows up again
	// once it is appended to.
	backlog = map[ID][2]uint64{}
	cb.appendN(t, s, 1)
	_ = s.FlushBacklog(func(pid ID, flushed, length uint64) bool { backlog[pid] = [2]uint64{flushed, length}; return true })
	if backlog[pb.ID] != [2]uint64{2, 3} || backlog[pa.ID] != [2]uint64{3, 5} || len(backlog) != 2 {
		t.Fatalf("backlog after an append %v", backlog)
	}
}

// BenchmarkFlushBacklog: the flusher's look for processes with unflushed entries, on 2,000
// processes, one of which was appended to since the last look. "full" is the first look after Open
// (a scan of the registry); "steady" the later ones (only the processes appended to).
func BenchmarkFlushBacklog(b *testing.B) {
	dir := b.TempDir()
	s := openTest(b, dir, Options{NoSync: true})
	ctx := context.Background()
	var last *chain
	for i := 0; i < 2_000; i++ {
		p := newProcess(b)
		last = mustPut(b, s, p)
		last.appendN(b, s, 1)
		_ = s.PutFlushInFlight(ctx, &FlushRecord{Logs: []FlushRange{{p.ID, 0, 0}}})
		_ = s.CompleteFlush(ctx)
	}
	look := func(b *testing.B, want int) {
		n := 0
		if err := s.FlushBacklog(func(ID, uint64, uint64) bool { n++; return true }); err != nil || n != want {
			b.Fatal(err, n)
		}
	}
	b.Run("full", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			s.flushDirty.mu.Lock()
			s.flushDirty.full = true
			s.flushDirty.mu.Unlock()
			look(b, 0)
		}
	})
	b.Run("steady", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			last.appendN(b, s, 1)
			b.StartTimer()
			look(b, 1)
			b.StopTimer()
			_ = s.PutFlushInFlight(ctx, &FlushRecord{Logs: []FlushRange{{last.pid, last.n - 1, last.n - 1}}})
			_ = s.CompleteFlush(ctx)
			look(b, 0)
			b.StartTimer()
		}
	})
	s.Close()
}

// Result certificates are queued in the evaluation's own batch, listed by process and nonce with
// their bytes, carried by the in-flight record across a reopen, and removed by completion only in
// the ranges it names.
func TestCertificateQueue(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	p := newProcess(t)
	c := mustPut(t, s, p)
	c.appendN(t, s, 4)
	for n := uint64(0); n < 4; n++ {
		ev := Evaluation{Process: p.ID, Nonce: n, Result: []byte("{}")}
		if n != 2 { // an evaluation without a certificate (a node not flushing) queues nothing
			ev.Certificate = []byte{byte(n), 0xaa}
		}
		if err := s.CommitEvaluation(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	q, err := s.QueuedCertificates(10)
	if err != nil || len(q) != 3 || q[0].Nonce != 0 || q[1].Nonce != 1 || q[2].Nonce != 3 || string(q[2].Data) != string([]byte{3, 0xaa}) || q[0].Process != p.ID {
		t.Fatalf("queued certificates %+v %v", q, err)
	}
	if err := s.PutFlushInFlight(ctx, &FlushRecord{Upload: []byte("u"), Certificates: []FlushRange{{p.ID, 0, 1}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	got, ok, err := s.FlushInFlight()
	if err != nil || !ok || len(got.Certificates) != 1 || got.Certificates[0] != (FlushRange{p.ID, 0, 1}) {
		t.Fatalf("in-flight certificates after reopen: %+v %v %v", got, ok, err)
	}
	if err := s.CompleteFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if q, _ := s.QueuedCertificates(10); len(q) != 1 || q[0].Nonce != 3 {
		t.Fatalf("after completing 0..1: %+v", q)
	}
}

// A flush record written before certificates existed (version 1) still decodes.
func TestFlushRecordVersion1(t *testing.T) {
	rec := &FlushRecord{Upload: []byte("x"), Logs: []FlushRange{{ID{1}, 2, 3}}, Checkpoints: []QueuedCheckpoint{{ID{2}, 7}}}
	b := encodeFlushRecord(rec)
	// Version 1 is version 2 without the trailing certificate count.
	v1 := append([]byte{1}, b[1:len(b)-1]...)
	got, err := decodeFlushRecord(v1)
	if err != nil || len(got.Logs) != 1 || got.Logs[0] != rec.Logs[0] || got.Checkpoints[0] != rec.Checkpoints[0] || got.Certificates != nil {
		t.Fatalf("version 1 record: %+v %v", got, err)
	}
}

package persistence

import (
	"context"
	"testing"
)

// What a recovery writes is never queued for upload, and the flush cursor it sets hides the
// recovered entries from the flusher's backlog; the ordinary writes still queue.
func TestRecoveredDataIsNotUploadedAgain(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, t.TempDir(), Options{})
	fromArweave, local := Item{ID: randID(t), Raw: []byte("module"), Owner: "o", Timestamp: 1}, Item{ID: randID(t), Raw: []byte("pushed"), Owner: "o", Timestamp: 2}
	if err := s.PutItemFromArweave(ctx, fromArweave); err != nil {
		t.Fatal(err)
	}
	if err := s.PutItem(ctx, local); err != nil {
		t.Fatal(err)
	}
	if q, err := s.QueuedItems(10); err != nil || len(q) != 1 || q[0].ID != local.ID {
		t.Fatalf("queued items %v, %v: want only the local one", q, err)
	}
	if it, err := s.GetItem(fromArweave.ID); err != nil || string(it.Raw) != "module" {
		t.Fatalf("recovered item not stored: %v", err)
	}

	p := newProcess(t)
	c := mustPut(t, s, p)
	if err := s.SetFlushedFromArweave(ctx, p.ID, 3); err != nil {
		t.Fatal(err)
	}
	c.appendN(t, s, 3)
	backlog := 0
	if err := s.FlushBacklog(func(ID, uint64, uint64) bool { backlog++; return true }); err != nil || backlog != 0 {
		t.Fatalf("recovered entries in the flush backlog: %d, %v", backlog, err)
	}
	if err := s.SetFlushedFromArweave(ctx, p.ID, 1); err != nil {
		t.Fatal(err)
	}
	if cur, _ := s.FlushCursor(p.ID); cur != 3 {
		t.Fatalf("flush cursor went back to %d", cur)
	}
	c.appendN(t, s, 1) // a new local entry is flushed as usual
	if err := s.FlushBacklog(func(_ ID, flushed, length uint64) bool { backlog++; return flushed == 3 && length == 4 }); err != nil || backlog != 1 {
		t.Fatalf("new entry not in the backlog: %d, %v", backlog, err)
	}

	mem := []byte("memory")
	if _, err := s.PutCheckpointFromArweave(Checkpoint{Process: p.ID, Nonce: 2, SHA256: sha256Sum(mem), Memory: mem}); err != nil {
		t.Fatal(err)
	}
	if q, err := s.QueuedCheckpoints(10); err != nil || len(q) != 0 {
		t.Fatalf("recovered checkpoint queued: %v %v", q, err)
	}
	if cp, err := s.LatestCheckpoint(p.ID, 3); err != nil || string(cp.Memory) != "memory" {
		t.Fatalf("recovered checkpoint: %v", err)
	}
}

package persistence

import (
	"errors"
	"testing"
)

func batchOf(t *testing.T, c *chain, n int) []Entry {
	t.Helper()
	var es []Entry
	for i := 0; i < n; i++ {
		e := c.next(t, randBytes(t, 100))
		es = append(es, e)
		c.accepted(e)
	}
	return es
}

func TestAppendBatch(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	c := mustPut(t, s, newProcess(t))
	es := batchOf(t, c, 5)
	if err := s.AppendBatch(ctx, c.pid, es); err != nil {
		t.Fatal(err)
	}
	// Messages written by a batch are deduplicated like any other (the dedup filter knows them).
	for _, old := range es {
		e := c.next(t, randBytes(t, 10))
		e.MessageID = old.MessageID
		if err := s.Append(ctx, e); !errors.Is(err, ErrMessageExists) {
			t.Fatalf("duplicate of a batched message: %v", err)
		}
		e = c.next(t, randBytes(t, 10))
		e.AssignmentID = old.AssignmentID
		if err := s.Append(ctx, e); !errors.Is(err, ErrAssignmentExists) {
			t.Fatalf("duplicate of a batched assignment: %v", err)
		}
	}
	// A batch with one bad entry writes nothing.
	save := *c
	bad := batchOf(t, c, 3)
	bad[1].HashChain[0] ^= 1
	if err := s.AppendBatch(ctx, c.pid, bad); !errors.Is(err, ErrHashChain) {
		t.Fatalf("bad batch: %v", err)
	}
	*c = save
	dup := batchOf(t, c, 2)
	dup[1].MessageID = dup[0].MessageID
	if err := s.AppendBatch(ctx, c.pid, dup); !errors.Is(err, ErrMessageExists) {
		t.Fatalf("message twice in a batch: %v", err)
	}
	*c = save
	if h, _, _ := s.Head(c.pid); h.Nonce != 4 {
		t.Fatalf("head after refused batches: %d, want 4", h.Nonce)
	}
	c.appendN(t, s, 1)
}

package persistence

import (
	"errors"
	"testing"
)

func TestDedupFilterHasNoFalseNegatives(t *testing.T) {
	f := newDedupFilter(1 << 16) // 524,288 bits
	keys := make([]ID, 40_000)   // ~13 bits per key
	for i := range keys {
		keys[i] = randID(t)
		f.add(keys[i][:])
	}
	for _, k := range keys {
		if !f.mayContain(k[:]) {
			t.Fatal("false negative")
		}
	}
	fp := 0
	for i := 0; i < 100_000; i++ {
		k := randID(t)
		if f.mayContain(k[:]) {
			fp++
		}
	}
	if fp > 2000 { // ~0.4% expected at 13 bits per key; 2% would mean the hashing is broken
		t.Fatalf("%d false positives in 100,000", fp)
	}
}

// TestDedupAfterReopen: the filter is rebuilt from disk at Open, so a message scheduled before a
// restart is still refused after it, with and without the filter, and with a filter so small that
// it answers "maybe" for everything.
func TestDedupAfterReopen(t *testing.T) {
	for _, o := range []Options{{}, {NoDedupFilter: true}, {DedupFilterBytes: 8}} {
		dir := t.TempDir()
		s := openTest(t, dir, o)
		c := mustPut(t, s, newProcess(t))
		first := c.appendN(t, s, 3)
		s.Close()
		s = openTest(t, dir, o)
		for _, old := range first {
			e := c.next(t, randBytes(t, 10))
			e.MessageID = old.MessageID
			if err := s.Append(ctx, e); !errors.Is(err, ErrMessageExists) {
				t.Fatalf("%+v: duplicate after reopen: %v", o, err)
			}
			e = c.next(t, randBytes(t, 10))
			e.AssignmentID = old.AssignmentID
			if err := s.Append(ctx, e); !errors.Is(err, ErrAssignmentExists) {
				t.Fatalf("%+v: duplicate assignment after reopen: %v", o, err)
			}
		}
		c.appendN(t, s, 2)
		s.Close()
	}
}

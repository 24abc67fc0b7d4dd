package persistence

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"testing"
)

func randID(t testing.TB) ID {
	t.Helper()
	var id ID
	if _, err := rand.Read(id[:]); err != nil {
		t.Fatal(err)
	}
	return id
}

func sha256Sum(b []byte) ID { return sha256.Sum256(b) }

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// chain plays the scheduler for one process in tests: it builds the next valid entry.
type chain struct {
	pid   ID
	epoch uint64
	n     uint64
	hc    ID
	asg   ID
	ts    int64
}

func newChain(pid ID) *chain { return &chain{pid: pid, ts: 1_700_000_000_000} }

// next builds entry n with a random assignment; msg nil makes an assignment-only entry whose
// MessageID is still set (the assign flow).
func (c *chain) next(t testing.TB, msg []byte) Entry {
	t.Helper()
	asgBytes := randBytes(t, 600)
	e := Entry{
		Process:      c.pid,
		Nonce:        c.n,
		Epoch:        c.epoch,
		Timestamp:    c.ts + int64(c.n)*10,
		BlockHeight:  1000 + c.n,
		AssignmentID: sha256.Sum256(asgBytes),
		Assignment:   asgBytes,
		MessageID:    randID(t),
		Message:      msg,
	}
	if msg != nil {
		e.MessageID = sha256.Sum256(msg)
	}
	if c.n == 0 {
		e.HashChain = FirstHashChain(c.pid)
	} else {
		e.HashChain = NextHashChain(c.asg, c.hc)
	}
	return e
}

// accepted records that e was appended, so the next entry chains from it.
func (c *chain) accepted(e Entry) { c.n, c.hc, c.asg = e.Nonce+1, e.HashChain, e.AssignmentID }

// appendN appends n entries with 1 KiB messages and returns them.
func (c *chain) appendN(t testing.TB, s *Store, n int) []Entry {
	t.Helper()
	var out []Entry
	for i := 0; i < n; i++ {
		e := c.next(t, randBytes(t, 1024))
		if err := s.Append(context.Background(), e); err != nil {
			t.Fatalf("append nonce %d: %v", e.Nonce, err)
		}
		c.accepted(e)
		out = append(out, e)
	}
	return out
}

func openTest(t testing.TB, dir string, o Options) *Store {
	t.Helper()
	s, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newProcess(t testing.TB) Process {
	return Process{
		ID:          randID(t),
		ModuleID:    randID(t),
		Owner:       randBytes(t, 32),
		Tags:        []Tag{{"Data-Protocol", "ao"}, {"Type", "Process"}, {"Module", "m"}, {"Scheduler", "s"}},
		Item:        randBytes(t, 900),
		Timestamp:   1_700_000_000_000,
		BlockHeight: 1_500_000,
	}
}

func mustPut(t testing.TB, s *Store, p Process) *chain {
	t.Helper()
	if err := s.PutProcess(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	c := newChain(p.ID)
	c.epoch = p.Epoch
	return c
}

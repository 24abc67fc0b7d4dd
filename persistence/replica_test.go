package persistence

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReplicaTwoOwnersRace: two nodes both believe they own a process and stream appends to the same
// backup store, the old one at epoch 1, the new one at epoch 2 after fencing (RaiseEpoch). Only the
// newer owner's appends land once the fence has returned; the old owner gets ErrStaleEpoch; the log
// on the backup is one hash chain whose epochs never go down (docs/design.md invariant 2).
func TestReplicaTwoOwnersRace(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	mustPut(t, s, p)

	old := newChain(p.ID)
	old.epoch = 1
	var fenced atomic.Bool
	var oldOK, oldAfterFence atomic.Int64
	var oldErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the old owner appends as fast as it can
		defer wg.Done()
		for {
			after := fenced.Load()
			e := old.next(t, randBytes(t, 64))
			err := s.AppendReplicated(ctx, p.ID, 1, []Entry{e})
			if err != nil {
				oldErr = err
				return
			}
			old.accepted(e)
			oldOK.Add(1)
			if after {
				oldAfterFence.Add(1)
			}
		}
	}()
	for oldOK.Load() < 20 {
		time.Sleep(time.Millisecond) // let the old owner write a prefix
	}
	st, err := s.RaiseEpoch(ctx, p.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	fenced.Store(true)
	if st.Epoch != 2 {
		t.Fatalf("fence epoch %d, want 2", st.Epoch)
	}
	// The new owner continues from what the fence reported.
	last, err := s.Entry(p.ID, st.Count-1)
	if err != nil {
		t.Fatal(err)
	}
	nw := &chain{pid: p.ID, epoch: 2, ts: old.ts}
	nw.accepted(last)
	for i := 0; i < 10; i++ {
		e := nw.next(t, randBytes(t, 64))
		if err := s.AppendReplicated(ctx, p.ID, 2, []Entry{e}); err != nil {
			t.Fatalf("new owner append %d: %v", i, err)
		}
		nw.accepted(e)
	}
	wg.Wait()
	if !errors.Is(oldErr, ErrStaleEpoch) {
		t.Fatalf("old owner stopped with %v, want ErrStaleEpoch", oldErr)
	}
	if n := oldAfterFence.Load(); n != 0 {
		t.Fatalf("%d appends of the old owner that started after the fence landed", n)
	}
	// One chain, epochs non-decreasing, and exactly the successful appends of both owners.
	h, ok, err := s.Head(p.ID)
	if err != nil || !ok {
		t.Fatal(err)
	}
	if want := uint64(oldOK.Load()) + 10; h.Nonce+1 != want {
		t.Fatalf("log has %d entries, want %d", h.Nonce+1, want)
	}
	hc, prevEpoch := FirstHashChain(p.ID), uint64(0)
	for n := uint64(0); n <= h.Nonce; n++ {
		e, err := s.Entry(p.ID, n)
		if err != nil {
			t.Fatal(err)
		}
		if e.HashChain != hc || e.Epoch < prevEpoch {
			t.Fatalf("entry %d: chain ok=%v epoch %d after %d", n, e.HashChain == hc, e.Epoch, prevEpoch)
		}
		hc, prevEpoch = NextHashChain(e.AssignmentID, e.HashChain), e.Epoch
	}
	// A replicated entry whose epoch is above its sender's is refused.
	e := nw.next(t, nil)
	e.Epoch = 3
	if err := s.AppendReplicated(ctx, p.ID, 2, []Entry{e}); !errors.Is(err, ErrEpochAhead) {
		t.Fatalf("entry above its owner's epoch: %v", err)
	}
	// A higher sender epoch raises the store's epoch in the same batch as its entries.
	e.Epoch = 2
	if err := s.AppendReplicated(ctx, p.ID, 5, []Entry{e}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Process(p.ID); got.Epoch != 5 {
		t.Fatalf("epoch after a replicated append at 5: %d", got.Epoch)
	}
	if err := s.AppendReplicated(ctx, p.ID, 4, nil); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("empty append at an older epoch: %v", err)
	}
	if st, err := s.RaiseEpoch(ctx, randID(t), 1); err != nil || st.Known || st.Epoch != 1 {
		t.Fatalf("fence of an unknown process: %+v, %v", st, err)
	}
}

// TestFenceOfUnknownProcess: two would-be owners of a brand-new process fence the same backup; each
// gets its own epoch, and the registration of the one fenced first is refused once the second has
// fenced: two nodes can never both write a new process at one epoch (invariant 2). The floor is
// durable.
func TestFenceOfUnknownProcess(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	p := newProcess(t)
	a, err := s.RaiseEpoch(ctx, p.ID, 1)
	if err != nil || a.Known || a.Epoch != 1 {
		t.Fatalf("first fence: %+v, %v", a, err)
	}
	b, err := s.RaiseEpoch(ctx, p.ID, 1) // a second owner, same idea of the process
	if err != nil || b.Known || b.Epoch != 2 {
		t.Fatalf("second fence: %+v, %v (each fence must get an epoch of its own)", b, err)
	}
	if st, err := s.State(ctx, p.ID); err != nil || st.Known || st.Epoch != 2 {
		t.Fatalf("state after the fences: %+v, %v", st, err)
	}
	s.Close()
	s = openTest(t, dir, Options{})
	defer s.Close()
	if st, err := s.State(ctx, p.ID); err != nil || st.Known || st.Epoch != 2 {
		t.Fatalf("state after reopening: %+v, %v (the floor must be durable)", st, err)
	}
	stale := p
	stale.Epoch = a.Epoch
	if err := s.PutProcess(ctx, stale); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("registration by the owner fenced first: %v, want ErrStaleEpoch", err)
	}
	if _, err := s.Process(p.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused registration left a process: %v", err)
	}
	fresh := p
	fresh.Epoch = b.Epoch
	if err := s.PutProcess(ctx, fresh); err != nil {
		t.Fatalf("registration by the newest owner: %v", err)
	}
	if st, err := s.RaiseEpoch(ctx, p.ID, 1); err != nil || !st.Known || st.Epoch != 3 {
		t.Fatalf("fence after registration: %+v, %v", st, err)
	}
	if v, ok, err := s.get(floorKey(p.ID)); err != nil || ok {
		t.Fatalf("floor key left after registration: %x %v %v", v, ok, err)
	}
}

// TestClaimEpoch: a claim succeeds only from the epoch the claimer read; a fence in between makes
// it fail, for a held process and for one this store does not hold.
func TestClaimEpoch(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	mustPut(t, s, p) // epoch 0
	if err := s.ClaimEpoch(ctx, p.ID, 0, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RaiseEpoch(ctx, p.ID, 3); err != nil { // another owner fences: 4
		t.Fatal(err)
	}
	if err := s.ClaimEpoch(ctx, p.ID, 3, 4); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("claim after another owner's fence: %v, want ErrStaleEpoch", err)
	}
	unknown := randID(t)
	if err := s.ClaimEpoch(ctx, unknown, 0, 2); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.State(ctx, unknown); st.Known || st.Epoch != 2 {
		t.Fatalf("floor after a claim: %+v", st)
	}
	if _, err := s.RaiseEpoch(ctx, unknown, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.ClaimEpoch(ctx, unknown, 2, 5); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("claim of an unknown process after a fence: %v", err)
	}
}

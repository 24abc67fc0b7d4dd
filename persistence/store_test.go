package persistence

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

var ctx = context.Background()

func sameEntry(t *testing.T, got, want Entry) {
	t.Helper()
	if len(got.Message) == 0 {
		got.Message = nil
	}
	if len(want.Message) == 0 {
		want.Message = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("entry %d differs:\n got %+v\nwant %+v", want.Nonce, got, want)
	}
}

func TestPutProcess(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	p.Epoch = 3
	mustPut(t, s, p)
	got, err := s.Process(p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("process round trip:\n got %+v\nwant %+v", got, p)
	}
	again := p
	again.Item = []byte("other")
	err = s.PutProcess(ctx, again)
	if !errors.Is(err, ErrProcessExists) || !strings.Contains(err.Error(), b64(p.ID)) {
		t.Fatalf("second put: %v, want ErrProcessExists naming the process", err)
	}
	if got, _ := s.Process(p.ID); !bytes.Equal(got.Item, p.Item) {
		t.Fatal("second put overwrote the first record")
	}
	if _, err := s.Process(randID(t)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown process: %v, want ErrNotFound", err)
	}
}

func TestPutProcessLimits(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{MaxTags: 2, MaxTagBytes: 20, MaxOwnerBytes: 8, MaxProcessItemBytes: 100})
	defer s.Close()
	cases := []struct {
		name string
		mod  func(*Process)
		want error
	}{
		{"zero id", func(p *Process) { p.ID = ID{} }, ErrInvalid},
		{"no item", func(p *Process) { p.Item = nil }, ErrInvalid},
		{"too many tags", func(p *Process) { p.Tags = []Tag{{"a", "1"}, {"b", "2"}, {"c", "3"}} }, ErrLimit},
		{"tag bytes", func(p *Process) { p.Tags = []Tag{{"a", strings.Repeat("x", 20)}} }, ErrLimit},
		{"bad utf8", func(p *Process) { p.Tags = []Tag{{"a", "\xff"}} }, ErrInvalid},
		{"owner", func(p *Process) { p.Owner = make([]byte, 9) }, ErrLimit},
		{"item", func(p *Process) { p.Item = make([]byte, 101) }, ErrLimit},
	}
	for _, c := range cases {
		p := newProcess(t)
		p.Tags, p.Owner, p.Item = []Tag{{"T", "v"}}, []byte("o"), []byte("item")
		c.mod(&p)
		if err := s.PutProcess(ctx, p); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func TestAppendReadAndReopen(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	p := newProcess(t)
	c := mustPut(t, s, p)
	want := c.appendN(t, s, 3)
	// An assignment-only entry (assign flow): no message bytes, message id set.
	e := c.next(t, nil)
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	c.accepted(e)
	want = append(want, e)

	check := func(s *Store) {
		t.Helper()
		for _, w := range want {
			got, err := s.Entry(p.ID, w.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			sameEntry(t, got, w)
			locs, err := s.ByMessageID(w.MessageID)
			if err != nil || len(locs) != 1 || locs[0] != (Location{p.ID, w.Nonce}) {
				t.Fatalf("ByMessageID(%d) = %v, %v", w.Nonce, locs, err)
			}
			loc, err := s.ByAssignmentID(w.AssignmentID)
			if err != nil || loc != (Location{p.ID, w.Nonce}) {
				t.Fatalf("ByAssignmentID(%d) = %v, %v", w.Nonce, loc, err)
			}
		}
		h, ok, err := s.Head(p.ID)
		if err != nil || !ok {
			t.Fatalf("Head: %v %v", ok, err)
		}
		sameEntry(t, h, want[len(want)-1])
		if _, err := s.Entry(p.ID, uint64(len(want))); !errors.Is(err, ErrNotFound) {
			t.Fatalf("entry past the end: %v", err)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTest(t, dir, Options{})
	defer s.Close()
	check(s)
	// The head is rebuilt from disk: the next append must chain from the last stored entry.
	want = append(want, c.appendN(t, s, 1)...)
	check(s)
	if _, ok, err := s.Head(randID(t)); ok || err != nil {
		t.Fatalf("Head of unknown process: %v %v", ok, err)
	}
}

func TestAppendRefusals(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{MaxAssignmentBytes: 1000, MaxMessageBytes: 2000})
	defer s.Close()
	p := newProcess(t)
	c := mustPut(t, s, p)
	first := c.appendN(t, s, 2)

	cases := []struct {
		name string
		mod  func(*Entry)
		want error
		text string
	}{
		{"unknown process", func(e *Entry) { e.Process = randID(t) }, ErrUnknownProcess, "unknown process"},
		{"nonce gap", func(e *Entry) { e.Nonce++ }, ErrNonceGap, "next nonce is 2"},
		{"nonce repeat", func(e *Entry) { e.Nonce-- }, ErrNonceGap, "next nonce is 2"},
		{"hash chain", func(e *Entry) { e.HashChain[0] ^= 1 }, ErrHashChain, "hash chain"},
		{"duplicate message", func(e *Entry) { e.MessageID = first[0].MessageID }, ErrMessageExists, "message already exists"},
		{"duplicate assignment-only message", func(e *Entry) { e.MessageID, e.Message = first[1].MessageID, nil }, ErrMessageExists, b64(first[1].MessageID)},
		{"duplicate assignment", func(e *Entry) { e.AssignmentID = first[1].AssignmentID }, ErrAssignmentExists, ""},
		{"stale epoch", func(e *Entry) {}, nil, ""}, // placeholder replaced below
		{"epoch ahead", func(e *Entry) { e.Epoch = 1 }, ErrEpochAhead, "SetEpoch first"},
		{"zero assignment id", func(e *Entry) { e.AssignmentID = ID{} }, ErrInvalid, ""},
		{"no assignment", func(e *Entry) { e.Assignment = nil }, ErrInvalid, ""},
		{"message without id", func(e *Entry) { e.MessageID = ID{} }, ErrInvalid, ""},
		{"assignment too big", func(e *Entry) { e.Assignment = make([]byte, 1001) }, ErrLimit, "MaxAssignmentBytes"},
		{"message too big", func(e *Entry) { e.Message = make([]byte, 2001) }, ErrLimit, "MaxMessageBytes"},
	}
	for _, tc := range cases {
		if tc.want == nil {
			continue
		}
		e := c.next(t, randBytes(t, 100))
		tc.mod(&e)
		err := s.Append(ctx, e)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v containing %q", tc.name, err, tc.want, tc.text)
		}
	}
	// Nothing refused was written: the log still ends at nonce 1 and a valid entry 2 is accepted.
	if h, _, _ := s.Head(p.ID); h.Nonce != 1 {
		t.Fatalf("head after refusals is nonce %d, want 1", h.Nonce)
	}
	c.appendN(t, s, 1)
}

func TestMessageInSeveralProcesses(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	msg := randBytes(t, 500)
	var locs []Location
	for i := 0; i < 3; i++ {
		p := newProcess(t)
		c := mustPut(t, s, p)
		c.appendN(t, s, i) // different nonces per process
		e := c.next(t, msg)
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		locs = append(locs, Location{p.ID, e.Nonce})
	}
	got, err := s.ByMessageID(ID(sha256Sum(msg)))
	if err != nil || len(got) != 3 {
		t.Fatalf("ByMessageID: %v %v", got, err)
	}
	for _, want := range locs {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Fatalf("ByMessageID %v lacks %v", got, want)
		}
	}
	if _, err := s.ByMessageID(randID(t)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown message: %v", err)
	}
	if _, err := s.ByAssignmentID(randID(t)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown assignment: %v", err)
	}
}

func TestSetEpochFences(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir, Options{})
	p := newProcess(t)
	c := mustPut(t, s, p)
	c.appendN(t, s, 2)
	if err := s.SetEpoch(ctx, p.ID, 2); err != nil {
		t.Fatal(err)
	}
	// The old owner (epoch 0) is fenced off.
	e := c.next(t, randBytes(t, 10))
	if err := s.Append(ctx, e); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("append with old epoch: %v, want ErrStaleEpoch", err)
	}
	if err := s.SetEpoch(ctx, p.ID, 1); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("lowering the epoch: %v, want ErrStaleEpoch", err)
	}
	if err := s.SetEpoch(ctx, p.ID, 2); err != nil {
		t.Fatalf("same epoch again: %v", err)
	}
	if err := s.SetEpoch(ctx, randID(t), 5); !errors.Is(err, ErrUnknownProcess) {
		t.Fatalf("unknown process: %v", err)
	}
	s.Close()
	// The epoch survives a restart.
	s = openTest(t, dir, Options{})
	defer s.Close()
	if got, err := s.Process(p.ID); err != nil || got.Epoch != 2 {
		t.Fatalf("epoch after reopen: %d %v", got.Epoch, err)
	}
	if err := s.Append(ctx, e); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("append with old epoch after reopen: %v", err)
	}
	c.epoch = 2
	c.appendN(t, s, 1)
}

// TestEpochRaceIsFenced: an old owner appending in a loop while SetEpoch raises the epoch. Every
// append that starts after SetEpoch returned must be refused with ErrStaleEpoch.
func TestEpochRaceIsFenced(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	c := mustPut(t, s, p)
	var fenced atomic.Bool
	type result struct {
		afterFence bool
		err        error
	}
	results := make(chan result, 1<<16)
	firstOK := make(chan struct{})
	go func() { // the old owner
		defer close(results)
		once := sync.Once{}
		for {
			e := c.next(t, []byte("m"))
			e.MessageID = sha256Sum(e.Assignment)
			after := fenced.Load()
			err := s.Append(ctx, e)
			results <- result{after, err}
			if err != nil {
				return
			}
			c.accepted(e)
			once.Do(func() { close(firstOK) })
		}
	}()
	<-firstOK
	if err := s.SetEpoch(ctx, p.ID, 7); err != nil {
		t.Fatal(err)
	}
	fenced.Store(true)
	var ok int
	var last error
	for r := range results {
		if r.err == nil {
			ok++
			if r.afterFence {
				t.Fatal("an append with the old epoch started after SetEpoch returned and succeeded")
			}
		}
		last = r.err
	}
	if !errors.Is(last, ErrStaleEpoch) {
		t.Fatalf("old owner stopped with %v, want ErrStaleEpoch", last)
	}
	if h, _, _ := s.Head(p.ID); h.Nonce+1 != uint64(ok) {
		t.Fatalf("log holds %d entries, %d appends succeeded", h.Nonce+1, ok)
	}
}

func TestConcurrentAppendsOneProcess(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	c := mustPut(t, s, p)
	const rounds, racers = 20, 8
	for r := 0; r < rounds; r++ {
		cands := make([]Entry, racers)
		for i := range cands {
			cands[i] = c.next(t, randBytes(t, 64)) // same nonce and chain, different items
		}
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range cands {
			wg.Add(1)
			go func(i int) { defer wg.Done(); errs[i] = s.Append(ctx, cands[i]) }(i)
		}
		wg.Wait()
		won := -1
		for i, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: two appends of nonce %d succeeded", r, c.n)
				}
				won = i
			} else if !errors.Is(err, ErrNonceGap) {
				t.Fatalf("round %d: loser got %v, want ErrNonceGap", r, err)
			}
		}
		if won < 0 {
			t.Fatalf("round %d: no append succeeded", r)
		}
		c.accepted(cands[won])
	}
	if h, _, _ := s.Head(p.ID); h.Nonce != rounds-1 {
		t.Fatalf("head nonce %d, want %d", h.Nonce, rounds-1)
	}
}

func TestHeadCacheEviction(t *testing.T) {
	// One cached head per shard: most appends must reload their head from Pebble.
	s := openTest(t, t.TempDir(), Options{HeadCacheSize: 1})
	defer s.Close()
	chains := make([]*chain, 200)
	for i := range chains {
		chains[i] = mustPut(t, s, newProcess(t))
	}
	for round := 0; round < 3; round++ {
		for _, c := range chains {
			c.appendN(t, s, 1)
		}
	}
	for _, c := range chains {
		if h, _, _ := s.Head(c.pid); h.Nonce != 2 {
			t.Fatalf("head nonce %d, want 2", h.Nonce)
		}
	}
}

func TestClosed(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	p := newProcess(t)
	c := mustPut(t, s, p)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.Append(ctx, c.next(t, nil)); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v", err)
	}
	if _, err := s.Process(p.ID); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
}

func TestContextCancelledWhileWaiting(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	p := newProcess(t)
	mustPut(t, s, p)
	hd, err := s.heads.acquire(ctx, p.ID) // hold the process lock
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SetEpoch(cctx, p.ID, 1); !errors.Is(err, context.Canceled) {
		t.Fatalf("SetEpoch with cancelled ctx while locked: %v", err)
	}
	s.heads.release(p.ID, hd, true)
	if err := s.SetEpoch(ctx, p.ID, 1); err != nil {
		t.Fatal(err)
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{MaxTags: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
	if _, err := Open(t.TempDir(), Options{Commit: 9}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown commit mode: %v", err)
	}
}

// TestConcurrentAppendsWithEviction: several goroutines race on each of several processes while a
// one-head-per-shard cache keeps evicting and reloading heads. Every log must end up whole and every
// append that succeeded must be in it.
func TestConcurrentAppendsWithEviction(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{HeadCacheSize: 1})
	defer s.Close()
	type proc struct {
		mu sync.Mutex
		c  *chain
		ok []Entry
	}
	procs := make([]*proc, 130) // > 64 shards: evictions are certain
	for i := range procs {
		procs[i] = &proc{c: mustPut(t, s, newProcess(t))}
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := 0; n < 150; n++ {
				p := procs[(g*7+n*13)%len(procs)]
				p.mu.Lock()
				e := p.c.next(t, []byte{byte(g), byte(n)})
				e.MessageID = sha256Sum(e.Assignment)
				p.mu.Unlock()
				err := s.Append(ctx, e)
				if err != nil {
					if !errors.Is(err, ErrNonceGap) && !errors.Is(err, ErrHashChain) {
						t.Error(err)
					}
					continue
				}
				p.mu.Lock()
				p.c.accepted(e)
				p.ok = append(p.ok, e)
				p.mu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	total := 0
	for _, p := range procs {
		pg, err := s.Scan(Query{Process: p.c.pid, By: ByNonce, Limit: 1000})
		if err != nil || len(pg.Entries) != len(p.ok) {
			t.Fatalf("log has %d entries, %d appends succeeded (%v)", len(pg.Entries), len(p.ok), err)
		}
		for i, e := range pg.Entries {
			if digest(&e) != digest(&p.ok[i]) {
				t.Fatalf("entry %d differs from the append that succeeded", i)
			}
		}
		verifyChainOnly(t, s, p.c.pid)
		total += len(p.ok)
	}
	if total == 0 {
		t.Fatal("no append succeeded")
	}
}

// TestProcessOwnAssignment: in process-assignment mode (AOP-6) nonce 0 is the process's own
// assignment, which names no message; it is stored without a message index entry.
func TestProcessOwnAssignment(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	c := mustPut(t, s, newProcess(t))
	e := c.next(t, nil)
	e.MessageID = ID{}
	if err := s.Append(ctx, e); err != nil {
		t.Fatal(err)
	}
	c.accepted(e)
	if _, err := s.ByMessageID(ID{}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("zero message id indexed: %v", err)
	}
	got, err := s.Entry(c.pid, 0)
	if err != nil || got.MessageID != (ID{}) || got.Message != nil {
		t.Fatalf("own assignment: %+v %v", got, err)
	}
	c.appendN(t, s, 2)
}

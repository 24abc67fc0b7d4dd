package persistence

import (
	"errors"
	"testing"
)

func nonces(es []Entry) []uint64 {
	out := []uint64{}
	for _, e := range es {
		out = append(out, e.Nonce)
	}
	return out
}

func eq(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func seq(from, to uint64) []uint64 {
	out := []uint64{}
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func TestScan(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{MaxScanLimit: 50, DefaultScanLimit: 50})
	defer s.Close()
	p := newProcess(t)
	c := mustPut(t, s, p)
	c.appendN(t, s, 20) // nonce n has timestamp base + 10n
	// Another process's log must never leak into this one's scans.
	mustPut(t, s, newProcess(t)).appendN(t, s, 5)
	base := c.ts
	ts := func(n int64) *int64 { return Bound(base + 10*n) }

	cases := []struct {
		name string
		q    Query
		want []uint64
		more bool
	}{
		{"nonce all", Query{By: ByNonce}, seq(0, 19), false},
		{"nonce from -1", Query{By: ByNonce, From: Bound(-1)}, seq(0, 19), false},
		{"nonce from exclusive", Query{By: ByNonce, From: Bound(4)}, seq(5, 19), false},
		{"nonce to inclusive", Query{By: ByNonce, To: Bound(4)}, seq(0, 4), false},
		{"nonce window", Query{By: ByNonce, From: Bound(4), To: Bound(8)}, seq(5, 8), false},
		{"nonce limit", Query{By: ByNonce, From: Bound(4), Limit: 3}, seq(5, 7), true},
		{"nonce limit exact", Query{By: ByNonce, From: Bound(16), Limit: 3}, seq(17, 19), false},
		{"nonce empty window", Query{By: ByNonce, From: Bound(8), To: Bound(8)}, seq(1, 0), false},
		{"nonce past end", Query{By: ByNonce, From: Bound(19)}, seq(1, 0), false},
		{"nonce negative to", Query{By: ByNonce, To: Bound(-1)}, seq(1, 0), false},
		{"ts all", Query{}, seq(0, 19), false},
		{"ts from exclusive", Query{From: ts(4)}, seq(5, 19), false},
		{"ts from between", Query{From: Bound(base + 45)}, seq(5, 19), false},
		{"ts to inclusive", Query{To: ts(4)}, seq(0, 4), false},
		{"ts window limit", Query{From: ts(2), To: ts(10), Limit: 5}, seq(3, 7), true},
		{"ts before start", Query{To: Bound(base - 1)}, seq(1, 0), false},
		{"ts inverted", Query{From: ts(5), To: ts(3)}, seq(1, 0), false},
	}
	for _, tc := range cases {
		tc.q.Process = p.ID
		pg, err := s.Scan(tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := nonces(pg.Entries); !eq(got, tc.want) || pg.HasMore != tc.more {
			t.Errorf("%s: got %v more=%v, want %v more=%v", tc.name, got, pg.HasMore, tc.want, tc.more)
		}
	}
	// Paging by cursor visits every entry exactly once.
	var all []uint64
	q := Query{Process: p.ID, By: ByNonce, Limit: 6}
	for {
		pg, err := s.Scan(q)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, nonces(pg.Entries)...)
		if !pg.HasMore {
			break
		}
		q.From = Bound(int64(pg.Entries[len(pg.Entries)-1].Nonce))
	}
	if !eq(all, seq(0, 19)) {
		t.Fatalf("paging: %v", all)
	}
	if _, err := s.Scan(Query{Process: p.ID, Limit: 51}); !errors.Is(err, ErrLimit) {
		t.Fatalf("limit over max: %v", err)
	}
	if _, err := s.Scan(Query{Process: p.ID, Limit: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
	if pg, err := s.Scan(Query{Process: randID(t)}); err != nil || len(pg.Entries) != 0 {
		t.Fatalf("unknown process: %v %v", pg, err)
	}
}

func TestScanByteBudget(t *testing.T) {
	// Entries are ~1.6 KiB (600 B assignment + 1 KiB message): a 4 KiB budget fits 3 per page.
	s := openTest(t, t.TempDir(), Options{MaxScanBytes: 4096})
	defer s.Close()
	c := mustPut(t, s, newProcess(t))
	c.appendN(t, s, 7)
	pg, err := s.Scan(Query{Process: c.pid, By: ByNonce, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if got := nonces(pg.Entries); !eq(got, seq(0, 2)) || !pg.HasMore {
		t.Fatalf("byte-bounded page: %v more=%v", got, pg.HasMore)
	}
	// A single entry larger than the budget is still returned alone (progress is guaranteed).
	s2 := openTest(t, t.TempDir(), Options{MaxScanBytes: 10})
	defer s2.Close()
	c2 := mustPut(t, s2, newProcess(t))
	c2.appendN(t, s2, 2)
	pg, err = s2.Scan(Query{Process: c2.pid})
	if err != nil || !eq(nonces(pg.Entries), seq(0, 0)) || !pg.HasMore {
		t.Fatalf("oversized entry page: %v more=%v err=%v", nonces(pg.Entries), pg.HasMore, err)
	}
}

// TestScanTimestampsNotMonotonic: the store does not force timestamps to increase (the scheduler
// owns the clock); a timestamp scan then returns matches in timestamp order.
func TestScanTimestampsNotMonotonic(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	c := mustPut(t, s, newProcess(t))
	for _, ts := range []int64{100, 300, 200, -5} {
		e := c.next(t, randBytes(t, 10))
		e.Timestamp = ts
		if err := s.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		c.accepted(e)
	}
	pg, err := s.Scan(Query{Process: c.pid})
	if err != nil || !eq(nonces(pg.Entries), []uint64{3, 0, 2, 1}) {
		t.Fatalf("ts order: %v %v", nonces(pg.Entries), err)
	}
	pg, err = s.Scan(Query{Process: c.pid, From: Bound(100), To: Bound(250)})
	if err != nil || !eq(nonces(pg.Entries), []uint64{2}) {
		t.Fatalf("ts window: %v %v", nonces(pg.Entries), err)
	}
}

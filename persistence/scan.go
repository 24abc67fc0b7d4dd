package persistence

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/cockroachdb/pebble/v2"
)

// ScanBy selects what a Query's bounds mean.
type ScanBy int

const (
	// ByTimestamp: bounds are ms timestamps (the SU's `from` / `to`). Results are in (timestamp,
	// nonce) order, which is nonce order whenever the scheduler's timestamps never go backwards.
	ByTimestamp ScanBy = iota
	// ByNonce: bounds are nonces (the SU's `from-nonce` / `to-nonce`); results in nonce order.
	ByNonce
)

// Query is one page of a process's log, in the shapes of the SU read API (docs/protocol.md §2.1, §2.2).
type Query struct {
	Process ID
	By      ScanBy
	// From is the exclusive lower bound and To the inclusive upper bound; nil means unbounded. In
	// nonce mode a negative From (the -1 clients send for "first page") means from the start.
	From, To *int64
	// Limit is the page size; 0 means Options.DefaultScanLimit, above Options.MaxScanLimit is ErrLimit.
	Limit int
}

// Page is the result of Scan. HasMore is the SU's has_next_page: another matching entry exists. A
// page can hold fewer than Limit entries with HasMore set when it reached Options.MaxScanBytes; it
// always holds at least one entry if any matches.
type Page struct {
	Entries []Entry
	HasMore bool
}

// Bound is a convenience for Query.From and Query.To.
func Bound(v int64) *int64 { return &v }

// Scan reads one page of q.Process's log.
func (s *Store) Scan(q Query) (Page, error) {
	limit := q.Limit
	switch {
	case limit == 0:
		limit = s.opts.DefaultScanLimit
	case limit < 0:
		return Page{}, newErr(ErrInvalid, fmt.Sprintf("scan of process %s: negative limit %d", b64(q.Process), limit))
	case limit > s.opts.MaxScanLimit:
		return Page{}, newErr(ErrLimit, fmt.Sprintf("scan of process %s: limit %d, MaxScanLimit is %d", b64(q.Process), limit, s.opts.MaxScanLimit))
	}
	done, err := s.enter()
	if err != nil {
		return Page{}, err
	}
	defer done()
	snap := s.db.NewSnapshot()
	defer snap.Close()
	switch q.By {
	case ByNonce:
		return s.scanNonce(snap, q, limit)
	case ByTimestamp:
		return s.scanTimestamp(snap, q, limit)
	}
	return Page{}, newErr(ErrInvalid, fmt.Sprintf("scan of process %s: unknown mode %d", b64(q.Process), q.By))
}

// pager accumulates a page and decides when it is full.
type pager struct {
	limit, maxBytes, bytes int
	page                   Page
}

// full reports whether the page is complete; called when one more match exists, it sets HasMore.
func (p *pager) full() bool {
	if len(p.page.Entries) >= p.limit || (len(p.page.Entries) > 0 && p.bytes >= p.maxBytes) {
		p.page.HasMore = true
		return true
	}
	return false
}

func (p *pager) add(e Entry) {
	p.page.Entries = append(p.page.Entries, e)
	p.bytes += len(e.Assignment) + len(e.Message)
}

func (s *Store) scanNonce(snap *pebble.Snapshot, q Query, limit int) (Page, error) {
	lower := logKey(q.Process, 0)
	if q.From != nil && *q.From >= 0 {
		if *q.From == math.MaxInt64 {
			return Page{}, nil
		}
		lower = logKey(q.Process, uint64(*q.From)+1)
	}
	upper := prefixEnd(logPrefix(q.Process))
	if q.To != nil {
		if *q.To < 0 || (q.From != nil && *q.To <= *q.From) {
			return Page{}, nil
		}
		if *q.To < math.MaxInt64 {
			upper = logKey(q.Process, uint64(*q.To)+1)
		}
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return Page{}, err
	}
	defer it.Close()
	pg := pager{limit: limit, maxBytes: s.opts.MaxScanBytes}
	for ok := it.First(); ok; ok = it.Next() {
		if pg.full() {
			break
		}
		nonce, _ := nonceOfLogKey(it.Key())
		v, err := it.ValueAndErr()
		if err != nil {
			return Page{}, err
		}
		e, err := decodeEntry(q.Process, nonce, v)
		if err != nil {
			return Page{}, err
		}
		pg.add(e)
	}
	return pg.page, it.Error()
}

func (s *Store) scanTimestamp(snap *pebble.Snapshot, q Query, limit int) (Page, error) {
	lower := tsPrefix(q.Process)
	if q.From != nil {
		if *q.From == math.MaxInt64 {
			return Page{}, nil
		}
		lower = tsKey(q.Process, *q.From+1, 0)
	}
	upper := prefixEnd(tsPrefix(q.Process))
	if q.To != nil && *q.To < math.MaxInt64 {
		upper = tsKey(q.Process, *q.To+1, 0)
	}
	if q.From != nil && q.To != nil && *q.To <= *q.From {
		return Page{}, nil
	}
	it, err := snap.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return Page{}, err
	}
	defer it.Close()
	pg := pager{limit: limit, maxBytes: s.opts.MaxScanBytes}
	for ok := it.First(); ok; ok = it.Next() {
		if pg.full() {
			break
		}
		k := it.Key()
		if len(k) != 1+idLen+16 {
			return Page{}, newErr(ErrCorrupt, fmt.Sprintf("timestamp index key %x", k))
		}
		nonce := binary.BigEndian.Uint64(k[1+idLen+8:])
		v, closer, err := snap.Get(logKey(q.Process, nonce))
		if err != nil {
			return Page{}, newErr(ErrCorrupt, fmt.Sprintf("timestamp index points at missing entry %d of process %s: %v", nonce, b64(q.Process), err))
		}
		e, err := decodeEntry(q.Process, nonce, v)
		closer.Close()
		if err != nil {
			return Page{}, err
		}
		pg.add(e)
	}
	return pg.page, it.Error()
}

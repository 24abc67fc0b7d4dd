package persistence

import (
	"fmt"
	"hash/maphash"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"
)

// dedupFilter is an in-memory Bloom filter over every message-index and assignment-index key in the
// store. Append asks it before the dedup Gets: almost every message is new, and a Pebble Get for an
// absent key has to probe the memtables and every level, which the profile showed as half of an
// append's CPU. The filter is a pure accelerator: "maybe present" falls back to the Get, and a key
// is added before its batch commits, so the filter is always a superset of what is stored (no false
// negatives). Its size is fixed: past its design load the false-positive rate, and so the share of
// appends that still do the Get, grows; correctness does not change.
type dedupFilter struct {
	words []atomic.Uint64
	mask  uint64 // number of bits - 1 (a power of two)
	seed  maphash.Seed
}

const filterProbes = 7 // optimal for ~10 bits per key (1% false positives)

func newDedupFilter(bytes int) *dedupFilter {
	words := 1
	for words*2*8 <= bytes {
		words *= 2
	}
	return &dedupFilter{words: make([]atomic.Uint64, words), mask: uint64(words)*64 - 1, seed: maphash.MakeSeed()}
}

func (f *dedupFilter) probes(key []byte) (h1, h2 uint64) {
	h := maphash.Bytes(f.seed, key)
	return h, h>>32 | 1 // double hashing; an odd stride visits distinct bits
}

func (f *dedupFilter) add(key []byte) {
	h1, h2 := f.probes(key)
	for i := uint64(0); i < filterProbes; i++ {
		b := (h1 + i*h2) & f.mask
		f.words[b/64].Or(1 << (b % 64))
	}
}

func (f *dedupFilter) mayContain(key []byte) bool {
	h1, h2 := f.probes(key)
	for i := uint64(0); i < filterProbes; i++ {
		b := (h1 + i*h2) & f.mask
		if f.words[b/64].Load()&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// loadFilter adds every stored dedup key to f: one pass over the two small index ranges at Open.
func loadFilter(db *pebble.DB, f *dedupFilter) (n int, err error) {
	for _, p := range []byte{prefixMessage, prefixAssignment} {
		it, err := db.NewIter(&pebble.IterOptions{LowerBound: []byte{p}, UpperBound: []byte{p + 1}})
		if err != nil {
			return n, err
		}
		for ok := it.First(); ok; ok = it.Next() {
			f.add(it.Key())
			n++
		}
		if err := it.Close(); err != nil {
			return n, fmt.Errorf("persistence: load dedup filter: %w", err)
		}
	}
	return n, nil
}

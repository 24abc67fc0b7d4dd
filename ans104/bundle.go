package ans104

import (
	"encoding/binary"
	"fmt"
)

// Bundle format tags: the data item (or L1 transaction) that carries a bundle has these.
var BundleTags = []Tag{{Name: "Bundle-Format", Value: "binary"}, {Name: "Bundle-Version", Value: "2.0.0"}}

// EncodeBundle serialises items in the ANS-104 binary bundle format: a 32-byte little-endian item
// count, then one 64-byte header per item (32-byte LE size, 32-byte raw id), then the items.
func EncodeBundle(items []*DataItem) []byte {
	n := 32 + 64*len(items)
	for _, it := range items {
		n += it.Size()
	}
	b := make([]byte, n)
	putU256(b[0:32], uint64(len(items)))
	off := 32 + 64*len(items)
	for i, it := range items {
		h := b[32+64*i : 32+64*(i+1)]
		raw := it.Bytes()
		putU256(h[0:32], uint64(len(raw)))
		id := it.ID()
		copy(h[32:], id[:])
		off += copy(b[off:], raw)
	}
	return b
}

// DecodeBundle parses a binary bundle. Each item is parsed with lim (not verified: call Verify on
// each, or VerifyBundle), and its header id must equal SHA-256 of its signature.
func DecodeBundle(b []byte, lim Limits) ([]*DataItem, error) {
	if len(b) < 32 {
		return nil, &TruncatedError{Field: "bundle item count", Need: 32, Have: len(b)}
	}
	count, ok := getU256(b[0:32])
	if !ok || count > uint64(len(b)-32)/64 {
		return nil, &FormatError{Field: "bundle", Reason: fmt.Sprintf("item count does not fit in %d bytes", len(b))}
	}
	off := 32 + 64*int(count)
	items := make([]*DataItem, 0, count)
	for i := 0; i < int(count); i++ {
		h := b[32+64*i : 32+64*(i+1)]
		size, ok := getU256(h[0:32])
		if !ok || size > uint64(len(b)-off) {
			return nil, &TruncatedError{Field: fmt.Sprintf("bundle item %d", i), Need: clampInt(size), Have: len(b) - off}
		}
		it, err := Parse(b[off:off+int(size):off+int(size)], lim)
		if err != nil {
			return nil, fmt.Errorf("bundle item %d: %w", i, err)
		}
		if id := it.ID(); string(id[:]) != string(h[32:64]) {
			return nil, &FormatError{Field: "bundle", Reason: fmt.Sprintf("item %d: header id %s is not the item's id %s", i, EncodeB64(h[32:64]), id)}
		}
		items = append(items, it)
		off += int(size)
	}
	if off != len(b) {
		return nil, &FormatError{Field: "bundle", Reason: fmt.Sprintf("%d bytes after the last item", len(b)-off)}
	}
	return items, nil
}

// VerifyBundle decodes a bundle and verifies every item's signature.
func VerifyBundle(b []byte, lim Limits) ([]*DataItem, error) {
	items, err := DecodeBundle(b, lim)
	if err != nil {
		return nil, err
	}
	for i, it := range items {
		if err := it.Verify(); err != nil {
			return nil, fmt.Errorf("bundle item %d (%s): %w", i, it.ID(), err)
		}
	}
	return items, nil
}

func putU256(b []byte, v uint64) { binary.LittleEndian.PutUint64(b[:8], v) }

// getU256 reads a 32-byte LE integer; ok is false when it does not fit in 62 bits.
func getU256(b []byte) (uint64, bool) {
	for _, c := range b[8:] {
		if c != 0 {
			return 0, false
		}
	}
	v := binary.LittleEndian.Uint64(b[:8])
	return v, v < 1<<62
}

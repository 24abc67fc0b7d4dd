package persistence

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"sort"

	"github.com/cockroachdb/pebble/v2"
)

// Standalone items: what the node holds besides the logs and serves as a gateway would (modules,
// process items, items pushed to wallets, published items), with indexes for GraphQL:
//
//	'i' id                                  -> item record (raw signed item and where it came from)
//	'g' len name ‖ name ‖ len value ‖ value ‖ ts ‖ id -> empty (tag index)
//	'w' len owner ‖ owner ‖ ts ‖ id          -> empty (owner-address index)
const (
	prefixItem     = 'i'
	prefixTagIndex = 'g'
	prefixOwnerIdx = 'w'
)

// Item is a standalone data item the node holds.
type Item struct {
	ID          ID
	Raw         []byte
	Owner       string // wallet address of the signer
	Tags        []Tag
	Timestamp   int64 // ms, when the node stored it
	BlockHeight uint64
}

func itemKey(id ID) []byte { return append([]byte{prefixItem}, id[:]...) }

func appendLenString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func tagIndexPrefix(name, value string) []byte {
	return appendLenString(appendLenString([]byte{prefixTagIndex}, name), value)
}

func ownerIndexPrefix(owner string) []byte { return appendLenString([]byte{prefixOwnerIdx}, owner) }

func withTSID(p []byte, ts int64, id ID) []byte {
	return append(binary.BigEndian.AppendUint64(append([]byte(nil), p...), uint64(ts)^(1<<63)), id[:]...)
}

// PutItem stores it with its indexes, durably. Storing an id that is already held is a no-op.
func (s *Store) PutItem(ctx context.Context, it Item) error { return s.putItem(ctx, it, true) }

// putItem stores it; queue also queues it for upload (recovery stores what is already on Arweave).
func (s *Store) putItem(ctx context.Context, it Item, queue bool) error {
	done, err := s.enter()
	if err != nil {
		return err
	}
	defer done()
	if len(it.Raw) > s.opts.MaxMessageBytes {
		return newErr(ErrLimit, fmt.Sprintf("item %s is %d bytes, MaxMessageBytes is %d", b64(it.ID), len(it.Raw), s.opts.MaxMessageBytes))
	}
	if ok, err := s.has(itemKey(it.ID)); err != nil || ok {
		return err
	}
	b := s.db.NewBatch()
	rec := make([]byte, 0, len(it.Raw)+32)
	rec = append(rec, 1)
	rec = binary.AppendVarint(rec, it.Timestamp)
	rec = binary.AppendUvarint(rec, it.BlockHeight)
	rec = appendBytes(rec, []byte(it.Owner))
	rec = append(rec, it.Raw...)
	_ = b.Set(itemKey(it.ID), rec, nil)
	for _, t := range it.Tags {
		_ = b.Set(withTSID(tagIndexPrefix(t.Name, t.Value), it.Timestamp, it.ID), nil, nil)
	}
	_ = b.Set(withTSID(ownerIndexPrefix(it.Owner), it.Timestamp, it.ID), nil, nil)
	if queue {
		_ = b.Set(queueItemKey(it.Timestamp, it.ID), nil, nil) // for the Arweave flush (flush.go)
	}
	return s.commit(b)
}

// GetItem returns a standalone item (Tags are not decoded here: the raw item carries them).
func (s *Store) GetItem(id ID) (Item, error) {
	done, err := s.enter()
	if err != nil {
		return Item{}, err
	}
	defer done()
	v, ok, err := s.get(itemKey(id))
	if err != nil {
		return Item{}, err
	}
	if !ok {
		return Item{}, newErr(ErrNotFound, "item "+b64(id))
	}
	r := reader{b: v}
	it := Item{ID: id}
	if r.byte("item version") != 1 {
		return it, newErr(ErrCorrupt, "item record version")
	}
	it.Timestamp = r.varint("item timestamp")
	it.BlockHeight = r.uvarint("item block height")
	it.Owner = string(r.bytes("item owner"))
	if r.err != nil {
		return it, newErr(ErrCorrupt, "item record: "+r.err.Error())
	}
	it.Raw = r.b
	return it, nil
}

// ItemQuery selects standalone items: every TagFilter must match (a filter matches one of its
// Values), and Owners, when given, must include the signer. Results are ordered by storage time.
type ItemQuery struct {
	Owners []string
	Tags   []TagFilter
	First  int
	After  string // cursor from a previous page
	Desc   bool
}

// TagFilter is one GraphQL tag condition.
type TagFilter struct {
	Name   string
	Values []string
}

// ItemRef is an index hit: an item id, its storage time and its page cursor.
type ItemRef struct {
	ID        ID
	Timestamp int64
	Cursor    string
	key       []byte // the cursor's bytes: what pages are ordered by
}

// maxIndexScan bounds the index entries one query reads.
const maxIndexScan = 100_000

// QueryItems answers q from the indexes. Items must match all tag filters and owners; the first
// condition's index drives the scan and the others are checked on each candidate.
func (s *Store) QueryItems(q ItemQuery) ([]ItemRef, bool, error) {
	done, err := s.enter()
	if err != nil {
		return nil, false, err
	}
	defer done()
	var driving [][]byte
	switch {
	case len(q.Tags) > 0:
		for _, v := range q.Tags[0].Values {
			driving = append(driving, tagIndexPrefix(q.Tags[0].Name, v))
		}
	case len(q.Owners) > 0:
		for _, o := range q.Owners {
			driving = append(driving, ownerIndexPrefix(o))
		}
	default:
		return nil, false, newErr(ErrInvalid, "an item query needs ids, owners or tags")
	}
	var after []byte
	if q.After != "" {
		if after, err = base64.RawURLEncoding.DecodeString(q.After); err != nil || len(after) != 8+idLen {
			return nil, false, newErr(ErrInvalid, "bad cursor")
		}
	}
	var refs []ItemRef
	seen := map[ID]bool{}
	for _, p := range driving {
		it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
		if err != nil {
			return nil, false, err
		}
		for ok := it.First(); ok && len(refs) < maxIndexScan; ok = it.Next() {
			suffix := it.Key()[len(p):]
			if len(suffix) != 8+idLen {
				continue
			}
			if after != nil && ((!q.Desc && bytes.Compare(suffix, after) <= 0) || (q.Desc && bytes.Compare(suffix, after) >= 0)) {
				continue
			}
			var ref ItemRef
			copy(ref.ID[:], suffix[8:])
			if seen[ref.ID] {
				continue
			}
			seen[ref.ID] = true
			ref.Timestamp = int64(binary.BigEndian.Uint64(suffix[:8]) ^ (1 << 63))
			ref.key = append([]byte(nil), suffix...)
			ref.Cursor = base64.RawURLEncoding.EncodeToString(suffix)
			refs = append(refs, ref)
		}
		err = it.Error()
		it.Close()
		if err != nil {
			return nil, false, err
		}
	}
	// By the cursor's bytes, as the After filter compares them (base64url text does not sort
	// like its bytes: '-' and digits come before letters in ASCII).
	sort.Slice(refs, func(i, j int) bool {
		if q.Desc {
			return bytes.Compare(refs[i].key, refs[j].key) > 0
		}
		return bytes.Compare(refs[i].key, refs[j].key) < 0
	})
	out := refs[:0]
	for _, r := range refs {
		ok, err := s.matches(r, q)
		if err != nil {
			return nil, false, err
		}
		if ok {
			out = append(out, r)
			if len(out) > q.First {
				return out[:q.First], true, nil
			}
		}
	}
	return out, false, nil
}

func (s *Store) matches(r ItemRef, q ItemQuery) (bool, error) {
	check := func(p []byte) (bool, error) { return s.has(withTSID(p, r.Timestamp, r.ID)) }
	for _, f := range q.Tags {
		any := false
		for _, v := range f.Values {
			ok, err := check(tagIndexPrefix(f.Name, v))
			if err != nil {
				return false, err
			}
			if ok {
				any = true
				break
			}
		}
		if !any {
			return false, nil
		}
	}
	if len(q.Owners) > 0 {
		any := false
		for _, o := range q.Owners {
			ok, err := check(ownerIndexPrefix(o))
			if err != nil {
				return false, err
			}
			any = any || ok
		}
		return any, nil
	}
	return true, nil
}

package persistence

import (
	"bytes"
	"encoding/binary"
	"slices"
	"testing"
)

// Paging a tag query with First and After returns every item once, in (storage time, id) order,
// both ways. The cursor is base64url, whose text does not sort like its bytes ('-', '_' and
// digits against letters), so ordering by the text lost and repeated items across pages.
func TestQueryItemsPaging(t *testing.T) {
	s := openTest(t, t.TempDir(), Options{})
	defer s.Close()
	type key struct {
		ts int64
		id ID
	}
	var all []key
	for i := 0; i < 40; i++ {
		it := Item{ID: randID(t), Raw: randBytes(t, 64), Owner: "o", Tags: []Tag{{"Kind", "x"}},
			Timestamp: 1_700_000_000_000 + int64(i/4)*61} // several items share a storage time
		if err := s.PutItem(t.Context(), it); err != nil {
			t.Fatal(err)
		}
		all = append(all, key{it.Timestamp, it.ID})
	}
	bytesOf := func(k key) []byte {
		return append(binary.BigEndian.AppendUint64(nil, uint64(k.ts)^(1<<63)), k.id[:]...)
	}
	slices.SortFunc(all, func(a, b key) int { return bytes.Compare(bytesOf(a), bytesOf(b)) })
	for _, desc := range []bool{false, true} {
		want := slices.Clone(all)
		if desc {
			slices.Reverse(want)
		}
		var got []ID
		after := ""
		for pages := 0; ; pages++ {
			refs, more, err := s.QueryItems(ItemQuery{Tags: []TagFilter{{Name: "Kind", Values: []string{"x"}}}, First: 3, After: after, Desc: desc})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range refs {
				got = append(got, r.ID)
			}
			if !more || pages > 40 {
				break
			}
			after = refs[len(refs)-1].Cursor
		}
		if len(got) != len(want) {
			t.Fatalf("desc=%v: paging returned %d items, want %d", desc, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i].id {
				t.Fatalf("desc=%v: item %d out of order", desc, i)
			}
		}
	}
}

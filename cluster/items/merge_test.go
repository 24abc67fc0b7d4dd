package items

import (
	"encoding/base64"
	"encoding/binary"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
)

// Merge orders members' hits by the cursor's bytes (not its base64url text), keeps one
// entry per id (the first in that order), cuts at first and says when more remain.
func TestMerge(t *testing.T) {
	s, _ := ans104.GenerateEd25519Signer()
	item := func(n int) *ans104.DataItem {
		d := ans104.NewItem(nil, nil, nil, []ans104.Tag{{Name: "N", Value: string(rune('a' + n))}})
		if err := d.Sign(s); err != nil {
			t.Fatal(err)
		}
		return d
	}
	cursor := func(ts uint64, d *ans104.DataItem) string {
		id := d.ID()
		return base64.RawURLEncoding.EncodeToString(append(binary.BigEndian.AppendUint64(nil, ts), id[:]...))
	}
	a, b, c := item(0), item(1), item(2)
	// 0xf8... encodes to "-..." and 0x04... to "B...": by text "-" sorts first, by bytes 0x04 does.
	early, late := uint64(0x04)<<56, uint64(0xf8)<<56
	m1 := &api.ItemPage{Items: []api.StoredItem{{Item: a}, {Item: c}}, Cursors: []string{cursor(early, a), cursor(late, c)}}
	m2 := &api.ItemPage{Items: []api.StoredItem{{Item: a}, {Item: b}}, Cursors: []string{cursor(early+1, a), cursor(early+2, b)}, HasMore: false}
	got := Merge([]*api.ItemPage{m1, m2}, 10, false)
	want := []ans104.ID{a.ID(), b.ID(), c.ID()}
	if len(got.Items) != 3 || got.HasMore {
		t.Fatalf("%d items, more %v; want 3 items, no more", len(got.Items), got.HasMore)
	}
	for i, w := range want {
		if got.Items[i].Item.ID() != w {
			t.Fatalf("item %d out of order", i)
		}
	}
	if got.Cursors[0] != cursor(early, a) {
		t.Fatal("a duplicate kept its later cursor")
	}
	desc := Merge([]*api.ItemPage{m1, m2}, 2, true)
	if len(desc.Items) != 2 || !desc.HasMore || desc.Items[0].Item.ID() != c.ID() || desc.Items[1].Item.ID() != b.ID() {
		t.Fatalf("descending, first 2: %d items, more %v", len(desc.Items), desc.HasMore)
	}
}

package ans104

import (
	"bytes"
	"encoding/hex"
	"testing"

	"github.com/everFinance/goar"
	goartypes "github.com/everFinance/goar/types"
	goarutils "github.com/everFinance/goar/utils"
	"github.com/everFinance/goether"
)

// goar (github.com/everFinance/goar v1.6.3), the Go Arweave library the project uses for L1
// transactions, agrees with us on items and bundles in both directions.
func TestInteropGoar(t *testing.T) {
	rsaS := testRSASigner(t)
	ethS, err := goether.NewSigner(hex.EncodeToString(bytes.Repeat([]byte{0x42}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	target := EncodeB64(bytes.Repeat([]byte{7}, 32))
	anchor := EncodeB64([]byte("00000000000000000000000000000042"))
	tags := []goartypes.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Unicode", Value: "héllo ✓"}}

	var goarItems []goartypes.BundleItem
	for _, s := range []any{goar.NewSignerByPrivateKey(rsaS.PrivateKey()), ethS} {
		is, err := goar.NewItemSigner(s)
		if err != nil {
			t.Fatal(err)
		}
		it, err := is.CreateAndSignItem([]byte("from goar"), target, anchor, tags)
		if err != nil {
			t.Fatal(err)
		}
		d, err := ParseAndVerify(it.ItemBinary, DefaultLimits())
		if err != nil {
			t.Fatalf("goar %T item does not verify with ours: %v", s, err)
		}
		if d.ID().String() != it.Id || d.Tags.Value("Unicode") != "héllo ✓" || d.TargetID().String() != target {
			t.Fatalf("goar item read differently: id %s vs %s", d.ID(), it.Id)
		}
		goarItems = append(goarItems, it)
	}

	ed, _ := GenerateEd25519Signer()
	var ours []*DataItem
	for _, s := range []Signer{ed, rsaS} {
		for _, d := range []*DataItem{testItem(t, s), NewItem(nil, nil, nil, nil)} {
			if err := d.Sign(s); err != nil {
				t.Fatal(err)
			}
			g, err := goarutils.DecodeBundleItem(d.Bytes())
			if err != nil {
				t.Fatalf("goar cannot decode our %s item: %v", s.SignatureType(), err)
			}
			if err := goarutils.VerifyBundleItem(*g); err != nil {
				t.Fatalf("goar rejects our %s item: %v", s.SignatureType(), err)
			}
			if g.Id != d.ID().String() {
				t.Fatalf("goar computes id %s, we %s", g.Id, d.ID())
			}
			ours = append(ours, d)
		}
	}

	// Bundles: ours decoded by goar, goar's decoded by us.
	gb, err := goarutils.DecodeBundle(EncodeBundle(ours))
	if err != nil || len(gb.Items) != len(ours) {
		t.Fatalf("goar cannot decode our bundle: %v", err)
	}
	for i, it := range gb.Items {
		if it.Id != ours[i].ID().String() {
			t.Fatalf("bundle item %d: goar id %s, ours %s", i, it.Id, ours[i].ID())
		}
	}
	theirs, err := goarutils.NewBundle(goarItems...)
	if err != nil {
		t.Fatal(err)
	}
	back, err := VerifyBundle(theirs.BundleBinary, DefaultLimits())
	if err != nil || len(back) != len(goarItems) {
		t.Fatalf("goar bundle does not verify with ours: %v", err)
	}
}

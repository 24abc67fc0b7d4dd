package ans104

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func testItem(t testing.TB, s Signer) *DataItem {
	t.Helper()
	target := bytes.Repeat([]byte{7}, 32)
	anchor := []byte("00000000000000000000000000000042")
	d := NewItem([]byte("hello, ao"), target, anchor, []Tag{
		{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Variant", "ao.TN.1"}, {"Action", "Eval"},
	})
	if err := d.Sign(s); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeepHashReference(t *testing.T) {
	// Computed independently with Python's hashlib from the deep-hash definition.
	const want = "94a8f1d37a6e0df71402d235634f526b15a7f2585aeb7731436d8be760d56fade9cc03a60d779b202e9c191291ced8c3"
	got := DeepHash([]byte("dataitem"), []byte("1"), nil)
	if hex.EncodeToString(got[:]) != want {
		t.Fatalf("deep hash = %x", got)
	}
}

func TestRoundTripAndVerify(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	rsaS := testRSASigner(t)
	for _, s := range []Signer{ed, rsaS} {
		t.Run(s.SignatureType().String(), func(t *testing.T) {
			d := testItem(t, s)
			raw := d.Bytes()
			p, err := ParseAndVerify(raw, DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if p.ID() != d.ID() || !bytes.Equal(p.Data, d.Data) || len(p.Tags) != 4 || p.Tags.Value("Action") != "Eval" {
				t.Fatalf("round trip lost something: %+v", p)
			}
			if !bytes.Equal(p.serialise(), raw) {
				t.Fatal("re-serialising a parsed item changed its bytes")
			}
			if p.OwnerAddress() != Address(s.SignatureType(), s.Owner()) || len(p.OwnerAddress()) != IDLen {
				t.Fatalf("address %q", p.OwnerAddress())
			}
		})
	}
}

func TestNoTagsNoTargetNoAnchor(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	d := NewItem(nil, nil, nil, nil)
	if err := d.Sign(ed); err != nil {
		t.Fatal(err)
	}
	// 2 + 64 + 32 + 1 + 1 + 8 + 8: the smallest ed25519 item.
	if len(d.Bytes()) != 116 {
		t.Fatalf("size %d", len(d.Bytes()))
	}
	if _, err := ParseAndVerify(d.Bytes(), DefaultLimits()); err != nil {
		t.Fatal(err)
	}
}

// Every kind of bad input gets its own typed error, naming the problem.
func TestBadInput(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	good := testItem(t, ed).Bytes()
	tagsOff := 2 + 64 + 32 + 1 + 32 + 1 + 32 // offset of the tag count
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	lim := DefaultLimits()

	var trunc *TruncatedError
	var format *FormatError
	var limit *LimitError
	var unknown *UnknownSignatureTypeError
	var sig *SignatureError
	cases := []struct {
		name   string
		in     []byte
		lim    Limits
		target any
		says   string
	}{
		{"empty", nil, lim, &trunc, "signature type"},
		{"truncated in the owner", good[:80], lim, &trunc, "owner"},
		{"truncated in the tags", good[:tagsOff+20], lim, &trunc, "tags"},
		{"unknown signature type", mutate(func(b []byte) []byte { b[0] = 99; return b }), lim, &unknown, "99"},
		{"bad presence byte", mutate(func(b []byte) []byte { b[2+64+32] = 2; return b }), lim, &format, "target"},
		{"tag count disagrees with Avro", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[tagsOff:], 3); return b }), lim, &format, "tags"},
		{"huge tag count", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[tagsOff:], 1<<40); return b }), lim, &limit, "tag count"},
		{"huge tag bytes length", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[tagsOff+8:], 1<<62); return b }), lim, &limit, "tag bytes"},
		{"tag bytes length past the end", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[tagsOff+8:], 4000); return b }), lim, &trunc, "tags"},
		{"tags over 4096 bytes in all", good, Limits{MaxTags: 128, MaxTagsBytes: 20}, &limit, "tag bytes"},
		{"bad Avro (string runs past the end)", mutate(func(b []byte) []byte { b[tagsOff+17] = 0x7e; return b }), lim, &format, "past the end"},
		{"oversized item", good, Limits{MaxItemBytes: 100, MaxTags: 128}, &limit, "data item size"},
		{"too many tags", good, Limits{MaxTags: 2}, &limit, "tag count"},
		{"tag value too long", good, Limits{MaxTags: 128, MaxTagNameBytes: 1024, MaxTagValueBytes: 3}, &limit, "tag value"},
		{"tag name too long", good, Limits{MaxTags: 128, MaxTagNameBytes: 4}, &limit, "tag name"},
		{"bad signature", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), lim, &sig, "does not match"},
		{"wrong-length signature for its type", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint16(b, 1); return b }), lim, &trunc, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAndVerify(c.in, c.lim)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.As(err, c.target) {
				t.Fatalf("error %T %q is not a %T", err, err, c.target)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Fatalf("error %q does not say %q", err, c.says)
			}
		})
	}
	if _, err := ParseAndVerify(mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), lim); !errors.Is(err, ErrBadSignature) {
		t.Fatal("signature errors must match ErrBadSignature")
	}
	if _, err := Parse(good[:50], lim); !errors.Is(err, ErrTruncated) {
		t.Fatal("truncation errors must match ErrTruncated")
	}
}

func TestTagEncodingMatchesArbundles(t *testing.T) {
	// arbundles serialises [{name:"a",value:"bc"}] as: count 1 (zigzag 2), len 1 (2), 'a', len 2 (4), 'b','c', 0.
	got := EncodeTags([]Tag{{"a", "bc"}})
	want := []byte{2, 2, 'a', 4, 'b', 'c', 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	// Negative block counts (with a byte size) are legal Avro and must decode too.
	neg := []byte{1, 12, 2, 'a', 4, 'b', 'c', 0}
	tags, err := decodeTags(neg, 1, DefaultLimits())
	if err != nil || len(tags) != 1 || tags[0].Value != "bc" {
		t.Fatalf("negative block count: %v %v", tags, err)
	}
	// Long strings need multi-byte varints.
	long := strings.Repeat("x", 3000)
	tags, err = decodeTags(EncodeTags([]Tag{{"k", long}}), 1, DefaultLimits())
	if err != nil || tags[0].Value != long {
		t.Fatalf("long value: %v", err)
	}
}

func TestBundleRoundTrip(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	var items []*DataItem
	for i := 0; i < 5; i++ {
		d := NewItem([]byte(strings.Repeat("d", i*100)), nil, nil, []Tag{{"N", string(rune('a' + i))}})
		if err := d.Sign(ed); err != nil {
			t.Fatal(err)
		}
		items = append(items, d)
	}
	b := EncodeBundle(items)
	back, err := VerifyBundle(b, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	for i := range items {
		if back[i].ID() != items[i].ID() {
			t.Fatalf("item %d id changed", i)
		}
	}
	bad := append([]byte(nil), b...)
	bad[32+32] ^= 1 // first header id
	if _, err := DecodeBundle(bad, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "header id") {
		t.Fatalf("want header id error, got %v", err)
	}
	if _, err := DecodeBundle(b[:len(b)-1], DefaultLimits()); !errors.Is(err, ErrTruncated) {
		t.Fatalf("want truncation, got %v", err)
	}
	if _, err := DecodeBundle(append(b, 0), DefaultLimits()); err == nil {
		t.Fatal("trailing bytes accepted")
	}
	empty, err := DecodeBundle(EncodeBundle(nil), DefaultLimits())
	if err != nil || len(empty) != 0 {
		t.Fatalf("empty bundle: %v", err)
	}
}

func TestEthereumAddressChecksum(t *testing.T) {
	// EIP-55 test vector: the public key of private key 1 (the secp256k1 generator G).
	pub, _ := hex.DecodeString("0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8")
	if got := Address(SigEthereum, pub); got != "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf" {
		t.Fatalf("address %s", got)
	}
}

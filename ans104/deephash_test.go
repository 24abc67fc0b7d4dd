package ans104

import (
	"bytes"
	"crypto/sha512"
	"strconv"
	"testing"
)

// referenceDeepHash is the deep hash as written before the tag and prefix caches: every tag and
// every step hashed.
func referenceDeepHash(blobs ...[]byte) [48]byte {
	acc := sha512.Sum384([]byte("list" + strconv.Itoa(len(blobs))))
	var buf [96]byte
	for _, b := range blobs {
		tag := sha512.Sum384([]byte("blob" + strconv.Itoa(len(b))))
		data := sha512.Sum384(b)
		var bb [96]byte
		copy(bb[:48], tag[:])
		copy(bb[48:], data[:])
		h := sha512.Sum384(bb[:])
		copy(buf[:48], acc[:])
		copy(buf[48:], h[:])
		acc = sha512.Sum384(buf[:])
	}
	return acc
}

func referenceSignatureMessage(d *DataItem) [48]byte {
	return referenceDeepHash([]byte("dataitem"), []byte("1"), []byte(strconv.Itoa(int(d.SignatureType))),
		d.Owner, d.Target, d.Anchor, d.tagBytes(), d.Data)
}

// The cached deep hash equals the reference for every signature type and for blobs on both sides
// of the tag cache's bound, asked twice (the second time from the caches).
func TestSignatureMessageMatchesReference(t *testing.T) {
	for _, st := range []SignatureType{SigArweave, SigED25519, SigEthereum, 99} {
		for _, n := range []int{0, 1, 31, 32, 1024, maxCachedTag - 1, maxCachedTag, maxCachedTag + 1, 70000} {
			d := &DataItem{SignatureType: st, Owner: bytes.Repeat([]byte{1}, 32), Target: bytes.Repeat([]byte{2}, 32),
				Data: bytes.Repeat([]byte{3}, n), Tags: []Tag{{"Action", "Eval"}, {"N", strconv.Itoa(n)}}}
			for i := 0; i < 2; i++ {
				if got, want := d.SignatureMessage(), referenceSignatureMessage(d); got != want {
					t.Fatalf("type %d, %d bytes of data: %x, want %x", st, n, got, want)
				}
			}
			blobs := [][]byte{d.Data, d.Owner, nil}
			if got, want := DeepHash(blobs...), referenceDeepHash(blobs...); got != want {
				t.Fatalf("DeepHash of %d blobs: %x, want %x", len(blobs), got, want)
			}
		}
	}
}

// BenchmarkSignatureMessage: the deep hash of a signed Eval message like the benchmarks' (a short
// Lua statement, the aoconnect tags), before (reference) and after the caches.
func BenchmarkSignatureMessage(b *testing.B) {
	s, _ := GenerateEd25519Signer()
	d := NewItem([]byte("x = (x or 0) + 1; return x"), bytes.Repeat([]byte{7}, 32), nil,
		[]Tag{{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Variant", "ao.TN.1"}, {"Action", "Eval"}})
	if err := d.Sign(s); err != nil {
		b.Fatal(err)
	}
	b.Run("reference", func(b *testing.B) {
		for b.Loop() {
			referenceSignatureMessage(d)
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			d.SignatureMessage()
		}
	})
}

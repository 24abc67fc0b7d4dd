package cluster

import (
	"bytes"
	"testing"
)

// A proof verifies only for the exact bytes, under the same cluster key; a keyless cluster makes
// none and accepts none.
func TestItemProof(t *testing.T) {
	a, err := DeriveSecurity(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := DeriveSecurity(bytes.Repeat([]byte{1}, 32)) // another member of the same cluster
	b, _ := DeriveSecurity(bytes.Repeat([]byte{2}, 32))  // another cluster
	raw := []byte("a data item's bytes")
	p := a.ItemProof().Prove(raw)
	if !a2.ItemProof().Check(raw, p) {
		t.Fatal("a member's proof does not verify on another member")
	}
	if b.ItemProof().Check(raw, p) || a.ItemProof().Check(raw, b.ItemProof().Prove(raw)) {
		t.Fatal("a proof crossed clusters")
	}
	changed := bytes.Clone(raw)
	changed[0] ^= 1
	if a.ItemProof().Check(changed, p) {
		t.Fatal("a proof verified for other bytes")
	}
	if a.ItemProof().Check(raw, nil) || a.ItemProof().Check(raw, p[:16]) {
		t.Fatal("an empty or short proof verified")
	}
	var keyless *Security
	if keyless.ItemProof() != nil || keyless.ItemProof().Prove(raw) != nil || keyless.ItemProof().Check(raw, p) {
		t.Fatal("a keyless cluster made or accepted a proof")
	}
}

// BenchmarkItemProof: what a forwarded item costs its sender and its owner instead of the
// signature check (compare ans104's BenchmarkVerify).
func BenchmarkItemProof(b *testing.B) {
	s, _ := DeriveSecurity(bytes.Repeat([]byte{1}, 32))
	p := s.ItemProof()
	raw := bytes.Repeat([]byte{7}, 300) // about a signed Eval message
	proof := p.Prove(raw)
	for b.Loop() {
		if !p.Check(raw, proof) {
			b.Fatal("no")
		}
	}
}

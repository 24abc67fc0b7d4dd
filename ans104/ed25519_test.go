package ans104

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"math/big"
	mrand "math/rand/v2"
	"testing"
)

// curve25519-voi signs the same bytes as crypto/ed25519, and (verifyEd25519) accepts exactly
// what crypto/ed25519 accepts: valid signatures,
// and none of the edge cases where implementations differ (S not below the group order,
// non-canonical or small-order R and A, points off the curve, the identity key), nor random
// corruptions of any byte.
func TestEd25519MatchesStdlib(t *testing.T) {
	check := func(name string, pub, msg, sig []byte) {
		t.Helper()
		want := ed25519.Verify(pub, msg, sig)
		// Twice: the second answer comes from the owner's cached expanded key.
		for _, pass := range []string{"first", "cached"} {
			if got := verifyEd25519(pub, msg, sig); got != want {
				t.Fatalf("%s (%s): voi %v, crypto/ed25519 %v (pub %x sig %x)", name, pass, got, want, pub, sig)
			}
		}
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	// Signing: the same deterministic bytes as the standard library.
	for i := 0; i < 200; i++ {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, rng.IntN(200))
		rand.Read(msg)
		got, _ := NewEd25519Signer(priv).Sign(msg)
		if want := ed25519.Sign(priv, msg); !bytes.Equal(got, want) {
			t.Fatalf("signature %x, crypto/ed25519 %x", got, want)
		}
	}
	order, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	le := func(n *big.Int) []byte { // 32 bytes little-endian
		b := n.FillBytes(make([]byte, 32))
		for i, j := 0, 31; i < j; i, j = i+1, j-1 {
			b[i], b[j] = b[j], b[i]
		}
		return b
	}
	accepted := 0
	for i := 0; i < 300; i++ {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		msg := make([]byte, 48)
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		check("valid", pub, msg, sig)
		accepted++
		// One corrupted byte anywhere.
		for _, which := range []int{0, 1, 2} {
			p, m, s := bytes.Clone(pub), bytes.Clone(msg), bytes.Clone(sig)
			switch which {
			case 0:
				p[rng.IntN(32)] ^= byte(1 + rng.IntN(255))
			case 1:
				m[rng.IntN(len(m))] ^= 1
			case 2:
				s[rng.IntN(64)] ^= byte(1 + rng.IntN(255))
			}
			check("corrupted", p, m, s)
		}
		// S + L: the same point, a non-canonical scalar (malleability).
		s := new(big.Int).SetBytes(reverse(sig[32:]))
		if s.Add(s, order); s.BitLen() <= 256 {
			mall := append(bytes.Clone(sig[:32]), le(s)...)
			check("S+L", pub, msg, mall)
		}
		// Random 32-byte A and R (most are not points, some are).
		ra, rr := make([]byte, 32), make([]byte, 64)
		rand.Read(ra)
		rand.Read(rr)
		rr[63] &= 0x0f
		check("random", ra, msg, rr)
	}
	// Small-order points and non-canonical encodings (y ≥ p), as A and as R, with S = 0 and S = 1.
	small := []string{
		"0100000000000000000000000000000000000000000000000000000000000000", // identity
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
		"0000000000000000000000000000000000000000000000000000000000000080", // order 4
		"0000000000000000000000000000000000000000000000000000000000000000",
		"26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p (non-canonical 0)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // y = p+1 (non-canonical identity)
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
	}
	msg := []byte("ed25519 edge cases")
	for _, a := range small {
		A, _ := hex.DecodeString(a)
		for _, r := range small {
			R, _ := hex.DecodeString(r)
			for _, s := range []byte{0, 1} {
				sig := append(bytes.Clone(R), make([]byte, 32)...)
				sig[32] = s
				if ed25519.Verify(A, msg, sig) {
					accepted++
				}
				check("small order/non-canonical "+a[:8]+"/"+r[:8], A, msg, sig)
			}
		}
	}
	if accepted < 300 {
		t.Fatalf("only %d signatures accepted", accepted)
	}
}

func reverse(b []byte) []byte {
	out := bytes.Clone(b)
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// BenchmarkEd25519Verify: one signature over a 48-byte deep hash, crypto/ed25519 and
// curve25519-voi with the standard library's rules, in one command.
func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 48)
	rand.Read(msg)
	sig := ed25519.Sign(priv, msg)
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			if !ed25519.Verify(pub, msg, sig) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("voi", func(b *testing.B) {
		for b.Loop() {
			if !voied.VerifyWithOptions(voied.PublicKey(pub), msg, sig, voiStdLib) {
				b.Fatal("refused")
			}
		}
	})
	b.Run("voi-cached-owner", func(b *testing.B) {
		for b.Loop() {
			if !verifyEd25519(pub, msg, sig) {
				b.Fatal("refused")
			}
		}
	})
}

// BenchmarkEd25519Sign: one signature over a 48-byte deep hash, crypto/ed25519 and the signer
// (curve25519-voi), in one command.
func BenchmarkEd25519Sign(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 48)
	s := NewEd25519Signer(priv)
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			ed25519.Sign(priv, msg)
		}
	})
	b.Run("voi", func(b *testing.B) {
		for b.Loop() {
			_, _ = s.Sign(msg)
		}
	})
}

package ans104

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strconv"
	"sync/atomic"

	secpecdsa "github.com/decred/dcrd/dcrec/secp256k1/v4/ecdsa"
	lru "github.com/hashicorp/golang-lru"
	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
	"golang.org/x/crypto/sha3"
)

// Signer signs data items. message is the 48-byte deep hash of the item (SignatureMessage).
//
// goar v1.6.3 cannot sign ed25519 items and signs RSA ~10x slower when its JWK loader drops the
// CRT primes (docs/design.md §6), so signing is ours; goar is used in the interop tests.
type Signer interface {
	SignatureType() SignatureType
	Owner() []byte
	Sign(message []byte) ([]byte, error)
}

// NewItem builds an unsigned item. target and anchor may be nil.
func NewItem(data []byte, target, anchor []byte, tags []Tag) *DataItem {
	return &DataItem{Target: target, Anchor: anchor, Tags: tags, Data: data}
}

// Sign sets the owner and signature type from s and signs the item. The item's Bytes() and ID()
// are valid afterwards.
func (d *DataItem) Sign(s Signer) error {
	d.SignatureType = s.SignatureType()
	d.Owner = s.Owner()
	d.raw, d.tagsRaw = nil, nil
	if err := d.checkShape(); err != nil {
		return err
	}
	msg := d.SignatureMessage()
	sig, err := s.Sign(msg[:])
	if err != nil {
		return fmt.Errorf("ans104: signing: %w", err)
	}
	if len(sig) != d.SignatureType.SignatureLen() {
		return fmt.Errorf("ans104: signer returned %d signature bytes, type %s needs %d", len(sig), d.SignatureType, d.SignatureType.SignatureLen())
	}
	d.Signature = sig
	d.raw = d.serialise()
	return nil
}

// verifications counts Verify calls in this process (Verifications).
var verifications atomic.Int64

// Verifications is how many signatures Verify has checked in this process, valid or not: one
// node's count in production (one node per process), which its /metrics exports. It is what shows
// that an item is verified once in a cluster, not by every member it passes through.
func Verifications() int64 { return verifications.Load() }

// Verify checks the signature against the owner over the item's fields.
func (d *DataItem) Verify() error {
	verifications.Add(1)
	msg := d.SignatureMessage()
	switch d.SignatureType {
	case SigArweave:
		return verifyArweave(d.Owner, msg[:], d.Signature)
	case SigED25519:
		if len(d.Owner) != ed25519.PublicKeySize || !verifyEd25519(d.Owner, msg[:], d.Signature) {
			return &SignatureError{Type: d.SignatureType, Reason: "ed25519 signature does not match owner and content"}
		}
		return nil
	case SigEthereum:
		return verifyEthereum(d.Owner, msg[:], d.Signature)
	}
	return &UnknownSignatureTypeError{Type: d.SignatureType, Op: "verify"}
}

// voiStdLib: curve25519-voi's verification with the rules of crypto/ed25519 (cofactorless, S
// below the group order, R compared as bytes, any A the standard library accepts), so that what
// the node accepts is exactly what recovery, verify and any Go client accept
// (TestEd25519MatchesStdlib). It verifies in about half the time of crypto/ed25519 on the 2-core
// EPYC VM (go test -run '^$' -bench Ed25519Verify -count 2 ./ans104/: 50-58 µs against 87-125 µs
// per signature in one command on the loaded machine; 31-34 against 60-69 µs at a quieter one), and
// verification is the largest single cost of an acknowledgement (bench/README.md, "The
// acknowledgement path"). Its batch verifier needs the cofactored rule, which would accept
// signatures crypto/ed25519 refuses, so it is not used.
var voiStdLib = &voied.Options{Verify: voied.VerifyOptionsStdLib}

// verifyEd25519 is ed25519.Verify's answer for a 32-byte owner, computed by curve25519-voi from
// the owner's expanded key, kept in expandedKeys.
func verifyEd25519(owner, msg, sig []byte) bool {
	var k [ed25519.PublicKeySize]byte
	copy(k[:], owner)
	if v, ok := expandedKeys.Get(k); ok {
		return voied.VerifyExpandedWithOptions(v.(*voied.ExpandedPublicKey), msg, sig, voiStdLib)
	}
	pk, err := voied.NewExpandedPublicKey(voied.PublicKey(owner))
	if err != nil { // not a point: the unexpanded check gives the standard library's answer
		return voied.VerifyWithOptions(voied.PublicKey(owner), msg, sig, voiStdLib)
	}
	expandedKeys.Add(k, pk)
	return voied.VerifyExpandedWithOptions(pk, msg, sig, voiStdLib)
}

// expandedKeys keeps the expanded form (the decompressed point and its table, about 1.5 KiB) of
// the ed25519 owners verified last: AO clients send many messages from one wallet, and expanding
// the key is a large part of a verification (BenchmarkEd25519Verify: one owner again and again,
// expanded once against every time, in one command). Bounded, least recently used out: a client
// that signs every item with a new key only turns the cache over and pays what it paid without it.
var expandedKeys = mustLRU(expandedKeysMax)

// expandedKeysMax bounds expandedKeys: 4,096 owners, about 6 MiB.
const expandedKeysMax = 4096

func mustLRU(n int) *lru.Cache {
	c, err := lru.New(n)
	if err != nil {
		panic(err)
	}
	return c
}

var rsaPublicExponent = 65537

func verifyArweave(owner, msg, sig []byte) error {
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(owner), E: rsaPublicExponent}
	h := sha256.Sum256(msg)
	// Node signs with the maximum salt length, arweave-js with 32: accept both, as the SU does.
	if err := rsa.VerifyPSS(pub, crypto.SHA256, h[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return &SignatureError{Type: SigArweave, Reason: "RSA-PSS signature does not match owner and content"}
	}
	return nil
}

// verifyEthereum checks an EIP-191 personal_sign signature (r ‖ s ‖ v) over the deep hash, the way
// arbundles' EthereumSigner makes it, by recovering the public key and comparing it with the owner.
func verifyEthereum(owner, msg, sig []byte) error {
	if len(sig) != 65 || len(owner) != 65 {
		return &SignatureError{Type: SigEthereum, Reason: "ethereum signature must be 65 bytes and owner 65 bytes"}
	}
	v := sig[64]
	if v >= 27 {
		v -= 27
	}
	if v > 1 {
		return &SignatureError{Type: SigEthereum, Reason: "recovery id must be 0, 1, 27 or 28"}
	}
	compact := make([]byte, 65)
	compact[0] = 27 + v
	copy(compact[1:], sig[:64])
	pub, _, err := secpecdsa.RecoverCompact(compact, ethTextHash(msg))
	if err != nil {
		return &SignatureError{Type: SigEthereum, Reason: "cannot recover a public key: " + err.Error()}
	}
	if !bytes.Equal(pub.SerializeUncompressed(), owner) {
		return &SignatureError{Type: SigEthereum, Reason: "recovered public key is not the owner"}
	}
	return nil
}

func ethTextHash(msg []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	h.Write([]byte("\x19Ethereum Signed Message:\n" + strconv.Itoa(len(msg))))
	h.Write(msg)
	return h.Sum(nil)
}

// Address renders an owner as AO does: base64url(SHA-256(owner)) for Arweave and ed25519 keys, the
// EIP-55 checksummed 0x address for Ethereum keys.
func Address(t SignatureType, owner []byte) string {
	if (t == SigEthereum || t == SigTypedEthereum) && len(owner) == 65 {
		return ethAddress(owner)
	}
	h := sha256.Sum256(owner)
	return EncodeB64(h[:])
}

func ethAddress(pub []byte) string {
	k := sha3.NewLegacyKeccak256()
	k.Write(pub[1:])
	addr := hex.EncodeToString(k.Sum(nil)[12:])
	k = sha3.NewLegacyKeccak256()
	k.Write([]byte(addr))
	sum := k.Sum(nil)
	out := []byte(addr)
	for i := range out {
		if out[i] >= 'a' && (sum[i/2]>>(4*(1-uint(i)%2)))&0xf >= 8 {
			out[i] -= 'a' - 'A'
		}
	}
	return "0x" + string(out)
}

// Ed25519Signer signs with an ed25519 key (signature type 2): the node key default, ~100x cheaper
// than RSA-4096.
type Ed25519Signer struct{ key ed25519.PrivateKey }

// NewEd25519Signer wraps a private key.
func NewEd25519Signer(key ed25519.PrivateKey) *Ed25519Signer { return &Ed25519Signer{key: key} }

// GenerateEd25519Signer makes a fresh key from crypto/rand.
func GenerateEd25519Signer() (*Ed25519Signer, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &Ed25519Signer{key: k}, nil
}

func (s *Ed25519Signer) SignatureType() SignatureType { return SigED25519 }
func (s *Ed25519Signer) Owner() []byte                { return s.key.Public().(ed25519.PublicKey) }
func (s *Ed25519Signer) Sign(msg []byte) ([]byte, error) {
	// curve25519-voi: the same bytes as ed25519.Sign (RFC 8032 signatures are deterministic; cron
	// ticks and pushes rely on it, TestEd25519MatchesStdlib checks it) in about half the time:
	// 32 µs against 67 µs in one command on the loaded VM (go test -run '^$' -bench Ed25519Sign
	// -benchtime 5000x -count 2 ./ans104/). The node signs every assignment with it.
	return voied.Sign(voied.PrivateKey(s.key), msg), nil
}

// PrivateKey returns the key (for saving).
func (s *Ed25519Signer) PrivateKey() ed25519.PrivateKey { return s.key }

// RSASigner signs with an Arweave RSA key (signature type 1), RSA-PSS/SHA-256 with a 32-byte salt
// as arweave-js does. The key must carry its primes (Precompute is done), else signing is ~10x slower.
type RSASigner struct{ key *rsa.PrivateKey }

// NewRSASigner wraps a private key; the modulus must be 4096 bits (512 owner bytes), as type 1 requires.
func NewRSASigner(key *rsa.PrivateKey) (*RSASigner, error) {
	if key.N.BitLen() > 4096 || (key.N.BitLen()+7)/8 != 512 {
		return nil, fmt.Errorf("ans104: Arweave keys are 4096-bit RSA; this one has %d bits", key.N.BitLen())
	}
	if key.E != rsaPublicExponent {
		return nil, fmt.Errorf("ans104: Arweave keys use public exponent 65537; this one has %d", key.E)
	}
	key.Precompute()
	return &RSASigner{key: key}, nil
}

// GenerateRSASigner makes a fresh 4096-bit key (takes about a second).
func GenerateRSASigner() (*RSASigner, error) {
	k, err := rsa.GenerateKey(rand.Reader, 4096)
	if err != nil {
		return nil, err
	}
	return NewRSASigner(k)
}

func (s *RSASigner) SignatureType() SignatureType { return SigArweave }

// Owner is the 512-byte big-endian modulus.
func (s *RSASigner) Owner() []byte { return s.key.N.FillBytes(make([]byte, 512)) }

func (s *RSASigner) Sign(msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return rsa.SignPSS(rand.Reader, s.key, crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
}

// PrivateKey returns the key (for saving).
func (s *RSASigner) PrivateKey() *rsa.PrivateKey { return s.key }

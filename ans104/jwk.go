package ans104

import (
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
)

// jwk is the JSON Web Key shape of both key kinds: an Arweave wallet (kty RSA, with the CRT
// parameters other tools expect) and an ed25519 key (kty OKP, crv Ed25519, RFC 8037).
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	D   string `json:"d,omitempty"`
	P   string `json:"p,omitempty"`
	Q   string `json:"q,omitempty"`
	DP  string `json:"dp,omitempty"`
	DQ  string `json:"dq,omitempty"`
	QI  string `json:"qi,omitempty"`
}

// ParseKey reads a JWK: an Arweave RSA wallet (which must include its primes p and q: goar's loader
// drops them and then signs ~10x slower) or an ed25519 OKP key.
func ParseKey(b []byte) (Signer, error) {
	var k jwk
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, fmt.Errorf("ans104: key is not a JSON Web Key: %w", err)
	}
	switch k.Kty {
	case "RSA":
		return parseRSA(k)
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("ans104: OKP key has curve %q; only Ed25519 is supported", k.Crv)
		}
		d, err := DecodeB64(k.D)
		if err != nil || len(d) != ed25519.SeedSize {
			return nil, errors.New("ans104: Ed25519 key needs a 32-byte private seed in \"d\"")
		}
		priv := ed25519.NewKeyFromSeed(d)
		if k.X != "" {
			x, err := DecodeB64(k.X)
			if err != nil || string(x) != string(priv.Public().(ed25519.PublicKey)) {
				return nil, errors.New("ans104: Ed25519 key's \"x\" does not match its \"d\"")
			}
		}
		return NewEd25519Signer(priv), nil
	}
	return nil, fmt.Errorf("ans104: key type %q is not supported (want RSA or OKP/Ed25519)", k.Kty)
}

func parseRSA(k jwk) (Signer, error) {
	fields := map[string]string{"n": k.N, "e": k.E, "d": k.D, "p": k.P, "q": k.Q}
	ints := map[string]*big.Int{}
	for _, name := range []string{"n", "e", "d", "p", "q"} {
		if fields[name] == "" {
			return nil, fmt.Errorf("ans104: RSA JWK lacks %q (an Arweave wallet must carry its primes p and q)", name)
		}
		b, err := DecodeB64(fields[name])
		if err != nil {
			return nil, fmt.Errorf("ans104: RSA JWK field %q is not base64url", name)
		}
		ints[name] = new(big.Int).SetBytes(b)
	}
	if !ints["e"].IsInt64() {
		return nil, errors.New("ans104: RSA JWK exponent is too large")
	}
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: ints["n"], E: int(ints["e"].Int64())},
		D:         ints["d"],
		Primes:    []*big.Int{ints["p"], ints["q"]},
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("ans104: RSA JWK is not a consistent key: %w", err)
	}
	return NewRSASigner(key)
}

// MarshalKey writes a signer's key as a JWK (full Arweave JWK with CRT parameters for RSA).
func MarshalKey(s Signer) ([]byte, error) {
	var k jwk
	switch s := s.(type) {
	case *RSASigner:
		key := s.key
		key.Precompute()
		enc := func(i *big.Int) string { return EncodeB64(i.Bytes()) }
		k = jwk{Kty: "RSA", N: enc(key.N), E: enc(big.NewInt(int64(key.E))), D: enc(key.D),
			P: enc(key.Primes[0]), Q: enc(key.Primes[1]),
			DP: enc(key.Precomputed.Dp), DQ: enc(key.Precomputed.Dq), QI: enc(key.Precomputed.Qinv)}
	case *Ed25519Signer:
		k = jwk{Kty: "OKP", Crv: "Ed25519", X: EncodeB64(s.Owner()), D: EncodeB64(s.key.Seed())}
	default:
		return nil, fmt.Errorf("ans104: cannot marshal a %T", s)
	}
	return json.MarshalIndent(k, "", "  ")
}

// LoadKeyFile reads a JWK file.
func LoadKeyFile(path string) (Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := ParseKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// SaveKeyFile writes a JWK file readable only by its owner; it refuses to overwrite a file.
func SaveKeyFile(path string, s Signer) error {
	b, err := MarshalKey(s)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadOrCreateEd25519 loads the key at path, or generates an ed25519 key there if the file does not
// exist (a node's first start).
func LoadOrCreateEd25519(path string) (Signer, bool, error) {
	s, err := LoadKeyFile(path)
	if err == nil {
		return s, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	gen, err := GenerateEd25519Signer()
	if err != nil {
		return nil, false, err
	}
	if err := SaveKeyFile(path, gen); err != nil {
		return nil, false, err
	}
	return gen, true, nil
}

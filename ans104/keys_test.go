package ans104

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	rsaOnce sync.Once
	rsaKey  *RSASigner
)

// testRSASigner generates one 4096-bit key per test binary (about a second).
func testRSASigner(t testing.TB) *RSASigner {
	t.Helper()
	rsaOnce.Do(func() {
		k, err := GenerateRSASigner()
		if err != nil {
			panic(err)
		}
		rsaKey = k
	})
	return rsaKey
}

func TestJWKRoundTrip(t *testing.T) {
	ed, _ := GenerateEd25519Signer()
	for _, s := range []Signer{ed, testRSASigner(t)} {
		b, err := MarshalKey(s)
		if err != nil {
			t.Fatal(err)
		}
		if s.SignatureType() == SigArweave {
			for _, f := range []string{`"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`} {
				if !strings.Contains(string(b), f) {
					t.Fatalf("Arweave JWK lacks %s", f)
				}
			}
		}
		back, err := ParseKey(b)
		if err != nil {
			t.Fatal(err)
		}
		if string(back.Owner()) != string(s.Owner()) {
			t.Fatal("owner changed")
		}
		d := testItem(t, back)
		if err := d.Verify(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJWKErrors(t *testing.T) {
	cases := map[string]string{
		`not json`:     "not a JSON Web Key",
		`{"kty":"EC"}`: "not supported",
		`{"kty":"RSA","n":"AQAB","e":"AQAB","d":"AQAB"}`: `lacks "p"`,
		`{"kty":"OKP","crv":"X25519"}`:                   "only Ed25519",
		`{"kty":"OKP","crv":"Ed25519","d":"AAAA"}`:       "32-byte",
	}
	for in, want := range cases {
		if _, err := ParseKey([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", in, err, want)
		}
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.key")
	a, created, err := LoadOrCreateEd25519(path)
	if err != nil || !created {
		t.Fatalf("first start: %v %v", created, err)
	}
	b, created, err := LoadOrCreateEd25519(path)
	if err != nil || created || string(a.Owner()) != string(b.Owner()) {
		t.Fatalf("second start must load the same key: %v %v", created, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", fi.Mode())
	}
	if err := SaveKeyFile(path, a); err == nil {
		t.Fatal("SaveKeyFile overwrote an existing key")
	}
}

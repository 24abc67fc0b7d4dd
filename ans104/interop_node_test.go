package ans104

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/internal/testutil"
)

// Items signed under Node by arbundles (the release aoconnect 0.0.98 depends on) with Arweave,
// Ethereum and ed25519 keys verify with ours, and ours verify with arbundles.
func TestInteropArbundles(t *testing.T) {
	dir := testutil.NodeDir(t)
	script := filepath.Join(dir, "arbundles-interop.cjs")

	jwk, err := MarshalKey(testRSASigner(t))
	if err != nil {
		t.Fatal(err)
	}
	ethKey := make([]byte, 32)
	seed := make([]byte, 32)
	rand.Read(ethKey)
	rand.Read(seed)
	in, _ := json.Marshal(map[string]any{"jwk": json.RawMessage(jwk), "ethKey": hex.EncodeToString(ethKey), "edSeed": hex.EncodeToString(seed)})
	cmd := exec.Command("node", script, "sign")
	cmd.Stdin = bytes.NewReader(in)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node sign: %v\n%s", err, stderrOf(err))
	}
	var items []struct {
		Signer string
		Type   int
		ID     string
		Raw    string
	}
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, it := range items {
		raw, _ := base64.StdEncoding.DecodeString(it.Raw)
		d, err := ParseAndVerify(raw, DefaultLimits())
		if err != nil {
			t.Errorf("%s item %s: %v", it.Signer, it.ID, err)
			continue
		}
		if d.ID().String() != it.ID || int(d.SignatureType) != it.Type {
			t.Errorf("%s: id %s type %d, node says %s type %d", it.Signer, d.ID(), d.SignatureType, it.ID, it.Type)
		}
		seen[it.Signer]++
		tampered := append([]byte(nil), raw...)
		tampered[len(tampered)-1] ^= 0x20
		if _, err := ParseAndVerify(tampered, DefaultLimits()); err == nil {
			t.Errorf("%s: tampered item verified", it.Signer)
		}
	}
	for _, s := range []string{"arweave", "ethereum", "ed25519"} {
		if seen[s] == 0 {
			t.Errorf("no %s item verified", s)
		}
	}

	// Ours, checked by arbundles: every signer type we sign with, with and without optional fields.
	ed, _ := GenerateEd25519Signer()
	var lines []string
	var ids []string
	for _, s := range []Signer{ed, testRSASigner(t)} {
		for _, d := range []*DataItem{
			testItem(t, s),
			NewItem(nil, nil, nil, nil),
			NewItem([]byte(strings.Repeat("z", 10000)), nil, []byte("anchor-anchor-anchor-anchor-1234"), []Tag{{"Unicode", "héllo ✓"}}),
		} {
			if err := d.Sign(s); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, base64.StdEncoding.EncodeToString(d.Bytes()))
			ids = append(ids, d.ID().String())
		}
	}
	bad := testItem(t, ed).Bytes()
	bad = append([]byte(nil), bad...)
	bad[len(bad)-1] ^= 1
	lines = append(lines, base64.StdEncoding.EncodeToString(bad))
	cmd = exec.Command("node", script, "verify")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n"))
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("node verify: %v\n%s", err, stderrOf(err))
	}
	results := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(results) != len(lines) {
		t.Fatalf("node verified %d of %d items", len(results), len(lines))
	}
	for i, line := range results {
		var r struct {
			ID    string
			Valid bool
		}
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		if i < len(ids) && (!r.Valid || r.ID != ids[i]) {
			t.Errorf("arbundles rejects our item %d (%s): %s", i, ids[i], line)
		}
		if i == len(ids) && r.Valid {
			t.Error("arbundles accepted a tampered item: the oracle cannot fail")
		}
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

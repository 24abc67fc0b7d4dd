package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"ed25519", "rsa"} {
		path := filepath.Join(dir, typ+".json")
		out, err := run(t, "keygen", "--type", typ, "--out", path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ans104.LoadKeyFile(path)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if got, want := lines[len(lines)-1], ans104.Address(s.SignatureType(), s.Owner()); got != want {
			t.Fatalf("%s: printed %q, key address %q", typ, got, want)
		}
		if _, err := run(t, "keygen", "--type", typ, "--out", path); err == nil {
			t.Fatalf("%s: overwrote an existing key file", typ)
		}
	}
	if _, err := run(t, "keygen", "--type", "dsa", "--out", filepath.Join(dir, "x")); err == nil || !strings.Contains(err.Error(), "ed25519 or rsa") {
		t.Fatalf("bad type: %v", err)
	}
}

func TestItemInspect(t *testing.T) {
	dir := t.TempDir()
	s, _ := ans104.GenerateEd25519Signer()
	d := ans104.NewItem([]byte("hi"), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"}, {Name: "Scheduler", Value: "x"}})
	if err := d.Sign(s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "item.bin")
	if err := os.WriteFile(path, d.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "item", "inspect", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{d.ID().String(), `"kind": "Process"`, "Process item lacks the Module tag", `"data": "hi"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := run(t, "item", "inspect", "--max-tags", "1", path); err == nil || !strings.Contains(err.Error(), "tag count over limit") {
		t.Fatalf("limit flag not applied: %v", err)
	}
	bad := append([]byte(nil), d.Bytes()...)
	bad[len(bad)-1] ^= 1
	os.WriteFile(path, bad, 0o644)
	if _, err := run(t, "item", "inspect", path); err == nil || !strings.Contains(err.Error(), "signature verification failed") {
		t.Fatalf("bad signature: %v", err)
	}
}

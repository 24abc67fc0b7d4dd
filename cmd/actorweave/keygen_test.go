package main

import (
	"bytes"
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

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
)

// actorweave delegate writes a Scheduler-Delegation signed by --key naming the --to addresses,
// which a node accepts with --scheduler-delegation.
func TestDelegate(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "old.json")
	if _, err := run(t, "keygen", "--out", key); err != nil {
		t.Fatal(err)
	}
	old, _ := ans104.LoadKeyFile(key)
	out := filepath.Join(dir, "d.item")
	printed, err := run(t, "delegate", "--key", key, "--to", "addrB", "--to", "addrC", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	d, err := ans104.Parse(raw, ans104.Limits{})
	if err != nil || d.Verify() != nil {
		t.Fatalf("the delegation does not parse or verify: %v", err)
	}
	from, to, err := arweave.Delegates(d)
	if err != nil || from != ans104.Address(old.SignatureType(), old.Owner()) || strings.Join(to, ",") != "addrB,addrC" {
		t.Fatalf("delegation %s -> %v: %v", from, to, err)
	}
	if strings.TrimSpace(printed) != d.ID().String() {
		t.Fatalf("printed %q, item id %s", printed, d.ID())
	}
	if _, err := run(t, "delegate", "--key", key, "--to", "x", "--out", out); err == nil {
		t.Fatal("an existing file was overwritten")
	}
}

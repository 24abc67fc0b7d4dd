package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SIGHUP reloads "capacity" from the --config file; anything but a whole number ≥ 1 is refused
// with the file named, and the node keeps its weight.
func TestReadCapacity(t *testing.T) {
	dir := t.TempDir()
	for body, want := range map[string]string{
		`{"capacity": 3, "listen": "127.0.0.1:0"}`: "3",
		`{"capacity": "2"}`:                        "2",
		`{"capacity": 0}`:                          "at least 1",
		`{"capacity": 1.5}`:                        "whole number",
		`{"capacity": -1}`:                         "whole number",
		`{"listen": "x"}`:                          `no "capacity"`,
		`not json`:                                 "config file",
	} {
		p := filepath.Join(dir, "c.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := readCapacity(p)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			got = fmt.Sprint(w)
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want %q", body, got, want)
		}
	}
	if _, err := readCapacity(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file must be an error")
	}
}

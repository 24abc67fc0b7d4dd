package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/bench"
)

func TestBenchAppendVerb(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "r.json")
	root := newRootCmd()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetArgs([]string{"bench", "append", "--writers", "1,2", "--processes", "4", "--duration", "50ms",
		"--dir", dir, "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), "appends/s") || !strings.Contains(stdout.String(), "fsync/no-fsync") {
		t.Fatalf("unexpected table:\n%s", stdout.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Runs) != 4 { // writers {1,2} x fsync {on,off}
		t.Fatalf("%d runs in the JSON report, want 4", len(rep.Runs))
	}
}

func TestBenchAppendBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "append", "--writers", "0"},
		{"bench", "append", "--writers", "x"},
		{"bench", "append", "--commit", "fast"},
		{"bench", "append", "--writers", "8", "--processes", "4", "--duration", "1ms"},
	} {
		root := newRootCmd()
		root.SetOut(&bytes.Buffer{})
		root.SetArgs(append(args, "--dir", t.TempDir()))
		if err := root.Execute(); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

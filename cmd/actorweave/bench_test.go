package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/bench"
	"github.com/actorweave/actorweave/internal/testutil"
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
	var rep bench.AppendReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 4 { // writers {1,2} x fsync {on,off}
		t.Fatalf("%d results in the JSON report, want 4", len(rep.Results))
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

// A short pass of `bench flush` against arlocal: the verb runs and reports every message readable.
func TestBenchFlushVerb(t *testing.T) {
	module := filepath.Join(testutil.RepoRoot(t), "testdata", "build", "wasm", "aoslike.wasm")
	testutil.Module(t, "aoslike")
	out := filepath.Join(t.TempDir(), "flush.json")
	root := newRootCmd()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "flush", "--module", module, "--processes", "3", "--clients", "3", "--messages", "30",
		"--flush-interval", "100ms", "--baseline=false", "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Report bench.FlushReport `json:"report"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Report.Acked != 30 || rep.Report.Readable != 30 || rep.Report.LogBytesPerMessage <= rep.Report.MessageBytes {
		t.Fatalf("report %+v\n%s", rep.Report, stdout.String())
	}
}

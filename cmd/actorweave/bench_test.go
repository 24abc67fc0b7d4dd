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

// TestBenchCronAndLoopVerbs runs short passes of `bench cron` and `bench loop` (in-process node,
// the aos-like test module) and checks their reports are filled in.
func TestBenchCronAndLoopVerbs(t *testing.T) {
	module := filepath.Join(testutil.RepoRoot(t), defaultBenchModule)
	testutil.Module(t, "aoslike") // fails with "run make deps" when it is not built
	out := filepath.Join(t.TempDir(), "cron.json")
	root := newRootCmd()
	var stdout bytes.Buffer
	root.SetOut(&stdout)
	root.SetArgs([]string{"bench", "cron", "--module", module, "--processes", "5", "--duration", "3s", "--sample", "5", "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var cron struct {
		Report bench.CronReport `json:"report"`
	}
	if err := json.Unmarshal(b, &cron); err != nil {
		t.Fatal(err)
	}
	if r := cron.Report; r.Ticks < 5 || r.SampleTicks < 5 || r.SampleDuplicates != 0 || r.SampleGaps != 0 {
		t.Fatalf("cron report %+v\n%s", r, stdout.String())
	}
	out = filepath.Join(t.TempDir(), "loop.json")
	root = newRootCmd()
	stdout.Reset()
	root.SetOut(&stdout)
	root.SetArgs([]string{"bench", "loop", "--module", module, "--ordinary", "3", "--rate", "5", "--phase", "1s", "--max-send-rate", "10", "--out", out})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var loop struct {
		Report bench.LoopReport `json:"report"`
	}
	if err := json.Unmarshal(b, &loop); err != nil {
		t.Fatal(err)
	}
	if ph := loop.Report.Phases; len(ph) != 3 || ph[0].Requests == 0 || ph[1].LoopPerSec <= 0 || ph[1].LoopPerSec > 30 {
		t.Fatalf("loop report %+v\n%s", loop.Report, stdout.String())
	}
}

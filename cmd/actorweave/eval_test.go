package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func repoRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("go.mod not found")
		}
		dir = filepath.Dir(dir)
	}
}

func aosModule(t *testing.T) string {
	t.Helper()
	p := filepath.Join(repoRoot(t), "testdata", "build", "wasm", "aoslike.wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test module missing (%v): run `make deps`", err)
	}
	return p
}

func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

type line struct {
	Output       json.RawMessage
	Error        string
	GasUsed      uint64
	MemorySha256 string
	MemoryBytes  int
}

func TestEvalCommand(t *testing.T) {
	mod := aosModule(t)
	in := strings.Join([]string{
		`{"Id":"1","Owner":"OWNER","From":"OWNER","Tags":[{"name":"Action","value":"Eval"}],"Data":"x = 1 return x"}`,
		``,
		`{"Id":"2","Owner":"OWNER","From":"OWNER","Tags":[{"name":"Action","value":"Eval"}],"Data":"x = 99 error('no')"}`,
		`{ "Id": "3", "Owner": "OWNER", "From": "OWNER", "Tags": [{"name":"Action","value":"Eval"}], "Data": "x = x + 1 return x" }`,
		`{"Id":"4","Owner":"OWNER","From":"OWNER","Tags":[{"name":"Action","value":"Eval"}],"Data":"while true do end"}`,
	}, "\n")
	out, err := runCLI(t, in, "eval", "--module", mod, "--format", "wasm32-unknown-emscripten2", "--compute-limit", "1000000000", "--memory-limit", "64-mb")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var lines []line
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		lines = append(lines, x)
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines for 4 messages:\n%s", len(lines), out)
	}
	if !strings.Contains(string(lines[0].Output), `"output":1`) || lines[0].GasUsed == 0 || len(lines[0].MemorySha256) != 64 || lines[0].MemoryBytes < 6<<20 {
		t.Errorf("line 1: %+v", lines[0])
	}
	if !strings.Contains(lines[1].Error, "no") || lines[1].MemorySha256 != lines[0].MemorySha256 {
		t.Errorf("line 2 (error) advanced memory or lost its error: %+v", lines[1])
	}
	if !strings.Contains(string(lines[2].Output), `"output":2`) {
		t.Errorf("line 3: %s (the error message must not have set x)", lines[2].Output)
	}
	if lines[3].Error != "out of gas!" || lines[3].MemorySha256 != lines[2].MemorySha256 {
		t.Errorf("line 4: %+v", lines[3])
	}
}

func TestEvalCommandErrors(t *testing.T) {
	mod := aosModule(t)
	env := filepath.Join(t.TempDir(), "env.json")
	_ = os.WriteFile(env, []byte("{not json"), 0o644)
	for _, c := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"", []string{"eval"}, "--module and --format are required"},
		{"", []string{"eval", "--module", mod, "--format", "wasm64-unknown-emscripten-draft_2024_02_15"}, "memory64"},
		{"", []string{"eval", "--module", mod, "--format", "nope"}, "wasm32-unknown-emscripten2"},
		{"", []string{"eval", "--module", mod, "--format", "wasm32-unknown-emscripten2", "--memory-limit", "lots"}, "memory limit"},
		{"", []string{"eval", "--module", mod, "--format", "wasm32-unknown-emscripten2", "--compute-limit", "x"}, "compute limit"},
		{"", []string{"eval", "--module", mod, "--format", "wasm32-unknown-emscripten2", "--env", env}, "not valid JSON"},
		{"", []string{"eval", "--module", "/nonexistent.wasm", "--format", "wasm32-unknown-emscripten2"}, "no such file"},
		{"{oops\n", []string{"eval", "--module", mod, "--format", "wasm32-unknown-emscripten2"}, "line 1: not valid JSON"},
	} {
		out, err := runCLI(t, c.stdin, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want %q (output %s)", c.args, err, c.want, out)
		}
	}
	help, err := runCLI(t, "", "eval", "--help")
	if err != nil || !strings.Contains(help, defaultEvalEnv) || !strings.Contains(help, "--deadline") {
		t.Errorf("help does not document the default env and flags: %v\n%s", err, help)
	}
}

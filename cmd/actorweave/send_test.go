package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
)

func TestSend(t *testing.T) {
	tn := startTestNode(t)
	_, pid := tn.publishAndSpawn(t)
	// --node and --wallet from the environment.
	t.Setenv("ACTORWEAVE_NODE", tn.url)
	t.Setenv("ACTORWEAVE_WALLET", tn.wallet)

	out, err := run(t, "send", "--process", pid, "--action", "Eval", "--data", "x = (x or 0) + 1; return x", "--wait")
	if err != nil {
		t.Fatal(err)
	}
	first, rest, _ := strings.Cut(out, "\n")
	if _, err := ans104.ParseID(first); err != nil {
		t.Fatalf("first line %q is not a message id: %v", first, err)
	}
	if got := evalOutput(t, rest); got != "1" {
		t.Fatalf("--wait printed output %s, want 1:\n%s", got, out)
	}
	if !strings.Contains(rest, "\n  \"Output\": {") {
		t.Errorf("the result is not indented JSON:\n%s", rest)
	}

	// Without --wait: only the id. Data from a file; the Action as a --tag.
	code := filepath.Join(t.TempDir(), "code.lua")
	os.WriteFile(code, []byte("x = x + 10; return x"), 0o644)
	out, err = run(t, "send", "--process", pid, "--tag", "Action=Eval", "--data-file", code)
	if err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 {
		t.Fatalf("without --wait: %q, want one line", out)
	}
	id := lastLine(out)
	out, err = run(t, "result", "--process", pid, "--message", id)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOutput(t, out); got != "11" {
		t.Fatalf("x after the second message: %s, want 11", got)
	}
	// A message the process does not run as an Eval: recorded, and answered.
	out, err = run(t, "send", "--process", pid, "--action", "Hello", "--wait")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "New Message From "+tn.address+": Action = Hello") {
		t.Fatalf("Hello: %s", out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--process is required"},
		{[]string{"--process", strings.Repeat("A", 43)}, "node answered 404"},
		{[]string{"--process", pid, "--action", "Eval", "--tag", "Action=Eval"}, "not both"},
		{[]string{"--process", pid, "--action", ""}, "--action must not be empty"},
		{[]string{"--process", pid, "--data-file", code + ".missing"}, "--data-file"},
		{[]string{"--process", pid, "--wallet", filepath.Join(t.TempDir(), "none.json")}, "--wallet"},
	} {
		if _, err := run(t, append([]string{"send"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("send %v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

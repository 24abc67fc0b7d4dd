package main

import (
	"strings"
	"testing"
)

func TestDryrun(t *testing.T) {
	tn := startTestNode(t)
	_, pid := tn.publishAndSpawn(t)
	common := []string{"--process", pid, "--node", tn.url}
	if _, err := run(t, append([]string{"send", "--action", "Eval", "--data", "x = 5", "--wallet", tn.wallet}, common...)...); err != nil {
		t.Fatal(err)
	}
	// As the owner (the wallet's address), an Eval runs and sees the state...
	out, err := run(t, append([]string{"dryrun", "--action", "Eval", "--data", "x = x * 10; return x", "--wallet", tn.wallet}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOutput(t, out); got != "50" {
		t.Fatalf("dry-run as the owner: %s, want 50\n%s", got, out)
	}
	// ...and leaves it unchanged.
	out, err = run(t, append([]string{"send", "--action", "Eval", "--data", "return x", "--wait", "--wallet", tn.wallet}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	if _, res, _ := strings.Cut(out, "\n"); evalOutput(t, res) != "5" {
		t.Fatalf("after the dry-run x is not 5:\n%s", out)
	}
	// Without a wallet the Owner is aoconnect's default, 1234, which is not the owner.
	out, err = run(t, append([]string{"dryrun", "--action", "Eval", "--data", "return x", "--tag", "Color=red"}, common...)...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "New Message From 1234: Action = Eval") {
		t.Fatalf("dry-run without a wallet:\n%s", out)
	}
	out, err = run(t, append([]string{"dryrun", "--action", "Ping", "--owner", "someone"}, common...)...)
	if err != nil || !strings.Contains(out, "New Message From someone: Action = Ping") {
		t.Fatalf("dry-run with --owner: %v\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--node", tn.url}, "--process is required"},
		{[]string{"--node", tn.url, "--process", strings.Repeat("C", 42) + "A"}, "node answered 404"},
		{append([]string{"--tag", "bad"}, common...), "NAME=VALUE"},
		{append([]string{"--action", "A", "--tag", "Action=B"}, common...), "not both"},
	} {
		if _, err := run(t, append([]string{"dryrun"}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("dryrun %v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

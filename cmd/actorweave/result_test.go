package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestResult(t *testing.T) {
	tn := startTestNode(t)
	_, pid := tn.publishAndSpawn(t)
	out, err := run(t, "send", "--process", pid, "--action", "Eval", "--data", "ao.send({ Target = ao.id, Action = 'Note', Data = 'n' }); return 'sent'",
		"--node", tn.url, "--wallet", tn.wallet)
	if err != nil {
		t.Fatal(err)
	}
	mid := lastLine(out)
	out, err = run(t, "result", "--process", pid, "--message", mid, "--node", tn.url)
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Output   any
		Messages []struct {
			Target string
			Data   string
		}
		Spawns  []any
		GasUsed uint64
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("result is not JSON: %v\n%s", err, out)
	}
	if got := evalOutput(t, out); got != `"sent"` || len(r.Messages) != 1 || r.Messages[0].Target != pid || r.Messages[0].Data != "n" || r.GasUsed == 0 {
		t.Fatalf("result:\n%s", out)
	}
	// Go's HTML escapes are undone: the prompt reads "aos> ".
	if !strings.Contains(out, `"prompt": "aos> "`) {
		t.Errorf("result output:\n%s", out)
	}
	// The process id names the process's own first evaluation.
	if _, err := run(t, "result", "--process", pid, "--message", pid, "--node", tn.url); err != nil {
		t.Fatalf("result of the process itself: %v", err)
	}

	other := strings.Repeat("B", 42) + "A" // canonical: the last character carries 4 bits
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--message", mid}, "--process is required"},
		{[]string{"--process", pid}, "--message is required"},
		{[]string{"--process", pid, "--message", "short"}, "--message \"short\""},
		{[]string{"--process", pid, "--message", other}, "node answered 404"},
	} {
		if _, err := run(t, append([]string{"result", "--node", tn.url}, tc.args...)...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("result %v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

func TestSpawn(t *testing.T) {
	tn := startTestNode(t)
	module, _ := tn.publishAndSpawn(t)
	out, err := run(t, "spawn", "--module", module, "--tag", "Name=counter", "--tag", "Color=blue", "--data", "hello",
		"--node", tn.url, "--wallet", tn.wallet)
	if err != nil {
		t.Fatal(err)
	}
	pid := lastLine(out)
	c := client.New(tn.url, nil)
	raw, err := c.Raw(context.Background(), "/processes/"+pid)
	if err != nil {
		t.Fatalf("the spawned process is not on the node: %v", err)
	}
	var p struct {
		ProcessID string `json:"process_id"`
		Owner     struct{ Address string }
		Tags      ans104.Tags
		Data      string
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	sched, _ := c.SchedulerAddress(context.Background())
	if p.ProcessID != pid || p.Owner.Address != tn.address || p.Data != "hello" || p.Tags.Value("Module") != module ||
		p.Tags.Value("Name") != "counter" || p.Tags.Value("Color") != "blue" || p.Tags.Value("Scheduler") != sched {
		t.Fatalf("process as the node serves it: %s", raw)
	}

	dataFile := filepath.Join(t.TempDir(), "d.txt")
	os.WriteFile(dataFile, []byte("from a file"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--module is required"},
		{[]string{"--module", "nope"}, "--module \"nope\""},
		{[]string{"--module", strings.Repeat("A", 43)}, "node answered 422"},
		{[]string{"--module", module, "--tag", "Name"}, "NAME=VALUE"},
		{[]string{"--module", module, "--data", "x", "--data-file", dataFile}, "not both"},
		{[]string{"--module", module, "--data-file", dataFile + ".missing"}, "--data-file"},
		{[]string{"--module", module, "extra"}, "unknown command"},
	} {
		args := append([]string{"spawn", "--node", tn.url, "--wallet", tn.wallet}, tc.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("spawn %v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A single node's cluster status lists itself, owning the process it holds; --json is the route's JSON.
func TestClusterStatus(t *testing.T) {
	tn := startTestNode(t)
	tn.publishAndSpawn(t)
	out, err := run(t, "cluster", "status", "--node", tn.url)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "MEMBER") || !strings.Contains(lines[1], " *") {
		t.Fatalf("status table:\n%s", out)
	}
	out, err = run(t, "cluster", "status", "--node", tn.url, "--json")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Members []struct {
			Self      bool
			Capacity  uint32
			Processes int
			Owned     int
		}
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(st.Members) != 1 || !st.Members[0].Self || st.Members[0].Capacity != 1 || st.Members[0].Processes != 1 || st.Members[0].Owned != 1 {
		t.Fatalf("status JSON:\n%s", out)
	}
	if _, err := run(t, "node", "--join", "127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), "need --cluster-listen") {
		t.Fatalf("--join without --cluster-listen: %v", err)
	}
	if _, err := run(t, "node", "--cluster-listen", "127.0.0.1:0", "--labels", "bad"); err == nil || !strings.Contains(err.Error(), "--labels") {
		t.Fatalf("bad --labels: %v", err)
	}
}

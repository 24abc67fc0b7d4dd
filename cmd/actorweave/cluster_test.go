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

// Failure-detection and reconnect flags: nonsense is an error naming the flag, never a crash.
func TestClusterTimingFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--probe-interval", "1s", "--probe-timeout", "1s"}, "--probe-timeout"},
		{[]string{"--probe-interval", "5ms"}, "--probe-interval"},
		{[]string{"--suspicion-mult", "0"}, "--suspicion-mult"},
		{[]string{"--gossip-interval", "-1s"}, "--gossip-interval"},
		{[]string{"--cluster-reconnect-interval", "0s"}, "--cluster-reconnect-interval"},
		{[]string{"--failure-timeout", "1s"}, "--failure-timeout"}, // under 1.5 leases of 800 ms
		{[]string{"--failure-timeout", "-1s"}, "--failure-timeout"},
		{[]string{"--quorum-lease", "2s", "--failure-timeout", "2s"}, "--failure-timeout"},
	} {
		args := append([]string{"node", "--data", t.TempDir(), "--cluster-listen", "127.0.0.1:0"}, tc.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%v: %v, want an error naming %s", tc.args, err, tc.want)
		}
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestAOConnectCluster runs the aoconnect script against a cluster of three nodes, then of five,
// with its three units on three different nodes picked at random (MU_URL, CU_URL and GATEWAY_URL),
// so that spawns, messages, results, dry-runs, assignments, outbox pushes between processes and
// spawns from a process cross nodes wherever the processes happen to live. Then every result is
// read back through every node.
func TestAOConnectCluster(t *testing.T) {
	dir := testutil.NodeDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@permaweb", "aoconnect")); err != nil {
		t.Fatalf("@permaweb/aoconnect is not installed (%v): run `make deps`", err)
	}
	wasm := testutil.Module(t, "aoslike")
	for _, n := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d-nodes", n), func(t *testing.T) { aoconnectCluster(t, dir, wasm, n) })
	}
}

func aoconnectCluster(t *testing.T, dir string, wasm []byte, size int) {
	c := clustertest.Start(t, size, clustertest.Options{})
	all := c.URLs()
	perm := rand.Perm(size)
	urls := []string{all[perm[0]], all[perm[1]], all[perm[2]]} // MU, CU, gateway
	t.Logf("MU node %d, CU node %d, gateway node %d of %d", perm[0], perm[1], perm[2], size)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := ans104.MarshalKey(wallet)
	if err != nil {
		t.Fatal(err)
	}
	walletFile := filepath.Join(t.TempDir(), "wallet.json")
	if err := os.WriteFile(walletFile, jwk, 0o600); err != nil {
		t.Fatal(err)
	}
	// The module is published through node 2 (the gateway) and spawned through node 0.
	mod, err := client.New(urls[2], wallet).PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	scheduler, err := client.New(urls[0], wallet).SchedulerAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner := ans104.Address(wallet.SignatureType(), wallet.Owner())
	cmd := exec.CommandContext(ctx, "node", "aoconnect-e2e.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MU_URL="+urls[0], "CU_URL="+urls[1], "GATEWAY_URL="+urls[2],
		"AW_WALLET="+walletFile, "AW_MODULE="+mod.String(), "AW_SCHEDULER="+scheduler, "AW_OWNER="+owner)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aoconnect-e2e.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}
	checkErrors(t, &s)
	if string(s.EvalOutput) != "42" || string(s.SecondOutput) != "43" || string(s.DryrunOutput) != "420" || string(s.AfterDryrunOutput) != "42" {
		t.Errorf("Eval/dry-run outputs: %s %s %s %s, want 42 43 420 42", s.EvalOutput, s.SecondOutput, s.DryrunOutput, s.AfterDryrunOutput)
	}
	if s.ResultsCount != 3 || string(s.ResultsDescFirst) != "43" {
		t.Errorf("results: %d edges, DESC first %s", s.ResultsCount, s.ResultsDescFirst)
	}
	if want := "New Message From " + s.ProcessB + ": Action = Pong"; s.PongAtA != want {
		t.Errorf("A's result for the Pong: %q, want %q", s.PongAtA, want)
	}
	if string(s.AssignedOutput) != "42" {
		t.Errorf("assigned Eval on B: %s, want 42", s.AssignedOutput)
	}
	if want := "New Message From " + owner + ": Action = Hello"; s.ChildAnswer != want {
		t.Errorf("the child's answer: %q, want %q", s.ChildAnswer, want)
	}
	// Every node serves A's message result, the processes and the SU's latest entry.
	pid, msg := mustID(t, s.ProcessA), mustID(t, s.MessageID)
	for i, u := range all {
		cl := client.New(u, wallet)
		if r, err := cl.Result(ctx, pid, msg); err != nil || !strings.Contains(string(r.Output), `"output":42`) {
			t.Errorf("node %d: result of A's first Eval: %v %s", i, err, r.Output)
		}
		for _, p := range []string{s.ProcessA, s.ProcessB, s.ChildID} {
			if _, err := cl.Raw(ctx, "/processes/"+p); err != nil {
				t.Errorf("node %d: process %s: %v", i, p, err)
			}
			if _, err := cl.Raw(ctx, "/"+p+"/latest"); err != nil {
				t.Errorf("node %d: latest of %s: %v", i, p, err)
			}
		}
		if _, err := cl.Raw(ctx, "/"+s.ProcessA+"?limit=10"); err != nil {
			t.Errorf("node %d: log of A: %v", i, err)
		}
	}
	st, err := c.Running()[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		t.Logf("member %s: owns %d processes, %d forwarded calls out, %d in", m.Address, m.Owned, m.Forwarded.CallsOut, m.Forwarded.CallsIn)
	}
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
	"github.com/actorweave/actorweave/node"
)

// startNode starts a node on a free loopback port in a temporary folder.
func startNode(t testing.TB) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Runtime.CacheDir = wasmcache.Dir(t) // the module compiled once per test binary, not in a request
	n, err := node.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		n.Close(ctx)
	})
	return n
}

// summary is what testdata/node/aoconnect-e2e.mjs prints.
type summary struct {
	ProcessA                 string            `json:"processA"`
	MessageID                string            `json:"messageId"`
	EvalOutput               json.RawMessage   `json:"evalOutput"`
	SecondOutput             json.RawMessage   `json:"secondOutput"`
	ResultsCount             int               `json:"resultsCount"`
	ResultsOutputs           []any             `json:"resultsOutputs"`
	ResultsCursorsAreStrings bool              `json:"resultsCursorsAreStrings"`
	ResultsAfterFirst        []json.RawMessage `json:"resultsAfterFirst"`
	ResultsDescFirst         json.RawMessage   `json:"resultsDescFirst"`
	DryrunOutput             json.RawMessage   `json:"dryrunOutput"`
	AfterDryrunOutput        json.RawMessage   `json:"afterDryrunOutput"`
	ProcessB                 string            `json:"processB"`
	PongSentByB              struct {
		Target string       `json:"Target"`
		Data   string       `json:"Data"`
		Tags   []ans104.Tag `json:"Tags"`
	} `json:"pongSentByB"`
	PongAtA             string          `json:"pongAtA"`
	AssignmentID        string          `json:"assignmentId"`
	AssignedOutput      json.RawMessage `json:"assignedOutput"`
	InboxA              []struct{ Id, From, Action string }
	SpawnsInResult      int    `json:"spawnsInResult"`
	SpawnedNotice       string `json:"spawnedNotice"`
	ChildID             string `json:"childId"`
	ChildAnswer         string `json:"childAnswer"`
	UnknownModuleError  string `json:"unknownModuleError"`
	UnknownProcessError string `json:"unknownProcessError"`
	MonitorID           string `json:"monitorId"`
	CronCount           int    `json:"cronCount"`
	CronOutput          string `json:"cronOutput"`
	CronCursor          string `json:"cronCursor"`
	UnmonitorID         string `json:"unmonitorId"`
	CronPausedGrowth    int    `json:"cronPausedGrowth"`
}

// TestAOConnect runs testdata/node/aoconnect-e2e.mjs, the unmodified aoconnect in legacy mode with
// MU_URL, CU_URL and GATEWAY_URL all pointing at one node, signing with an RSA (Arweave) wallet.
func TestAOConnect(t *testing.T) {
	dir := testutil.NodeDir(t)
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@permaweb", "aoconnect")); err != nil {
		t.Fatalf("@permaweb/aoconnect is not installed (%v): run `make deps`", err)
	}
	wasm := testutil.Module(t, "aoslike")
	n := startNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
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
	c := client.New(n.URL(), wallet)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	scheduler, err := c.SchedulerAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	owner := ans104.Address(wallet.SignatureType(), wallet.Owner())

	cmd := exec.CommandContext(ctx, "node", "aoconnect-e2e.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MU_URL="+n.URL(), "CU_URL="+n.URL(), "GATEWAY_URL="+n.URL(),
		"AW_WALLET="+walletFile, "AW_MODULE="+mod.String(), "AW_SCHEDULER="+scheduler, "AW_OWNER="+owner)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aoconnect-e2e.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	t.Logf("aoconnect-e2e.mjs stderr:\n%s", stderr.String())
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}

	checkErrors(t, &s)
	checkCron(t, &s, owner)

	// spawn: the process exists on the node, owned by the wallet, with the node as its scheduler.
	pid, err := ans104.ParseID(s.ProcessA)
	if err != nil {
		t.Fatalf("process id %q: %v", s.ProcessA, err)
	}
	var proc struct {
		ProcessID string `json:"process_id"`
		Owner     struct{ Address string }
		Tags      []ans104.Tag `json:"tags"`
	}
	raw, err := c.Raw(ctx, "/processes/"+pid.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &proc); err != nil {
		t.Fatal(err)
	}
	tags := ans104.Tags(proc.Tags)
	if proc.Owner.Address != owner || tags.Value("Module") != mod.String() || tags.Value("Scheduler") != scheduler || tags.Value("Name") != "e2e-a" {
		t.Errorf("process as the SU serves it: %s", raw)
	}
	// message + result.
	if got := string(s.EvalOutput); got != "42" {
		t.Errorf("Eval x = 6 * 7: output %s, want 42", got)
	}
	if got := string(s.SecondOutput); got != "43" {
		t.Errorf("second Eval: output %s, want 43", got)
	}
	if r, err := c.Result(ctx, pid, mustID(t, s.MessageID)); err != nil || !strings.Contains(string(r.Output), `"output":42`) {
		t.Errorf("the message aoconnect sent, read back with the Go client: %v %s", err, r.Output)
	}
	// results: the process's own evaluation (nonce 0) and the two Evals.
	if s.ResultsCount != 3 || !s.ResultsCursorsAreStrings {
		t.Errorf("results: %d edges (want 3: spawn + 2 Evals), cursors strings: %v; outputs %v", s.ResultsCount, s.ResultsCursorsAreStrings, s.ResultsOutputs)
	}
	if len(s.ResultsAfterFirst) != 1 || string(s.ResultsAfterFirst[0]) != "42" {
		t.Errorf("results from the first edge's cursor, limit 1: %s, want [42]", s.ResultsAfterFirst)
	}
	if got := string(s.ResultsDescFirst); got != "43" {
		t.Errorf("results sort DESC limit 1: first output %s, want 43", got)
	}
	// dryrun sees the state and does not change it.
	if got := string(s.DryrunOutput); got != "420" {
		t.Errorf("dryrun return x * 10: %s, want 420", got)
	}
	if got := string(s.AfterDryrunOutput); got != "42" {
		t.Errorf("after the dry-run x = %s, want 42 (a dry-run must not change state)", got)
	}

	// Ping-pong: B's handler answered A's Ping through its outbox, and the Pong reached A.
	if s.PongSentByB.Target != s.ProcessA || s.PongSentByB.Data != "pong one" || ans104.Tags(s.PongSentByB.Tags).Value("Action") != "Pong" {
		t.Errorf("B's outbox message: %+v", s.PongSentByB)
	}
	if want := "New Message From " + s.ProcessB + ": Action = Pong"; s.PongAtA != want {
		t.Errorf("A's result for the Pong: %q, want %q", s.PongAtA, want)
	}
	pongs := 0
	for _, m := range s.InboxA {
		if m.Action == "Pong" && m.From == s.ProcessB {
			pongs++
		}
	}
	if pongs != 1 {
		t.Errorf("A's Inbox: %+v, want exactly one Pong from B", s.InboxA)
	}

	// assign: A's first message, scheduled on B, ran there too (an Eval from the owner).
	if _, err := ans104.ParseID(s.AssignmentID); err != nil || s.AssignmentID == s.MessageID {
		t.Errorf("assignment id %q: %v", s.AssignmentID, err)
	}
	if got := string(s.AssignedOutput); got != "42" {
		t.Errorf("result of the assigned Eval on B: %s, want 42", got)
	}

	// Spawn from inside A: the Spawned notice reached A and named the child, which answers.
	if s.SpawnsInResult != 1 {
		t.Errorf("the Eval that spawns has %d Spawns, want 1", s.SpawnsInResult)
	}
	if want := "Handled Spawned From " + s.ProcessA; s.SpawnedNotice != want {
		t.Errorf("Spawned notice at A: %q, want %q", s.SpawnedNotice, want)
	}
	child, err := ans104.ParseID(s.ChildID)
	if err != nil || child == pid {
		t.Fatalf("child id %q from the Spawned notice: %v", s.ChildID, err)
	}
	raw, err = c.Raw(ctx, "/processes/"+child.String())
	if err != nil {
		t.Fatalf("the child is not a process on the node: %v", err)
	}
	proc.Tags = nil
	if err := json.Unmarshal(raw, &proc); err != nil {
		t.Fatal(err)
	}
	if tags := ans104.Tags(proc.Tags); tags.Value("Module") != mod.String() || tags.Value("From-Process") != s.ProcessA || tags.Value("Name") != "child" {
		t.Errorf("child process: %s", raw)
	}
	if want := "New Message From " + owner + ": Action = Hello"; s.ChildAnswer != want {
		t.Errorf("the child's answer: %q, want %q", s.ChildAnswer, want)
	}
}

// checkCron: monitor and unmonitor answer as aoconnect expects, GET /cron serves the ticks'
// evaluations (the module saw them from the process owner), and unmonitor pauses ticking.
func checkCron(t *testing.T, s *summary, owner string) {
	t.Helper()
	if _, err := ans104.ParseID(s.MonitorID); err != nil {
		t.Errorf("monitor returned %q: %v", s.MonitorID, err)
	}
	if _, err := ans104.ParseID(s.UnmonitorID); err != nil {
		t.Errorf("unmonitor returned %q: %v", s.UnmonitorID, err)
	}
	if s.CronCount < 1 || s.CronCount > 4 {
		t.Errorf("GET /cron after 2.5 s of a 1-second cron: %d evaluations", s.CronCount)
	}
	if want := "New Message From " + owner + ": Action = Tick"; s.CronOutput != want {
		t.Errorf("cron evaluation output %q, want %q", s.CronOutput, want)
	}
	if s.CronCursor == "" {
		t.Error("cron edges have no cursor")
	}
	if s.CronPausedGrowth != 0 {
		t.Errorf("%d cron evaluations while unmonitored", s.CronPausedGrowth)
	}
}

// checkErrors: bad input reaches aoconnect's caller as an error, with the node's status and
// message where the node answered.
func checkErrors(t *testing.T, s *summary) {
	t.Helper()
	// aoconnect's spawn looks the module up in GraphQL first; for an id the node does not hold the
	// answer has no edges (as arweave.net answers), and aoconnect fails on it before posting.
	if s.UnknownModuleError == "no error" || s.UnknownModuleError == "" {
		t.Errorf("spawn of an unknown module: %q", s.UnknownModuleError)
	}
	if !strings.Contains(s.UnknownProcessError, "404") || !strings.Contains(s.UnknownProcessError, "not found") {
		t.Errorf("message to an unknown process: %q", s.UnknownProcessError)
	}
}

func mustID(t *testing.T, s string) ans104.ID {
	t.Helper()
	id, err := ans104.ParseID(s)
	if err != nil {
		t.Fatalf("id %q: %v", s, err)
	}
	return id
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
)

// mainnetSummary is what testdata/node/aoconnect-mainnet.mjs prints.
type mainnetSummary struct {
	Nodes               int
	ProcessA            string
	MessageSlot         json.Number
	ResultBySlot        json.RawMessage
	SecondSlot          json.Number
	SecondID            string
	ResultByID          json.RawMessage
	ResultsCursor       string
	ResultsOutput       json.RawMessage
	DryrunOutput        json.RawMessage
	AfterDryrunOutput   json.RawMessage
	ProcessB            string
	TrustInstalled      []string
	InboxA              []struct{ Id, From, Action string }
	ForgedOutput        string
	InboxAfterForged    []struct{ Id, From, Action string }
	HTTPSigInfoStatus   int    `json:"httpsigInfoStatus"`
	HTTPSigInfo         string `json:"httpsigInfo"`
	HTTPSigSlotStatus   int    `json:"httpsigSlotStatus"`
	HTTPSigSlot         string `json:"httpsigSlot"`
	ANS104SlotStatus    int    `json:"ans104SlotStatus"`
	HTTPSigPushStatus   int    `json:"httpsigPushStatus"`
	HTTPSigPushBody     string `json:"httpsigPushBody"`
	ANS104Slot          string `json:"ans104Slot"`
	HTTPSigTampered     int    `json:"httpsigTamperedStatus"`
	HTTPSigTamperedBody string `json:"httpsigTamperedBody"`
	Located             json.RawMessage
	BeyondStatus        int
	BeyondBody          string
	UnknownDeviceStatus int
	UnknownDeviceBody   string
	UnknownProcessError string
}

// TestAOConnectMainnet runs aoconnect 0.0.98 in MODE 'mainnet' against one node, then against a
// three-node cluster with its verbs spread over the members, while the legacy interface stays on
// the same port (TestAOConnect covers it).
func TestAOConnectMainnet(t *testing.T) {
	dir := testutil.NodeDir(t)
	wasm := testutil.Module(t, "aoslike")
	t.Run("1-node", func(t *testing.T) {
		n := startNode(t)
		runMainnet(t, dir, wasm, []string{n.URL()})
	})
	t.Run("3-nodes", func(t *testing.T) {
		c := clustertest.Start(t, 3, clustertest.Options{})
		runMainnet(t, dir, wasm, c.URLs())
	})
}

func writeWallet(t *testing.T) (ans104.Signer, string) {
	t.Helper()
	w, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := ans104.MarshalKey(w)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "wallet.json")
	if err := os.WriteFile(f, jwk, 0o600); err != nil {
		t.Fatal(err)
	}
	return w, f
}

func runMainnet(t *testing.T, dir string, wasm []byte, urls []string) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	wallet, walletFile := writeWallet(t)
	_, strangerFile := writeWallet(t)
	mod, err := client.New(urls[len(urls)-1], wallet).PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	scheduler, err := client.New(urls[0], wallet).SchedulerAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Members that sign with different keys each deliver messages under their own address: the
	// processes then name them all as Authority. Members sharing one scheduler key (one address)
	// leave Scheduler and Authority to their defaults, as a single node does.
	authority := scheduler
	seen := map[string]bool{scheduler: true}
	for _, u := range urls[1:] {
		a, err := client.New(u, wallet).SchedulerAddress(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !seen[a] {
			seen[a] = true
			authority += "," + a
		}
	}
	cmd := exec.CommandContext(ctx, "node", "aoconnect-mainnet.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "AW_URLS="+strings.Join(urls, ","), "AW_WALLET="+walletFile, "AW_WALLET2="+strangerFile, "AW_MODULE="+mod.String())
	if len(seen) > 1 {
		t.Logf("members sign with %d different keys: Authority %s", len(seen), authority)
		cmd.Env = append(cmd.Env, "AW_AUTHORITY="+authority)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aoconnect-mainnet.mjs: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	t.Logf("summary: %s", stdout.String())
	var s mainnetSummary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("summary %q: %v", stdout.String(), err)
	}

	// spawn: the process names the node's scheduler as Scheduler and Authority without the client
	// being told either.
	pid := mustID(t, s.ProcessA)
	var proc struct {
		Tags []ans104.Tag `json:"tags"`
	}
	raw, err := client.New(urls[0], wallet).Raw(ctx, "/processes/"+pid.String())
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &proc); err != nil {
		t.Fatal(err)
	}
	tags := ans104.Tags(proc.Tags)
	if tags.Value("Scheduler") != scheduler || tags.Value("Authority") != authority || tags.Value("Module") != mod.String() || tags.Value("Type") != "Process" {
		t.Errorf("the process as spawned: Scheduler %q Authority %q Module %q Type %q; want scheduler %s and module %s",
			tags.Value("Scheduler"), tags.Value("Authority"), tags.Value("Module"), tags.Value("Type"), scheduler, mod)
	}
	if s.MessageSlot.String() != "1" || s.SecondSlot.String() != "2" {
		t.Errorf("message slots %s, %s: want 1, 2", s.MessageSlot, s.SecondSlot)
	}
	if string(s.ResultBySlot) != "42" || string(s.ResultByID) != "43" {
		t.Errorf("result by slot %s (want 42), by id %s (want 43)", s.ResultBySlot, s.ResultByID)
	}
	if _, err := ans104.ParseID(s.SecondID); err != nil {
		t.Errorf("message id %q: %v", s.SecondID, err)
	}
	if s.ResultsCursor != "2" || string(s.ResultsOutput) != "43" {
		t.Errorf("results: cursor %q output %s, want 2 and 43", s.ResultsCursor, s.ResultsOutput)
	}
	if string(s.DryrunOutput) != "420" || string(s.AfterDryrunOutput) != "42" {
		t.Errorf("dryrun %s (want 420), x after it %s (want 42)", s.DryrunOutput, s.AfterDryrunOutput)
	}
	// Process to process: B's Pong, signed by the scheduler key A trusts, is in A's Inbox; the
	// stranger's forged Pong is refused by A's trust check and is not.
	if len(s.TrustInstalled) != 2 || s.TrustInstalled[0] != "trust check installed" || s.TrustInstalled[1] != "trust check installed" {
		t.Errorf("installing the trust check: %v", s.TrustInstalled)
	}
	pongs := 0
	for _, m := range s.InboxA {
		if m.Action == "Pong" && m.From == s.ProcessB {
			pongs++
		}
	}
	if pongs != 1 {
		t.Errorf("A's Inbox %+v: want one Pong from B", s.InboxA)
	}
	if !strings.Contains(s.ForgedOutput, "not trusted") {
		t.Errorf("forged Pong: output %q, want the trust check's refusal", s.ForgedOutput)
	}
	if len(s.InboxAfterForged) != len(s.InboxA) {
		t.Errorf("the forged Pong reached A's Inbox: %+v", s.InboxAfterForged)
	}
	// Both signing formats reach the node's routes.
	if s.HTTPSigInfoStatus != 200 || s.HTTPSigInfo != scheduler {
		t.Errorf("httpsig GET /~meta@1.0/info/address: %d %q", s.HTTPSigInfoStatus, s.HTTPSigInfo)
	}
	if s.HTTPSigSlotStatus != 200 || s.ANS104SlotStatus != 200 || s.HTTPSigSlot != s.ANS104Slot {
		t.Errorf("slot/current: httpsig %d %q, ans104 %d %q", s.HTTPSigSlotStatus, s.HTTPSigSlot, s.ANS104SlotStatus, s.ANS104Slot)
	}
	if s.HTTPSigPushStatus != 422 || !strings.Contains(s.HTTPSigPushBody, "ANS-104") {
		t.Errorf("a push signed with httpsig: %d %s, want 422 naming ANS-104", s.HTTPSigPushStatus, s.HTTPSigPushBody)
	}
	if n, err := strconv.Atoi(s.ANS104Slot); err != nil || n < 6 {
		t.Errorf("current slot %q: want at least 6", s.ANS104Slot)
	}
	// Findable: locate() found A's scheduler, the cluster's one, and a URL of one of its members
	// (each member announces itself under the scheduler key unless given --public-url; the newest
	// record wins, and any member serves every process).
	var loc struct{ URL, Address string }
	if err := json.Unmarshal(s.Located, &loc); err != nil || loc.Address != scheduler || !slices.Contains(urls, loc.URL) {
		t.Errorf("ao-scheduler-utils locate(A): %s, want {url: one of %v, address: %s}", s.Located, urls, scheduler)
	}
	// Bad input.
	if s.HTTPSigTampered != 400 || !strings.Contains(s.HTTPSigTamperedBody, "does not verify") {
		t.Errorf("httpsig request with a covered field changed: %d %s", s.HTTPSigTampered, s.HTTPSigTamperedBody)
	}
	if s.BeyondStatus != 404 || !strings.Contains(s.BeyondBody, "beyond the log") {
		t.Errorf("slot beyond the log: %d %s", s.BeyondStatus, s.BeyondBody)
	}
	if s.UnknownDeviceStatus != 400 || !strings.Contains(s.UnknownDeviceBody, "unknown device") {
		t.Errorf("unknown device: %d %s", s.UnknownDeviceStatus, s.UnknownDeviceBody)
	}
	if s.UnknownProcessError == "no error" {
		t.Errorf("a message to an unknown process was accepted")
	}
}

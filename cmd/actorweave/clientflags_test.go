package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
	"github.com/actorweave/actorweave/node"
)

// testNode is a node started in-process for the client verbs' tests, with a wallet file.
type testNode struct {
	url     string
	wallet  string
	address string // the wallet's address
}

func startTestNode(t *testing.T) *testNode {
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
	s, err := ans104.GenerateEd25519Signer()
	if err != nil {
		t.Fatal(err)
	}
	wallet := filepath.Join(t.TempDir(), "wallet.json")
	if err := ans104.SaveKeyFile(wallet, s); err != nil {
		t.Fatal(err)
	}
	return &testNode{url: n.URL(), wallet: wallet, address: ans104.Address(s.SignatureType(), s.Owner())}
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

// publishAndSpawn publishes the aos-like module and spawns a process of it, through the verbs.
func (tn *testNode) publishAndSpawn(t *testing.T) (module, pid string) {
	t.Helper()
	out, err := run(t, "module", "publish", aosModule(t), "--format", "wasm32-unknown-emscripten2",
		"--memory-limit", "512-mb", "--compute-limit", "9000000000000", "--node", tn.url, "--wallet", tn.wallet)
	if err != nil {
		t.Fatalf("module publish: %v", err)
	}
	module = lastLine(out)
	out, err = run(t, "spawn", "--module", module, "--node", tn.url, "--wallet", tn.wallet)
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	return module, lastLine(out)
}

// evalOutput reads Output.data.output of an aos-like Eval result printed as JSON.
func evalOutput(t *testing.T, js string) string {
	t.Helper()
	var r struct {
		Output struct {
			Data struct {
				Output json.RawMessage `json:"output"`
			} `json:"data"`
		}
		Error json.RawMessage
	}
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatalf("result %q: %v", js, err)
	}
	if len(r.Error) > 0 {
		t.Fatalf("result has an error: %s", r.Error)
	}
	return string(r.Output.Data.Output)
}

func TestClientFlags(t *testing.T) {
	o := clientOpts{tags: []string{"Name=x", "Empty=", "Eq=a=b"}}
	tags, err := o.messageTags()
	if err != nil {
		t.Fatal(err)
	}
	if len(tags) != 3 || tags[0] != (ans104.Tag{Name: "Name", Value: "x"}) || tags[1].Value != "" || tags[2].Value != "a=b" {
		t.Fatalf("tags %+v", tags)
	}
	for _, bad := range []string{"novalue", "=v", " =v"} {
		o.tags = []string{bad}
		if _, err := o.messageTags(); err == nil || !strings.Contains(err.Error(), "NAME=VALUE") {
			t.Errorf("--tag %q: %v", bad, err)
		}
	}
	// Every client verb refuses a URL that is not one, and says why it cannot reach a node.
	for _, verb := range [][]string{
		{"spawn", "--module", strings.Repeat("A", 43)},
		{"send", "--process", strings.Repeat("A", 43)},
		{"result", "--process", strings.Repeat("A", 43), "--message", strings.Repeat("A", 43)},
		{"dryrun", "--process", strings.Repeat("A", 43)},
	} {
		if _, err := run(t, append(verb, "--node", "127.0.0.1:8734")...); err == nil || !strings.Contains(err.Error(), "is not a node URL") {
			t.Errorf("%s with a bad --node: %v", verb[0], err)
		}
		if _, err := run(t, append(verb, "--node", "http://127.0.0.1:1", "--wallet", writeWallet(t))...); err == nil || !strings.Contains(err.Error(), "cannot reach the node at http://127.0.0.1:1") {
			t.Errorf("%s with no node: %v", verb[0], err)
		}
	}
	if got := string(unescapeHTML([]byte(`{"a":"\u003e\u003c\u0026 \\u003e \u00e9"}`))); got != `{"a":"><& \\u003e \u00e9"}` {
		t.Errorf("unescapeHTML: %s", got)
	}
}

func writeWallet(t *testing.T) string {
	t.Helper()
	s, _ := ans104.GenerateEd25519Signer()
	p := filepath.Join(t.TempDir(), "w.json")
	if err := ans104.SaveKeyFile(p, s); err != nil {
		t.Fatal(err)
	}
	return p
}

package main

import (
	"context"
	"encoding/json"
	"errors"
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

// actorweave verify against arlocal: a process flushed by a node verifies (exit 0, a table, the
// same as JSON); an id the gateway does not have does not (exit 1, the reason in the summary).
func TestVerifyCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	w, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	walletPath := filepath.Join(t.TempDir(), "wallet.json")
	if err := ans104.SaveKeyFile(walletPath, w); err != nil {
		t.Fatal(err)
	}
	user, _ := ans104.GenerateEd25519Signer()
	for _, s := range []ans104.Signer{w, user} {
		if err := ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
			t.Fatal(err)
		}
	}
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Runtime.CacheDir = wasmcache.Dir(t)
	cfg.Flush.Gateway, cfg.Flush.Wallet, cfg.Flush.Interval = ar.URL, walletPath, 100*time.Millisecond
	cfg.Actors.CheckpointEvery = 2
	cfg.API.RequestTimeout = time.Minute
	n, err := node.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(t, "aoslike"), Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		id, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Result(ctx, pid, id); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(time.Minute); ; {
		if st := n.Flusher().Stats(); st.Entries >= 4 && st.Checkpoints >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed: %+v", n.Flusher().Stats())
		}
		n.Flusher().Kick()
		time.Sleep(50 * time.Millisecond)
	}
	if err := ar.Mine(ctx); err != nil {
		t.Fatal(err)
	}

	out, err := run(t, "verify", "--process", pid.String(), "--gateway", ar.URL, "--node", n.URL())
	if err != nil || !strings.Contains(out, "VERIFIED: everything matches") || strings.Count(out, " result ") < 4 || !strings.Contains(out, "final-memory") {
		t.Fatalf("verify of an honest node: %v\n%s", err, out)
	}
	out, err = run(t, "verify", "--process", pid.String(), "--gateway", ar.URL, "--node", n.URL(), "--json")
	var rep struct {
		OK     bool
		Checks []struct{ Status string }
	}
	if err != nil || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || len(rep.Checks) < 7 {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	out, err = run(t, "verify", "--process", strings.Repeat("B", 42)+"A", "--gateway", ar.URL)
	if !errors.Is(err, errNotVerified) || !strings.Contains(out, "NOT VERIFIED") || !strings.Contains(out, "no log batch of this process") {
		t.Fatalf("verify of a process the gateway does not have: %v\n%s", err, out)
	}
	if _, err := run(t, "verify", "--process", pid.String()); err == nil || !strings.Contains(err.Error(), "--gateway is required") {
		t.Fatalf("verify without --gateway: %v", err)
	}
}

package clustertest_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/cluster/clustertest"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/node"
)

// TestRecoverInCluster: a process lives only on Arweave (arlocal): a single node ran and flushed
// it, then went away. A three-member cluster with that gateway is asked about it through every
// member: the member that owns it recovers it (and only that member: the others ask it to), every
// member then serves its results, and it takes new messages, acknowledged by its owner and
// replicated to its backup.
func TestRecoverInCluster(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	gw := arweave.NewGateway(ar.URL)
	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	walletPath := filepath.Join(t.TempDir(), "wallet.json")
	if err := ans104.SaveKeyFile(walletPath, wallet); err != nil {
		t.Fatal(err)
	}
	user, _ := ans104.GenerateEd25519Signer()
	for _, s := range []ans104.Signer{wallet, user} {
		if err := ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
			t.Fatal(err)
		}
	}

	// The first life: one node, flushing to arlocal.
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Flush.Gateway, cfg.Flush.Wallet, cfg.Flush.Interval = ar.URL, walletPath, 200*time.Millisecond
	cfg.API.RequestTimeout = time.Minute
	n0, err := node.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ar.Mint(ctx, n0.Address()); err != nil {
		t.Fatal(err)
	}
	c0 := client.New(n0.URL(), user)
	mod, err := c0.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c0.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: "recovered"}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []ans104.ID
	for i := 1; i <= 3; i++ {
		id, err := c0.Send(ctx, pid, []byte(fmt.Sprintf("x = (x or 0) + %d; return x", i)), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, id)
	}
	if r, err := c0.Result(ctx, pid, msgs[2]); err != nil || evalOutput(t, r) != "6" {
		t.Fatalf("first life: result %v, %v", r, err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		entries, _, err := gw.ReadLog(ctx, pid, n0.Address())
		have, herr := gw.Have(ctx, []ans104.ID{mod})
		if err == nil && herr == nil && len(entries) == 4 && have[mod] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log not on the gateway: %d entries (%v), module %v (%v)", len(entries), err, have[mod], herr)
		}
		n0.Flusher().Kick()
		time.Sleep(200 * time.Millisecond)
	}
	if err := n0.Close(ctx); err != nil {
		t.Fatal(err)
	}

	// The second life: a cluster that never saw it.
	c := clustertest.Start(t, 3, clustertest.Options{Configure: func(i int, nc *clustertest.NodeConfig) { nc.RecoveryGateway = ar.URL }})
	nodes := c.Running()
	start := time.Now()
	for i, nd := range nodes {
		r, err := client.New(nd.URL, user).Result(ctx, pid, msgs[2])
		if err != nil {
			t.Fatalf("result through member %d: %v", i, err)
		}
		if got := evalOutput(t, r); got != "6" {
			t.Fatalf("result through member %d: %q, want 6", i, got)
		}
		if i == 0 {
			t.Logf("recovered and answered through a member in %v", time.Since(start))
		}
	}
	recovered := 0
	for _, nd := range nodes {
		if strings.Contains(nd.Log(), "recovering process from the gateway") {
			recovered++
		}
	}
	if recovered != 1 {
		t.Fatalf("%d members recovered the process, want only its owner", recovered)
	}
	// New work: acknowledged by the owner, whose hand-over seeds the backup.
	id, err := client.New(nodes[1].URL, user).Send(ctx, pid, []byte("x = x + 10; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, nd := range nodes {
		r, err := client.New(nd.URL, user).Result(ctx, pid, id)
		if err != nil || evalOutput(t, r) != "16" {
			t.Fatalf("new message's result through member %d: %v %v", i, r, err)
		}
	}
	st, err := nodes[0].Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	holders := 0
	for _, m := range st.Members {
		holders += m.Processes
	}
	if holders != 2 {
		t.Fatalf("%d members hold the process after a write, want 2 (owner and backup)", holders)
	}
}

package node

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/arlocal"
	"github.com/actorweave/actorweave/internal/bundlershim"
	"github.com/actorweave/actorweave/internal/testutil"
)

// flushEnv is arlocal with a funded RSA wallet (saved as a JWK file for --wallet).
type flushEnv struct {
	ar         *arlocal.Instance
	gw         *arweave.Gateway
	wallet     ans104.Signer
	walletPath string
}

func newFlushEnv(t *testing.T, ctx context.Context) *flushEnv {
	t.Helper()
	e := &flushEnv{ar: testutil.Arlocal(t)}
	e.gw = arweave.NewGateway(e.ar.URL)
	w, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	e.wallet = w
	e.walletPath = filepath.Join(t.TempDir(), "wallet.json")
	if err := ans104.SaveKeyFile(e.walletPath, w); err != nil {
		t.Fatal(err)
	}
	e.mint(t, ctx, w)
	return e
}

// mint funds a signer's address; on arlocal this also makes the items it signs readable before the
// next /mine.
func (e *flushEnv) mint(t *testing.T, ctx context.Context, s ans104.Signer) {
	t.Helper()
	if err := e.ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
		t.Fatal(err)
	}
}

// checkOnGateway reads every process's log from the gateway and compares it with the node's: the
// same assignments and messages, byte for byte, all signatures valid, batches contiguous and signed
// by the node key. It returns how many entries it checked.
func checkOnGateway(t *testing.T, ctx context.Context, gw *arweave.Gateway, n *Node, pids []ans104.ID) int {
	t.Helper()
	total := 0
	for _, pid := range pids {
		got, _, err := gw.ReadLog(ctx, pid, n.Address())
		if err != nil {
			t.Fatal(err)
		}
		head, ok, err := n.store.Head(pid)
		if err != nil || !ok {
			t.Fatal(err)
		}
		if uint64(len(got)) != head.Nonce+1 {
			t.Fatalf("process %s: %d entries on the gateway, %d in the node's log", pid, len(got), head.Nonce+1)
		}
		proc, _ := n.store.Process(pid)
		for _, ge := range got {
			e, err := n.store.Entry(pid, ge.Nonce)
			if err != nil {
				t.Fatal(err)
			}
			want := e.Message
			if ge.Nonce == 0 {
				want = proc.Item
			}
			if !bytes.Equal(ge.Assignment.Bytes(), e.Assignment) || ge.Message == nil || !bytes.Equal(ge.Message.Bytes(), want) {
				t.Fatalf("process %s entry %d differs on the gateway", pid, ge.Nonce)
			}
		}
		total += len(got)
	}
	return total
}

// waitFlushed waits until every process's flush cursor reaches its log's length.
func waitFlushed(t *testing.T, n *Node, pids []ans104.ID, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		behind := 0
		for _, pid := range pids {
			head, _, _ := n.store.Head(pid)
			c, _ := n.store.FlushCursor(pid)
			if c <= head.Nonce {
				behind++
			}
		}
		if behind == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d processes not flushed after %v (stats %+v)", behind, timeout, n.Flusher().Stats())
		}
		n.Flusher().Kick()
		time.Sleep(100 * time.Millisecond)
	}
}

// Several processes of a node flushed to arlocal through each upload path: every log is on the
// gateway, readable by GraphQL and GET, every item verifying; the module and process items are
// there as themselves; checkpoints are there with their AO tags.
func TestFlushToArlocal(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	env := newFlushEnv(t, ctx)
	shim, err := bundlershim.Start(env.ar.URL, env.wallet, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer shim.Close()
	for _, path := range []string{"l1", "bundler"} {
		t.Run(path, func(t *testing.T) {
			n := startNode(t, t.TempDir(), func(c *Config) {
				c.Flush.Gateway, c.Flush.Interval = env.ar.URL, 200*time.Millisecond
				c.Flush.MaxBytes = 64 << 10 // several uploads per round
				if path == "l1" {
					c.Flush.Wallet = env.walletPath
				} else {
					c.Flush.Bundler = shim.URL
				}
				c.Actors.CheckpointEvery = 7
				c.API.RequestTimeout = time.Minute
			})
			defer n.Close(context.Background())
			env.mint(t, ctx, n.signer)
			user, _ := ans104.GenerateEd25519Signer()
			env.mint(t, ctx, user)
			c := client.New(n.URL(), user)
			mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
			if err != nil {
				t.Fatal(err)
			}
			pids := make([]ans104.ID, 4)
			for i := range pids {
				if pids[i], err = c.Spawn(ctx, mod, "", nil, []ans104.Tag{{Name: "Name", Value: fmt.Sprintf("p%d", i)}}); err != nil {
					t.Fatal(err)
				}
			}
			var last ans104.ID
			for i := 0; i < 40; i++ {
				if last, err = c.Send(ctx, pids[i%len(pids)], []byte(fmt.Sprintf("x = (x or 0) + %d; return x", i)), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
					t.Fatal(err)
				}
			}
			for _, pid := range pids { // evaluated, so checkpoints exist (every 7)
				head, _, _ := n.store.Head(pid)
				if _, err := c.Result(ctx, pid, head.MessageID); err != nil {
					t.Fatal(err)
				}
			}
			_ = last
			waitFlushed(t, n, pids, time.Minute)
			checked := checkOnGateway(t, ctx, env.gw, n, pids)
			if checked != 44 {
				t.Fatalf("%d entries checked, want 44", checked)
			}
			// Module and process items as themselves (the queue is drained once everything is up).
			deadline := time.Now().Add(30 * time.Second)
			for {
				have, err := env.gw.Have(ctx, append([]ans104.ID{mod}, pids...))
				if err != nil {
					t.Fatal(err)
				}
				if len(have) == len(pids)+1 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("module and process items on the gateway: %d of %d", len(have), len(pids)+1)
				}
				n.Flusher().Kick()
				time.Sleep(200 * time.Millisecond)
			}
			if d, err := env.gw.Data(ctx, mod.String()); err != nil || !bytes.Equal(d, wasm) {
				t.Fatalf("module data on the gateway: %d bytes, %v", len(d), err)
			}
			// Checkpoints: each process evaluated 10 messages (+ spawn) with one every 7, so each has
			// one at nonce 6, flushed because the log up to it is up.
			deadline = time.Now().Add(30 * time.Second)
			for {
				cps, err := env.gw.QueryAll(ctx, []arweave.TagFilter{{Name: "Type", Values: []string{"Checkpoint"}}, {Name: arweave.TagAppName, Values: []string{arweave.AppName}},
					{Name: "Process", Values: idStrings(pids)}})
				if err != nil {
					t.Fatal(err)
				}
				if len(cps) >= len(pids) {
					for _, cp := range cps {
						tags := ans104.Tags(cp.Tags)
						if tags.Value("Content-Encoding") != "zstd" || tags.Value("Module") != mod.String() || len(tags.Value("SHA-256")) != 64 {
							t.Fatalf("checkpoint tags %v", cp.Tags)
						}
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d checkpoints on the gateway, want %d", len(cps), len(pids))
				}
				n.Flusher().Kick()
				time.Sleep(200 * time.Millisecond)
			}
			st := n.Flusher().Stats()
			if st.Uploads < 2 || st.Entries != 44 {
				t.Fatalf("flusher stats %+v", st)
			}
			t.Logf("%s: %+v", path, st)
		})
	}
}

func idStrings(ids []ans104.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// A node started with a gateway but no wallet or bundler refuses to start, saying what is missing.
func TestFlushConfigErrors(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Flush.Gateway = "http://127.0.0.1:1"
	if _, err := Start(context.Background(), cfg); err == nil || !bytes.Contains([]byte(err.Error()), []byte("--wallet")) {
		t.Fatalf("start with --gateway alone: %v", err)
	}
	key := filepath.Join(t.TempDir(), "ed.json")
	ed, _ := ans104.GenerateEd25519Signer()
	_ = ans104.SaveKeyFile(key, ed)
	cfg.DataDir, cfg.Flush.Wallet = t.TempDir(), key
	if _, err := Start(context.Background(), cfg); err == nil || !bytes.Contains([]byte(err.Error()), []byte("RSA")) {
		t.Fatalf("start with an ed25519 wallet: %v", err)
	}
	_ = os.Remove(key)
}

// --checkpoint-interval: with the every-N checkpoint out of reach, a process that keeps evaluating
// is checkpointed once its last checkpoint is older than the interval; with the interval off it is
// not (the same load, so the test can fail).
func TestCheckpointInterval(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, interval := range []time.Duration{0, 100 * time.Millisecond} {
		n := startNode(t, t.TempDir(), func(c *Config) {
			c.API.RequestTimeout = time.Minute
			c.Actors.CheckpointEvery = 1_000_000
			c.Actors.CheckpointInterval = interval
		})
		user, _ := ans104.GenerateEd25519Signer()
		c := client.New(n.URL(), user)
		mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
		if err != nil {
			t.Fatal(err)
		}
		pid, err := c.Spawn(ctx, mod, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ {
			id, err := c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Result(ctx, pid, id); err != nil {
				t.Fatal(err)
			}
			time.Sleep(60 * time.Millisecond)
		}
		cps, err := n.store.QueuedCheckpoints(100)
		if err != nil {
			t.Fatal(err)
		}
		n.Close(context.Background())
		if interval == 0 && len(cps) != 0 {
			t.Fatalf("interval off: %d checkpoints", len(cps))
		}
		if interval > 0 && len(cps) < 2 {
			t.Fatalf("interval %v over ~400 ms of evaluations: %d checkpoints, want at least 2", interval, len(cps))
		}
	}
}

// The flusher is off the acknowledgement path: with a gateway that accepts connections and never
// answers, messages are still acknowledged and evaluated, and nothing is marked flushed.
func TestFlushNeverDelaysAcks(t *testing.T) {
	wasm := testutil.Module(t, "aoslike")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a black hole: accept, read, never answer
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	key := filepath.Join(t.TempDir(), "wallet.json")
	w, _ := ans104.GenerateRSASigner()
	_ = ans104.SaveKeyFile(key, w)
	n := startNode(t, t.TempDir(), func(c *Config) {
		c.Flush.Gateway, c.Flush.Wallet, c.Flush.Interval = "http://"+ln.Addr().String(), key, 10*time.Millisecond
		c.API.RequestTimeout = time.Minute // the first spawn compiles the module: slow under -race on a loaded machine
	})
	defer n.Close(context.Background())
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var last ans104.ID
	for i := 0; i < 30; i++ {
		if last, err = c.Send(ctx, pid, []byte("x = (x or 0) + 1; return x"), []ans104.Tag{{Name: "Action", Value: "Eval"}}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.Result(ctx, pid, last)
	if err != nil {
		t.Fatal(err)
	}
	if got := evalOutput(t, r); got != "30" {
		t.Fatalf("output %q", got)
	}
	if cur, _ := n.store.FlushCursor(pid); cur != 0 {
		t.Fatalf("flush cursor %d with a gateway that never answered", cur)
	}
}

package arweave_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/internal/bundlershim"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/scheduler"
)

var (
	walletOnce sync.Once
	wallet     *ans104.RSASigner
)

// testWallet is one 4096-bit RSA wallet for the package's tests (generating one takes a second).
func testWallet(t *testing.T) *ans104.RSASigner {
	walletOnce.Do(func() {
		w, err := ans104.GenerateRSASigner()
		if err != nil {
			panic(err)
		}
		wallet = w
	})
	return wallet
}

// fakeLog builds n signed entries of a process as a node would: the process item at nonce 0, then
// messages, each with its assignment signed by the node key and hash-chained.
func fakeLog(t *testing.T, node, user ans104.Signer, n int) (ans104.ID, []arweave.LogEntry) {
	t.Helper()
	proc := ans104.NewItem([]byte(fmt.Sprintf("proc %d", time.Now().UnixNano())), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"},
		{Name: "Module", Value: ans104.ID{1}.String()}, {Name: "Scheduler", Value: "x"}})
	if err := proc.Sign(user); err != nil {
		t.Fatal(err)
	}
	pid := proc.ID()
	var out []arweave.LogEntry
	hc := scheduler.Seed(pid)
	var prev ans104.ID
	for i := 0; i < n; i++ {
		var msg *ans104.DataItem
		if i > 0 {
			msg = ans104.NewItem([]byte(fmt.Sprintf("msg %d", i)), pid[:], nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}})
			if err := msg.Sign(user); err != nil {
				t.Fatal(err)
			}
		}
		if i > 0 {
			hc = scheduler.Link(prev, hc)
		}
		a := ans104.Assignment{Process: pid, Nonce: uint64(i), HashChain: hc, Timestamp: int64(1000 + i)}
		if msg != nil {
			a.Message = msg.ID()
		}
		asg := ans104.NewItem(nil, nil, nil, a.Tags())
		if err := asg.Sign(node); err != nil {
			t.Fatal(err)
		}
		prev = asg.ID()
		e := arweave.LogEntry{Nonce: uint64(i), Assignment: asg.Bytes()}
		if msg != nil {
			e.Message = msg.Bytes()
		} else {
			e.Message = proc.Bytes()
		}
		out = append(out, e)
	}
	return pid, out
}

func signed(t *testing.T, s ans104.Signer, d *ans104.DataItem, err error) *ans104.DataItem {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sign(s); err != nil {
		t.Fatal(err)
	}
	return d
}

// readBatches reads every Log-Batch of pid from the gateway, sorted by From-Nonce, and returns the
// entries they hold.
func readBatches(t *testing.T, ctx context.Context, gw *arweave.Gateway, pid ans104.ID) []arweave.BatchEntry {
	t.Helper()
	txs, err := gw.QueryAll(ctx, []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeLogBatch}}, {Name: arweave.TagProcess, Values: []string{pid.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	type batch struct {
		from, to uint64
		id       string
	}
	var bs []batch
	for _, tx := range txs {
		p, from, to, err := arweave.BatchRange(tx.Tags)
		if err != nil || p != pid {
			t.Fatalf("batch %s: %v (process %s)", tx.ID, err, p)
		}
		bs = append(bs, batch{from, to, tx.ID})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].from < bs[j].from })
	var out []arweave.BatchEntry
	for _, b := range bs {
		if b.from != uint64(len(out)) {
			t.Fatalf("batches of %s not contiguous: batch %s starts at %d after %d entries", pid, b.id, b.from, len(out))
		}
		data, err := gw.Data(ctx, b.id)
		if err != nil {
			t.Fatal(err)
		}
		es, err := arweave.ParseLogBatch(pid, b.from, b.to, data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, es...)
	}
	return out
}

func checkEntries(t *testing.T, got []arweave.BatchEntry, want []arweave.LogEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries on the gateway, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Assignment.Bytes(), want[i].Assignment) || !bytes.Equal(got[i].Message.Bytes(), want[i].Message) {
			t.Fatalf("entry %d differs on the gateway", i)
		}
	}
}

// Both upload paths against arlocal: log batches of two processes, a checkpoint and a standalone
// item go up, read back by GraphQL and GET, and every item verifies; posting an upload again
// changes nothing.
func TestUploadPathsArlocal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	w := testWallet(t)
	node, _ := ans104.GenerateEd25519Signer()
	user, _ := ans104.GenerateEd25519Signer()
	for _, addr := range []string{ans104.Address(w.SignatureType(), w.Owner()), ans104.Address(node.SignatureType(), node.Owner()), ans104.Address(user.SignatureType(), user.Owner())} {
		if err := ar.Mint(ctx, addr); err != nil {
			t.Fatal(err)
		}
	}
	gw := arweave.NewGateway(ar.URL)
	l1, err := arweave.NewL1(ar.URL, w)
	if err != nil {
		t.Fatal(err)
	}
	shim, err := bundlershim.Start(ar.URL, w, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer shim.Close()
	bundler, err := arweave.NewBundler(shim.URL, gw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arweave.NewL1(ar.URL, node); err == nil {
		t.Fatal("the L1 path accepted an ed25519 wallet")
	}

	for _, poster := range []arweave.Poster{l1, bundler} {
		t.Run(poster.Name()[:2], func(t *testing.T) {
			pidA, logA := fakeLog(t, node, user, 5)
			pidB, logB := fakeLog(t, node, user, 3)
			b1, err := arweave.LogBatch(pidA, logA[:2])
			b1 = signed(t, node, b1, err)
			b2, err := arweave.LogBatch(pidA, logA[2:])
			b2 = signed(t, node, b2, err)
			b3, err := arweave.LogBatch(pidB, logB)
			b3 = signed(t, node, b3, err)
			mem := bytes.Repeat([]byte("memory"), 1000)
			cp := signed(t, node, arweave.CheckpointItem(ans104.Checkpoint{Process: pidA, Module: ans104.ID{1}, Nonce: 4}, sha256.Sum256(mem), []byte("zstd-bytes")), nil)
			standalone := signed(t, user, ans104.NewItem([]byte("to a wallet"), nil, nil, []ans104.Tag{{Name: "Type", Value: "Message"}}), nil)

			up, err := poster.Prepare(ctx, []*ans104.DataItem{b1, b3, cp, standalone})
			if err != nil {
				t.Fatal(err)
			}
			// The record survives encoding (it is what a restart posts again).
			dec, err := arweave.DecodeUpload(up.Encode())
			if err != nil || dec.TxID != up.TxID || !bytes.Equal(dec.Tx, up.Tx) || len(dec.IDs) != 4 || dec.IDs[2] != cp.ID() || dec.Bytes != up.Bytes {
				t.Fatalf("upload record does not round-trip: %v", err)
			}
			if ok, err := poster.Landed(ctx, dec); err != nil || ok {
				t.Fatalf("Landed before posting = %v, %v", ok, err)
			}
			if err := poster.Post(ctx, dec); err != nil {
				t.Fatal(err)
			}
			if ok, err := poster.Landed(ctx, dec); err != nil || !ok {
				t.Fatalf("Landed after posting = %v, %v", ok, err)
			}
			_ = poster.Post(ctx, dec) // again: arlocal refuses the same L1 tx (404), the bundler deduplicates
			up2, err := poster.Prepare(ctx, []*ans104.DataItem{b2})
			if err != nil {
				t.Fatal(err)
			}
			if err := poster.Post(ctx, up2); err != nil {
				t.Fatal(err)
			}

			checkEntries(t, readBatches(t, ctx, gw, pidA), logA)
			checkEntries(t, readBatches(t, ctx, gw, pidB), logB)
			// The checkpoint by its AO tags, its data as uploaded.
			cps, err := gw.QueryAll(ctx, []arweave.TagFilter{{Name: "Type", Values: []string{"Checkpoint"}}, {Name: "Process", Values: []string{pidA.String()}}, {Name: arweave.TagAppName, Values: []string{arweave.AppName}}})
			if err != nil || len(cps) != 1 || cps[0].ID != cp.ID().String() {
				t.Fatalf("checkpoint by tags: %v %+v", err, cps)
			}
			if v := ans104.Tags(cps[0].Tags).Value("SHA-256"); v == "" || v != fmt.Sprintf("%x", sha256.Sum256(mem)) {
				t.Fatalf("checkpoint SHA-256 tag %q", v)
			}
			if d, err := gw.Data(ctx, cp.ID().String()); err != nil || string(d) != "zstd-bytes" {
				t.Fatalf("checkpoint data %q, %v", d, err)
			}
			// The standalone item is there as itself: its id, owner and data.
			txs, err := gw.ByIDs(ctx, []ans104.ID{standalone.ID()})
			if err != nil || len(txs) != 1 || txs[0].Owner.Address != standalone.OwnerAddress() {
				t.Fatalf("standalone item by id: %v %+v", err, txs)
			}
			// No batch is there twice.
			all, err := gw.QueryAll(ctx, []arweave.TagFilter{{Name: arweave.TagType, Values: []string{arweave.TypeLogBatch}}, {Name: arweave.TagProcess, Values: []string{pidA.String(), pidB.String()}}})
			if err != nil || len(all) != 3 {
				t.Fatalf("%d log batches on the gateway, want 3 (%v)", len(all), err)
			}
		})
	}
	items, posts, dups := shim.Stats()
	if items != 5 || dups != 4 || posts != 9 {
		t.Fatalf("bundler shim: %d items posted, %d requests, %d duplicates; want 5, 9, 4", items, posts, dups)
	}
}

// A log batch whose nonces are not contiguous is refused when built, and one whose bundle does not
// match its tags is refused when read.
func TestLogBatchChecks(t *testing.T) {
	node, _ := ans104.GenerateEd25519Signer()
	user, _ := ans104.GenerateEd25519Signer()
	pid, log := fakeLog(t, node, user, 4)
	if _, err := arweave.LogBatch(pid, []arweave.LogEntry{log[0], log[2]}); err == nil {
		t.Fatal("a gap was accepted")
	}
	b, err := arweave.LogBatch(pid, log[1:3])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := arweave.ParseLogBatch(pid, 1, 2, b.Data); err != nil {
		t.Fatal(err)
	}
	if _, err := arweave.ParseLogBatch(pid, 0, 1, b.Data); err == nil {
		t.Fatal("a batch read with the wrong range was accepted")
	}
	if _, err := arweave.ParseLogBatch(pid, 1, 3, b.Data); err == nil {
		t.Fatal("a short batch was accepted")
	}
	_, from, to, err := arweave.BatchRange(b.Tags)
	if err != nil || from != 1 || to != 2 || b.Tags.Value("Bundle-Format") != "binary" || b.Tags.Value("From-Nonce") != strconv.Itoa(1) {
		t.Fatalf("tags: %v %d %d", err, from, to)
	}
}

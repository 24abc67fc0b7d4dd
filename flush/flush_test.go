package flush

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/internal/arlocal"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/scheduler"
)

// fill registers a process and appends n signed entries, as the node's scheduler would.
func fill(t *testing.T, st *persistence.Store, node, user ans104.Signer, n int) ans104.ID {
	t.Helper()
	proc := ans104.NewItem([]byte(fmt.Sprint(time.Now().UnixNano())), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"},
		{Name: "Type", Value: "Process"}, {Name: "Module", Value: ans104.ID{1}.String()}, {Name: "Scheduler", Value: "s"}})
	if err := proc.Sign(user); err != nil {
		t.Fatal(err)
	}
	pid := proc.ID()
	if err := st.PutProcess(context.Background(), persistence.Process{ID: pid, ModuleID: ans104.ID{1}, Owner: proc.Owner, Item: proc.Bytes()}); err != nil {
		t.Fatal(err)
	}
	hc := scheduler.Seed(pid)
	var prev ans104.ID
	for i := 0; i < n; i++ {
		if i > 0 {
			hc = scheduler.Link(prev, hc)
		}
		a := ans104.Assignment{Process: pid, Nonce: uint64(i), HashChain: hc, Timestamp: time.Now().UnixMilli()}
		e := persistence.Entry{Process: pid, Nonce: uint64(i), Timestamp: a.Timestamp, HashChain: hc}
		if i > 0 {
			msg := ans104.NewItem([]byte(fmt.Sprintf("m%d", i)), pid[:], nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}})
			if err := msg.Sign(user); err != nil {
				t.Fatal(err)
			}
			a.Message, e.MessageID, e.Message = msg.ID(), msg.ID(), msg.Bytes()
		}
		asg := ans104.NewItem(nil, nil, nil, a.Tags())
		if err := asg.Sign(node); err != nil {
			t.Fatal(err)
		}
		e.AssignmentID, e.Assignment = asg.ID(), asg.Bytes()
		if err := st.Append(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		prev = asg.ID()
	}
	return pid
}

// A gateway that fails: the first upload reaches arlocal but the node gets a 502 (the answer was
// lost), the second attempt at the next upload is refused with 503 before reaching it. The
// flusher retries with backoff, does not post what landed again, and every range is on the gateway
// exactly once.
func TestRetriesWithoutDuplicates(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	wallet, err := ans104.GenerateRSASigner()
	if err != nil {
		t.Fatal(err)
	}
	walletPath := filepath.Join(t.TempDir(), "w.json")
	if err := ans104.SaveKeyFile(walletPath, wallet); err != nil {
		t.Fatal(err)
	}
	node, _ := ans104.GenerateEd25519Signer()
	user, _ := ans104.GenerateEd25519Signer()
	for _, s := range []ans104.Signer{wallet, node, user} {
		if err := ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
			t.Fatal(err)
		}
	}
	target, _ := url.Parse(ar.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	posts := 0
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/tx" {
			mu.Lock()
			posts++
			n := posts
			mu.Unlock()
			switch n {
			case 1: // lands, but the answer is lost
				rp.ServeHTTP(httptest.NewRecorder(), r)
				http.Error(w, "bad gateway", http.StatusBadGateway)
				return
			case 2, 3: // refused
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()

	st, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pa := fill(t, st, node, user, 5)
	f, err := New(Config{Gateway: proxy.URL, Wallet: walletPath, Interval: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, st, node, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	defer f.Stop()
	waitCursor := func(pid ans104.ID, want uint64) {
		deadline := time.Now().Add(time.Minute)
		for {
			if c, _ := st.FlushCursor(pid); c == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("flush cursor of %s did not reach %d (stats %+v)", pid, want, f.Stats())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitCursor(pa, 5)
	pb := fill(t, st, node, user, 3) // the next upload meets the refusals
	waitCursor(pb, 3)
	// The cursor moves when the upload completes, the counters just after it.
	s := f.Stats()
	for deadline := time.Now().Add(10 * time.Second); s.Entries < 8 && time.Now().Before(deadline); s = f.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	if s.Retries < 3 || s.Entries != 8 {
		t.Fatalf("stats %+v: want at least 3 retries and 8 entries", s)
	}
	gw := arweave.NewGateway(ar.URL)
	for pid, n := range map[ans104.ID]int{pa: 5, pb: 3} {
		got, batches, err := gw.ReadLog(ctx, pid, ans104.Address(node.SignatureType(), node.Owner()))
		if err != nil {
			t.Fatal(err)
		}
		// ReadLog refuses overlapping batches; the flusher may have taken a log in several uploads.
		if len(got) != n {
			t.Fatalf("process %s: %d entries in %d batches on the gateway, want %d", pid, len(got), len(batches), n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	// Every upload is posted once, plus the two refused attempts: the one whose answer was lost is
	// not posted again.
	if st := f.Stats(); posts != int(st.Uploads)+2 {
		t.Fatalf("%d POST /tx for %d uploads, want %d", posts, st.Uploads, st.Uploads+2)
	}
}

// A gateway that refuses the recorded L1 transaction with 400 (as Arweave does once its anchor has
// expired): the flusher re-signs only the envelope, and the data items that land are the ones it
// signed first, with the same ids.
func TestReenvelopeKeepsItems(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	walletPath, node, user := fundedKeys(t, ctx, ar)
	target, _ := url.Parse(ar.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	var mu sync.Mutex
	var first []ans104.ID // the items of the refused transaction
	var txids []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/tx" {
			body, _ := io.ReadAll(r.Body)
			var tx struct {
				ID   string `json:"id"`
				Data string `json:"data"`
			}
			_ = json.Unmarshal(body, &tx)
			mu.Lock()
			txids = append(txids, tx.ID)
			n := len(txids)
			if n == 1 {
				data, _ := ans104.DecodeB64(tx.Data)
				items, _ := ans104.DecodeBundle(data, ans104.Limits{})
				for _, it := range items {
					first = append(first, it.ID())
				}
			}
			mu.Unlock()
			if n == 1 {
				http.Error(w, "Invalid anchor (last_tx).", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	st, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pid := fill(t, st, node, user, 4)
	f, err := New(Config{Gateway: proxy.URL, Wallet: walletPath, Interval: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, st, node, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	defer f.Stop()
	deadline := time.Now().Add(time.Minute)
	for {
		if c, _ := st.FlushCursor(pid); c == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not flushed (stats %+v)", f.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(txids) != 2 || txids[0] == txids[1] || len(first) != 1 {
		t.Fatalf("transactions posted %v, items in the first %d: want two different envelopes", txids, len(first))
	}
	batches, err := arweave.NewGateway(ar.URL).ListBatches(ctx, pid)
	if err != nil || len(batches) != 1 || batches[0].ID != first[0].String() {
		t.Fatalf("batches on the gateway %+v (%v); want the one first signed, %s", batches, err, first[0])
	}
}

// An upload whose bundle is just over a 256 KiB chunk boundary, an odd number of bytes into it
// (one standalone item of 256 KiB + 1001 - 96 bytes), lands through the L1 path. Before the L1
// path padded such sizes, arlocal refused it with 400 "Bad Request" (`"data_root" is invalid`) and
// the flusher re-signed and retried it for ever (Uploads 0).
func TestL1UploadAtChunkBoundary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ar := testutil.Arlocal(t)
	walletPath, node, user := fundedKeys(t, ctx, ar)
	st, err := persistence.Open(t.TempDir(), persistence.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const size = 256<<10 + 1001 // the bundle: 32 + 64 bytes of header, then the item
	tags := []ans104.Tag{{Name: "Type", Value: "Message"}}
	empty := ans104.NewItem(nil, nil, nil, tags)
	if err := empty.Sign(user); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("x"), size-96-empty.Size())
	item := ans104.NewItem(data, nil, nil, tags)
	if err := item.Sign(user); err != nil {
		t.Fatal(err)
	}
	if n := len(ans104.EncodeBundle([]*ans104.DataItem{item})); n != size {
		t.Fatalf("bundle of %d bytes, want %d", n, size)
	}
	if err := st.PutItem(ctx, persistence.Item{ID: item.ID(), Raw: item.Bytes(), Owner: item.OwnerAddress(),
		Tags: []persistence.Tag{{Name: "Type", Value: "Message"}}, Timestamp: time.Now().UnixMilli()}); err != nil {
		t.Fatal(err)
	}
	f, err := New(Config{Gateway: ar.URL, Wallet: walletPath, Interval: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}, st, node, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Start()
	defer f.Stop()
	for deadline := time.Now().Add(time.Minute); f.Stats().Uploads == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not uploaded: stats %+v, health %+v", f.Stats(), f.Health())
		}
	}
	if s := f.Stats(); s.Retries != 0 || s.Items != 1 {
		t.Fatalf("stats %+v: want one item, no retries", s)
	}
	if got, err := arweave.NewGateway(ar.URL).Data(ctx, item.ID().String()); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the item on the gateway: %d bytes, %v", len(got), err)
	}
}

// fundedKeys makes an RSA wallet (saved to walletPath), a node key and a user key, each funded on
// the gateway.
func fundedKeys(t *testing.T, ctx context.Context, ar *arlocal.Instance) (walletPath string, node, user ans104.Signer) {
	t.Helper()
	wallet, _ := ans104.GenerateRSASigner()
	walletPath = filepath.Join(t.TempDir(), "w.json")
	if err := ans104.SaveKeyFile(walletPath, wallet); err != nil {
		t.Fatal(err)
	}
	node, _ = ans104.GenerateEd25519Signer()
	user, _ = ans104.GenerateEd25519Signer()
	for _, s := range []ans104.Signer{wallet, node, user} {
		if err := ar.Mint(ctx, ans104.Address(s.SignatureType(), s.Owner())); err != nil {
			t.Fatal(err)
		}
	}
	return walletPath, node, user
}

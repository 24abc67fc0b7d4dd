package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// mainnetFixture is a node with the aos-like module and one process spawned through POST /push.
type mainnetFixture struct {
	url    string
	signer ans104.Signer
	module ans104.ID
	pid    ans104.ID
}

func newMainnetFixture(t testing.TB) *mainnetFixture {
	t.Helper()
	wasm := testutil.Module(t, "aoslike")
	n := startNode(t)
	f := &mainnetFixture{url: n.URL()}
	var err error
	if f.signer, err = ans104.GenerateEd25519Signer(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if f.module, err = client.New(f.url, f.signer).PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2",
		MemoryLimit: "512-mb", ComputeLimit: "9000000000000"}); err != nil {
		t.Fatal(err)
	}
	sched, err := client.New(f.url, f.signer).SchedulerAddress(ctx)
	if err != nil {
		t.Fatal(err)
	}
	proc := f.item(t, nil, []ans104.Tag{{Name: "device", Value: "process@1.0"}, {Name: "execution-device", Value: "genesis-wasm@1.0"},
		{Name: "Scheduler", Value: sched}, {Name: "Authority", Value: sched}, {Name: "Module", Value: f.module.String()},
		{Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Process"}, {Name: "Variant", Value: "ao.TN.1"}})
	status, hdr, body := f.post(t, "/push", proc.Bytes())
	if status != http.StatusOK || hdr.Get("process") != proc.ID().String() {
		t.Fatalf("spawn: %d %q %s", status, hdr.Get("process"), body)
	}
	f.pid = proc.ID()
	return f
}

func (f *mainnetFixture) item(t testing.TB, target []byte, tags []ans104.Tag) *ans104.DataItem {
	t.Helper()
	anchor := make([]byte, 32)
	rand.Read(anchor) // distinct items: ed25519 signatures of equal items are equal
	it := ans104.NewItem([]byte("1984"), target, anchor, tags)
	if err := it.Sign(f.signer); err != nil {
		t.Fatal(err)
	}
	return it
}

func (f *mainnetFixture) message(t testing.TB, extra ...ans104.Tag) *ans104.DataItem {
	tags := append([]ans104.Tag{{Name: "Action", Value: "Hello"}, {Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"},
		{Name: "Variant", Value: "ao.TN.1"}, {Name: "require-codec", Value: "application/json"}}, extra...)
	return f.item(t, f.pid[:], tags)
}

func (f *mainnetFixture) post(t testing.TB, path string, body []byte) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.url+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/ans104")
	req.Header.Set("codec-device", "ans104@1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestMainnetBadInput: every refusal of the mainnet routes is a 4xx (or a 501 for a route the node
// does not serve) naming the reason, and nothing refused reaches the log.
func TestMainnetBadInput(t *testing.T) {
	f := newMainnetFixture(t)
	push := "/" + f.pid.String() + "~process@1.0/push"

	good := f.message(t)
	tampered := append([]byte(nil), good.Bytes()...)
	tampered[len(tampered)-1] ^= 1 // the data: the signature no longer matches
	wrongPath := f.message(t, ans104.Tag{Name: "path", Value: "/" + f.pid.String() + "~process@1.0/compute"})
	other := f.item(t, bytes.Repeat([]byte{7}, 32), []ans104.Tag{{Name: "Type", Value: "Message"}})
	cases := []struct {
		name, method, path string
		body               []byte
		status             int
		reason             string
	}{
		{"unsigned push", "POST", push, nil, 400, "must be a signed ANS-104 data item"},
		{"bad signature", "POST", push, tampered, 400, "signature"},
		{"path tag disagrees", "POST", push, wrongPath.Bytes(), 400, "disagrees with the URL path"},
		{"message for another process", "POST", push, other.Bytes(), 400, "not the process"},
		{"message posted as a spawn", "POST", "/push", good.Bytes(), 400, "not Process"},
		{"unknown device", "POST", "/" + f.pid.String() + "~bogus@0.1/push", good.Bytes(), 400, "unknown device"},
		{"unserved device", "GET", "/~relay@1.0/call", nil, 501, "relay@1.0 is not served"},
		{"unserved process key", "GET", "/" + f.pid.String() + "~process@1.0/snapshot/x", nil, 501, "not served"},
		{"slot beyond the log", "GET", "/" + f.pid.String() + "~process@1.0/compute/results=99", nil, 404, "beyond the log"},
		{"unknown process", "GET", "/" + strings.Repeat("A", 43) + "/slot/current", nil, 404, "not"},
		{"spawn by GET", "GET", "/" + f.pid.String() + "~process@1.0/push", nil, 400, "POST"},
	}
	for _, c := range cases {
		var status int
		var body string
		if c.method == "POST" {
			status, _, body = f.post(t, c.path, c.body)
		} else {
			resp, err := http.Get(f.url + c.path)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			status, body = resp.StatusCode, string(b)
		}
		if status != c.status || !strings.Contains(body, c.reason) {
			t.Errorf("%s: %d %s; want %d naming %q", c.name, status, body, c.status, c.reason)
		}
	}
	// Nothing refused was scheduled: the log holds the spawn only.
	resp, err := http.Get(f.url + "/" + f.pid.String() + "/slot/current")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "0" {
		t.Errorf("current slot after the refusals: %q, want 0", b)
	}
	// The good message is accepted once, and again (the same id) is a conflict.
	if status, _, body := f.post(t, push, good.Bytes()); status != 200 || !strings.Contains(body, `"slot":1`) {
		t.Errorf("good message: %d %s", status, body)
	}
	if status, _, body := f.post(t, push, good.Bytes()); status != http.StatusConflict {
		t.Errorf("the same message again: %d %s, want 409", status, body)
	}
	// The other spellings of a result read the same slot: compute=N, compute&slot=N, now (latest).
	for _, p := range []string{"/compute=1", "~process@1.0/compute&slot=1", "~process@1.0/now", "/compute/results=" + good.ID().String()} {
		resp, err := http.Get(f.url + "/" + f.pid.String() + p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"slot":1`) || !strings.Contains(string(b), `"raw":`) {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
	}
}

// BenchmarkAckLatency measures the acknowledgement of a message through the legacy POST / and
// through the mainnet POST /<pid>~process@1.0/push on the same node in the same run, alternating
// the two so that both see the same machine load. Reported: each route's mean and median, and the
// mainnet/legacy ratio of medians. Items are signed before the clock starts.
//
//	go test -run '^$' -bench BenchmarkAckLatency -benchtime 400x ./e2e/
func BenchmarkAckLatency(b *testing.B) {
	f := newMainnetFixture(b)
	push := "/" + f.pid.String() + "~process@1.0/push"
	legacy := make([][]byte, b.N)
	mainnet := make([][]byte, b.N)
	for i := range b.N {
		legacy[i] = f.message(b).Bytes()
		mainnet[i] = f.message(b).Bytes()
	}
	post := func(path string, body []byte, ct string) time.Duration {
		start := time.Now()
		resp, err := http.Post(f.url+path, ct, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode/100 != 2 {
			b.Fatalf("POST %s: %d", path, resp.StatusCode)
		}
		return d
	}
	var tl, tm []time.Duration
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			tl = append(tl, post("/", legacy[i], "application/octet-stream"))
			tm = append(tm, post(push, mainnet[i], "application/ans104"))
		} else {
			tm = append(tm, post(push, mainnet[i], "application/ans104"))
			tl = append(tl, post("/", legacy[i], "application/octet-stream"))
		}
	}
	b.StopTimer()
	ml, mm := median(tl), median(tm)
	b.ReportMetric(float64(mean(tl).Microseconds()), "legacy-mean-µs")
	b.ReportMetric(float64(mean(tm).Microseconds()), "mainnet-mean-µs")
	b.ReportMetric(float64(ml.Microseconds()), "legacy-median-µs")
	b.ReportMetric(float64(mm.Microseconds()), "mainnet-median-µs")
	b.ReportMetric(float64(mm)/float64(ml), "mainnet/legacy")
}

func median(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

// TestGraphQLBlocks: a scheduled item's GraphQL edge has a block (height and time of its
// assignment), as aos reads node.block.timestamp; blocks serves the node's current block.
func TestGraphQLBlocks(t *testing.T) {
	f := newMainnetFixture(t)
	msg := f.message(t)
	if status, _, body := f.post(t, "/"+f.pid.String()+"~process@1.0/push", msg.Bytes()); status != 200 {
		t.Fatalf("message: %d %s", status, body)
	}
	q := `{"query":"{ transactions(ids: [\"` + f.pid.String() + `\", \"` + msg.ID().String() + `\"]) { edges { node { id block { height timestamp } } } } blocks(first: 1) { edges { node { height timestamp } } } }"}`
	resp, err := http.Post(f.url+"/graphql", "application/json", strings.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Transactions struct {
				Edges []struct {
					Node struct {
						ID    string
						Block *struct{ Height, Timestamp int64 }
					}
				}
			}
			Blocks struct {
				Edges []struct {
					Node struct{ Height, Timestamp int64 }
				}
			}
		}
		Errors []any
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if len(out.Errors) > 0 || len(out.Data.Transactions.Edges) != 2 {
		t.Fatalf("graphql: %+v", out)
	}
	now := time.Now().Unix()
	for _, e := range out.Data.Transactions.Edges {
		if b := e.Node.Block; b == nil || b.Timestamp < now-120 || b.Timestamp > now+5 {
			t.Errorf("item %s: block %+v, want the time it was scheduled (now %d)", e.Node.ID, b, now)
		}
	}
	if len(out.Data.Blocks.Edges) != 1 || out.Data.Blocks.Edges[0].Node.Timestamp < now-5 {
		t.Errorf("blocks(first: 1): %+v", out.Data.Blocks)
	}
}

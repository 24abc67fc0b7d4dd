package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/api"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
	"github.com/actorweave/actorweave/internal/testutil/wasmcache"
)

// The fuzz targets of the HTTP layer: arbitrary requests, and arbitrary GraphQL queries, sent to
// the handler of a real node (Pebble in a temporary folder, one process spawned, one message
// evaluated) through a real net/http server with the node's limits, so that the request parsing
// is the server's own. What must hold for any input:
//
//   - no handler panics (net/http would recover it and log "http: panic serving"), and no handler
//     writes its status twice ("superfluous response.WriteHeader");
//   - an answer, within answerBound: every route is bounded by the node's timeouts;
//   - never 500 or 502: a malformed request is the client's fault, a 4xx. The 5xx a request may
//     get are the ones a well-formed request gets too: 501 (a HyperBEAM route this node does not
//     serve), 503 (the node is busy), 504 (an evaluation or a wait reached its timeout);
//   - an error answered in JSON is valid JSON (but for a HEAD, answered without a body).
//
// Inputs name the fixture's ids and items by tokens ({pid}, {msg}, {mod}, {proc-item}, ...), so
// that the seeds (real requests) reach the real data whatever the ids of this run are.

// answerBound is the longest a fuzzed request may take to be answered: the fixture's longest
// timeout (ResultTimeout, 3 s) with room for a loaded machine.
const answerBound = 15 * time.Second

type fuzzFixture struct {
	url    string
	tokens *strings.Replacer
	items  map[string][]byte // {proc-item}, {msg-item}, {ctl-item}: signed items, raw
	errlog *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// take returns what was written since the last take.
func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.b.String()
	l.b.Reset()
	return s
}

// newFuzzFixture starts a node with short timeouts, publishes the test module, spawns a process
// from a Process item it keeps (the owner's public item, as anyone reads it), sends it one Eval
// and waits for the result, and serves the node's handler on a server of its own whose error log
// the checks read.
func newFuzzFixture(f *testing.F) *fuzzFixture {
	f.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = f.TempDir()
	cfg.Listen = "127.0.0.1:0"
	cfg.Runtime.CacheDir = wasmcache.Dir(f)
	cfg.API.RequestTimeout = 2 * time.Second
	cfg.API.ResultTimeout = 3 * time.Second
	cfg.Actors.DryRun.Deadline = 2 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := Start(context.Background(), cfg)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(n.URL(), user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: testutil.Module(f, "aoslike"), Format: "wasm32-unknown-emscripten2", MemoryLimit: "512-mb", ComputeLimit: "9000000000000"})
	if err != nil {
		f.Fatal(err)
	}
	sched, err := c.SchedulerAddress(ctx)
	if err != nil {
		f.Fatal(err)
	}
	proc, _ := c.Sign([]byte(" "), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"},
		{Name: "Type", Value: "Process"}, {Name: "Module", Value: mod.String()}, {Name: "Scheduler", Value: sched}, {Name: "Name", Value: "fuzz"}})
	pid, err := c.PostItem(ctx, proc)
	if err != nil {
		f.Fatal(err)
	}
	msg, _ := c.MessageItem(pid, []byte("return 6 * 7"), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if _, err := c.PostItem(ctx, msg); err != nil {
		f.Fatal(err)
	}
	if _, err := c.Result(ctx, pid, msg.ID()); err != nil {
		f.Fatal(err)
	}
	ctl, _ := c.Sign([]byte(" "), &pid, nil, []ans104.Tag{{Name: "Action", Value: "Unmonitor"}, {Name: "Timestamp", Value: strconv.FormatInt(time.Now().UnixMilli(), 10)}})
	fresh, _ := c.MessageItem(pid, []byte("return 1"), []ans104.Tag{{Name: "Action", Value: "Eval"}})

	fx := &fuzzFixture{errlog: &lockedBuffer{},
		items: map[string][]byte{"{proc-item}": proc.Bytes(), "{msg-item}": msg.Bytes(), "{ctl-item}": ctl.Bytes(), "{fresh-item}": fresh.Bytes()}}
	fx.tokens = strings.NewReplacer("{pid}", pid.String(), "{msg}", msg.ID().String(), "{mod}", mod.String(), "{sched}", sched)
	hs := httptest.NewUnstartedServer(n.srv.Handler)
	hs.Config = api.NewHTTPServer(n.srv.Handler, cfg.API.Server)
	hs.Config.ErrorLog = log.New(fx.errlog, "", 0)
	hs.Start()
	f.Cleanup(hs.Close)
	fx.url = hs.URL
	return fx
}

// body substitutes the tokens of b: ids as text, items as their bytes.
func (fx *fuzzFixture) body(b []byte) []byte {
	for tok, item := range fx.items {
		b = bytes.ReplaceAll(b, []byte(tok), item)
	}
	return []byte(fx.tokens.Replace(string(b)))
}

// fuzzAnswer is what the server answered.
type fuzzAnswer struct {
	head    bool // the answer to a HEAD, which has no body
	status  int
	header  http.Header
	body    []byte
	elapsed time.Duration
}

// send writes one request, as raw HTTP/1.1, and reads the answer. headers are "Name: value"
// lines; the framing headers (Host, Content-Length, Transfer-Encoding, Connection) are the
// harness's, so that the server never waits for a body the harness will not send. ok is false for
// a request line or header that cannot be sent as one request (a line break inside).
func (fx *fuzzFixture) send(t *testing.T, method, target, headers string, body []byte) (a fuzzAnswer, ok bool) {
	t.Helper()
	if strings.ContainsAny(method+target, "\r\n ") || method == "" {
		return a, false
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: fuzz\r\n", method, fx.tokens.Replace(target))
	for _, line := range strings.Split(fx.tokens.Replace(headers), "\n") {
		line = strings.TrimSuffix(line, "\r")
		name, _, found := strings.Cut(line, ":")
		if !found || strings.ContainsRune(line, '\r') {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "host", "content-length", "transfer-encoding", "connection", "expect":
			continue
		}
		req.WriteString(line + "\r\n")
	}
	fmt.Fprintf(&req, "Content-Length: %d\r\nConnection: close\r\n\r\n", len(body))
	req.Write(body)

	conn, err := net.Dial("tcp", strings.TrimPrefix(fx.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(answerBound))
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatalf("writing the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("no answer to %s %q after %s: %v\nserver log: %s", method, target, time.Since(start), err, fx.errlog.take())
	}
	a.body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	a.elapsed, a.status, a.header, a.head = time.Since(start), resp.StatusCode, resp.Header, method == http.MethodHead
	if err != nil {
		t.Fatalf("%s %q: reading the answer after %s: %v", method, target, a.elapsed, err)
	}
	return a, true
}

// check applies the invariants every answer must keep.
func (fx *fuzzFixture) check(t *testing.T, what string, a fuzzAnswer) {
	t.Helper()
	if l := fx.errlog.take(); strings.Contains(l, "panic") || strings.Contains(l, "superfluous") {
		t.Fatalf("%s: the server logged:\n%s", what, l)
	}
	switch {
	case a.status == http.StatusInternalServerError || a.status == http.StatusBadGateway,
		a.status >= 500 && a.status != http.StatusNotImplemented && a.status != http.StatusServiceUnavailable && a.status != http.StatusGatewayTimeout:
		t.Fatalf("%s: %d %.500s", what, a.status, a.body)
	case a.status >= 400 && !a.head && strings.HasPrefix(a.header.Get("Content-Type"), "application/json") && !json.Valid(a.body):
		t.Fatalf("%s: %d with a body that is not JSON: %.500q", what, a.status, a.body)
	}
}

// FuzzHTTPRequest sends arbitrary requests (method, path and query, headers, body) to the node's
// server.
func FuzzHTTPRequest(f *testing.F) {
	evalJSON := `{"Id":"1234","Owner":"1234","Target":"{pid}","Data":"return 1","Anchor":"0","Tags":[{"name":"Action","value":"Eval"},{"name":"Data-Protocol","value":"ao"},{"name":"Type","value":"Message"},{"name":"Variant","value":"ao.TN.1"}]}`
	ans104CT := "Content-Type: application/ans104\ncodec-device: ans104@1.0"
	for _, s := range []struct {
		method, target, headers, body string
	}{
		{"GET", "/", "", ""},
		{"GET", "/timestamp", "", ""},
		{"GET", "/info", "", ""},
		{"GET", "/healthz", "", ""},
		{"GET", "/{pid}", "", ""},
		{"GET", "/{pid}?from=0&to=99999999999999&limit=2", "", ""},
		{"GET", "/{pid}?from-nonce=-1&to-nonce=5&limit=1000&show-anchor", "", ""},
		{"GET", "/{msg}?process-id={pid}", "", ""},
		{"GET", "/processes/{pid}", "", ""},
		{"GET", "/{pid}/latest", "", ""},
		{"GET", "/result/{msg}?process-id={pid}", "Accept: application/json", ""},
		{"GET", "/results/{pid}?sort=DESC&limit=2", "", ""},
		{"GET", "/results/{pid}?from=eyJ0aW1lc3RhbXAiOjEsIm9yZGluYXRlIjoiMSIsInNvcnQiOiJBU0MifQ==&limit=1", "", ""},
		{"GET", "/cron/{pid}?limit=5", "", ""},
		{"GET", "/state/{pid}", "", ""},
		{"GET", "/raw/{mod}", "", ""},
		{"HEAD", "/{mod}", "", ""},
		{"GET", "/{mod}/data", "", ""},
		{"GET", "/cluster/status", "", ""},
		{"POST", "/dry-run?process-id={pid}", "Content-Type: application/json", evalJSON},
		{"POST", "/", "Content-Type: application/octet-stream", "{fresh-item}"},
		{"POST", "/", "Content-Type: application/octet-stream", "{msg-item}"},
		{"POST", "/?process-id={pid}&assign={msg}", "", ""},
		{"POST", "/?process-id={pid}&assign={msg}&exclude=Data,Anchor&base-layer", "", ""},
		{"POST", "/tx", "Content-Type: application/octet-stream", "{proc-item}"},
		{"DELETE", "/monitor/{pid}", "", "{proc-item}"},
		{"DELETE", "/monitor/{pid}", "", "{ctl-item}"},
		{"POST", "/monitor/{pid}", "", "{msg-item}"},
		{"POST", "/graphql", "Content-Type: application/json", `{"query":"{ transactions(ids: [\"{pid}\"]) { edges { node { id tags { name value } } } } }"}`},
		{"POST", "/cluster/forget", "Content-Type: application/json", `{"node":"x"}`},
		{"POST", "/cluster/resolve-fork", "Content-Type: application/json", `{"process":"{pid}","keep":"x"}`},
		{"GET", "/~meta@1.0/info", "", ""},
		{"GET", "/~meta@1.0/info/address", "", ""},
		{"GET", "/{pid}~process@1.0/compute=1", "", ""},
		{"GET", "/{pid}~process@1.0/compute/results=1", "", ""},
		{"GET", "/{pid}~process@1.0/now", "", ""},
		{"GET", "/{pid}~process@1.0/slot/current", "require-codec: application/json", ""},
		{"GET", "/{pid}~process@1.0/as=execution/compute&Action=Eval", "", ""},
		{"POST", "/{pid}~process@1.0/as=execution/compute&Action=Info", ans104CT, "{fresh-item}"},
		{"POST", "/{pid}~process@1.0/push", ans104CT, "{fresh-item}"},
		{"POST", "/push", ans104CT, "{proc-item}"},
		{"POST", "/{pid}~relay@1.0/call", "", ""},
		{"POST", "/{pid}/push", "signing-format: httpsig\nsignature: sig1=:AAAA:\nsignature-input: sig1=(\"@path\");keyid=\"x\";alg=\"rsa-pss-sha512\"", ""},
	} {
		f.Add(s.method, s.target, s.headers, []byte(s.body))
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, method, target, headers string, body []byte) {
		a, ok := fx.send(t, method, target, headers, fx.body(body))
		if !ok {
			return
		}
		t.Logf("%s %q: %d in %s: %.200s", method, target, a.status, a.elapsed, a.body)
		fx.check(t, fmt.Sprintf("%s %q", method, target), a)
	})
}

// FuzzGraphQL sends arbitrary GraphQL queries, variables and operation names to POST /graphql.
// Beyond the invariants of every request: the answer is 200 with a GraphQL response (data or
// errors), or a 4xx refusal (400 for a malformed or over-budget query, 413, 422 for what the node
// does not support).
func FuzzGraphQL(f *testing.F) {
	tagsQuery := `query ($tags: [TagFilter!]!, $first: Int) { transactions(tags: $tags, first: $first, sort: HEIGHT_DESC) {
  pageInfo { hasNextPage } edges { cursor node { id anchor signature recipient owner { address key } fee { winston ar }
  quantity { winston ar } data { size type } tags { name value } block { id timestamp height previous } bundledIn { id } } } } }`
	for _, s := range []struct{ query, vars, op string }{
		{`{ transactions(ids: ["{pid}"]) { edges { node { id owner { address } tags { name value } } } } }`, ``, ``},
		{tagsQuery, `{"tags":[{"name":"Data-Protocol","values":["ao"]},{"name":"Type","values":["Module"]}],"first":100}`, ``},
		{`query GetProcess($ids: [ID!]) { transactions(ids: $ids) { edges { node { id tags { name value } block { height timestamp } } } } }`, `{"ids":["{pid}","{msg}"]}`, `GetProcess`},
		{`{ transaction(id: "{mod}") { id data { size type } owner { address } } }`, ``, ``},
		{`{ transactions(owners: ["{sched}"], recipients: ["{pid}"], first: 5, after: "x", sort: HEIGHT_ASC) { pageInfo { hasNextPage } edges { cursor } } }`, ``, ``},
		{`{ transactions(tags: [{name: "Type", values: ["Process"], op: NEQ}]) { edges { cursor } } }`, ``, ``},
		{`{ transactions(bundledIn: ["{pid}"]) { edges { cursor } } }`, ``, ``},
		{`{ blocks(first: 1, height: {min: 0, max: 100000000}) { edges { cursor node { id height timestamp previous } } } }`, ``, ``},
		{`{ a: transactions(first: 1000) { edges { node { id } } } b: transactions(first: 1000) { edges { node { id } } } }`, ``, ``},
		{`query A { transactions { edges { cursor } } } query B { blocks { edges { cursor } } }`, `null`, `B`},
		{`fragment F on Transaction { id tags { name } } { transactions(first: 2) { edges { node { ...F } } } }`, `{}`, ``},
		{`{ __schema { types { name fields { name } } } }`, ``, ``},
		{`{ transactions(first: -1) { edges { cursor } } }`, ``, ``},
		{`{`, `[1,2]`, `x`},
	} {
		f.Add(s.query, s.vars, s.op)
	}
	fx := newFuzzFixture(f)
	f.Fuzz(func(t *testing.T, query, vars, op string) {
		req := map[string]any{"query": fx.tokens.Replace(query)}
		if op != "" {
			req["operationName"] = op
		}
		if v := fx.tokens.Replace(vars); json.Valid([]byte(v)) {
			req["variables"] = json.RawMessage(v)
		}
		body, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		a, _ := fx.send(t, http.MethodPost, "/graphql", "Content-Type: application/json", body)
		what := fmt.Sprintf("GraphQL %.200q %.200q", query, vars)
		t.Logf("%d in %s: %.200s", a.status, a.elapsed, a.body)
		fx.check(t, what, a)
		switch a.status {
		case http.StatusOK:
			var r struct {
				Data   json.RawMessage `json:"data"`
				Errors json.RawMessage `json:"errors"`
			}
			if err := json.Unmarshal(a.body, &r); err != nil || (len(r.Data) == 0 && len(r.Errors) == 0) {
				t.Fatalf("%s: 200 without a GraphQL response (%v): %.500s", what, err, a.body)
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("%s: %d %.500s", what, a.status, a.body)
		}
	})
}

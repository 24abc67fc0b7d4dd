package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorweave/actorweave/ans104"
)

// Config bounds what the HTTP layer accepts. Every field has a default (DefaultConfig) and a flag
// on `actorweave node`.
type Config struct {
	Limits ans104.Limits // data items from outside
	// ResultTimeout bounds how long GET /result waits for an evaluation.
	ResultTimeout time.Duration
	// RequestTimeout bounds every other request.
	RequestTimeout time.Duration
	// MaxDryRunBytes bounds a dry-run JSON body.
	MaxDryRunBytes int64
	// ControlWindow is how far a control item's Timestamp tag may be from the node's clock.
	ControlWindow time.Duration
	// GraphQL bounds one GraphQL request (budget, query size, depth).
	GraphQL GraphQLLimits
	// Server bounds the HTTP server below the routes (timeouts, body rate, connections).
	Server ServerLimits
	// ControlRequireTags refuses control items without Action and Timestamp tags (aoconnect's
	// monitor and unmonitor cannot send tags: such items are then refused).
	ControlRequireTags bool
}

// DefaultConfig: the reference units' 10 MiB items, 30 s for results, 10 s for the rest.
func DefaultConfig() Config {
	return Config{Limits: ans104.DefaultLimits(), ResultTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second,
		MaxDryRunBytes: 10 << 20, ControlWindow: 5 * time.Minute,
		Server: DefaultServerLimits(), GraphQL: DefaultGraphQLLimits()}
}

// Server is the node's HTTP API: the MU, SU and CU routes and the gateway subset aoconnect needs,
// on one port.
type Server struct {
	b       Backend
	cfg     Config
	gql     *graphql.Schema
	mux     *http.ServeMux
	metrics *httpMetrics
	gather  prometheus.Gatherer
	handler http.Handler // mux behind the body limits
	// inFlight counts the body bytes being read (ServerLimits.MaxInFlight).
	inFlight bodyBudget
}

// New builds the routes. reg receives the HTTP metrics; gather serves /metrics (both may be the
// same prometheus.Registry).
func New(b Backend, cfg Config, reg prometheus.Registerer, gather prometheus.Gatherer) (*Server, error) {
	if d := DefaultGraphQLLimits(); cfg.GraphQL.Budget <= 0 || cfg.GraphQL.MaxQueryBytes <= 0 || cfg.GraphQL.MaxDepth <= 0 {
		cfg.GraphQL = d
	}
	gql, err := newGraphQL(b, cfg.GraphQL)
	if err != nil {
		return nil, fmt.Errorf("api: graphql schema: %w", err)
	}
	s := &Server{b: b, cfg: cfg, gql: gql, mux: http.NewServeMux(), metrics: newHTTPMetrics(reg), gather: gather}
	s.routes()
	s.inFlight.max = cfg.Server.MaxInFlight
	s.handler = s.limitBodies(s.mux)
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() {
	h := func(route string, f func(http.ResponseWriter, *http.Request) error) http.Handler {
		return s.metrics.wrap(route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := f(w, r); err != nil {
				writeError(w, r, err)
			}
		}))
	}
	s.mux.Handle("GET /{$}", h("GET /", s.handleRoot))
	s.mux.Handle("POST /{$}", h("POST /", s.handlePost))
	s.mux.Handle("GET /timestamp", h("GET /timestamp", s.handleTimestamp))
	s.mux.Handle("GET /healthz", h("GET /healthz", s.handleHealth))
	s.mux.Handle("GET /health", h("GET /healthz", s.handleHealth))
	s.mux.Handle("GET /info", h("GET /info", s.handleInfo))
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{}))
	s.mux.Handle("POST /graphql", h("POST /graphql", s.handleGraphQL))
	s.mux.Handle("POST /tx", h("POST /tx", s.handlePublish))
	s.mux.Handle("POST /tx/arweave", h("POST /tx", s.handlePublish))
	s.mux.Handle("POST /dry-run", h("POST /dry-run", s.handleDryRun))
	s.mux.Handle("POST /monitor/{pid}", h("POST /monitor", s.handleMonitor(true)))
	s.mux.Handle("DELETE /monitor/{pid}", h("DELETE /monitor", s.handleMonitor(false)))
	s.mux.Handle("GET /cluster/status", h("GET /cluster/status", s.handleClusterStatus))
	s.mux.Handle("POST /cluster/forget", h("POST /cluster/forget", s.handleClusterForget))
	s.mux.Handle("POST /cluster/resolve-fork", h("POST /cluster/resolve-fork", s.handleClusterResolveFork))
	s.mux.Handle("GET /{id}", h("GET /:id", s.handleGetID))
	// Two-segment GETs are dispatched by hand: "/{id}/latest" and "/result/{id}" overlap as
	// ServeMux patterns.
	s.mux.Handle("GET /{a}/{b}", h("GET /:a/:b", s.handleGetTwo))
	// The mainnet (AO-Core) paths (mainnet.go): POST /push, POSTs of two or more segments, GETs of
	// three or more; two-segment GETs reach it through handleGetTwo.
	s.mux.Handle("POST /push", h("mainnet", s.handleMainnet))
	s.mux.Handle("POST /{a}/{rest...}", h("mainnet", s.handleMainnet))
	s.mux.Handle("GET /{a}/{b}/{rest...}", h("mainnet", s.handleMainnet))
}

func (s *Server) handleGetTwo(w http.ResponseWriter, r *http.Request) error {
	a, b := r.PathValue("a"), r.PathValue("b")
	if isMainnetPath(r.URL.Path) {
		return s.handleMainnet(w, r)
	}
	switch {
	case a == "result":
		return s.handleResult(w, r, b)
	case a == "results":
		return s.handleResults(w, r, b)
	case a == "processes":
		return s.handleProcess(w, r, b)
	case a == "state":
		return s.handleState(w, r, b)
	case a == "raw":
		return s.handleRaw(w, r, b)
	case a == "cron":
		return s.handleCron(w, r, b)
	case b == "latest":
		return s.handleLatest(w, r, a)
	case b == "data":
		return s.handleRaw(w, r, a)
	}
	return &apiError{msg: "no route GET /" + a + "/" + b, kind: ErrNotFound}
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
}

func parseID(what, s string) (ans104.ID, error) {
	id, err := ans104.ParseID(s)
	if err != nil {
		return id, badRequest(what + ": " + err.Error())
	}
	return id, nil
}

func processIDParam(r *http.Request, required bool) (ans104.ID, bool, error) {
	v := r.URL.Query().Get("process-id")
	if v == "" {
		if required {
			return ans104.ID{}, false, badRequest("the process-id query parameter is required")
		}
		return ans104.ID{}, false, nil
	}
	id, err := parseID("process-id", v)
	return id, err == nil, err
}

// readItem reads a body of at most the item limit and parses and verifies it.
func (s *Server) readItem(w http.ResponseWriter, r *http.Request) (*ans104.DataItem, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(s.cfg.Limits.MaxItemBytes)))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{msg: fmt.Sprintf("data item over the %d-byte limit", s.cfg.Limits.MaxItemBytes), kind: ErrTooLarge}
		}
		if errors.Is(err, errSlowBody) {
			return nil, err
		}
		return nil, badRequest("reading body: " + err.Error())
	}
	if len(body) == 0 {
		return nil, badRequest("the body must be a signed ANS-104 data item")
	}
	return ans104.ParseAndVerify(body, s.cfg.Limits)
}

// --- messenger -------------------------------------------------------------------------------

func (s *Server) handlePost(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	if qs.Has("process-id") || qs.Has("assign") {
		return s.handleAssign(w, r)
	}
	item, err := s.readItem(w, r)
	if err != nil {
		return err
	}
	kind, err := ans104.Kind(item)
	if err == nil && kind != ans104.KindProcess && kind != ans104.KindMessage {
		err = badRequest(fmt.Sprintf("Type %q cannot be posted here: only Process and Message items are scheduled (publish modules with POST /tx)", kind))
	}
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ack, err := s.b.Submit(ctx, item)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "Processing DataItem", "id": ack.ID.String(), "timestamp": ack.Timestamp})
	return nil
}

func (s *Server) handleAssign(w http.ResponseWriter, r *http.Request) error {
	qs := r.URL.Query()
	if qs.Get("process-id") == "" || qs.Get("assign") == "" {
		return badRequest("If sending assign or process-id, you must send both.")
	}
	pid, err := parseID("process-id", qs.Get("process-id"))
	if err != nil {
		return err
	}
	if len(qs.Get("assign")) != ans104.IDLen {
		return badRequest("assign param must be 43 characters")
	}
	msg, err := parseID("assign", qs.Get("assign"))
	if err != nil {
		return err
	}
	req := AssignRequest{Process: pid, Message: msg, BaseLayer: qs.Has("base-layer")}
	if ex := qs.Get("exclude"); ex != "" {
		req.Exclude = strings.Split(ex, ",")
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ack, err := s.b.Assign(ctx, req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "Processing Assignment", "id": ack.ID.String(), "timestamp": ack.Timestamp})
	return nil
}

func (s *Server) handleMonitor(on bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		pid, err := parseID("process id", r.PathValue("pid"))
		if err != nil {
			return err
		}
		item, err := s.readItem(w, r)
		if err != nil {
			return err
		}
		if err := checkControlItem(item, pid, on, time.Now(), s.cfg.ControlWindow, s.cfg.ControlRequireTags); err != nil {
			return err
		}
		ctx, cancel := s.ctx(r)
		defer cancel()
		if err := s.b.Monitor(ctx, pid, on, item); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/plain")
		if on {
			io.WriteString(w, "Monitoring process")
		} else {
			io.WriteString(w, "Process deleted")
		}
		return nil
	}
}

// --- scheduler -------------------------------------------------------------------------------

func (s *Server) handleRoot(w http.ResponseWriter, r *http.Request) error {
	ts, _ := s.b.Clock()
	writeJSON(w, http.StatusOK, map[string]string{"timestamp": strconv.FormatInt(ts, 10), "address": s.b.SchedulerAddress()})
	return nil
}

func (s *Server) handleTimestamp(w http.ResponseWriter, r *http.Request) error {
	ts, h := s.b.Clock()
	writeJSON(w, http.StatusOK, map[string]string{"timestamp": strconv.FormatInt(ts, 10), "block_height": ans104.FormatBlockHeight(h)})
	return nil
}

// FlushHealthReporter is a Backend that flushes to Arweave and can say whether the flush keeps up.
// detail is rendered as JSON under "flush"; enabled is false on a node that does not flush.
type FlushHealthReporter interface {
	FlushHealth() (detail any, degraded, enabled bool)
}

// handleHealth answers 200 "ok", or 503 "degraded" with the reason when the Arweave flush is behind
// or failing past its threshold (--flush-degraded-after): the node still serves, but what it
// acknowledges is not reaching Arweave.
func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) error {
	if fr, ok := s.b.(FlushHealthReporter); ok {
		if h, degraded, on := fr.FlushHealth(); on {
			code, status := http.StatusOK, "ok"
			if degraded {
				code, status = http.StatusServiceUnavailable, "degraded"
			}
			writeJSON(w, code, map[string]any{"status": status, "flush": h})
			return nil
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) handleProcess(w http.ResponseWriter, r *http.Request, id string) error {
	pid, err := parseID("process id", id)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	p, err := s.b.Process(ctx, pid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderProcess(p))
	return nil
}

func (s *Server) handleLatest(w http.ResponseWriter, r *http.Request, id string) error {
	pid, err := parseID("process id", id)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	e, err := s.b.Latest(ctx, pid)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderEntry(e, r.URL.Query().Has("show-anchor")))
	return nil
}

// handleGetID serves GET /:id, which three roles share: with process-id it is the SU's message
// lookup; for a process id it is the SU's paginated log (with the process's tags as headers, which
// is what the reference MU reads from a gateway); for any other item it is the gateway's data
// with tags as headers.
func (s *Server) handleGetID(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("id", r.PathValue("id"))
	if err != nil {
		return err
	}
	pid, hasPID, err := processIDParam(r, false)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	showAnchor := r.URL.Query().Has("show-anchor")
	if hasPID && pid != id {
		e, err := s.b.LogEntry(ctx, pid, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, renderEntry(e, showAnchor))
		return nil
	}
	if p, err := s.b.Process(ctx, id); err == nil {
		q, err := parseLogQuery(r)
		if err != nil {
			return err
		}
		page, err := s.b.Log(ctx, id, q)
		if err != nil {
			return err
		}
		setTagHeaders(w, p.Item)
		writeJSON(w, http.StatusOK, renderPage(page, q.ByNonce(), showAnchor))
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	if hasPID {
		return &apiError{msg: "Message or Process not found", kind: ErrNotFound}
	}
	return s.serveItem(w, r, ctx, id)
}

// --- compute ---------------------------------------------------------------------------------

func (s *Server) handleResult(w http.ResponseWriter, r *http.Request, idText string) error {
	id, err := parseID("message id", idText)
	if err != nil {
		return err
	}
	pid, _, err := processIDParam(r, true)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResultTimeout)
	defer cancel()
	res, err := s.b.Result(ctx, pid, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderResult(res))
	return nil
}

func (s *Server) handleResults(w http.ResponseWriter, r *http.Request, idText string) error {
	pid, err := parseID("process id", idText)
	if err != nil {
		return err
	}
	q, err := parseResultsQuery(r)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	page, err := s.b.Results(ctx, pid, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderResultsPage(page, q.Desc))
	return nil
}

// handleCron serves GET /cron/:pid: the results of cron evaluations, paged like /results
// (limit default 500, at most 1000, as the reference CU).
func (s *Server) handleCron(w http.ResponseWriter, r *http.Request, idText string) error {
	pid, err := parseID("process id", idText)
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") == "" {
		qs := r.URL.Query()
		qs.Set("limit", "500")
		r.URL.RawQuery = qs.Encode()
	}
	q, err := parseResultsQuery(r)
	if err != nil {
		return err
	}
	q.Limit = min(q.Limit, 1000)
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResultTimeout)
	defer cancel()
	page, err := s.b.Cron(ctx, pid, q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderResultsPage(page, q.Desc))
	return nil
}

func (s *Server) handleDryRun(w http.ResponseWriter, r *http.Request) error {
	pid, _, err := processIDParam(r, true)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxDryRunBytes))
	if errors.Is(err, errSlowBody) {
		return err
	}
	if err != nil {
		return &apiError{msg: fmt.Sprintf("dry-run body over %d bytes", s.cfg.MaxDryRunBytes), kind: ErrTooLarge}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(body, &probe); err != nil {
		return badRequest("dry-run body must be a JSON message object: " + err.Error())
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResultTimeout)
	defer cancel()
	res, err := s.b.DryRun(ctx, pid, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, renderResult(res))
	return nil
}

func (s *Server) handleState(w http.ResponseWriter, r *http.Request, idText string) error {
	pid, err := parseID("process id", idText)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.ResultTimeout)
	defer cancel()
	st, err := s.b.State(ctx, pid)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Last-Timestamp", strconv.FormatInt(st.Timestamp, 10))
	h.Set("Last-Ordinate", strconv.FormatUint(st.Nonce, 10))
	h.Set("Last-Block-Height", strconv.FormatUint(st.BlockHeight, 10))
	h.Set("Content-Length", strconv.Itoa(len(st.Memory)))
	w.Write(st.Memory)
	return nil
}

// --- gateway ---------------------------------------------------------------------------------

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) error {
	_, height := s.b.Clock()
	writeJSON(w, http.StatusOK, map[string]any{
		"network": "actorweave", "version": 5, "release": 1, "height": height, "current": "",
		"blocks": height, "peers": 0, "queue_length": 0, "node_state_latency": 0,
	})
	return nil
}

func (s *Server) handlePublish(w http.ResponseWriter, r *http.Request) error {
	item, err := s.readItem(w, r)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	if err := s.b.Publish(ctx, item); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": item.ID().String(), "timestamp": time.Now().UnixMilli()})
	return nil
}

func (s *Server) handleRaw(w http.ResponseWriter, r *http.Request, idText string) error {
	id, err := parseID("id", idText)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	return s.serveItem(w, r, ctx, id)
}

func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, ctx context.Context, id ans104.ID) error {
	it, err := s.b.Item(ctx, id)
	if err != nil {
		return err
	}
	setTagHeaders(w, it.Item)
	ct := it.Item.Tags.Value("Content-Type")
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(it.Item.Data)))
	if r.Method != http.MethodHead {
		w.Write(it.Item.Data)
	}
	return nil
}

// setTagHeaders serves an item's tags as response headers, as arweave.net does and as the reference
// MU reads them (a "type: Process" header marks a process).
func setTagHeaders(w http.ResponseWriter, d *ans104.DataItem) {
	h := w.Header()
	for _, t := range d.Tags {
		name := strings.ToLower(t.Name)
		if name == "content-type" || name == "content-length" || !validHeader(name, t.Value) {
			continue
		}
		h.Add(name, t.Value)
	}
	h.Set("x-arweave-id", d.ID().String())
}

func validHeader(name, value string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	for _, c := range value {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

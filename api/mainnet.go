package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/actorweave/actorweave/ans104"
)

// The mainnet (AO-Core, HyperBEAM) interface: the subset of HyperBEAM's HTTP paths that aos 2.x and
// aoconnect's MODE 'mainnet' use, served by the same Backend calls as the legacy routes (so a
// process another member owns is forwarded to its owner exactly as a legacy request is).
//
// A request is a path of segments: the first names a process (`<pid>~process@1.0`, or a bare pid)
// or a device (`~meta@1.0`), the rest are keys, each optionally `key=value` and followed by
// `&key=value` parameters. State-changing requests carry their fields in a signed ANS-104 item in
// the body (`Content-Type: application/ans104`, `codec-device: ans104@1.0`), or in RFC 9421-signed
// headers (`signing-format: httpsig`, httpsig.go); the item is verified exactly as POST / verifies
// one before anything is stored.

// Devices this node serves on the path, and the ones a process item may name. A device HyperBEAM
// has but this node does not serve answers 501; a name nobody knows, 400.
const (
	deviceProcess   = "process@1.0"
	deviceMeta      = "meta@1.0"
	deviceScheduler = "scheduler@1.0"
	devicePush      = "push@1.0"
	deviceGenesis   = "genesis-wasm@1.0"
)

// knownUnservedDevices are HyperBEAM devices a client may name that this node does not implement.
var knownUnservedDevices = map[string]bool{
	"relay@1.0": true, "router@1.0": true, "wasm-64@1.0": true, "lua@5.3a": true, "json-iface@1.0": true,
	"stack@1.0": true, "multipass@1.0": true, "message@1.0": true, "cron@1.0": true, "snp@1.0": true,
	"p4@1.0": true, "faff@1.0": true, "simple-pay@1.0": true, "node-process@1.0": true, "hyperbuddy@1.0": true,
	"wasi@1.0": true, "compute-lite@1.0": true, "dedup@1.0": true, "patch@1.0": true, "json@1.0": true,
	"structured@1.0": true, "httpsig@1.0": true, "ans104@1.0": true, "flat@1.0": true, "lookup@1.0": true,
	"cache@1.0": true, "local-name@1.0": true, "name@1.0": true, "greenzone@1.0": true, "poda@1.0": true,
	"monitor@1.0": true, "test-device@1.0": true, "manifest@1.0": true, "apply@1.0": true, "auth-hook@1.0": true,
	"secret@1.0": true, "whois@1.0": true, "copycat@1.0": true, "arweave@2.9-pre": true, "query@1.0": true,
	"tx@1.0": true, "hook@1.0": true, "genesis-wasm@1.0": true, "delegated-compute@1.0": true,
}

// hbSegment is one path segment: its key, its value after '=', and its '&' parameters.
type hbSegment struct {
	key, value string
	hasValue   bool
	params     []ans104.Tag
}

func parseSegment(s string) hbSegment {
	parts := strings.Split(s, "&")
	var seg hbSegment
	seg.key, seg.value, seg.hasValue = strings.Cut(parts[0], "=")
	for _, p := range parts[1:] {
		if p == "" {
			continue
		}
		k, v, _ := strings.Cut(p, "=")
		seg.params = append(seg.params, ans104.Tag{Name: k, Value: v})
	}
	return seg
}

// hbRequest is a parsed mainnet request.
type hbRequest struct {
	pid    ans104.ID   // the process the path names (hasPID)
	hasPID bool        //
	device string      // the device of the first segment ("" for a bare pid)
	segs   []hbSegment // the segments after the first
	item   *ans104.DataItem
	signer string // address that signed the request ("" for an unsigned read)
	fields http.Header
}

// field is a request field: an item tag, else a header (both case-insensitive, as AO-Core keys are).
func (q *hbRequest) field(name string) string {
	if q.item != nil {
		for _, t := range q.item.Tags {
			if strings.EqualFold(t.Name, name) {
				return t.Value
			}
		}
	}
	return q.fields.Get(name)
}

// isMainnetPath reports whether a path is in HyperBEAM's form: a device segment or a process path.
func isMainnetPath(p string) bool {
	p = strings.TrimPrefix(p, "/")
	first, rest, _ := strings.Cut(p, "/")
	if strings.Contains(first, "~") || first == "push" {
		return true
	}
	if _, err := ans104.ParseID(first); err != nil || rest == "" {
		return false
	}
	next, _, _ := strings.Cut(rest, "/")
	switch parseSegment(next).key {
	case "push", "compute", "slot", "now", "as", "schedule":
		return true
	}
	return false
}

// handleMainnet serves every mainnet path; server.go hands it the requests whose path is in
// HyperBEAM's form.
func (s *Server) handleMainnet(w http.ResponseWriter, r *http.Request) error {
	if !isMainnetPath(r.URL.Path) {
		return &apiError{msg: "no route " + r.Method + " " + r.URL.Path, kind: ErrNotFound}
	}
	q, err := s.parseMainnet(w, r)
	if err != nil {
		return err
	}
	switch q.device {
	case deviceMeta:
		return s.hbMeta(w, r, q)
	case "", deviceProcess:
	default:
		return unknownDevice(q.device)
	}
	if !q.hasPID {
		if len(q.segs) == 0 && q.device == "" {
			return s.hbSpawn(w, r, q)
		}
		return notServed(r, "~"+q.device)
	}
	if len(q.segs) == 0 {
		return notServed(r, "the process message (<pid>~process@1.0)")
	}
	switch first := q.segs[0]; {
	case first.key == "push" && len(q.segs) == 1:
		return s.hbMessage(w, r, q)
	case first.key == "compute":
		return s.hbCompute(w, r, q, first, q.segs[1:])
	case first.key == "now" && len(q.segs) == 1:
		return s.hbCompute(w, r, q, first, nil)
	case first.key == "slot":
		return s.hbSlot(w, r, q)
	case first.key == "as" && first.value == "execution" && len(q.segs) == 2 && q.segs[1].key == "compute":
		return s.hbDryRun(w, r, q, q.segs[1])
	}
	return notServed(r, "")
}

func notServed(r *http.Request, what string) error {
	if what == "" {
		what = r.URL.Path
	}
	return &apiError{msg: fmt.Sprintf("route %s %s is not served by this node (AO-Core %s)", r.Method, r.URL.Path, what), kind: ErrNotImplemented}
}

func unknownDevice(d string) error {
	if knownUnservedDevices[d] {
		return &apiError{msg: "device " + d + " is not served by this node (it serves process@1.0 with genesis-wasm@1.0, and meta@1.0)", kind: ErrNotImplemented}
	}
	return badRequest("unknown device " + strconv.Quote(d))
}

// parseMainnet splits the path and reads and verifies the request's signature: a signed ANS-104
// item in the body, or RFC 9421 headers. A request with neither is unsigned (fine for reads).
func (s *Server) parseMainnet(w http.ResponseWriter, r *http.Request) (*hbRequest, error) {
	q := &hbRequest{fields: r.Header}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	head := segs[0]
	if head == "push" {
		segs = segs[:0] // spawn: POST /push
	} else {
		segs = segs[1:]
		id, dev, hasDev := strings.Cut(head, "~")
		if hasDev {
			if dev == "" {
				return nil, badRequest("empty device name in " + strconv.Quote(head))
			}
			q.device = dev
		}
		if id != "" {
			pid, err := parseID("process id", id)
			if err != nil {
				return nil, err
			}
			q.pid, q.hasPID = pid, true
		}
	}
	for _, sg := range segs {
		if sg == "" {
			continue
		}
		q.segs = append(q.segs, parseSegment(sg))
	}
	// Query parameters are fields too (HyperBEAM reads ?key=value as keys of the request).
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			if len(q.segs) > 0 {
				q.segs[len(q.segs)-1].params = append(q.segs[len(q.segs)-1].params, ans104.Tag{Name: k, Value: v})
			}
		}
	}
	if isANS104Request(r) {
		item, err := s.readItem(w, r)
		if err != nil {
			return nil, err
		}
		q.item, q.signer = item, item.OwnerAddress()
		if p, ok := tagFold(item.Tags, "path"); ok && strings.TrimPrefix(p, "/") != strings.TrimPrefix(r.URL.Path, "/") {
			return nil, badRequest(fmt.Sprintf("the signed item's path %q disagrees with the URL path %q", p, r.URL.Path))
		}
		return q, nil
	}
	if hasHTTPSig(r) {
		addr, err := s.verifyHTTPSig(w, r)
		if err != nil {
			return nil, err
		}
		q.signer = addr
		if p := r.Header.Get("path"); p != "" && strings.TrimPrefix(p, "/") != strings.TrimPrefix(r.URL.Path, "/") {
			return nil, badRequest(fmt.Sprintf("the signed path field %q disagrees with the URL path %q", p, r.URL.Path))
		}
	}
	return q, nil
}

func isANS104Request(r *http.Request) bool {
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(ct), "application/ans104") || strings.EqualFold(r.Header.Get("codec-device"), "ans104@1.0")
}

func tagFold(tags ans104.Tags, name string) (string, bool) {
	for _, t := range tags {
		if strings.EqualFold(t.Name, name) {
			return t.Value, true
		}
	}
	return "", false
}

// requireItem: a state-changing request must carry a signed ANS-104 item (the log holds items;
// an httpsig-signed request has nothing the log could keep and Arweave could verify).
func requireItem(q *hbRequest, what string) error {
	if q.item != nil {
		return nil
	}
	if q.signer != "" {
		return &apiError{msg: what + " must be a signed ANS-104 item (Content-Type: application/ans104): the process log keeps data items, and an HTTP-signed request is not one", kind: ErrUnsupported}
	}
	return badRequest(what + " must be signed: send the request as an ANS-104 data item (Content-Type: application/ans104, codec-device: ans104@1.0)")
}

// --- meta@1.0 -------------------------------------------------------------------------------------

func (s *Server) hbMeta(w http.ResponseWriter, r *http.Request, q *hbRequest) error {
	if q.hasPID {
		return badRequest("~meta@1.0 takes no process id")
	}
	keys := make([]string, len(q.segs))
	for i, sg := range q.segs {
		keys[i] = sg.key
	}
	switch strings.Join(keys, "/") {
	case "info":
		ts, h := s.b.Clock()
		writeJSON(w, http.StatusOK, map[string]any{
			"address": s.b.SchedulerAddress(), "scheduler": s.b.SchedulerAddress(),
			"node": "actorweave", "timestamp": ts, "height": h,
			"devices":           []string{deviceMeta, deviceProcess, deviceScheduler, devicePush, deviceGenesis},
			"execution-devices": []string{deviceGenesis},
		})
		return nil
	case "info/address":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, s.b.SchedulerAddress())
		return nil
	}
	return notServed(r, "~meta@1.0/"+strings.Join(keys, "/"))
}

// --- spawn and message ----------------------------------------------------------------------------

// checkDevices refuses a process whose devices this node cannot run.
func checkDevices(q *hbRequest) error {
	for _, f := range []struct{ name, want string }{
		{"device", deviceProcess}, {"scheduler-device", deviceScheduler}, {"execution-device", deviceGenesis}, {"push-device", devicePush},
	} {
		v := q.field(f.name)
		if v == "" || v == f.want {
			continue
		}
		if knownUnservedDevices[v] {
			return &apiError{msg: fmt.Sprintf("%s %s is not supported: this node runs %s processes (legacy aos modules)", f.name, v, deviceGenesis), kind: ErrUnsupported}
		}
		return badRequest(fmt.Sprintf("unknown %s %q (this node runs %s)", f.name, v, f.want))
	}
	return nil
}

func (s *Server) hbSpawn(w http.ResponseWriter, r *http.Request, q *hbRequest) error {
	if r.Method != http.MethodPost {
		return badRequest("spawn is POST /push with a signed Process item")
	}
	if err := requireItem(q, "a spawn"); err != nil {
		return err
	}
	if t := q.item.Tags.Value("Type"); t != ans104.KindProcess {
		return badRequest(fmt.Sprintf("POST /push spawns a process: the item's Type is %q, not Process (send a message to POST /<pid>~process@1.0/push)", t))
	}
	if err := checkDevices(q); err != nil {
		return err
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ack, err := s.b.Submit(ctx, q.item)
	if err != nil {
		return err
	}
	w.Header().Set("process", ack.ID.String())
	w.Header().Set("slot", "0")
	writeJSON(w, http.StatusOK, map[string]any{"process": ack.ID.String(), "slot": 0, "timestamp": ack.Timestamp})
	return nil
}

func (s *Server) hbMessage(w http.ResponseWriter, r *http.Request, q *hbRequest) error {
	if r.Method != http.MethodPost {
		return badRequest("a message is POST /<pid>~process@1.0/push with a signed Message item")
	}
	if err := requireItem(q, "a message"); err != nil {
		return err
	}
	if len(q.item.Target) == 0 || q.item.TargetID() != q.pid {
		return badRequest(fmt.Sprintf("the message item targets %q, not the process %s of the path", targetOf(q.item), q.pid))
	}
	if t := q.item.Tags.Value("Type"); t != "" && t != ans104.KindMessage {
		return badRequest(fmt.Sprintf("only Message items are pushed to a process, not Type %q", t))
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	ack, err := s.b.Submit(ctx, q.item)
	if err != nil {
		return err
	}
	w.Header().Set("slot", strconv.FormatUint(ack.Nonce, 10))
	writeJSON(w, http.StatusOK, map[string]any{"slot": ack.Nonce, "id": ack.ID.String(), "process": q.pid.String(), "timestamp": ack.Timestamp})
	return nil
}

// --- compute, slot, dry-run -----------------------------------------------------------------------

// hbCompute serves /<pid>/compute=N, /<pid>/compute/results=N|<id>, /<pid>/compute and /<pid>/now
// (the latest evaluation).
func (s *Server) hbCompute(w http.ResponseWriter, r *http.Request, q *hbRequest, first hbSegment, rest []hbSegment) error {
	at, has := first.value, first.hasValue
	if len(rest) > 0 {
		if len(rest) > 1 || (rest[0].key != "results" && rest[0].key != "slot") {
			return notServed(r, "")
		}
		if rest[0].hasValue {
			at, has = rest[0].value, true
		}
	}
	for _, p := range first.params { // /compute&slot=N
		if !has && strings.EqualFold(p.Name, "slot") {
			at, has = p.Value, true
		}
	}
	if !has {
		if v := q.field("slot"); v != "" {
			at, has = v, true
		}
	}
	ctx, cancel := s.resultCtx(r)
	defer cancel()
	var id ans104.ID
	switch {
	case !has || at == "" || at == "current" || at == "latest":
		e, err := s.b.Latest(ctx, q.pid)
		if err != nil {
			return err
		}
		id = e.Assignment.ID()
	case isSlot(at):
		n, err := strconv.ParseUint(at, 10, 63)
		if err != nil {
			return badRequest("slot " + strconv.Quote(at) + " is not a number")
		}
		if id, err = s.slotID(ctx, q.pid, n); err != nil {
			return err
		}
	default:
		var err error
		if id, err = parseID("message id", at); err != nil {
			return err
		}
	}
	res, err := s.b.Result(ctx, q.pid, id)
	if err != nil {
		return err
	}
	w.Header().Set("slot", strconv.FormatUint(res.Nonce, 10))
	writeJSON(w, http.StatusOK, map[string]any{"raw": renderResult(res), "slot": res.Nonce, "process": q.pid.String()})
	return nil
}

func isSlot(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// slotID is the assignment id of slot n of pid's log, read on the process's owner. A slot past the
// log's end is a 404 naming the current slot (HyperBEAM would wait; a client polls instead).
func (s *Server) slotID(ctx context.Context, pid ans104.ID, n uint64) (ans104.ID, error) {
	from, to := int64(n)-1, int64(n)
	page, err := s.b.Log(ctx, pid, LogQuery{FromNonce: &from, ToNonce: &to, Limit: 1})
	if err != nil {
		return ans104.ID{}, err
	}
	if len(page.Entries) == 0 || page.Entries[0].Nonce != n {
		cur := "none"
		if e, err := s.b.Latest(ctx, pid); err == nil {
			cur = strconv.FormatUint(e.Nonce, 10)
		}
		return ans104.ID{}, &apiError{msg: fmt.Sprintf("slot %d is beyond the log of process %s (current slot %s)", n, pid, cur), kind: ErrNotFound}
	}
	return page.Entries[0].Assignment.ID(), nil
}

// resultCtx bounds a request that waits for an evaluation.
func (s *Server) resultCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), s.cfg.ResultTimeout)
}

func (s *Server) hbSlot(w http.ResponseWriter, r *http.Request, q *hbRequest) error {
	if len(q.segs) > 2 || (len(q.segs) == 2 && q.segs[1].key != "current") {
		return notServed(r, "")
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	e, err := s.b.Latest(ctx, q.pid)
	if err != nil {
		return err
	}
	n := strconv.FormatUint(e.Nonce, 10)
	w.Header().Set("slot", n)
	if strings.Contains(q.field("require-codec"), "json") {
		writeJSON(w, http.StatusOK, map[string]any{"current": e.Nonce, "process": q.pid.String()})
		return nil
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, n)
	return nil
}

// dryRunControl are request fields that steer HTTP handling, not the message a dry-run evaluates.
var dryRunControl = map[string]bool{
	"signing-format": true, "accept-bundle": true, "require-codec": true, "accept-codec": true, "codec-device": true,
	"method": true, "path": true, "content-digest": true, "inline-body-key": true,
}

// hbDryRun serves /<pid>~process@1.0/as=execution/compute&Tag=Value...: the path's parameters and
// the signed item's tags are the message's tags, the item's data its data, its signer its Owner.
func (s *Server) hbDryRun(w http.ResponseWriter, r *http.Request, q *hbRequest, seg hbSegment) error {
	tags := make([]ans104.Tag, 0, len(seg.params)+8)
	tags = append(tags, seg.params...)
	data := ""
	id := ""
	if q.item != nil {
		if len(q.item.Target) > 0 && q.item.TargetID() != q.pid {
			return badRequest(fmt.Sprintf("the dry-run item targets %s, not the process %s of the path", targetOf(q.item), q.pid))
		}
		for _, t := range q.item.Tags {
			if !dryRunControl[strings.ToLower(t.Name)] {
				tags = append(tags, t)
			}
		}
		data, id = string(q.item.Data), q.item.ID().String()
	}
	msg := map[string]any{"Target": q.pid.String(), "Data": data, "Tags": tags, "Anchor": "0"}
	if id != "" {
		msg["Id"] = id
	}
	if q.signer != "" {
		msg["Owner"], msg["From"] = q.signer, q.signer
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	ctx, cancel := s.resultCtx(r)
	defer cancel()
	res, err := s.b.DryRun(ctx, q.pid, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"raw": renderResult(res), "process": q.pid.String()})
	return nil
}

package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/compute"
	"github.com/actorweave/actorweave/evaluation"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/recovery"
	"github.com/actorweave/actorweave/runtime"
	"github.com/actorweave/actorweave/weavedrive"
)

// Status of one check.
const (
	OK       = "ok"
	Mismatch = "MISMATCH"
	Missing  = "MISSING" // a piece needed to check is absent or unreadable
	Skipped  = "skipped" // nothing to compare against (e.g. no --node), not a failure
)

// Check is one line of the report.
type Check struct {
	Nonce   uint64 `json:"nonce"`
	Message string `json:"message,omitempty"` // message id (the process id at nonce 0)
	What    string `json:"check"`             // log, module, checkpoint, result, final-memory
	Status  string `json:"status"`
	Detail  string `json:"detail,omitempty"` // what differed, or what was compared
}

// Report is everything verify found.
type Report struct {
	Process        string         `json:"process"`
	Gateway        string         `json:"gateway"`
	Node           string         `json:"node,omitempty"`
	Entries        uint64         `json:"entries"`
	Batches        int            `json:"batches"`
	Module         string         `json:"module,omitempty"`
	ModuleVerified bool           `json:"moduleSignatureVerified"`
	FinalMemory    string         `json:"finalMemorySha256,omitempty"`
	Coverage       Coverage       `json:"coverage"`
	Certificates   Certificates   `json:"certificates"`
	Checks         []Check        `json:"checks"`
	Counts         map[string]int `json:"counts"`
	Duration       time.Duration  `json:"durationNs"`
	OK             bool           `json:"ok"`
}

// Coverage says how much of the node's log the verification covered: only what is on Arweave can
// be checked, and a node ahead of its flush has entries nobody can hold it to yet.
type Coverage struct {
	OnArweave   uint64 `json:"onArweave"`             // entries read back from the gateway (nonces 0..OnArweave-1)
	NodeEntries uint64 `json:"nodeEntries,omitempty"` // the node's log length when verify started
	Known       bool   `json:"known"`                 // NodeEntries was read (a --node answered)
	Complete    bool   `json:"complete"`              // every one of the node's entries is on Arweave
	// Waited is how long verify waited for the flush to catch up (--wait).
	Waited time.Duration `json:"waitedNs,omitempty"`
}

// Certificates says how many recomputed entries were held against the result certificates the
// process's Scheduler signed and flushed (Result-Batch items). Entries without one are not a
// failure: certificates are written by the member that evaluated an entry and uploaded after its
// log, so a hand-over's installed results and the newest entries have none yet.
type Certificates struct {
	Entries  uint64 `json:"entries"`  // entries with at least one certificate
	Checked  int    `json:"checked"`  // certificates compared (an entry may have several)
	Memory   int    `json:"memory"`   // of those, carrying a memory hash, compared too
	Mismatch int    `json:"mismatch"` // certificates that disagree with the recomputation
}

func (r *Report) add(c Check) { r.Checks = append(r.Checks, c) }

func (r *Report) finish(start time.Time) *Report {
	r.Counts = map[string]int{}
	r.OK = true
	for _, c := range r.Checks {
		r.Counts[c.Status]++
		if c.Status == Mismatch || c.Status == Missing {
			r.OK = false
		}
	}
	r.Duration = time.Since(start)
	return r
}

// Config says where to read and what to compare with.
type Config struct {
	Source recovery.Source
	// Node is the base URL of a node whose results and state are compared; "" checks the gateway
	// data against itself only (chain, checkpoints).
	Node string
	// Engine evaluates; nil: a fresh one (in memory) per run.
	Engine *runtime.Engine
	// TempDir holds the temporary store; "": the system's.
	TempDir string
	Logger  *slog.Logger
	// ProgressEvery logs progress every this many evaluated entries (default 1,000).
	ProgressEvery uint64
	// HTTPTimeout bounds one request to the node (default 2 min: a result may wait for evaluation).
	HTTPTimeout time.Duration
	// Partial accepts a gateway behind the node: the entries not yet on Arweave are reported but do
	// not fail the verification. Without it, partial coverage is a MISSING check.
	Partial bool
	// Wait, with a Node, waits up to this long for the gateway to hold as many entries as the node
	// had when verify started (the flush catching up) before reading the log.
	Wait time.Duration
	// WeaveDrive is how the recomputation reads what processes read through WeaveDrive: from this
	// gateway (default: the Source's, when it is a URL) through a cache in the temporary store,
	// with the node's limits (give verify the node's --weavedrive-* flags).
	WeaveDrive weavedrive.Config
}

// Run recomputes process pid from the gateway alone and compares. The returned error is for a
// verification that could not run at all (no temporary folder, no engine); everything about the
// process itself (missing batch, broken chain, different result) is a check in the report.
func Run(ctx context.Context, cfg Config, pid ans104.ID) (*Report, error) {
	start := time.Now()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ProgressEvery == 0 {
		cfg.ProgressEvery = 1000
	}
	if cfg.HTTPTimeout <= 0 {
		cfg.HTTPTimeout = 2 * time.Minute
	}
	rep := &Report{Process: pid.String(), Gateway: cfg.Source.Name(), Node: cfg.Node}
	dir, err := os.MkdirTemp(cfg.TempDir, "actorweave-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	st, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	defer st.Close()

	node := &nodeClient{base: strings.TrimRight(cfg.Node, "/"), hc: &http.Client{Timeout: cfg.HTTPTimeout}}
	var nodeErr error // the node could not say how long its log is
	// 0. How long the node's log is, and (--wait) until the gateway has as much.
	if cfg.Node != "" {
		if n, err := node.entries(ctx, pid); err != nil {
			nodeErr = err
		} else {
			rep.Coverage.NodeEntries, rep.Coverage.Known = n, true
			if cfg.Wait > 0 {
				rep.Coverage.Waited = waitCoverage(ctx, cfg, pid, n)
			}
		}
	}

	// 1. The log, the module and the newest checkpoint, read and checked as a recovering node does.
	rr, err := recovery.Recover(ctx, cfg.Source, st, pid, recovery.Options{Logger: cfg.Logger})
	if err != nil {
		rep.add(Check{What: "log", Status: Missing, Detail: err.Error()})
		rep.coverage(cfg, 0, nodeErr)
		return rep.finish(start), nil
	}
	rep.Entries, rep.Batches, rep.Module, rep.ModuleVerified = rr.Entries, rr.Batches, rr.Module.String(), rr.ModuleVerified
	rep.add(Check{Nonce: rr.Entries - 1, What: "log", Status: OK,
		Detail: fmt.Sprintf("%d entries in %d batches: signatures, hash chain, Scheduler, epochs", rr.Entries, rr.Batches)})
	rep.coverage(cfg, rr.Entries, nodeErr)
	for _, s := range rr.Skipped {
		rep.add(Check{What: "log", Status: Skipped, Detail: s})
	}
	modDetail := "signature verified"
	if !rr.ModuleVerified {
		modDetail = "data trusted from the gateway: " + rr.ModuleNote
	}
	rep.add(Check{What: "module", Message: rr.Module.String(), Status: OK, Detail: modDetail})

	// 2. Every checkpoint on the gateway: its data against its own tag now, its tag against the
	// recomputed memory below.
	cps, err := cfg.Source.Checkpoints(ctx, pid)
	if err != nil {
		rep.add(Check{What: "checkpoint", Status: Missing, Detail: err.Error()})
		return rep.finish(start), nil
	}
	proc, err := st.Process(pid)
	if err != nil {
		return nil, err
	}
	procItem, err := ans104.Parse(proc.Item, ans104.Limits{})
	if err != nil {
		return nil, err
	}
	pview, err := ans104.AsProcess(procItem)
	if err != nil {
		return nil, err
	}
	walk := &recovery.WalkResult{Entries: rr.Entries, Process: pview, Links: map[uint64]ans104.ID{}}
	wantSum := map[uint64][]recovery.CheckpointRef{}
	for _, c := range cps {
		if e, err := st.Entry(pid, c.Checkpoint.Nonce); err == nil {
			walk.Links[c.Checkpoint.Nonce] = e.HashChain
		}
	}
	for _, c := range cps {
		if _, err := recovery.CheckCheckpoint(ctx, cfg.Source, pid, walk, c, recovery.Options{}); err != nil {
			rep.add(Check{Nonce: c.Checkpoint.Nonce, Message: c.Fields.ID, What: "checkpoint", Status: Mismatch, Detail: err.Error()})
			continue
		}
		wantSum[c.Checkpoint.Nonce] = append(wantSum[c.Checkpoint.Nonce], c)
	}

	// 3. The result certificates the Scheduler signed, to hold each recomputed entry against.
	certs, certSkipped, err := recovery.Certificates(ctx, cfg.Source, pid, pview.Scheduler)
	if err != nil {
		rep.add(Check{What: "certificate", Status: Missing, Detail: "cannot list result certificates: " + err.Error()})
	}
	for _, s := range certSkipped {
		rep.add(Check{What: "certificate", Status: Skipped, Detail: s})
	}

	// 4. Recompute every entry and compare.
	ev, err := newEvaluator(ctx, cfg, st, pid, procItem)
	if err != nil {
		rep.add(Check{What: "module", Message: rr.Module.String(), Status: Missing, Detail: "cannot evaluate: " + err.Error()})
		return rep.finish(start), nil
	}
	defer ev.close(ctx)
	for n := uint64(0); n < rr.Entries; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		msgID, res, err := ev.next(ctx, n)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			rep.add(Check{Nonce: n, Message: msgID, What: "result", Status: Missing, Detail: "cannot evaluate: " + err.Error()})
			return rep.finish(start), nil
		}
		if cs := wantSum[n]; len(cs) > 0 {
			sum, _ := ev.instance().MemorySha256()
			got := hex.EncodeToString(sum[:])
			for _, c := range cs {
				if got == c.Checkpoint.SHA256 {
					rep.add(Check{Nonce: n, Message: c.Fields.ID, What: "checkpoint", Status: OK, Detail: "memory SHA-256 " + got[:16] + "…"})
				} else {
					rep.add(Check{Nonce: n, Message: c.Fields.ID, What: "checkpoint", Status: Mismatch,
						Detail: fmt.Sprintf("recomputed memory SHA-256 %s, the checkpoint's tag says %s", got, c.Checkpoint.SHA256)})
				}
			}
		}
		if cs := certs[n]; len(cs) > 0 {
			rep.checkCertificates(n, msgID, res, cs, ev.instance())
		}
		if cfg.Node != "" {
			rep.add(node.compareResult(ctx, pid, n, msgID, res))
		}
		if (n+1)%cfg.ProgressEvery == 0 {
			cfg.Logger.Info("verifying", "process", pid, "evaluated", n+1, "of", rr.Entries, "elapsed", time.Since(start).Round(time.Millisecond))
		}
	}
	rep.certificateSummary(rr.Entries)
	sum, _ := ev.instance().MemorySha256()
	rep.FinalMemory = hex.EncodeToString(sum[:])
	if cfg.Node != "" {
		rep.add(node.compareState(ctx, pid, rr.Entries-1, rep.FinalMemory))
	} else {
		rep.add(Check{Nonce: rr.Entries - 1, What: "final-memory", Status: Skipped, Detail: "SHA-256 " + rep.FinalMemory + " (no --node to compare with)"})
	}
	// Report order: by nonce, log and module first.
	sort.SliceStable(rep.Checks, func(i, j int) bool { return rank(rep.Checks[i]) < rank(rep.Checks[j]) })
	return rep.finish(start), nil
}

// checkCertificates holds entry n's recomputed answer (and memory, where a certificate has its
// hash) against every certificate of it; only disagreements become checks of their own.
func (r *Report) checkCertificates(n uint64, msgID string, res *runtime.Result, cs []recovery.Certificate, inst *runtime.Instance) {
	r.Certificates.Entries++
	outcome := compute.OutcomeHash(res)
	var mem *[32]byte
	for _, c := range cs {
		r.Certificates.Checked++
		if c.Outcome != outcome {
			r.Certificates.Mismatch++
			r.add(Check{Nonce: n, Message: msgID, What: "certificate", Status: Mismatch,
				Detail: fmt.Sprintf("result batch %s certifies answer %x…, the recomputed answer hashes to %x…", c.Batch, c.Outcome[:8], outcome[:8])})
			continue
		}
		if c.Memory == nil {
			continue
		}
		r.Certificates.Memory++
		if mem == nil && inst != nil {
			sum, _ := inst.MemorySha256()
			mem = &sum
		}
		if mem == nil || *mem != *c.Memory {
			r.Certificates.Mismatch++
			got := "none (the instance failed)"
			if mem != nil {
				got = hex.EncodeToString(mem[:8]) + "…"
			}
			r.add(Check{Nonce: n, Message: msgID, What: "certificate", Status: Mismatch,
				Detail: fmt.Sprintf("result batch %s certifies memory %x… after this entry, the recomputed memory is %s", c.Batch, c.Memory[:8], got)})
		}
	}
}

// certificateSummary adds one line for the certificates: how many entries they covered.
func (r *Report) certificateSummary(entries uint64) {
	c := r.Certificates
	if c.Checked == 0 {
		r.add(Check{Nonce: entries - 1, What: "certificate", Status: Skipped, Detail: "no result certificate of these entries on the gateway"})
		return
	}
	detail := fmt.Sprintf("%d of %d entries certified by the Scheduler (%d certificates, %d with a memory hash)", c.Entries, entries, c.Checked, c.Memory)
	if c.Mismatch > 0 {
		r.add(Check{Nonce: entries - 1, What: "certificate", Status: Mismatch, Detail: fmt.Sprintf("%s: %d disagree with the recomputation", detail, c.Mismatch)})
		return
	}
	r.add(Check{Nonce: entries - 1, What: "certificate", Status: OK, Detail: detail + ": all match the recomputation"})
}

// coverage records how many entries came from Arweave and adds the coverage check.
func (r *Report) coverage(cfg Config, onArweave uint64, nodeErr error) {
	c := &r.Coverage
	c.OnArweave = onArweave
	if !c.Known {
		if nodeErr != nil {
			r.add(Check{What: "coverage", Status: Missing, Detail: fmt.Sprintf("%d entries on Arweave; the node does not say how long the log is: %v", onArweave, nodeErr)})
		} else {
			r.add(Check{What: "coverage", Status: Skipped, Detail: fmt.Sprintf("%d entries on Arweave; no --node to say how many it has", onArweave)})
		}
		return
	}
	c.Complete = onArweave >= c.NodeEntries
	detail := fmt.Sprintf("%d of the node's %d entries are on Arweave", min(onArweave, c.NodeEntries), c.NodeEntries)
	switch {
	case c.Complete:
		r.add(Check{What: "coverage", Status: OK, Detail: detail})
	case cfg.Partial:
		r.add(Check{What: "coverage", Status: Skipped, Detail: detail + ": only those are verified (--partial)"})
	default:
		r.add(Check{What: "coverage", Status: Missing, Detail: detail + ": the rest cannot be verified yet (flush behind? --wait, or --partial to accept)"})
	}
}

// waitCoverage polls the gateway's batch listing until it reaches want entries or cfg.Wait passes;
// it returns how long it waited.
func waitCoverage(ctx context.Context, cfg Config, pid ans104.ID, want uint64) time.Duration {
	start := time.Now()
	for {
		refs, err := cfg.Source.LogBatches(ctx, pid)
		have := uint64(0)
		if err == nil {
			for _, r := range refs {
				have = max(have, r.To+1)
			}
		}
		if have >= want || time.Since(start) >= cfg.Wait || ctx.Err() != nil {
			return time.Since(start)
		}
		cfg.Logger.Info("waiting for the flush to catch up", "process", pid, "on_arweave", have, "node", want)
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Second, cfg.Wait-time.Since(start))):
		}
	}
}

func rank(c Check) uint64 {
	switch c.What {
	case "log", "module", "coverage":
		return 0
	}
	return c.Nonce + 1
}

// evaluator evaluates a recovered log through the node's own evaluation pipeline (package
// evaluation: the same message and env JSON, the same limits, the same failure rule), reading the
// log and the items its entries name from the temporary store.
type evaluator struct {
	eng    *runtime.Engine
	ownEng bool
	pipe   *evaluation.Pipeline
}

// storeLog is the recovered log as the pipeline reads it. verify recomputes from entry 0: the
// gateway's checkpoints are what it checks, not where it starts.
type storeLog struct {
	st  *persistence.Store
	pid ans104.ID
}

func (l storeLog) Entry(n uint64) (compute.LogEntry, *ans104.DataItem, error) {
	ent, err := l.st.Entry(l.pid, n)
	if err != nil {
		return compute.LogEntry{}, nil, err
	}
	return compute.LogEntry{Nonce: n, Assignment: ent.Assignment, Message: ent.Message, MessageID: ans104.ID(ent.MessageID)}, nil, nil
}

// Item is a standalone item the recovery stored (the message of an assignment-only entry), if any.
func (l storeLog) Item(id ans104.ID) *ans104.DataItem {
	it, err := l.st.GetItem(persistence.ID(id))
	if err != nil {
		return nil
	}
	d, _ := ans104.Parse(it.Raw, ans104.Limits{})
	return d
}

func (storeLog) Checkpoint(uint64) (*evaluation.Checkpoint, error) { return nil, nil }

func newEvaluator(ctx context.Context, cfg Config, st *persistence.Store, pid ans104.ID, proc *ans104.DataItem) (*evaluator, error) {
	pv, err := ans104.AsProcess(proc)
	if err != nil {
		return nil, err
	}
	it, err := st.GetItem(pv.Module)
	if err != nil {
		return nil, err
	}
	modItem, err := ans104.Parse(it.Raw, ans104.Limits{})
	if err != nil {
		return nil, err
	}
	mv, err := ans104.AsModule(modItem)
	if err != nil {
		return nil, err
	}
	e := &evaluator{eng: cfg.Engine}
	if e.eng == nil {
		if e.eng, err = runtime.NewEngine(ctx, runtime.DefaultConfig()); err != nil {
			return nil, err
		}
		e.ownEng = true
	}
	pc := evaluation.Config{Engine: e.eng, Process: proc, ModuleItem: modItem, Source: storeLog{st: st, pid: pid}}
	if pc.Module, err = e.eng.Compile(ctx, modItem.Data, mv.Format); err != nil {
		e.close(ctx)
		return nil, err
	}
	if wc := cfg.WeaveDrive; !wc.Disabled {
		if wc.Gateway == "" && strings.HasPrefix(cfg.Source.Name(), "http") {
			wc.Gateway = cfg.Source.Name()
		}
		if wc.Gateway != "" {
			d, err := weavedrive.New(wc, st)
			if err != nil {
				e.close(ctx)
				return nil, err
			}
			pc.Drive, pc.DriveBudget = d.For(pid, proc.Tags, modItem.Tags), d.ReadBudget()
		}
	}
	if e.pipe, err = evaluation.New(pc); err != nil {
		e.close(ctx)
		return nil, err
	}
	if err := e.pipe.Open(ctx, 0); err != nil {
		e.close(ctx)
		return nil, err
	}
	return e, nil
}

// instance is the instance holding the memory after the last entry evaluated.
func (e *evaluator) instance() *runtime.Instance { return e.pipe.Instance() }

func (e *evaluator) close(ctx context.Context) {
	if e.pipe != nil {
		e.pipe.Close()
	}
	if e.ownEng {
		_ = e.eng.Close(ctx)
	}
}

// next evaluates entry n (the instance holds the memory after n-1) and says which id names its
// message. After a failed instance the pipeline's rule applies (the result is the error, the
// instance is rebuilt from the log); verify rebuilds it at once, since it reads the memory after
// every entry.
func (e *evaluator) next(ctx context.Context, n uint64) (string, *runtime.Result, error) {
	m, err := e.pipe.Message(n)
	id := ""
	if m != nil {
		id = m.ID.String()
	}
	if err != nil {
		return id, nil, err
	}
	res, err := e.pipe.Evaluate(ctx, m)
	if err != nil {
		// A WeaveDrive read that failed for a reason outside the process (errors.Is
		// runtime.ErrDriveUnavailable), or an evaluation cut short: not a result to compare, a
		// verification that cannot finish.
		return id, nil, err
	}
	if err := e.pipe.Open(ctx, n+1); err != nil {
		return id, nil, fmt.Errorf("rebuilding the instance after entry %d failed: %w", n, err)
	}
	return id, res, nil
}

// nodeClient reads results and state from the node under check.
type nodeClient struct {
	base string
	hc   *http.Client
}

func (c *nodeClient) get(ctx context.Context, path string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<30))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("node %s: GET %s: HTTP %d %s", c.base, path, resp.StatusCode, excerpt(string(b), 0, 200))
	}
	return b, resp.Header, nil
}

// entries is the length of pid's log at the node: the nonce of GET /{pid}/latest, plus one.
func (c *nodeClient) entries(ctx context.Context, pid ans104.ID) (uint64, error) {
	b, _, err := c.get(ctx, "/"+pid.String()+"/latest")
	if err != nil {
		return 0, err
	}
	var e struct {
		Assignment struct {
			Tags []ans104.Tag `json:"tags"`
		} `json:"assignment"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return 0, fmt.Errorf("GET /%s/latest: %w", pid, err)
	}
	n, err := strconv.ParseUint(ans104.Tags(e.Assignment.Tags).Value("Nonce"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("GET /%s/latest: the assignment has no Nonce tag", pid)
	}
	return n + 1, nil
}

// compareResult compares the recomputed result of entry n with the node's GET /result/{id}.
// Messages, Spawns, Assignments, Output and Error are compared as canonical JSON; GasUsed is not
// (it is a measurement, not an effect).
func (c *nodeClient) compareResult(ctx context.Context, pid ans104.ID, n uint64, msgID string, want *runtime.Result) Check {
	chk := Check{Nonce: n, Message: msgID, What: "result"}
	b, _, err := c.get(ctx, "/result/"+msgID+"?process-id="+pid.String())
	if err != nil {
		chk.Status, chk.Detail = Mismatch, "the node does not serve it: "+err.Error()
		return chk
	}
	var got struct {
		Messages, Spawns, Assignments, Output, Error json.RawMessage
	}
	if err := json.Unmarshal(b, &got); err != nil {
		chk.Status, chk.Detail = Mismatch, "the node's answer is not result JSON: "+err.Error()
		return chk
	}
	exp := map[string]json.RawMessage{}
	if want.Error != "" {
		e, _ := json.Marshal(want.Error)
		exp["Error"] = e
	} else {
		exp["Messages"], exp["Spawns"], exp["Assignments"], exp["Output"] = list(want.Messages), list(want.Spawns), list(want.Assignments), want.Output
		if len(exp["Output"]) == 0 {
			exp["Output"] = json.RawMessage(`""`)
		}
	}
	have := map[string]json.RawMessage{"Messages": got.Messages, "Spawns": got.Spawns, "Assignments": got.Assignments, "Output": got.Output, "Error": got.Error}
	for _, f := range []string{"Error", "Output", "Messages", "Spawns", "Assignments"} {
		w, h := canonical(exp[f]), canonical(have[f])
		if f != "Error" && want.Error != "" {
			continue // the node serves an errored result without its effects
		}
		if w != h {
			chk.Status, chk.Detail = Mismatch, f+": "+diff(w, h)
			return chk
		}
	}
	chk.Status = OK
	return chk
}

func list(l []json.RawMessage) json.RawMessage {
	if l == nil {
		return json.RawMessage(`[]`)
	}
	b, _ := json.Marshal(l)
	return b
}

// canonical re-encodes JSON with sorted keys and no spacing; absent and null are "".
func canonical(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return ""
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// diff shows where two renderings first differ.
func diff(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	return fmt.Sprintf("recomputed %s | node %s", excerpt(want, i, 60), excerpt(got, i, 60))
}

func excerpt(s string, at, width int) string {
	if s == "" {
		return "(none)"
	}
	from := max(0, at-width/2)
	to := min(len(s), from+width)
	out := s[from:to]
	if from > 0 {
		out = "…" + out
	}
	if to < len(s) {
		out += "…"
	}
	return strconv.Quote(out)
}

// compareState compares the recomputed final memory with the node's GET /state/{pid}, when the
// node is at the same nonce (a node ahead of its flush has entries the gateway does not have yet).
func (c *nodeClient) compareState(ctx context.Context, pid ans104.ID, last uint64, sum string) Check {
	chk := Check{Nonce: last, What: "final-memory"}
	b, h, err := c.get(ctx, "/state/"+pid.String())
	if err != nil {
		chk.Status, chk.Detail = Mismatch, "the node does not serve its state: "+err.Error()
		return chk
	}
	at, err := strconv.ParseUint(h.Get("Last-Ordinate"), 10, 64)
	if err != nil {
		chk.Status, chk.Detail = Missing, "the node's state has no Last-Ordinate header"
		return chk
	}
	if at != last {
		chk.Status = Skipped
		chk.Detail = fmt.Sprintf("recomputed SHA-256 %s at nonce %d; the node is at nonce %d (not all flushed yet?), not compared", sum, last, at)
		return chk
	}
	got := sha256.Sum256(b)
	if g := hex.EncodeToString(got[:]); g != sum {
		chk.Status, chk.Detail = Mismatch, fmt.Sprintf("recomputed memory SHA-256 %s, the node's %s", sum, g)
		return chk
	}
	chk.Status, chk.Detail = OK, "memory SHA-256 "+sum[:16]+"…"
	return chk
}

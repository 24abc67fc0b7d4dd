package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

// HostileConfig is the `hostile` scenario: a node is attacked by hostile clients, one attack at a
// time, while a bystander (a process of the same node, owned by someone else's traffic) keeps
// sending messages and reading their results. Per attack it reports what the attacker got (HTTP
// statuses), the bystander's round-trip latency during the attack, and the node's peak resident set
// during the attack; with Baseline, the same attacks against a second node binary (an older build)
// in the same run, so that the figures compare before and after.
//
// Every attack gets a fresh node (its own data folder; the compiled module is carried over), so
// that what one attack leaves running cannot weigh on the next and the peak RSS is the attack's.
type HostileConfig struct {
	Exe      string   // the node binary under test ("after")
	Env      []string // added to the nodes' environment
	NodeArgs []string // extra flags for Exe's nodes (not the baseline's, whose flags may differ)
	// Baseline, when set, is a second node binary attacked the same way ("before"), started with
	// no flags but the data folder, the address and the log level.
	Baseline string
	// URL, when set, attacks a running node instead of starting any (no RSS, no SIGTERM attack,
	// and what one attack leaves behind is seen by the next).
	URL string
	// Attacks to run, in order (HostileAttacks); empty: all.
	Attacks  []string
	Duration time.Duration // of each attack
	// DryRuns is the number of concurrent clients looping dry-runs that never end (Program.Spin).
	DryRuns int
	// SlowConns trickle request bodies at 1 byte/s; IdleConns hold idle keep-alive connections.
	SlowConns, IdleConns int
	// Aliases of transactions(first: 1000) in the GraphQL attack's query, over Items stored messages.
	Aliases, Items int
	// OutputMB is the size of the huge Eval output.
	OutputMB int
	Module   []byte
	Format   string
	Progress io.Writer
}

// HostileAttacks are the attacks, in the order they run. quiet is no attack: the bystander's
// latency and the node's RSS with nothing else going on.
var HostileAttacks = []string{"quiet", "dryrun", "monitor", "assign", "graphql", "slow", "output", "sigterm"}

var hostileAttackText = map[string]string{
	"quiet":   "none (reference)",
	"dryrun":  "looping dry-runs (an endless loop: `while true do end`, spin)",
	"monitor": "owner's public Process item replayed to DELETE/POST /monitor",
	"assign":  "owner's Eval to X assigned into Y",
	"graphql": "GraphQL: aliases of transactions(first:1000)",
	"slow":    "bodies trickled at 1 B/s + idle keep-alives",
	"output":  "huge Eval output",
	"sigterm": "SIGTERM with dry-runs and a looping message queued",
}

// DefaultHostileConfig: 15 s per attack, 16 looping dry-runs, 300 slow and 200 idle connections,
// 2,000 aliases over 100 items, a 30 MB output.
func DefaultHostileConfig() HostileConfig {
	return HostileConfig{Duration: 15 * time.Second, DryRuns: 16, SlowConns: 300, IdleConns: 200, Aliases: 2000, Items: 100,
		OutputMB: 30, Format: "wasm32-unknown-emscripten2"}
}

// hostileNode is one node under attack and the processes the probe made on it.
type hostileNode struct {
	url       string
	cn        *childNode // nil with --node
	owner     *client.Client
	mod       ans104.ID
	victim    ans104.ID
	procItem  *ans104.DataItem // the victim's Process item, public (GET /processes/{pid} shows all of it)
	bystander ans104.ID
	bysClient *client.Client
	prog      Program // what the module is sent (programFor)
}

// attackResult is what one attack measured.
type attackResult struct {
	mu       sync.Mutex
	statuses map[string]int
	lat      []time.Duration
	bysErrs  int
	peakRSS  uint64
	note     string
	figures  map[string]float64
}

func (r *attackResult) add(status string) {
	r.mu.Lock()
	r.statuses[status]++
	r.mu.Unlock()
}

func (r *attackResult) addErr(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // the attack's window ended: not an answer of the node
	}
	r.add(errClass(err))
}

func (r *attackResult) figure(name string, v float64) {
	r.mu.Lock()
	r.figures[name] = v
	r.mu.Unlock()
}

func errClass(err error) string {
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "reset"
	}
	return "error"
}

func (r *attackResult) statusText() string {
	keys := make([]string, 0, len(r.statuses))
	for k := range r.statuses {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, r.statuses[k])
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// RunHostile runs the scenario. Figures, per node (after_, before_) and attack: bystander p50, p99
// and max (ms, AddLatency), bystander_errors, peak_rss (bytes), status_<code or error class>
// (answers the attacker got), and the attack's own: dryrun victim_answered, victim_unanswered,
// victim_p50 and victim_max (the victim owner's own messages during the attack), assign
// target_kept (1: Y's module saw the message's own Target), graphql response_bytes and
// answers_with_errors, slow conns_open_at_end and idle_closed, output result_bytes and
// result_limited (1: no result carried the output), sigterm exit_clean (1: exit status 0, no crash
// in the log) and exit_seconds.
func RunHostile(ctx context.Context, cfg HostileConfig) (*Report, error) {
	rep := NewReport("hostile")
	rep.Param("program", programFor(cfg.Module).Name(), "")
	if len(cfg.Attacks) == 0 {
		cfg.Attacks = HostileAttacks
	}
	for _, a := range cfg.Attacks {
		if _, ok := hostileAttackText[a]; !ok {
			return nil, fmt.Errorf("bench: unknown attack %q (known: %s)", a, strings.Join(HostileAttacks, ", "))
		}
	}
	if cfg.Exe == "" && cfg.URL == "" {
		return nil, errors.New("bench: hostile needs a node binary or a node URL")
	}
	rep.Param("attacks", strings.Join(cfg.Attacks, ","), "")
	rep.Param("duration", cfg.Duration.String(), "per attack")
	rep.Param("dry_runs", cfg.DryRuns, "concurrent")
	rep.Param("slow_conns", cfg.SlowConns, "")
	rep.Param("idle_conns", cfg.IdleConns, "")
	rep.Param("aliases", cfg.Aliases, "")
	rep.Param("items", cfg.Items, "")
	rep.Param("output_mb", cfg.OutputMB, "MB")
	if cfg.Baseline != "" {
		rep.Param("baseline", cfg.Baseline, "")
	}
	if cfg.URL != "" {
		rep.Param("node", cfg.URL, "")
	}
	progress := orDiscard(cfg.Progress)
	dir, err := os.MkdirTemp("", "actorweave-bench-hostile-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	type binary struct {
		label, exe string
		args       []string
	}
	bins := []binary{{"after", cfg.Exe, cfg.NodeArgs}}
	if cfg.Baseline != "" && cfg.URL == "" {
		bins = append([]binary{{"before", cfg.Baseline, nil}}, bins...)
	}
	rep.Table = &Table{Columns: []string{"attack", "node", "attacker got", "bystander p50 ms", "p99 ms", "n", "errors", "peak RSS MiB", "observed"}}
	var shared *hostileNode
	if cfg.URL != "" {
		if shared, err = hostileSetup(ctx, cfg, cfg.URL, nil); err != nil {
			return nil, err
		}
	}
	for _, attack := range cfg.Attacks {
		for _, b := range bins {
			if attack == "sigterm" && cfg.URL != "" {
				continue
			}
			fmt.Fprintf(progress, "hostile: %s against %s\n", attack, b.label)
			hn := shared
			if hn == nil {
				ndir := filepath.Join(dir, b.label+"-"+attack)
				carryCompileCache(filepath.Join(dir, b.label+"-cache"), ndir)
				cn, err := startChildNode(b.exe, cfg.Env, ndir, b.args...)
				if err != nil {
					return nil, fmt.Errorf("bench: %s node: %w", b.label, err)
				}
				hn, err = hostileSetup(ctx, cfg, cn.url, cn)
				if err != nil {
					cn.kill()
					return nil, fmt.Errorf("bench: %s node set-up: %w", b.label, err)
				}
				keepCompileCache(ndir, filepath.Join(dir, b.label+"-cache"))
			}
			res := runAttack(ctx, cfg, attack, hn)
			if hn.cn != nil && attack != "sigterm" {
				hn.cn.kill()
			}
			k := b.label + "_" + attack + "_"
			if len(res.lat) > 0 {
				rep.AddLatency(k+"bystander_", NewLatency(fmt.Sprintf("bystander, %s, %s", attack, b.label), res.lat))
			}
			rep.Figure(k+"bystander_errors", float64(res.bysErrs), "round trips")
			if res.peakRSS > 0 {
				rep.Figure(k+"peak_rss", float64(res.peakRSS), "bytes")
			}
			for s, n := range res.statuses {
				rep.Figure(k+"status_"+s, float64(n), "answers")
			}
			names := make([]string, 0, len(res.figures))
			for n := range res.figures {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				rep.Figure(k+n, res.figures[n], "")
			}
			l := NewLatency("", res.lat)
			rss := "n/a"
			if res.peakRSS > 0 {
				rss = fmt.Sprintf("%.0f", float64(res.peakRSS)/(1<<20))
			}
			rep.Table.Rows = append(rep.Table.Rows, []string{hostileAttackText[attack], b.label, res.statusText(),
				fmt.Sprintf("%.1f", l.P50), fmt.Sprintf("%.1f", l.P99), strconv.Itoa(len(res.lat)), strconv.Itoa(res.bysErrs), rss, res.note})
		}
	}
	rep.Note("bystander: a message to another process of the node and GET /result, in a loop, during the attack; peak RSS: the node's, during the attack (VmHWM reset at its start where the kernel allows, else VmRSS sampled every 50 ms)")
	return rep.Finish(), nil
}

// carryCompileCache copies the compiled module a previous node of the same binary left (wazero's
// file cache, keyed by module and wazero version) into a new node's data folder, so that every
// attack does not start with a compilation.
func carryCompileCache(from, ndir string) {
	_ = os.MkdirAll(ndir, 0o755)
	if _, err := os.Stat(from); err == nil {
		_ = exec.Command("cp", "-a", from, filepath.Join(ndir, "wasm-cache")).Run()
	}
}

func keepCompileCache(ndir, to string) {
	if _, err := os.Stat(to); err != nil {
		_ = exec.Command("cp", "-a", filepath.Join(ndir, "wasm-cache"), to).Run()
	}
}

// hostileSetup publishes the module and spawns the victim and the bystander (both owned by the
// probe's owner key), and waits for a first evaluation of each.
func hostileSetup(ctx context.Context, cfg HostileConfig, url string, cn *childNode) (*hostileNode, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	key, _ := ans104.GenerateEd25519Signer()
	hn := &hostileNode{url: url, cn: cn, owner: client.New(url, key), prog: programFor(cfg.Module)}
	var err error
	if hn.mod, err = hn.owner.PublishModule(ctx, client.ModuleSpec{Wasm: cfg.Module, Format: cfg.Format, MemoryLimit: "1-gb", ComputeLimit: "9000000000000"}); err != nil {
		return nil, err
	}
	sched, err := hn.owner.SchedulerAddress(ctx)
	if err != nil {
		return nil, err
	}
	hn.procItem, _ = hn.owner.Sign([]byte(" "), nil, nil, []ans104.Tag{{Name: "Data-Protocol", Value: "ao"}, {Name: "Variant", Value: "ao.TN.1"},
		{Name: "Type", Value: "Process"}, {Name: "Module", Value: hn.mod.String()}, {Name: "Scheduler", Value: sched}, {Name: "Name", Value: "victim"}})
	if hn.victim, err = hn.owner.PostItem(ctx, hn.procItem); err != nil {
		return nil, err
	}
	bkey, _ := ans104.GenerateEd25519Signer()
	hn.bysClient = client.New(url, bkey)
	if hn.bystander, err = hn.bysClient.Spawn(ctx, hn.mod, sched, nil, nil); err != nil {
		return nil, err
	}
	for _, p := range []struct {
		c   *client.Client
		pid ans104.ID
	}{{hn.owner, hn.victim}, {hn.bysClient, hn.bystander}} {
		id, err := p.c.Send(ctx, p.pid, []byte(hn.prog.Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			return nil, err
		}
		if _, err := p.c.Result(ctx, p.pid, id); err != nil {
			return nil, err
		}
	}
	return hn, nil
}

// runAttack runs one attack for its window with the bystander loop and the RSS sampler beside it.
func runAttack(ctx context.Context, cfg HostileConfig, attack string, hn *hostileNode) *attackResult {
	res := &attackResult{statuses: map[string]int{}, figures: map[string]float64{}}
	actx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	pid := 0
	if hn.cn != nil {
		pid = hn.cn.cmd.Process.Pid
	}
	var peak atomic.Uint64
	hwmReset := pid != 0 && os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	if pid != 0 {
		wg.Add(1)
		go func() { // the RSS sampler
			defer wg.Done()
			t := time.NewTicker(50 * time.Millisecond)
			defer t.Stop()
			for {
				if v := procStatus(pid, "VmRSS:"); v > peak.Load() {
					peak.Store(v)
				}
				if hwmReset {
					if v := procStatus(pid, "VmHWM:"); v > peak.Load() {
						peak.Store(v)
					}
				}
				select {
				case <-actx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}
	bctx, bcancel := context.WithCancel(actx)
	wg.Add(1)
	go func() { // the bystander
		defer wg.Done()
		for bctx.Err() == nil {
			start := time.Now()
			rctx, rc := context.WithTimeout(bctx, 30*time.Second)
			id, err := hn.bysClient.Send(rctx, hn.bystander, []byte(hn.prog.Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
			if err == nil {
				_, err = hn.bysClient.Result(rctx, hn.bystander, id)
			}
			rc()
			if bctx.Err() != nil {
				return
			}
			res.mu.Lock()
			res.lat = append(res.lat, time.Since(start))
			if err != nil {
				res.bysErrs++
			}
			res.mu.Unlock()
			if err != nil {
				_ = sleepCtx(bctx, 100*time.Millisecond)
			}
		}
	}()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 90 * time.Second}
	defer hc.CloseIdleConnections()
	a := &attacker{cfg: cfg, hn: hn, res: res, hc: hc, bystander: bcancel}
	switch attack {
	case "quiet":
		_ = sleepCtx(actx, cfg.Duration)
	case "dryrun":
		a.victimWhileDryRuns(actx)
	case "monitor":
		a.monitor(actx)
	case "assign":
		a.assign(actx)
	case "graphql":
		a.graphql(actx)
	case "slow":
		a.slow(actx)
	case "output":
		a.output(actx)
	case "sigterm":
		a.sigterm(actx)
	}
	cancel()
	wg.Wait()
	bcancel()
	res.peakRSS = peak.Load()
	return res
}

// attacker holds what the attacks share.
type attacker struct {
	cfg       HostileConfig
	hn        *hostileNode
	res       *attackResult
	hc        *http.Client
	bystander context.CancelFunc // ends the bystander loop (SIGTERM: the node is going away)
}

// do sends a request and records the status; it returns the status (0 on an error) and the body.
func (a *attacker) do(ctx context.Context, method, path string, body []byte, ctype string) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, method, a.hn.url+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.res.addErr(ctx, err)
		return 0, nil
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		a.res.addErr(ctx, err)
		return 0, nil
	}
	a.res.add(strconv.Itoa(resp.StatusCode))
	return resp.StatusCode, b
}

// loopDryRun is a dry-run the victim's module runs (it claims the owner as Owner: a dry-run is
// unsigned) and that never ends.
func (a *attacker) loopDryRun() []byte {
	owner := ans104.Address(a.hn.owner.Signer.SignatureType(), a.hn.owner.Signer.Owner())
	b, _ := json.Marshal(map[string]any{"Id": "1234", "Owner": owner, "From": owner, "Target": a.hn.victim.String(), "Data": a.hn.prog.Spin(), "Anchor": "0",
		"Tags": []ans104.Tag{{Name: "Action", Value: "Eval"}, {Name: "Data-Protocol", Value: "ao"}, {Name: "Type", Value: "Message"}, {Name: "Variant", Value: "ao.TN.1"}}})
	return b
}

// dryRuns: DryRuns clients each post looping dry-runs for d, again as soon as one is answered
// (50 ms after a refusal).
func (a *attacker) dryRuns(ctx context.Context, d time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	body := a.loopDryRun()
	var wg sync.WaitGroup
	for i := 0; i < a.cfg.DryRuns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if st, _ := a.do(ctx, http.MethodPost, "/dry-run?process-id="+a.hn.victim.String(), body, "application/json"); st != http.StatusOK {
					_ = sleepCtx(ctx, 50*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
}

// victimWhileDryRuns runs the dry-run attack while the victim's owner sends it messages and
// waits for each result: can anyone's dry-runs delay a process's own messages?
func (a *attacker) victimWhileDryRuns(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); a.dryRuns(ctx, a.cfg.Duration) }()
	var lat []time.Duration
	unanswered := 0
	_ = sleepCtx(ctx, 500*time.Millisecond) // the dry-runs first
	for ctx.Err() == nil {
		start := time.Now()
		id, err := a.hn.owner.Send(ctx, a.hn.victim, []byte(a.hn.prog.Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err == nil {
			_, err = a.hn.owner.Result(ctx, a.hn.victim, id)
		}
		if err != nil {
			if ctx.Err() == nil || time.Since(start) > a.cfg.Duration/2 {
				unanswered++ // not one merely cut short by the end of the attack
			}
			_ = sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		lat = append(lat, time.Since(start))
	}
	<-done
	l := NewLatency("", lat)
	a.res.figure("victim_answered", float64(len(lat)))
	a.res.figure("victim_unanswered", float64(unanswered))
	if len(lat) > 0 {
		a.res.figure("victim_p50", l.P50)
		a.res.figure("victim_max", l.Max)
	}
	a.res.note = fmt.Sprintf("victim's own messages: %d answered (p50 %.0f ms, max %.0f ms), %d not answered", len(lat), l.P50, l.Max, unanswered)
}

// monitor: the victim's Process item, which anyone can read, sent as the body of DELETE and POST
// /monitor/{victim}, ten times a second.
func (a *attacker) monitor(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration)
	defer cancel()
	for i := 0; ctx.Err() == nil; i++ {
		method := http.MethodDelete
		if i%2 == 1 {
			method = http.MethodPost
		}
		a.do(ctx, method, "/monitor/"+a.hn.victim.String(), a.hn.procItem.Bytes(), "application/octet-stream")
		_ = sleepCtx(ctx, 100*time.Millisecond)
	}
}

// evalOutput is the output of an aos-like result ("" when there is none).
func evalOutput(r *client.Result) string {
	var out struct {
		Data struct {
			Output json.RawMessage `json:"output"`
		} `json:"data"`
	}
	if r == nil || json.Unmarshal(r.Output, &out) != nil {
		return ""
	}
	return strings.Trim(string(out.Data.Output), `"`)
}

// assign: the attacker spawns Y and has Y's module record the Target of any Eval that is not its
// owner's; the owner sends an Eval to the victim X; the attacker assigns that message into Y
// (POST /?process-id=Y&assign=M) and asks Y which Target its module saw.
func (a *attacker) assign(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration+time.Minute)
	defer cancel()
	start := time.Now()
	key, _ := ans104.GenerateEd25519Signer()
	evil := client.New(a.hn.url, key)
	fail := func(what string, err error) { a.res.note = what + ": " + err.Error() }
	y, err := evil.Spawn(ctx, a.hn.mod, "", nil, nil)
	if err != nil {
		fail("spawn Y", err)
		return
	}
	id, err := evil.Send(ctx, y, []byte(a.hn.prog.RecordForeignTarget()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err == nil {
		_, err = evil.Result(ctx, y, id)
	}
	if err != nil {
		fail("Y's handler", err)
		return
	}
	m, err := a.hn.owner.Send(ctx, a.hn.victim, []byte(a.hn.prog.Noop()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err == nil {
		_, err = a.hn.owner.Result(ctx, a.hn.victim, m)
	}
	if err != nil {
		fail("owner's Eval to X", err)
		return
	}
	st, body := a.do(ctx, http.MethodPost, "/?process-id="+y.String()+"&assign="+m.String(), nil, "")
	if st/100 != 2 {
		a.res.note = fmt.Sprintf("assign refused: %.120s", body)
		a.res.figure("target_kept", 1)
		_ = sleepCtx(ctx, a.cfg.Duration-time.Since(start))
		return
	}
	var ack struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(body, &ack)
	if aid, err := ans104.ParseID(ack.ID); err == nil {
		_, _ = evil.Result(ctx, y, aid)
	}
	r, err := evil.DryRun(ctx, y, a.hn.prog.SeenTarget(), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	if err != nil {
		fail("asking Y", err)
		return
	}
	switch seen := evalOutput(r); seen {
	case a.hn.victim.String():
		a.res.note = "Y's module saw Target X (the message's own)"
		a.res.figure("target_kept", 1)
	case y.String():
		a.res.note = "Y's module saw Target Y (rewritten: the owner's Eval reads as sent to Y)"
		a.res.figure("target_kept", 0)
	default:
		a.res.note = fmt.Sprintf("Y's module saw Target %q", seen)
		a.res.figure("target_kept", 0)
	}
	_ = sleepCtx(ctx, a.cfg.Duration-time.Since(start))
}

// graphql: Items messages are stored, then two clients post, in a loop, a query of Aliases aliases
// of transactions(first: 1000) over the AO items (a filter: older nodes refuse unfiltered queries).
func (a *attacker) graphql(ctx context.Context) {
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(a.cfg.Items) && ctx.Err() == nil {
				_, _ = a.hn.owner.Send(ctx, a.hn.victim, []byte(" "), []ans104.Tag{{Name: "Action", Value: "Ping"}, {Name: "Note", Value: "filler for the GraphQL attack"}})
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration)
	defer cancel()
	var q strings.Builder
	q.WriteString("{")
	for i := 0; i < a.cfg.Aliases; i++ {
		fmt.Fprintf(&q, " a%d: transactions(first: 1000, tags: [{name: \"Data-Protocol\", values: [\"ao\"]}]) { edges { node { id tags { name value } } } }", i)
	}
	q.WriteString(" }")
	body, _ := json.Marshal(map[string]string{"query": q.String()})
	var most, withErrors atomic.Int64
	var firstErr atomic.Value
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				st, b := a.do(ctx, http.MethodPost, "/graphql", body, "application/json")
				if int64(len(b)) > most.Load() {
					most.Store(int64(len(b)))
				}
				var r struct {
					Errors []struct {
						Message string `json:"message"`
					} `json:"errors"`
				}
				if st == http.StatusOK && json.Unmarshal(b, &r) == nil && len(r.Errors) > 0 {
					withErrors.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d errors, the first: %s", len(r.Errors), r.Errors[0].Message))
				}
				if st != http.StatusOK {
					_ = sleepCtx(ctx, 50*time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	a.res.figure("response_bytes", float64(most.Load()))
	a.res.figure("answers_with_errors", float64(withErrors.Load()))
	a.res.note = fmt.Sprintf("query %d KB; largest answer %.1f MB", len(body)>>10, float64(most.Load())/1e6)
	if e, ok := firstErr.Load().(string); ok {
		a.res.note += fmt.Sprintf("; %d answers with GraphQL errors (%.100s)", withErrors.Load(), e)
	}
}

// slow: SlowConns connections each declare a 1 MB body and send one byte a second; IdleConns
// connections send one request and then hold the connection idle. The statuses are what the
// trickling connections were answered (none: still open at the end).
func (a *attacker) slow(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration)
	defer cancel()
	addr := strings.TrimPrefix(a.hn.url, "http://")
	var wg sync.WaitGroup
	var open, idleClosed atomic.Int64
	for i := 0; i < a.cfg.SlowConns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				a.res.addErr(ctx, err)
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n", addr)
			answered := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					answered <- errClass(err)
					return
				}
				resp.Body.Close()
				answered <- strconv.Itoa(resp.StatusCode)
			}()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case s := <-answered:
					a.res.add(s)
					return
				case <-ctx.Done():
					open.Add(1)
					conn.Close()
					<-answered
					return
				case <-t.C:
					_, _ = conn.Write([]byte("x"))
				}
			}
		}()
	}
	for i := 0; i < a.cfg.IdleConns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				return
			}
			defer conn.Close()
			fmt.Fprintf(conn, "GET /timestamp HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			closed := make(chan struct{})
			go func() {
				defer close(closed)
				br := bufio.NewReader(conn)
				if resp, err := http.ReadResponse(br, nil); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					_, _ = br.ReadByte() // blocks until the server closes the idle connection
				}
			}()
			select {
			case <-closed:
				if ctx.Err() == nil {
					idleClosed.Add(1)
				}
			case <-ctx.Done():
				conn.Close()
				<-closed
			}
		}()
	}
	wg.Wait()
	if n := open.Load(); n > 0 {
		a.res.mu.Lock()
		a.res.statuses["none"] += int(n)
		a.res.mu.Unlock()
	}
	a.res.figure("conns_open_at_end", float64(open.Load()))
	a.res.figure("idle_closed", float64(idleClosed.Load()))
	a.res.note = fmt.Sprintf("%d of %d trickling connections still open at the end; %d of %d idle ones closed by the node", open.Load(), a.cfg.SlowConns, idleClosed.Load(), a.cfg.IdleConns)
}

// output: the owner sends Evals returning OutputMB MB, one after another, and reads each result;
// result_limited is 1 when no result carried the output.
func (a *attacker) output(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Duration)
	defer cancel()
	code := a.hn.prog.Output(a.cfg.OutputMB << 20)
	var most int
	served := false // a result carried the whole output
	short := ""     // what a result that did not carry it said
	n := 0
	for ctx.Err() == nil {
		rctx, rc := context.WithTimeout(context.Background(), 2*time.Minute) // the last one is read to its end
		id, err := a.hn.owner.Send(rctx, a.hn.victim, []byte(code), []ans104.Tag{{Name: "Action", Value: "Eval"}})
		if err != nil {
			rc()
			a.res.addErr(ctx, err)
			_ = sleepCtx(ctx, 100*time.Millisecond)
			continue
		}
		st, b := a.do(rctx, http.MethodGet, "/result/"+id.String()+"?process-id="+a.hn.victim.String(), nil, "")
		rc()
		if st != http.StatusOK {
			continue
		}
		n++
		most = max(most, len(b))
		if len(b) >= a.cfg.OutputMB<<20 {
			served = true
		} else {
			short = strings.TrimSpace(string(b))
		}
	}
	a.res.figure("result_bytes", float64(most))
	if n > 0 && !served {
		a.res.figure("result_limited", 1)
		a.res.note = fmt.Sprintf("%d results, none with the output (largest %d bytes): %.150s", n, most, short)
	} else {
		a.res.figure("result_limited", 0)
		a.res.note = fmt.Sprintf("%d results, largest %.1f MB", n, float64(most)/1e6)
	}
}

// sigterm: the node is sent SIGTERM while DryRuns looping dry-runs and a looping message are
// being evaluated or queued; does it exit, cleanly, and how soon.
func (a *attacker) sigterm(ctx context.Context) {
	if a.hn.cn == nil {
		return
	}
	dctx, dcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.dryRuns(dctx, time.Hour) }()
	_, _ = a.hn.owner.Send(ctx, a.hn.victim, []byte(a.hn.prog.Spin()), []ans104.Tag{{Name: "Action", Value: "Eval"}})
	_ = sleepCtx(ctx, min(a.cfg.Duration, 3*time.Second))
	a.bystander()
	cn := a.hn.cn
	start := time.Now()
	_ = cn.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-cn.done:
	case <-time.After(60 * time.Second):
		cn.kill()
	}
	took := time.Since(start)
	dcancel()
	<-done
	logb, _ := os.ReadFile(filepath.Join(cn.dir, "node.log"))
	log := string(logb)
	st := cn.cmd.ProcessState
	log = "\n" + log
	crashed := strings.Contains(log, "SIGSEGV") || strings.Contains(log, "\npanic: ") || strings.Contains(log, "\nfatal error: ")
	clean := st != nil && st.ExitCode() == 0 && !crashed
	a.res.figure("exit_seconds", took.Seconds())
	if clean {
		a.res.figure("exit_clean", 1)
		a.res.note = fmt.Sprintf("exited 0 after %.1f s", took.Seconds())
		return
	}
	a.res.figure("exit_clean", 0)
	what := "did not exit within 60 s (killed)"
	if st != nil && took < 60*time.Second {
		what = fmt.Sprintf("exited %s after %.1f s", st.String(), took.Seconds())
	}
	if crashed {
		what += ", crash in its log"
		for _, w := range []string{"\nfatal error: ", "\npanic: ", "SIGSEGV"} {
			if i := strings.Index(log, w); i >= 0 {
				what += ": " + strings.SplitN(strings.TrimPrefix(log[i:], "\n"), "\n", 2)[0]
				break
			}
		}
	}
	a.res.note = what
}

package grain

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/scheduler"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of testdata/*.txt")

// TestScripts runs the scripts of testdata: each case is a command, "----", and the effects the
// core answers with, one a line, in the style of etcd raft's interaction tests. The harness plays
// the shell without disk, network or actors: it records each Append and ends it when the script
// says append-done; requests and their senders are names.
func TestScripts(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

type testCase struct {
	comments []string // the comment lines before the command (kept by -rewrite)
	line     int
	cmd      string
	expected string
}

func parseScript(t *testing.T, path string) []testCase {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []testCase
	var cur *testCase
	var comments []string
	inOut := false
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		switch {
		case cur == nil && l == "":
		case cur == nil && strings.HasPrefix(l, "#"):
			comments = append(comments, l)
		case cur == nil:
			cur = &testCase{comments: comments, line: n, cmd: l}
			comments = nil
		case !inOut && l == "----":
			inOut = true
		case !inOut:
			t.Fatalf("%s:%d: one command a case, then ----", path, n)
		case l == "":
			cur.expected = strings.Join(out, "\n")
			cases = append(cases, *cur)
			cur, inOut, out = nil, false, nil
		default:
			out = append(out, l)
		}
	}
	if cur != nil {
		cur.expected = strings.Join(out, "\n")
		cases = append(cases, *cur)
	}
	return cases
}

func runScript(t *testing.T, path string) {
	cases := parseScript(t, path)
	h := newHarness()
	var b strings.Builder
	failed := false
	for _, c := range cases {
		got := strings.Join(h.do(t, c.cmd), "\n")
		if got != c.expected && !*rewrite {
			failed = true
			t.Errorf("%s:%d: %s\n--- expected\n%s\n--- got\n%s", path, c.line, c.cmd, c.expected, got)
		}
		for _, l := range c.comments {
			b.WriteString(l + "\n")
		}
		fmt.Fprintf(&b, "%s\n----\n", c.cmd)
		if got != "" {
			b.WriteString(got + "\n")
		}
		b.WriteString("\n")
	}
	if *rewrite && !failed {
		if err := os.WriteFile(path, []byte(strings.TrimSuffix(b.String(), "\n")), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeEnv is a clock that moves only when the script says, a fixed height and a fixed key.
type fakeEnv struct {
	now     int64
	signer  ans104.Signer
	signErr error
}

func (e *fakeEnv) Clock() int64        { return e.now }
func (e *fakeEnv) BlockHeight() uint64 { return 7 }
func (e *fakeEnv) Sign(a ans104.Assignment) (*ans104.DataItem, error) {
	if e.signErr != nil {
		return nil, e.signErr
	}
	return scheduler.Sign(a, e.signer)
}

type harness struct {
	env     *fakeEnv
	core    *Core
	pid     ans104.ID
	names   map[ans104.ID]string
	now     time.Time
	appends []Append          // in flight, oldest first
	durable Log               // the log as the store holds it
	after   []scheduler.State // the scheduler's state after each append in flight
}

func newHarness() *harness {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	h := &harness{env: &fakeEnv{now: 1000, signer: ans104.NewEd25519Signer(key)}, names: map[ans104.ID]string{},
		now: time.Unix(1000, 0)}
	h.pid = h.id("process")
	return h
}

func (h *harness) id(name string) ans104.ID {
	if name == "process" && !h.pid.IsZero() {
		return h.pid
	}
	id := ans104.ID(sha256.Sum256([]byte(name)))
	h.names[id] = name
	return id
}

func (h *harness) name(id ans104.ID) string {
	if id.IsZero() {
		return "process"
	}
	return h.names[id]
}

// args parses "k=v k2 k3=v3" into a map ("" for a bare word).
func args(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		k, v, _ := strings.Cut(f, "=")
		m[k] = v
	}
	return m
}

func atoi(t *testing.T, s string, def int) int {
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var scriptErrors = map[string]error{
	"resync":   replication.ErrResync,
	"notowner": replication.ErrNotOwner,
	"stale":    persistence.ErrStaleEpoch,
	"forked":   replication.ErrForked,
	"io":       errors.New("disk on fire"),
}

func (h *harness) do(t *testing.T, line string) []string {
	f := strings.Fields(line)
	a := args(f[1:])
	if h.core == nil && f[0] != "new" {
		t.Fatalf("%q before new", line)
	}
	var effs []Effect
	switch f[0] {
	case "new":
		cfg := Config{MaxBatch: atoi(t, a["max-batch"], 256), MaxPending: atoi(t, a["max-pending"], 4),
			MaxReceiveRate: float64(atoi(t, a["rate"], 0))}
		_, cfg.LazyEval = a["lazy"]
		h.core = New(h.pid, cfg, h.env)
		return nil
	case "activate":
		var req *Request
		if a["req"] != "" {
			req = &Request{Msg: a["req"], From: a["from"]}
		}
		effs = h.core.Step(Activate{Req: req})
	case "handover-done":
		lg := h.core.Log()
		lg.Epoch = uint64(atoi(t, a["epoch"], int(lg.Epoch)))
		h.durable = lg
		effs = h.core.Step(HandoverDone{Log: lg})
	case "request":
		effs = h.core.Step(Receive{Req: Request{Msg: f[1], From: a["from"]}})
	case "submit", "assign", "spawn", "tick":
		// submit: a message item; assign: a message held elsewhere (no item; the acknowledgement
		// names the assignment); spawn: the process's own assignment; tick: a cron tick.
		s := &Submit{}
		if f[0] != "assign" {
			s.Item = ans104.NewItem([]byte(line), nil, nil, nil)
		}
		if v, ok := a["from"]; ok {
			s.To = v
		}
		if f[0] != "spawn" {
			s.MsgID = h.id(a["id"])
		}
		if f[0] == "tick" {
			s.Tick = &cron.Tick{Seq: 1}
		}
		ev := Enqueue{S: s, Now: h.now, Rated: f[0] == "submit" || f[0] == "assign"}
		_, ev.Dup = a["dup"]
		if _, ok := a["duperr"]; ok {
			ev.DupErr = errors.New("store failing")
		}
		effs = h.core.Step(ev)
	case "append-done":
		if len(h.appends) == 0 {
			t.Fatalf("%q: no append in flight", line)
		}
		ap, after := h.appends[0], h.after[0]
		h.appends, h.after = h.appends[1:], h.after[1:]
		ev := AppendDone{Batch: ap.Batch}
		if e, ok := a["err"]; ok {
			ev.Err = scriptErrors[e]
			if ev.Err == nil {
				t.Fatalf("unknown error %q", e)
			}
			ev.Reload = h.durable
			_, ev.Refused = a["refused"]
			dups := map[string]bool{}
			for _, n := range strings.Split(a["dup"], ",") {
				dups[n] = true
			}
			if Reschedulable(ev.Err) && !ev.Refused {
				ev.Dups = make([]Dup, len(ap.Batch))
				for i, s := range ap.Batch {
					ev.Dups[i].Has = dups[h.name(s.MsgID)]
				}
			}
		} else {
			h.durable.Sched = after
			h.durable.Head += uint64(len(ap.Batch))
		}
		effs = h.core.Step(ev)
	case "progress":
		effs = h.core.Step(Progress{Evaluated: uint64(atoi(t, a["evaluated"], 0))})
	case "idle":
		effs = h.core.Step(IdleCheck{})
	case "stop-agreed":
		effs = h.core.Step(StopAgreed{})
	case "stopped":
		effs = h.core.Step(Stopped{})
	case "advance":
		ms := atoi(t, a["ms"], 0)
		h.now = h.now.Add(time.Duration(ms) * time.Millisecond)
		h.env.now += int64(ms)
		return nil
	case "sign-fail":
		h.env.signErr = nil
		if a["on"] == "" && len(f) > 1 && f[1] == "on" {
			h.env.signErr = errors.New("key unavailable")
		}
		return nil
	case "state":
		return h.state()
	default:
		t.Fatalf("unknown command %q", line)
	}
	return h.effects(effs, "")
}

func (h *harness) state() []string {
	c := h.core
	var pend, held []string
	for _, s := range c.pending {
		pend = append(pend, h.name(s.MsgID))
	}
	for _, r := range c.held {
		held = append(held, fmt.Sprint(r.Msg))
	}
	ids := make([]string, 0, len(c.pendingIDs))
	for id := range c.pendingIDs {
		ids = append(ids, h.name(id))
	}
	sort.Strings(ids)
	return []string{fmt.Sprintf("head=%d evaluated=%d epoch=%d inflight=%t handover=%t pending=[%s] ids=[%s] held=[%s] stopping=%t",
		c.log.Head, c.log.Evaluated, c.log.Epoch, c.inflight, c.activating(), strings.Join(pend, " "), strings.Join(ids, " "),
		strings.Join(held, " "), c.stopping)}
}

// effects prints effects, playing the shell's part where it only feeds the core back: Resume
// receives each request again (as the actor does), and what that answers is printed indented.
func (h *harness) effects(effs []Effect, indent string) []string {
	var out []string
	for _, e := range effs {
		switch e := e.(type) {
		case Serve:
			w := ""
			if e.Req.Waited {
				w = " waited"
			}
			out = append(out, fmt.Sprintf("%sserve %v from=%v%s", indent, e.Req.Msg, e.Req.From, w))
		case Refuse:
			out = append(out, fmt.Sprintf("%srefuse %v from=%v: %v", indent, e.Req.Msg, e.Req.From, e.Err))
		case Reply:
			s := fmt.Sprintf("%sreply %s to=%v", indent, h.name(e.S.MsgID), e.S.To)
			if len(e.Waiters) > 0 {
				s += fmt.Sprintf(" waiters=%v", e.Waiters)
			}
			if e.Err != nil {
				s += fmt.Sprintf(": error: %v", e.Err)
			} else {
				id := h.name(e.Ack.ID)
				if id == "" {
					id = "assignment"
				}
				s += fmt.Sprintf(": ack %s nonce=%d ts=%d", id, e.Ack.Nonce, e.Ack.Timestamp)
			}
			out = append(out, s)
		case QuotaHit:
			out = append(out, indent+"quota-hit "+e.Quota)
		case Append:
			h.appends, h.after = append(h.appends, e), append(h.after, h.core.log.Sched)
			var names []string
			for _, s := range e.Batch {
				names = append(names, fmt.Sprintf("%s@%d", h.name(s.MsgID), s.Entry.Nonce))
			}
			out = append(out, fmt.Sprintf("%sappend epoch=%d [%s]", indent, e.Epoch, strings.Join(names, " ")))
		case Appended:
			var names []string
			for _, s := range e.Batch {
				names = append(names, h.name(s.MsgID))
			}
			out = append(out, fmt.Sprintf("%sappended [%s] head=%d", indent, strings.Join(names, " "), h.core.log.Head))
		case TicksDropped:
			out = append(out, indent+"ticks-dropped")
		case StartHandover:
			out = append(out, indent+"start-handover")
		case Resume:
			var names []string
			for _, r := range e.Reqs {
				names = append(names, fmt.Sprint(r.Msg))
			}
			out = append(out, fmt.Sprintf("%sresume [%s]", indent, strings.Join(names, " ")))
			for _, r := range e.Reqs {
				r.Waited = true
				out = append(out, h.effects(h.core.Step(Receive{Req: r}), indent+"  ")...)
			}
		case TryStop:
			out = append(out, indent+"try-stop")
		case Stop:
			out = append(out, indent+"stop")
		default:
			out = append(out, fmt.Sprintf("%sunknown effect %T", indent, e))
		}
	}
	return out
}

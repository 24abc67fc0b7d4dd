package replication

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/protobuf/types/known/wrapperspb"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// The tests run every member as a child process (this test binary re-executed): one actor system
// with Proto.Actor remote on a loopback port (real gRPC), one Pebble store on disk, one replicator.
// One process per member is also what production does, and it keeps protoactor-go's grpclog race
// (every Remote.Start writes grpc's global logger; docs/design.md §8) out of -race runs. The
// parent drives the members with JSON commands to a "control" actor, over the same remote.

var ctx = context.Background()

// cmd is one command to a member; reply is its answer.
type cmd struct {
	Op     string `json:"op"`
	PID    string `json:"pid,omitempty"`
	Owner  string `json:"owner,omitempty"`
	Backup string `json:"backup,omitempty"`
	// Replicas, if set, is the whole replica set "place" gives (Owner and Backup are ignored).
	Replicas []string `json:"replicas,omitempty"`
	N        int      `json:"n,omitempty"`
	From     uint64   `json:"from,omitempty"`
}

type reply struct {
	Err     string `json:"err,omitempty"`
	Kind    string `json:"kind,omitempty"` // which sentinel the error wraps
	Epoch   uint64 `json:"epoch"`
	Count   uint64 `json:"count"`
	ChainOK bool   `json:"chainOK"`
	Digest  string `json:"digest"` // SHA-256 over every assignment id of the log, in order
	Epochs  string `json:"epochs"` // distinct entry epochs in log order, e.g. "1,3"
	Stats   map[string]int64

	Fork        string   `json:"fork,omitempty"` // the fork record, described
	ForkNonce   uint64   `json:"forkNonce"`      // where it says the histories part
	Archived    uint64   `json:"archived"`       // entries in this member's archive of the process
	Evaluated   uint64   `json:"evaluated"`      // the evaluation cursor
	Msgs        []string `json:"msgs,omitempty"` // message ids of the log, in order
	Resolved    uint64   `json:"resolved"`       // resolve: entries archived on the losing side
	Rescheduled int      `json:"rescheduled"`    // resolve: lost messages scheduled again
}

// TestReplicationMember is not a test: the tests below re-execute the binary with AW_REPL_MEMBER set
// to run one member.
func TestReplicationMember(t *testing.T) {
	dir := os.Getenv("AW_REPL_MEMBER")
	if dir == "" {
		t.Skip("helper process of the replication tests")
	}
	m, err := startMember(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "member:", err)
		os.Exit(3)
	}
	_ = os.WriteFile(filepath.Join(dir, "addr.tmp"), []byte(m.sys.Address()), 0o600)
	_ = os.Rename(filepath.Join(dir, "addr.tmp"), filepath.Join(dir, "addr"))
	<-m.done
	os.Exit(0)
}

// member is the child side: placement as told by the parent, and owners that write as the process
// actor does (replicate, then append locally only once the backup acknowledged).
type member struct {
	sys   *actor.ActorSystem
	store *persistence.Store
	repl  *Replicator
	done  chan struct{}

	mu            sync.Mutex
	place         map[persistence.ID]Replicas
	owners        map[persistence.ID]*owner
	quorum        *awcluster.Quorum // with Auto: the durable record of the members seen, as a node keeps it
	selfAddr, dir string
}

func quietSystem() *actor.ActorSystem {
	quiet := slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError}))
	return actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quiet }))
}

func startMember(dir string) (*member, error) {
	sys := quietSystem()
	remote.NewRemote(sys, remote.Configure("127.0.0.1", 0)).Start()
	st, err := persistence.Open(filepath.Join(dir, "pebble"), persistence.Options{})
	if err != nil {
		return nil, err
	}
	m := &member{sys: sys, store: st, dir: dir, done: make(chan struct{}), place: map[persistence.ID]Replicas{},
		owners: map[persistence.ID]*owner{}}
	var cfg Config
	_ = json.Unmarshal([]byte(os.Getenv("AW_REPL_CONFIG")), &cfg)
	if cfg.Auto {
		// As the node does: every view's members are recorded in <data>/cluster-members.json, and
		// that file, not memory, says whether this node was ever in a cluster.
		if m.quorum, err = awcluster.OpenQuorum(filepath.Join(dir, "cluster-members.json")); err != nil {
			return nil, err
		}
		m.quorum.SetFresh("member:"+dir, nil) // a node's name survives its restarts; its remote address does not
		m.selfAddr = sys.Address()
		cfg.Clustered = m.quorum.Clustered
	}
	if m.repl, err = New(sys, st, m.placement, cfg); err != nil {
		return nil, err
	}
	_, err = sys.Root.SpawnNamed(actor.PropsFromFunc(m.receive), "control")
	return m, err
}

func (m *member) placement(pid persistence.ID) Replicas {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.place[pid]
}

func (m *member) receive(c actor.Context) {
	s, ok := c.Message().(*wrapperspb.StringValue)
	if !ok {
		return
	}
	var in cmd
	_ = json.Unmarshal([]byte(s.Value), &in)
	out := m.do(in)
	b, _ := json.Marshal(out)
	c.Respond(wrapperspb.String(string(b)))
	if in.Op == "exit" {
		close(m.done)
	}
}

func errReply(err error) reply {
	r := reply{Err: err.Error()}
	for _, k := range []struct {
		name string
		err  error
	}{{"unreachable", ErrBackupUnreachable}, {"no-backup", ErrNoBackup}, {"not-owner", ErrNotOwner},
		{"resync", ErrResync}, {"forked", ErrForked}, {"diverged", ErrDiverged}, {"stale", persistence.ErrStaleEpoch}} {
		if errors.Is(err, k.err) {
			r.Kind = k.name
			break
		}
	}
	return r
}

func (m *member) do(in cmd) reply {
	var pid persistence.ID
	if b, err := base64.RawURLEncoding.DecodeString(in.PID); err == nil {
		copy(pid[:], b)
	}
	m.mu.Lock()
	o := m.owners[pid]
	if o == nil {
		o = &owner{m: m, pid: pid}
		m.owners[pid] = o
	}
	m.mu.Unlock()
	switch in.Op {
	case "place":
		list := Replicas{in.Owner, in.Backup}
		if len(in.Replicas) > 0 {
			list = in.Replicas
		}
		m.mu.Lock()
		m.place[pid] = list
		m.mu.Unlock()
		if m.quorum != nil {
			v := &awcluster.View{}
			for _, a := range list {
				name := a
				if a == m.selfAddr {
					name = "member:" + m.dir
				}
				if a != "" {
					v.Members = append(v.Members, awcluster.Member{Name: name, Address: a, Capacity: 1})
				}
			}
			if err := m.quorum.Observe(v); err != nil {
				return errReply(err)
			}
		}
	case "spawn", "register": // register: the spawn of an activation that already ran its hand-over
		if in.Op == "spawn" {
			if err := m.repl.Activate(ctx, pid); err != nil {
				return errReply(err)
			}
		}
		// Register at the epoch the hand-over fenced (the store's floor), as the process actor does.
		hs, err := m.store.State(ctx, pid)
		if err != nil {
			return errReply(err)
		}
		if err := m.store.PutProcess(ctx, persistence.Process{ID: pid, ModuleID: sha256.Sum256([]byte("module")),
			Item: []byte("process item"), Tags: []persistence.Tag{{Name: "Type", Value: "Process"}}, Epoch: hs.Epoch}); err != nil {
			return errReply(err)
		}
		return o.load()
	case "activate":
		if err := m.repl.Activate(ctx, pid); err != nil {
			return errReply(err)
		}
		return o.load()
	case "load":
		return o.load()
	case "forget": // what a node that loses ownership does (its hand-off) or a restart does
		m.repl.Forget(pid)
		return o.load()
	case "catchup": // what a read on the owner runs first
		if err := m.repl.CatchUp(ctx, pid); err != nil {
			return errReply(err)
		}
		return o.load()
	case "write":
		return o.write(in.N)
	case "write-local": // entries that reach only this node's store (a backup that missed them)
		es := o.batch(in.N)
		if err := m.store.AppendBatch(ctx, pid, es); err != nil {
			return errReply(err)
		}
		return o.load()
	case "replicate-only": // a batch the backup took but the owner never appended (it crashed)
		if err := m.repl.Replicate(ctx, pid, o.epoch, o.batch(in.N)); err != nil {
			return errReply(err)
		}
		return o.load()
	case "resend": // replicate entries [from, count) again, as a retry after a lost reply would
		page, err := m.store.Scan(persistence.Query{Process: pid, By: persistence.ByNonce, From: persistence.Bound(int64(in.From) - 1)})
		if err != nil {
			return errReply(err)
		}
		if err := m.repl.Replicate(ctx, pid, o.epoch, page.Entries); err != nil {
			return errReply(err)
		}
	case "evaluate": // this member evaluates its whole log (results only)
		if err := m.evaluate(pid); err != nil {
			return errReply(err)
		}
	case "resolve": // resolve-fork on the owner, keeping Owner's history, and schedule the lost messages again
		res, err := m.repl.ResolveFork(ctx, pid, in.Owner)
		if err != nil {
			return errReply(err)
		}
		o.load()
		for _, e := range res.Unscheduled {
			if r := o.writeMessage(e.Message); r.Err != "" {
				return r
			}
		}
		r := m.state(pid)
		r.Resolved, r.Rescheduled = res.Archived, len(res.Unscheduled)
		return r
	case "drain": // hand every process this member owns to its owner under the placement Owner, Backup of pid (others: none), within N ms
		to := func(id persistence.ID) Replicas {
			if id == pid {
				return Replicas{in.Owner, in.Backup}
			}
			return nil
		}
		dctx, cancel := context.WithTimeout(ctx, time.Duration(in.N)*time.Millisecond)
		defer cancel()
		quiet := slog.New(slog.NewTextHandler(discard{}, nil))
		res, err := m.repl.Drain(dctx, m.placement, to, quiet)
		r := reply{Count: uint64(res.HandedOff), Epoch: uint64(res.Owned)}
		if err != nil {
			r = errReply(err)
			r.Count = uint64(res.HandedOff)
			if errors.Is(err, ErrDrainIncomplete) {
				r.Kind = "drain-incomplete"
			}
		}
		return r
	case "stats":
		s := m.repl.Stats()
		return reply{Stats: map[string]int64{"pulled": s.Pulled.Load(), "caughtUp": s.CaughtUp.Load(),
			"replicated": s.Replicated.Load(), "replica": s.ReplicaEntries.Load(), "sent": s.BytesSent.Load(),
			"received": s.BytesReceived.Load(), "truncated": s.Truncated.Load()}}
	case "exit":
		m.repl.Stop()
		m.store.Close()
		return reply{}
	}
	return m.state(pid)
}

// state describes this member's log of pid and checks its hash chain.
func (m *member) state(pid persistence.ID) reply {
	st, err := m.store.State(ctx, pid)
	if err != nil {
		return errReply(err)
	}
	r := reply{Epoch: st.Epoch, Count: st.Count, ChainOK: true}
	h := sha256.New()
	hc, lastEpoch := persistence.FirstHashChain(pid), ^uint64(0)
	for n := uint64(0); n < st.Count; n++ {
		e, err := m.store.Entry(pid, n)
		if err != nil {
			return errReply(err)
		}
		if e.HashChain != hc {
			r.ChainOK = false
		}
		if e.Epoch != lastEpoch {
			if r.Epochs != "" {
				r.Epochs += ","
			}
			r.Epochs += fmt.Sprint(e.Epoch)
			lastEpoch = e.Epoch
		}
		h.Write(e.AssignmentID[:])
		hc = persistence.NextHashChain(e.AssignmentID, e.HashChain)
	}
	r.Digest = base64.RawURLEncoding.EncodeToString(h.Sum(nil))
	if err := m.forkState(pid, &r); err != nil {
		return errReply(err)
	}
	return r
}

// forkState adds the fork record, the archive and the evaluation cursor of pid to r, and the
// message ids of its log.
func (m *member) forkState(pid persistence.ID, r *reply) error {
	f, ok, err := m.store.Fork(pid)
	if err != nil {
		return err
	}
	if ok {
		r.Fork, r.ForkNonce = f.Describe(), f.Nonce
	}
	arch, err := m.store.Archives(pid)
	if err != nil {
		return err
	}
	for _, a := range arch {
		r.Archived += uint64(len(a.Entries))
	}
	if r.Evaluated, err = m.store.Evaluated(pid); err != nil {
		return err
	}
	for n := uint64(0); n < r.Count; n++ {
		e, err := m.store.Entry(pid, n)
		if err != nil {
			return err
		}
		r.Msgs = append(r.Msgs, base64.RawURLEncoding.EncodeToString(e.MessageID[:]))
	}
	return nil
}

func (m *member) evaluate(pid persistence.ID) error {
	st, err := m.store.State(ctx, pid)
	if err != nil {
		return err
	}
	next, err := m.store.Evaluated(pid)
	for ; err == nil && next < st.Count; next++ {
		err = m.store.CommitEvaluation(ctx, persistence.Evaluation{Process: pid, Nonce: next, Result: []byte("result"),
			Pushes: []persistence.Push{{Kind: 1, Target: pid, Item: []byte("push")}}})
	}
	return err
}

// owner plays the process actor of one process on one member.
type owner struct {
	m     *member
	pid   persistence.ID
	epoch uint64
	count uint64
	hc    persistence.ID
	asg   persistence.ID
}

func (o *owner) load() reply {
	r := o.m.state(o.pid)
	o.epoch, o.count = r.Epoch, r.Count
	if o.count > 0 {
		e, err := o.m.store.Entry(o.pid, o.count-1)
		if err != nil {
			return errReply(err)
		}
		o.hc, o.asg = e.HashChain, e.AssignmentID
	}
	return r
}

func (o *owner) batch(k int) []persistence.Entry {
	var es []persistence.Entry
	count, hc, asg := o.count, o.hc, o.asg
	for i := 0; i < k; i++ {
		a, msg := make([]byte, 300), make([]byte, 700)
		_, _ = rand.Read(a)
		_, _ = rand.Read(msg)
		e := persistence.Entry{Process: o.pid, Nonce: count, Epoch: o.epoch, Timestamp: int64(1_700_000_000_000 + count),
			AssignmentID: sha256.Sum256(a), Assignment: a, MessageID: sha256.Sum256(msg), Message: msg}
		if count == 0 {
			e.HashChain = persistence.FirstHashChain(o.pid)
		} else {
			e.HashChain = persistence.NextHashChain(asg, hc)
		}
		count, hc, asg = count+1, e.HashChain, e.AssignmentID
		es = append(es, e)
	}
	return es
}

// writeMessage schedules msg (a lost message scheduled again) as the next entry, with a new
// assignment, and writes it as write does.
func (o *owner) writeMessage(msg []byte) reply {
	es := o.batch(1)
	es[0].Message, es[0].MessageID = msg, sha256.Sum256(msg)
	if err := o.m.repl.Replicate(ctx, o.pid, o.epoch, es); err != nil {
		return errReply(err)
	}
	if err := o.m.store.AppendBatch(ctx, o.pid, es); err != nil {
		return errReply(fmt.Errorf("local append after the backup acknowledged: %w", err))
	}
	return o.load()
}

// write replicates k new entries and appends them locally once the backup has them.
func (o *owner) write(k int) reply {
	es := o.batch(k)
	if err := o.m.repl.Replicate(ctx, o.pid, o.epoch, es); err != nil {
		return errReply(err)
	}
	if err := o.m.store.AppendBatch(ctx, o.pid, es); err != nil {
		return errReply(fmt.Errorf("local append after the backup acknowledged: %w", err))
	}
	return o.load()
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// cluster is the parent side: its own actor system (the only Remote in the test process) and the
// members it started.
type cluster struct {
	t   *testing.T
	sys *actor.ActorSystem
}

var parentOnce sync.Once
var parentSys *actor.ActorSystem

func newCluster(t *testing.T) *cluster {
	if testing.Short() {
		t.Skip("replication tests run member processes")
	}
	parentOnce.Do(func() {
		parentSys = quietSystem()
		remote.NewRemote(parentSys, remote.Configure("127.0.0.1", 0)).Start()
	})
	return &cluster{t: t, sys: parentSys}
}

type memberRef struct {
	c    *cluster
	addr string
	proc *exec.Cmd
	dir  string
	cfg  Config
}

func (c *cluster) start(cfg Config) *memberRef { c.t.Helper(); return c.startIn(c.t.TempDir(), cfg) }

// restart kills m (-9) and starts it again on the same data folder (a new remote address).
func (c *cluster) restart(m *memberRef) *memberRef {
	c.t.Helper()
	m.kill()
	return c.startIn(m.dir, m.cfg)
}

func (c *cluster) startIn(dir string, cfg Config) *memberRef {
	c.t.Helper()
	_ = os.Remove(filepath.Join(dir, "addr"))
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		c.t.Fatalf("member config: %v", err)
	}
	p := exec.Command(os.Args[0], "-test.run=^TestReplicationMember$", "-test.v=false")
	p.Env = append(os.Environ(), "AW_REPL_MEMBER="+dir, "AW_REPL_CONFIG="+string(cfgJSON))
	p.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive a killed test binary
	logf, _ := os.OpenFile(filepath.Join(dir, "member.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	p.Stdout, p.Stderr = logf, logf
	if err := p.Start(); err != nil {
		c.t.Fatal(err)
	}
	m := &memberRef{c: c, proc: p, dir: dir, cfg: cfg}
	c.t.Cleanup(func() { _ = p.Process.Kill(); _, _ = p.Process.Wait(); logf.Close() })
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(filepath.Join(dir, "addr")); err == nil {
			m.addr = string(b)
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	c.t.Fatal("member did not start")
	return nil
}

func (m *memberRef) do(in cmd) reply {
	m.c.t.Helper()
	b, _ := json.Marshal(in)
	res, err := m.c.sys.Root.RequestFuture(actor.NewPID(m.addr, "control"), wrapperspb.String(string(b)), 30*time.Second).Result()
	if err != nil {
		m.c.t.Fatalf("%s on %s: %v", in.Op, m.addr, err)
	}
	var r reply
	_ = json.Unmarshal([]byte(res.(*wrapperspb.StringValue).Value), &r)
	return r
}

// must runs in and fails the test on an error.
func (m *memberRef) must(in cmd) reply {
	m.c.t.Helper()
	r := m.do(in)
	if r.Err != "" {
		m.c.t.Fatalf("%s on %s: %s", in.Op, m.addr, r.Err)
	}
	return r
}

func (m *memberRef) kill() {
	_ = m.proc.Process.Kill()
	_, _ = m.proc.Process.Wait()
}

func newPID(t *testing.T) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// place tells every member the same placement of pid.
func place(pid string, owner, backup *memberRef, ms ...*memberRef) {
	ob := ""
	if backup != nil {
		ob = backup.addr
	}
	for _, m := range ms {
		m.must(cmd{Op: "place", PID: pid, Owner: owner.addr, Backup: ob})
	}
}

// sameLog checks that the members hold one identical, unbroken chain of want entries.
func sameLog(t *testing.T, pid string, want uint64, ms ...*memberRef) {
	t.Helper()
	var digest string
	for i, m := range ms {
		r := m.must(cmd{Op: "state", PID: pid})
		if r.Count != want || !r.ChainOK {
			t.Fatalf("member %d holds %d entries (chain ok %v), want %d", i, r.Count, r.ChainOK, want)
		}
		if i == 0 {
			digest = r.Digest
		} else if r.Digest != digest {
			t.Fatalf("member %d's log differs from member 0's", i)
		}
	}
}

// TestReplicationFailover: A owns, B backs up; every acknowledged batch is on both. A is declared
// dead (but keeps running with its old view, a zombie): B becomes owner with a higher epoch and seeds
// the new backup C, and the zombie can no longer write anywhere. Then B is killed -9 for real: C
// takes over and catches the old zombie A up as its backup. Every log is one unbroken chain.
func TestReplicationFailover(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{}), c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b, cc)
	ra := a.must(cmd{Op: "spawn", PID: pid})
	for i := 0; i < 20; i++ {
		ra = a.must(cmd{Op: "write", PID: pid, N: 1 + i%3})
	}
	sameLog(t, pid, ra.Count, a, b)

	place(pid, b, cc, b, cc) // A keeps its old view
	rb := b.must(cmd{Op: "activate", PID: pid})
	if rb.Epoch <= ra.Epoch || rb.Count != ra.Count {
		t.Fatalf("new owner at epoch %d with %d entries; old owner at epoch %d with %d", rb.Epoch, rb.Count, ra.Epoch, ra.Count)
	}
	for i := 0; i < 5; i++ {
		rb = b.must(cmd{Op: "write", PID: pid, N: 2})
	}
	sameLog(t, pid, rb.Count, b, cc)

	// The zombie, through its old backup B, then through C once it learnt C is the backup.
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "not-owner" {
		t.Fatalf("zombie owner writing through B: %+v, want not-owner", r)
	}
	// Once the zombie's view names C as backup it does what any owner does with a new backup: it
	// fences C and pulls what C holds, so its write lands nowhere (it must schedule again), and it
	// only costs B a re-activation: safety never depended on views agreeing.
	place(pid, a, cc, a)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "not-owner" && r.Kind != "resync" {
		t.Fatalf("zombie owner writing through C: %+v, want not-owner or resync", r)
	}
	sameLog(t, pid, rb.Count, b, cc)
	if r := b.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "not-owner" {
		t.Fatalf("owner B after the zombie fenced its backup: %+v, want not-owner", r)
	}
	rb = b.must(cmd{Op: "activate", PID: pid})
	rb = b.must(cmd{Op: "write", PID: pid, N: 2})
	sameLog(t, pid, rb.Count, b, cc)

	// kill -9 of the owner: C takes over, with A (behind) as its backup.
	b.kill()
	place(pid, cc, a, cc, a)
	rc := cc.must(cmd{Op: "activate", PID: pid})
	if rc.Epoch <= rb.Epoch || rc.Count != rb.Count {
		t.Fatalf("after kill -9: new owner at epoch %d with %d entries, want > %d and %d", rc.Epoch, rc.Count, rb.Epoch, rb.Count)
	}
	rc = cc.must(cmd{Op: "write", PID: pid, N: 3})
	sameLog(t, pid, rc.Count, cc, a)
	r := cc.must(cmd{Op: "state", PID: pid})
	var prev uint64
	for i, e := range strings.Split(r.Epochs, ",") {
		n, _ := strconv.ParseUint(e, 10, 64)
		if i > 0 && n <= prev {
			t.Fatalf("epochs along the log %q do not increase", r.Epochs)
		}
		prev = n
	}
	if !strings.HasPrefix(r.Epochs, fmt.Sprint(ra.Epoch)+",") || prev != rc.Epoch {
		t.Fatalf("epochs along the log %q: want from %d to %d", r.Epochs, ra.Epoch, rc.Epoch)
	}
}

// TestReplicationMigration: a node D joins and rendezvous makes it the owner, with the old owner A as
// its backup. D's activation fences A and pulls the whole log in bounded messages; A's own (stale)
// activation is then refused before anything reaches its old backup.
func TestReplicationMigration(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.start(Config{}), c.start(Config{}), c.start(Config{CatchUpEntries: 7})
	pid := newPID(t)
	place(pid, a, b, a, b)
	a.must(cmd{Op: "spawn", PID: pid})
	for i := 0; i < 30; i++ {
		a.must(cmd{Op: "write", PID: pid, N: 1})
	}
	place(pid, d, a, d, a)
	rd := d.must(cmd{Op: "activate", PID: pid})
	if rd.Count != 30 {
		t.Fatalf("new owner holds %d entries, want 30", rd.Count)
	}
	if s := d.must(cmd{Op: "stats"}).Stats; s["pulled"] != 30 {
		t.Fatalf("new owner pulled %d entries, want 30", s["pulled"])
	}
	d.must(cmd{Op: "write", PID: pid, N: 3})
	sameLog(t, pid, 33, d, a)
	// The old owner, still believing it owns with backup B, is refused: by its own fenced store, or by
	// B once it syncs with it.
	place(pid, a, b, a)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "not-owner" {
		t.Fatalf("old owner after the hand-over: %+v, want not-owner", r)
	}
	sameLog(t, pid, 33, d, a)
	sameLog(t, pid, 30, b) // and its old backup took nothing
}

// TestReplicationCatchUp: a backup that missed entries is caught up from the owner's log before the
// next write lands, and a retried batch the backup already holds is acknowledged again.
func TestReplicationCatchUp(t *testing.T) {
	c := newCluster(t)
	a, b := c.start(Config{CatchUpEntries: 4}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 3})
	a.must(cmd{Op: "write-local", PID: pid, N: 10})
	a.must(cmd{Op: "write", PID: pid, N: 2})
	sameLog(t, pid, 15, a, b)
	if s := a.must(cmd{Op: "stats"}).Stats; s["caughtUp"] != 10 {
		t.Fatalf("caught up %d entries, want 10", s["caughtUp"])
	}
	a.must(cmd{Op: "resend", PID: pid, From: 12})
	sameLog(t, pid, 15, a, b)
}

// TestReplicationBackupUnreachable: with the backup killed, writes are refused with a clear error
// and nothing is written; with no backup member, likewise; once a new backup is there the owner
// seeds it, asks its caller to schedule again (new epoch), and writes resume.
func TestReplicationBackupUnreachable(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{Timeout: 500 * time.Millisecond, WaitBackup: -1}), c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 2})
	b.kill()
	start := time.Now()
	r := a.do(cmd{Op: "write", PID: pid, N: 1})
	if r.Kind != "unreachable" {
		t.Fatalf("write with the backup killed: %+v", r)
	}
	t.Logf("refused after %v: %s", time.Since(start).Round(time.Millisecond), r.Err)
	if r := a.must(cmd{Op: "state", PID: pid}); r.Count != 2 {
		t.Fatalf("owner log has %d entries after a refused write", r.Count)
	}
	place(pid, a, nil, a)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "no-backup" {
		t.Fatalf("write with no backup member: %+v", r)
	}
	place(pid, a, cc, a, cc)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "resync" {
		t.Fatalf("first write after the new backup: %+v, want resync", r)
	}
	a.must(cmd{Op: "load", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 1})
	sameLog(t, pid, 3, a, cc)
}

// TestReplicationDivergedTail: a backup holds an entry its owner never appended (the owner crashed,
// or was deposed, between the backup's fsync and its own), the owner moves on with another backup
// at a higher epoch, and the old backup comes back. Whichever side it returns on, as backup (its
// tail is truncated and it is caught up) or as owner (it truncates its own tail and pulls), the
// later epoch's history wins and the copies end identical; nothing acknowledged is lost.
func TestReplicationDivergedTail(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{}), c.start(Config{}), c.start(Config{})
	for _, returnsAsOwner := range []bool{false, true} {
		pid := newPID(t)
		place(pid, a, b, a, b, cc)
		a.must(cmd{Op: "spawn", PID: pid})
		a.must(cmd{Op: "write", PID: pid, N: 5})
		a.must(cmd{Op: "replicate-only", PID: pid, N: 2}) // B: 7 entries, A: 6 (spawn entry + 5)
		rb := b.must(cmd{Op: "state", PID: pid})
		// B is gone for a while: A continues with C, at a new epoch.
		place(pid, a, cc, a, cc)
		if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "resync" {
			t.Fatalf("first write with the new backup: %+v", r)
		}
		a.must(cmd{Op: "load", PID: pid})
		ra := a.must(cmd{Op: "write", PID: pid, N: 3})
		if ra.Count != 8 || rb.Count != 7 {
			t.Fatalf("setup: owner %d entries, old backup %d", ra.Count, rb.Count)
		}
		if returnsAsOwner {
			place(pid, b, a, a, b, cc)
			b.must(cmd{Op: "activate", PID: pid})
			b.must(cmd{Op: "write", PID: pid, N: 2})
			sameLog(t, pid, 10, b, a)
			if s := b.must(cmd{Op: "stats"}).Stats; s["truncated"] == 0 {
				t.Fatal("the returning owner did not drop its diverged tail")
			}
			if r := b.must(cmd{Op: "state", PID: pid}); r.Archived != 2 || r.Fork != "" {
				t.Fatalf("the returning owner's dropped tail is not in its archive: %+v", r)
			}
		} else {
			place(pid, a, b, a, b, cc)
			if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "resync" {
				t.Fatalf("first write with the returning backup: %+v", r)
			}
			a.must(cmd{Op: "load", PID: pid})
			a.must(cmd{Op: "write", PID: pid, N: 2})
			sameLog(t, pid, 10, a, b)
			if s := b.must(cmd{Op: "stats"}).Stats; s["truncated"] == 0 {
				t.Fatal("the returning backup's diverged tail was not truncated")
			}
			if r := b.must(cmd{Op: "state", PID: pid}); r.Archived != 2 || r.Fork != "" {
				t.Fatalf("the returning backup's dropped tail is not in its archive: %+v", r)
			}
		}
	}
}

// TestReplicationAutoFactor: with the automatic factor a member that never saw a peer writes alone;
// once placement has named a backup, losing every peer makes writes fail (never factor 1 again).
func TestReplicationAutoFactor(t *testing.T) {
	c := newCluster(t)
	a, b := c.start(Config{Auto: true, WaitBackup: -1, Timeout: 500 * time.Millisecond}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, nil, a)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 2}) // alone: factor 1
	place(pid, a, b, a, b)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "resync" {
		t.Fatalf("first write with a peer: %+v, want resync (the peer is seeded)", r)
	}
	a.must(cmd{Op: "load", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 1})
	sameLog(t, pid, 3, a, b)
	place(pid, a, nil, a)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "no-backup" {
		t.Fatalf("write after losing the only peer: %+v, want no-backup", r)
	}
	// Killed and restarted alone (inside a partition, its peer out of reach): it must remember,
	// from its store, that it was part of a cluster, and still refuse to write alone. Before the
	// fact was durable, the restarted member took itself for a lone node and acknowledged writes
	// the other side never saw (lost at healing).
	a = c.restart(a)
	place(pid, a, nil, a)
	a.must(cmd{Op: "load", PID: pid})
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "no-backup" {
		t.Fatalf("write by the restarted member, alone: %+v, want no-backup", r)
	}
	// A member that was never in a cluster still writes alone after a restart.
	lone := c.start(Config{Auto: true, WaitBackup: -1, Timeout: 500 * time.Millisecond})
	solo := newPID(t)
	place(solo, lone, nil, lone)
	lone.must(cmd{Op: "spawn", PID: solo})
	before := lone.must(cmd{Op: "write", PID: solo, N: 2}).Count
	lone = c.restart(lone)
	place(solo, lone, nil, lone)
	lone.must(cmd{Op: "load", PID: solo})
	if r := lone.must(cmd{Op: "write", PID: solo, N: 1}); r.Count != before+1 {
		t.Fatalf("lone member after a restart: %+v, want %d entries", r, before+1)
	}
}

// TestReplicationNewProcessTwoOwners: two members whose views differ (a membership change in
// flight) both take a brand-new process for theirs, with the same backup, before either has
// written it. Each fence gets an epoch of its own (the backup records the first as the process's
// epoch floor), the member fenced out cannot register or write the process anywhere, and the log
// that survives has one signer per epoch (docs/design.md invariant 2). Before the floor, both took
// epoch 0 and both logs were written at it.
func TestReplicationNewProcessTwoOwners(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{}), c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b)
	ra := a.must(cmd{Op: "activate", PID: pid}) // A's hand-over: B knows nothing yet
	place(pid, cc, b, cc, b)
	rc := cc.must(cmd{Op: "activate", PID: pid}) // C's, with A's view unchanged
	if ra.Epoch == 0 || rc.Epoch <= ra.Epoch {
		t.Fatalf("fence epochs: A took %d, C took %d; want distinct epochs ≥ 1, C's higher", ra.Epoch, rc.Epoch)
	}
	// A registers locally at its own epoch (its floor); its first write must land nowhere.
	a.must(cmd{Op: "register", PID: pid})
	if w := a.do(cmd{Op: "write", PID: pid, N: 1}); w.Kind != "not-owner" {
		t.Fatalf("write by the member fenced out: %+v, want not-owner", w)
	}
	rc = cc.must(cmd{Op: "register", PID: pid})
	rc = cc.must(cmd{Op: "write", PID: pid, N: 3})
	sameLog(t, pid, rc.Count, cc, b)
	if r := b.must(cmd{Op: "state", PID: pid}); r.Epochs != fmt.Sprint(rc.Epoch) {
		t.Fatalf("backup's log epochs %q, want only C's epoch %d", r.Epochs, rc.Epoch)
	}
}

// TestReplicationReadCatchUp: an owner that comes back (a restart, or the view giving it the
// process again) holds a stale log until its hand-over; a read runs CatchUp first, which brings it
// level with the backup. A read of a process nobody holds fences nothing.
func TestReplicationReadCatchUp(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{}), c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b, cc)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 3})
	place(pid, b, cc, b, cc) // A is down: B owns, C backs up
	a.must(cmd{Op: "forget", PID: pid})
	b.must(cmd{Op: "activate", PID: pid})
	rb := b.must(cmd{Op: "write", PID: pid, N: 4})
	place(pid, a, b, a, b, cc) // A is back and owns again, before any hand-over reached it
	if r := a.must(cmd{Op: "state", PID: pid}); r.Count != 3 {
		t.Fatalf("setup: the returning owner holds %d entries, want its stale 3", r.Count)
	}
	if r := a.must(cmd{Op: "catchup", PID: pid}); r.Count != rb.Count {
		t.Fatalf("after the read's catch-up the owner holds %d entries, the backup %d", r.Count, rb.Count)
	}
	sameLog(t, pid, rb.Count, a, b)
	a.must(cmd{Op: "catchup", PID: pid}) // synced: nothing to do

	ghost := newPID(t)
	place(ghost, a, b, a, b)
	a.must(cmd{Op: "catchup", PID: ghost})
	for _, m := range []*memberRef{a, b} {
		if r := m.must(cmd{Op: "state", PID: ghost}); r.Epoch != 0 || r.Count != 0 {
			t.Fatalf("a read of a process nobody holds left epoch %d, %d entries", r.Epoch, r.Count)
		}
	}
}

package actors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/arweave"
	"github.com/actorweave/actorweave/compute"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/evaluation"
	"github.com/actorweave/actorweave/messenger"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/runtime"
)

// evalEntry is a log entry handed from the grain to its evaluator with the item already parsed,
// so that fresh entries are evaluated without reading them back from the store.
type evalEntry struct {
	entry persistence.Entry
	item  *ans104.DataItem
}

// maxQueued bounds the fresh entries an evaluator keeps in memory ahead of evaluation.
const maxQueued = 1024

// evaluator is the compute unit of one process: it evaluates the log in nonce order through the
// process's evaluation pipeline (package evaluation: the module instance, its rebuilding from the
// last checkpoint and the log, the failure rule), each result committed with its pushes in one
// batch, the pushes handed to the pusher only once durable.
type evaluator struct {
	host     *Host
	pid      ans104.ID
	proc     *ans104.DataItem
	moduleID ans104.ID
	head     uint64 // entries in the log, as the grain last told
	next     uint64 // entries evaluated

	// pipe is set once the module is loaded; its drive is the process's WeaveDrive (Deps.Drive),
	// given to every instance of it and to its dry-runs.
	pipe    *evaluation.Pipeline
	broken  error
	queue   []evalEntry
	waiters map[uint64][]*actor.PID
	dryBase *dryRunBase // the memory dry-runs start from, while e.next is dryBase.next

	continuing bool
	// driveWait is set while the next entry waits for WeaveDrive (its read was unavailable): no
	// evaluation until the retry timer (driveRetryIn) sends driveRetry.
	driveWait       bool
	driveRetryIn    time.Duration
	sinceCheckpoint int
	checkpointAt    time.Time // last checkpoint, or the activation
	memCertifiedAt  time.Time // last certificate that carried the memory hash
}

func (*evalProgress) NotInfluenceReceiveTimeout() {}

func (e *evaluator) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		e.waiters = map[uint64][]*actor.PID{}
		e.checkpointAt = time.Now()
		n, err := e.host.deps.Store.Evaluated(e.pid)
		if err != nil {
			e.broken = err
		}
		e.next = n
	case *headAdvanced:
		e.advance(m.entries)
		e.kick(ctx)
	case *evalContinue:
		e.continuing = false
		e.runChunk(ctx)
	case *driveRetry:
		e.driveWait = false
		e.kick(ctx)
	case *resultRequest:
		e.result(ctx, m)
	case *dryRunBaseRequest:
		b, err := e.dryRunBase(ctx)
		ctx.Respond(&dryRunBaseResponse{base: b, err: err})
	case *stateRequest:
		st, err := e.state(ctx)
		ctx.Respond(&stateResponse{state: st, err: err})
	case *passivate:
		e.passivate()
		ctx.Respond(&passivated{})
	case *actor.Stopped:
		e.closeInstance()
	}
}

func (e *evaluator) advance(entries []evalEntry) {
	if len(entries) == 0 {
		return
	}
	first := entries[0].entry.Nonce
	if first == e.next+uint64(len(e.queue)) && len(e.queue) < maxQueued {
		e.queue = append(e.queue, entries...)
	} else {
		// Not contiguous with what we hold, or too far behind (lazy evaluation, a long backlog):
		// keep nothing and read from the store when the time comes.
		e.queue = nil
	}
	e.head = max(e.head, entries[len(entries)-1].entry.Nonce+1)
}

// kick schedules a chunk of evaluation after the messages already queued, so that requests
// interleave with a long catch-up.
func (e *evaluator) kick(ctx actor.Context) {
	if !e.continuing && !e.driveWait && e.next < e.head && e.broken == nil && (!e.host.cfg.LazyEval || e.wanted()) {
		e.continuing = true
		ctx.Send(ctx.Self(), &evalContinue{})
	}
}

// wanted reports whether someone waits for an entry not evaluated yet (lazy evaluation).
func (e *evaluator) wanted() bool {
	for n := range e.waiters {
		if n >= e.next {
			return true
		}
	}
	return false
}

func (e *evaluator) runChunk(ctx actor.Context) {
	for i := 0; i < e.host.cfg.EvalChunk && !e.driveWait && e.next < e.head && e.broken == nil && (!e.host.cfg.LazyEval || e.wanted()); i++ {
		e.evalNext(ctx)
	}
	if e.broken != nil {
		e.failWaiters(ctx)
	}
	ctx.Send(ctx.Parent(), &evalProgress{evaluated: e.next})
	e.kick(ctx)
}

func (e *evaluator) result(ctx actor.Context, m *resultRequest) {
	if m.nonce < e.next {
		b, err := e.host.deps.Store.Result(e.pid, m.nonce)
		ctx.Respond(&resultResponse{result: b, err: err})
		return
	}
	if e.broken != nil {
		ctx.Respond(&resultResponse{err: e.broken})
		return
	}
	if m.nonce >= e.head {
		ctx.Respond(&resultResponse{err: fmt.Errorf("%w: entry %d of process %s", persistence.ErrNotFound, m.nonce, e.pid)})
		return
	}
	e.waiters[m.nonce] = append(e.waiters[m.nonce], ctx.Sender())
	e.kick(ctx)
}

func (e *evaluator) failWaiters(ctx actor.Context) {
	for n, ws := range e.waiters {
		for _, w := range ws {
			ctx.Send(w, &resultResponse{err: e.broken})
		}
		delete(e.waiters, n)
	}
}

// entryAt returns the next entry to evaluate, from the queue or the store.
func (e *evaluator) entryAt(n uint64) (evalEntry, error) {
	for len(e.queue) > 0 && e.queue[0].entry.Nonce < n {
		e.queue = e.queue[1:]
	}
	if len(e.queue) > 0 && e.queue[0].entry.Nonce == n {
		ee := e.queue[0]
		e.queue = e.queue[1:]
		return ee, nil
	}
	ent, err := e.host.deps.Store.Entry(e.pid, n)
	if err != nil {
		return evalEntry{}, err
	}
	return evalEntry{entry: ent}, nil
}

// evalLog is the evaluator's log as its pipeline reads it: entries from the queue or the store, a
// message held elsewhere looked up on this node and its cluster, checkpoints from the store.
type evalLog evaluator

func (l *evalLog) Entry(n uint64) (compute.LogEntry, *ans104.DataItem, error) {
	ee, err := (*evaluator)(l).entryAt(n)
	if err != nil {
		return compute.LogEntry{}, nil, err
	}
	le := compute.LogEntry{Nonce: ee.entry.Nonce, Assignment: ee.entry.Assignment, Message: ee.entry.Message, MessageID: ans104.ID(ee.entry.MessageID)}
	return le, ee.item, nil
}

func (l *evalLog) Item(id ans104.ID) *ans104.DataItem {
	it, err := l.host.findItem(id)
	if err != nil {
		return nil
	}
	return it
}

func (l *evalLog) Checkpoint(n uint64) (*evaluation.Checkpoint, error) {
	cp, err := l.host.deps.Store.LatestCheckpoint(l.pid, n)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &evaluation.Checkpoint{Nonce: cp.Nonce, Timestamp: cp.Timestamp, BlockHeight: cp.BlockHeight, Memory: cp.Memory}, nil
}

// ensureInstance opens the process's instance at e.next: the pipeline (once the module is loaded)
// restores the latest checkpoint or boots, and replays what was evaluated after it; results and
// pushes are already stored.
func (e *evaluator) ensureInstance() error {
	if e.pipe == nil {
		lm, err := e.host.module(context.Background(), e.moduleID)
		if err != nil {
			return err
		}
		var drive runtime.Drive
		var driveBudget int64
		if e.host.deps.Drive != nil {
			drive, driveBudget = e.host.deps.Drive(e.pid, e.proc, lm.item)
		}
		p, err := evaluation.New(evaluation.Config{Engine: e.host.deps.Engine, Module: lm.mod, Process: e.proc, ModuleItem: lm.item,
			Drive: drive, DriveBudget: driveBudget, Source: (*evalLog)(e),
			Replayed: func(uint64) {
				e.sinceCheckpoint++
				e.host.metrics.replayed.Inc()
			},
			Measure: func(handle func()) { e.host.metrics.evalCPU.Add(onThreadCPU(handle).Seconds()) },
		})
		if err != nil {
			return err
		}
		e.pipe = p
	}
	return e.pipe.Open(context.Background(), e.next)
}

// instance is the open module instance, nil when there is none.
func (e *evaluator) instance() *runtime.Instance {
	if e.pipe == nil {
		return nil
	}
	return e.pipe.Instance()
}

func (e *evaluator) evalNext(ctx actor.Context) {
	if err := e.ensureInstance(); errors.Is(err, runtime.ErrDriveUnavailable) {
		e.closeInstance()
		e.waitForDrive(ctx, err)
		return
	} else if err != nil {
		e.broken = fmt.Errorf("process %s cannot be evaluated: %w", e.pid, err)
		e.host.log.Error("evaluation stopped", "process", e.pid, "err", err)
		e.closeInstance()
		return
	}
	n := e.next
	m, err := e.pipe.Message(n)
	if err != nil {
		e.broken = err
		return
	}
	ce := m.Entry
	start := time.Now()
	res, err := e.pipe.Evaluate(e.host.evalCtx, m)
	if e.pipe.Instance() == nil {
		// The evaluation failed the instance or was cut short (evaluation.Pipeline.Evaluate): the
		// next one rebuilds it from the last checkpoint and the log.
		e.closeInstance()
	}
	var stopped *evaluation.Interrupted
	if errors.As(err, &stopped) {
		// The node is shutting down: the entry has no result; the next start evaluates it again.
		e.broken = stopped.Cause
		if e.broken == nil {
			e.broken = ErrStopping
		}
		return
	}
	if errors.Is(err, runtime.ErrDriveUnavailable) {
		// The entry needs a WeaveDrive read that failed for a reason outside the process: nothing
		// is recorded, and the entry is evaluated again once the drive answers.
		e.waitForDrive(ctx, err)
		return
	}
	if err != nil {
		e.broken = err
		return
	}
	e.driveRetryIn = 0
	e.host.metrics.evalLatency.Observe(time.Since(start).Seconds())
	// unrecorded stops evaluation after entry n was evaluated but not recorded: the instance holds
	// the memory after n while e.next is still n, so it is closed rather than left for a
	// checkpoint (passivate) to store as the memory after n-1.
	unrecorded := func(err error) {
		e.broken = err
		e.closeInstance()
	}
	var cert []byte
	stored := StoredResult{Result: *res, Nonce: n, Timestamp: ce.Assignment.Timestamp, BlockHeight: ce.Assignment.BlockHeight}
	if e.host.cfg.Certify {
		c := e.certify(n, res)
		c.Capped = e.host.capResult(&stored)
		cert = c.AppendBinary(make([]byte, 0, arweave.CertifiedMinSize+32))
	} else {
		e.host.capResult(&stored)
	}
	res = &stored.Result
	tick, isTick := compute.TickOf(ce)
	if isTick {
		stored.Cron = fmt.Sprintf("%d-%s", tick.Index, tick.Interval)
	}
	var pushes []messenger.Push
	if res.Error == "" && (len(res.Messages)+len(res.Spawns)+len(res.Assignments)) > 0 {
		src := messenger.Source{Process: e.pid, Module: e.moduleID, Message: ce.Assignment.Message,
			PushedFor: messenger.PushedForOf(ce.Message), Scheduler: e.host.address}
		if src.Message.IsZero() {
			src.Message = e.pid
		}
		var rejected []messenger.Rejected
		if pushes, rejected, err = messenger.Plan(src, res.Messages, res.Spawns, res.Assignments, e.host.deps.Signer); err != nil {
			unrecorded(fmt.Errorf("signing pushes: %w", err))
			return
		}
		pushes, rejected = e.pushQuota(pushes, rejected, &stored)
		stored.Rejected = rejected
		for _, r := range rejected {
			e.host.log.Warn("outbox entry not pushed", "process", e.pid, "nonce", n, "kind", r.Kind, "position", r.Position, "reason", r.Reason)
		}
	}
	body, err := json.Marshal(stored)
	if err != nil {
		unrecorded(err)
		return
	}
	ev := persistence.Evaluation{Process: e.pid, Nonce: n, Result: body, Certificate: cert}
	for _, p := range pushes {
		pp := persistence.Push{Kind: uint8(p.Kind), Target: p.Target, Message: p.Message, Exclude: p.Exclude}
		if p.Item != nil {
			pp.Item = p.Item.Bytes()
		}
		ev.Pushes = append(ev.Pushes, pp)
	}
	if err := e.host.deps.Store.CommitEvaluation(context.Background(), ev); err != nil {
		unrecorded(fmt.Errorf("recording the evaluation of entry %d: %w", n, err))
		return
	}
	e.next = n + 1
	e.sinceCheckpoint++
	e.host.metrics.evaluated.Inc()
	if isTick {
		if u, _, err := cron.ParseInterval(tick.Interval); err == nil && u == cron.Seconds {
			e.host.metrics.cronEvalLateness.Observe(float64(time.Now().UnixMilli()-tick.Due) / 1000)
		}
	}
	if len(ev.Pushes) > 0 {
		pending := make([]persistence.PendingPush, len(ev.Pushes))
		for i, p := range ev.Pushes {
			pending[i] = persistence.PendingPush{Process: e.pid, Nonce: n, Seq: uint32(i), Push: p}
		}
		e.host.pusher.enqueue(e.pid, pending)
	}
	for _, w := range e.waiters[n] {
		ctx.Send(w, &resultResponse{result: body})
	}
	delete(e.waiters, n)
	every := e.sinceCheckpoint >= e.host.cfg.CheckpointEvery
	aged := e.host.cfg.CheckpointInterval > 0 && time.Since(e.checkpointAt) >= e.host.cfg.CheckpointInterval
	if (every || aged) && e.instance() != nil {
		e.checkpoint()
	}
}

// Retry delays of an entry waiting for WeaveDrive: doubling from the first to the last.
const (
	driveRetryFirst = time.Second
	driveRetryMax   = 30 * time.Second
)

// waitForDrive stops evaluation until a timer sends driveRetry: the next entry's WeaveDrive read
// was unavailable (the gateway unreachable, the cache unable to hold the item). Requests for its
// result keep waiting (their own deadlines apply); the process evaluates nothing out of order.
func (e *evaluator) waitForDrive(ctx actor.Context, why error) {
	e.driveWait = true
	e.driveRetryIn = min(max(2*e.driveRetryIn, driveRetryFirst), driveRetryMax)
	e.host.metrics.driveWaits.Inc()
	e.host.log.Warn("evaluation waits for WeaveDrive", "process", e.pid, "entry", e.next, "retry_in", e.driveRetryIn, "why", why)
	self, root := ctx.Self(), e.host.system.Root
	time.AfterFunc(e.driveRetryIn, func() { root.Send(self, &driveRetry{}) }) // dropped if the actor is gone
}

// certify is entry n's result certificate: the outcome hash of the module's answer (before
// the node's result size cap) and, at most once per CertifyMemoryEvery, the memory hash after it
// (none after a failed evaluation: the instance is gone, and its memory was not kept).
func (e *evaluator) certify(n uint64, res *runtime.Result) arweave.Certified {
	c := arweave.Certified{Nonce: n, Outcome: compute.OutcomeHash(res)}
	if every := e.host.cfg.CertifyMemoryEvery; every > 0 && e.instance() != nil && time.Since(e.memCertifiedAt) >= every {
		sum, _ := e.instance().MemorySha256()
		c.Memory = &sum
		e.memCertifiedAt = time.Now()
	}
	return c
}

// pushQuota applies the per-process push quotas to an evaluation's pushes: beyond
// MaxQueuedPushes undelivered pushes the rest are rejected (recorded in the result), and a result
// whose pushes will wait for the send rate says so.
func (e *evaluator) pushQuota(pushes []messenger.Push, rejected []messenger.Rejected, stored *StoredResult) ([]messenger.Push, []messenger.Rejected) {
	queued, throttled := e.host.pusher.backlog(e.pid)
	limit := e.host.cfg.MaxQueuedPushes
	if queued+len(pushes) > limit {
		keep := max(0, limit-queued)
		for i, p := range pushes[keep:] {
			rejected = append(rejected, messenger.Rejected{Kind: p.Kind.String(), Position: keep + i,
				Reason: fmt.Sprintf("push backlog quota: process %s already has %d undelivered pushes (--max-queued-pushes %d); not sent", e.pid, queued, limit)})
		}
		e.host.metrics.quotaHits.WithLabelValues("push_backlog").Add(float64(len(pushes) - keep))
		pushes = pushes[:keep]
		stored.Quota = fmt.Sprintf("push_backlog: %d pushes rejected (--max-queued-pushes %d)", len(rejected), limit)
	} else if throttled {
		stored.Quota = fmt.Sprintf("send_rate: pushes delayed, process sends more than %g messages per second (--max-send-rate)", e.host.cfg.MaxSendRate)
	}
	return pushes, rejected
}

func (e *evaluator) checkpoint() {
	if e.instance() == nil || e.next == 0 {
		return
	}
	mem, sum := e.instance().Snapshot()
	ts, height := e.pipe.Last()
	if mem == nil {
		return // the engine is closing
	}
	size, err := e.host.deps.Store.PutCheckpoint(persistence.Checkpoint{Process: e.pid, Nonce: e.next - 1,
		Timestamp: ts, BlockHeight: height, SHA256: sum, Memory: mem})
	if err != nil {
		e.host.log.Warn("checkpoint failed", "process", e.pid, "err", err)
		return
	}
	e.sinceCheckpoint = 0
	e.checkpointAt = time.Now()
	e.host.metrics.checkpoints.Inc()
	e.host.metrics.checkpointBytes.Observe(float64(size))
}

// catchUp evaluates everything in the log (for dry-runs and state reads).
func (e *evaluator) catchUp(ctx actor.Context) error {
	for e.next < e.head && e.broken == nil {
		e.evalNext(ctx)
	}
	if e.broken != nil {
		return e.broken
	}
	return e.ensureInstance()
}

// dryRunBase catches up and returns the latest evaluated memory for a dry-run. The copy is kept
// until the next evaluation, so that many dry-runs of an idle process cost one copy here; the
// pool copies it again for each instance (Restore owns its memory).
func (e *evaluator) dryRunBase(actx actor.Context) (*dryRunBase, error) {
	if err := e.catchUp(actx); err != nil {
		return nil, err
	}
	if e.dryBase == nil || e.dryBase.next != e.next {
		mem := e.pipe.Instance().MemoryCopy()
		if mem == nil {
			return nil, runtime.ErrEngineClosed
		}
		drive, driveBudget := e.pipe.Drive()
		ts, height := e.pipe.Last()
		e.dryBase = &dryRunBase{next: e.next, mem: mem, mod: e.pipe.Module(), limits: e.pipe.Limits(), env: e.pipe.Env(),
			drive: drive, driveBudget: driveBudget,
			moduleID: e.moduleID, ts: ts, height: height}
	}
	return e.dryBase, nil
}

func (e *evaluator) state(actx actor.Context) (*MemoryState, error) {
	if err := e.catchUp(actx); err != nil {
		return nil, err
	}
	mem, _ := e.pipe.Instance().Snapshot()
	var nonce uint64
	if e.next > 0 {
		nonce = e.next - 1
	}
	ts, height := e.pipe.Last()
	return &MemoryState{Memory: mem, Nonce: nonce, Timestamp: ts, BlockHeight: height}, nil
}

func (e *evaluator) passivate() {
	if e.sinceCheckpoint >= e.host.cfg.CheckpointOnPassivate {
		e.checkpoint()
	}
	e.closeInstance()
}

func (e *evaluator) closeInstance() {
	e.dryBase = nil
	if e.pipe != nil {
		e.pipe.Close()
	}
}

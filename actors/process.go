package actors

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actorweave/actorweave/actors/grain"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/scheduler"
)

// processActor is the grain of one AO process: the scheduler unit for it. It assigns each submitted
// item its place in the log and acknowledges only once the assignment is durable (docs/design.md
// invariant 1). While one batch is being made durable the next submits gather into the next batch,
// so a busy process shares fsyncs between its own messages, not only with other processes.
type processActor struct {
	host *Host
	pid  ans104.ID
	id   string
	self *actor.PID

	loadErr error
	// handoverErr is why the activation's hand-over failed (nil: it succeeded, or no replication).
	handoverErr error
	proc        *ans104.DataItem // nil until the process is spawned
	module      ans104.ID
	epoch       uint64
	sched       scheduler.State
	head        uint64 // entries in the log

	inflight   bool
	pending    []*pendingSubmit
	pendingIDs map[ans104.ID]bool
	// dupWaiters are requests for a message already pending here: they get its outcome.
	dupWaiters map[ans104.ID][]*actor.PID

	evaluator *actor.PID
	evaluated uint64
	stopping  bool

	origin cron.Origin   // where the process's crons count from
	cron   *grainCron    // loaded on the first tick or monitor request
	recv   *grain.Bucket // the receive quota
}

type pendingSubmit struct {
	sender   *actor.PID
	received time.Time
	item     *ans104.DataItem // the scheduled item; nil for an assignment of a message held elsewhere
	msgID    ans104.ID        // zero for the process's own assignment
	exclude  []string
	entry    persistence.Entry
	ack      Ack
	tick     *cron.Tick // a cron tick (no one waits for its acknowledgement)
	retries  int        // times scheduled again after a replication re-sync
}

func (p *processActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.started(ctx)
	case *submitRequest:
		p.submit(ctx, m)
	case *assignRequest:
		p.assign(ctx, m)
	case *appendDone:
		p.appended(ctx, m)
	case *tickRequest:
		p.tick(ctx, m)
	case *monitorRequest:
		p.monitor(ctx, m)
	case *resultRequest, *dryRunBaseRequest, *stateRequest:
		if err := p.ready(); err != nil {
			ctx.Respond(errorReply(m, err))
			return
		}
		p.ensureEvaluator(ctx)
		ctx.Forward(p.evaluator)
	case *evalProgress:
		p.evaluated = m.evaluated
	case *idleCheck:
		p.maybePassivate(ctx)
	case *passivated:
		ctx.Stop(ctx.Self())
	case *actor.Stopped:
		if p.cron != nil && p.cron.unsaved > 0 && !p.inflight {
			p.saveCron(false)
		}
		if r := p.host.deps.Replication; r != nil {
			r.Forget(p.pid)
		}
		p.host.lookup.stopped(p.id, p.self)
		p.host.metrics.passivations.Inc()
	}
}

func errorReply(req any, err error) any {
	switch req.(type) {
	case *resultRequest:
		return &resultResponse{err: err}
	case *dryRunRequest:
		return &dryRunResponse{err: err}
	case *dryRunBaseRequest:
		return &dryRunBaseResponse{err: err}
	case *stateRequest:
		return &stateResponse{err: err}
	}
	return &submitResponse{err: err}
}

func (p *processActor) started(ctx actor.Context) {
	p.self = ctx.Self()
	ci := cluster.GetClusterIdentity(ctx)
	if ci == nil {
		p.loadErr = errors.New("activation without a cluster identity")
		return
	}
	p.id = ci.Identity
	pid, err := ans104.ParseID(ci.Identity)
	if err != nil {
		p.loadErr = fmt.Errorf("activation for %q: %w", ci.Identity, err)
		return
	}
	p.pid = pid
	p.sched = scheduler.Fresh(pid)
	p.pendingIDs = map[ans104.ID]bool{}
	p.dupWaiters = map[ans104.ID][]*actor.PID{}
	p.recv = grain.NewBucket(p.host.cfg.MaxReceiveRate, p.host.cfg.MaxReceiveRate)
	p.activate()
	p.host.metrics.activations.Inc()
}

// activate runs the hand-over, when the node replicates, and loads the process.
func (p *processActor) activate() {
	p.handoverErr = nil
	if r := p.host.deps.Replication; r != nil {
		// The hand-over (docs/design.md §5): fence the backup and hold its log before reading ours.
		cctx, cancel := p.host.opContext(30 * time.Second)
		err := r.Activate(cctx, p.pid)
		cancel()
		if errors.Is(err, replication.ErrDiverged) || errors.Is(err, replication.ErrForked) {
			// A fork is refused until an operator resolves it (recheckFork); retrying the hand-over
			// on every request would only fail the same way.
			p.loadErr = err
			return
		}
		if err != nil {
			// Reads are served from the local log; every write syncs again first and is refused
			// while the backup stays out of reach.
			p.host.log.Warn("activation could not sync with the backup", "process", p.pid, "err", err)
			p.handoverErr = err
		}
	}
	p.loadErr = p.load()
}

// load reads the process and the end of its log: the scheduler continues from the last durable
// assignment, whatever happened before.
func (p *processActor) load() error {
	st := p.host.deps.Store
	rec, err := st.Process(p.pid)
	if errors.Is(err, persistence.ErrNotFound) {
		// Not spawned yet: a spawn registers it at the epoch the hand-over fenced (the store's
		// floor for it; 0 on a single node).
		hs, err := st.State(context.Background(), p.pid)
		p.epoch = hs.Epoch
		return err
	}
	if err != nil {
		return err
	}
	item, err := ans104.Parse(rec.Item, ans104.Limits{})
	if err != nil {
		return fmt.Errorf("stored process item: %w", err)
	}
	p.proc, p.module, p.epoch = item, rec.ModuleID, rec.Epoch
	p.origin = cron.Origin{Timestamp: rec.Timestamp, Height: rec.BlockHeight}
	last, ok, err := st.Head(p.pid)
	if err != nil || !ok {
		return err
	}
	asg, err := parseAssignment(last.Assignment)
	if err != nil {
		return fmt.Errorf("last assignment of the log: %w", err)
	}
	p.sched = scheduler.FromAssignment(asg, last.AssignmentID)
	p.head = last.Nonce + 1
	if p.evaluated, err = st.Evaluated(p.pid); err != nil {
		return err
	}
	return nil
}

func parseAssignment(raw []byte) (*ans104.Assignment, error) {
	item, err := ans104.Parse(raw, ans104.Limits{})
	if err != nil {
		return nil, err
	}
	return ans104.AsAssignment(item)
}

// recheckFork activates a process refused for a fork again once the fork record is gone (an
// operator resolved it): the log may have changed under this activation, so it is read anew.
func (p *processActor) recheckFork() {
	if !errors.Is(p.loadErr, replication.ErrForked) {
		return
	}
	if _, forked, err := p.host.deps.Store.Fork(p.pid); err == nil && !forked {
		p.activate()
	}
}

func (p *processActor) ready() error {
	p.recheckFork()
	if p.loadErr != nil {
		return p.loadErr
	}
	if p.proc == nil && p.handoverErr != nil {
		// This node holds nothing of the process and its hand-over failed (backup out of reach,
		// no quorum): "not found" would be a lie. Try again, then answer with why.
		p.activate()
		if p.loadErr != nil {
			return p.loadErr
		}
		if p.proc == nil && p.handoverErr != nil {
			return fmt.Errorf("process %s is not held here and its replicas cannot be reached: %w", p.pid, p.handoverErr)
		}
	}
	if p.proc == nil {
		return fmt.Errorf("%w: %s", ErrProcessNotFound, p.pid)
	}
	return nil
}

func (p *processActor) submit(ctx actor.Context, m *submitRequest) {
	p.recheckFork()
	if p.loadErr != nil {
		ctx.Respond(&submitResponse{err: p.loadErr})
		return
	}
	item := m.item
	kind, _ := ans104.Kind(item)
	if kind == ans104.KindProcess {
		p.spawn(ctx, item)
		return
	}
	if err := p.ready(); err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	if item.TargetID() != p.pid {
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w: message targets %s", ErrWrongProcess, item.TargetID())})
		return
	}
	if err := p.receiveQuota(); err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	p.enqueue(ctx, &pendingSubmit{item: item, msgID: item.ID()})
}

// spawn registers the process and schedules its own assignment at nonce 0 (the process-assignment
// mode of the reference scheduler: the process is the first entry of its log and is evaluated like
// any message).
func (p *processActor) spawn(ctx actor.Context, item *ans104.DataItem) {
	if item.ID() != p.pid {
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w: process item %s sent to %s", ErrWrongProcess, item.ID(), p.pid)})
		return
	}
	if p.proc != nil || p.head > 0 {
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w: %s", ErrProcessExists, p.pid)})
		return
	}
	proc, err := ans104.AsProcess(item)
	if err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	specs, err := p.parseSpawnCrons(item)
	if err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	cctx, cancel := p.host.opContext(30 * time.Second)
	defer cancel()
	if _, err := p.host.module(cctx, proc.Module); err != nil {
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w: %v (publish the module to this node first)", ErrModuleNotFound, err)})
		return
	}
	st := p.host.deps.Store
	now := p.host.deps.Clock()
	rec := persistence.Process{ID: p.pid, ModuleID: proc.Module, Owner: item.Owner, Item: item.Bytes(),
		Timestamp: now, BlockHeight: p.host.deps.BlockHeight(), Epoch: p.epoch}
	for _, t := range item.Tags {
		rec.Tags = append(rec.Tags, persistence.Tag{Name: t.Name, Value: t.Value})
	}
	if err := st.PutProcess(cctx, rec); err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	if err := st.PutItem(cctx, persistence.Item{ID: p.pid, Raw: item.Bytes(), Owner: item.OwnerAddress(), Tags: rec.Tags,
		Timestamp: now, BlockHeight: rec.BlockHeight}); err != nil {
		p.host.log.Warn("indexing process item", "process", p.pid, "err", err)
	}
	p.proc, p.module = item, proc.Module
	p.origin = cron.Origin{Timestamp: rec.Timestamp, Height: rec.BlockHeight}
	p.host.processes.Add(1)
	if err := p.registerCron(specs); err != nil {
		p.host.log.Error("registering the crons of a spawned process", "process", p.pid, "err", err)
	}
	p.enqueue(ctx, &pendingSubmit{item: item})
}

func (p *processActor) assign(ctx actor.Context, m *assignRequest) {
	if err := p.ready(); err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	item, err := p.host.findItem(m.message)
	if err != nil {
		ctx.Respond(&submitResponse{err: fmt.Errorf("assign %s: %w", m.message, err)})
		return
	}
	if item.Tags.Value("Type") == "Module" {
		// A module is code, not a message: assigning it would hand its binary to the process as
		// a message. Process items may be assigned (the reference SU allows it; the process
		// sees the item, Target empty).
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w: %s is a Module item; only messages and processes may be assigned", ErrWrongProcess, m.message)})
		return
	}
	if err := p.receiveQuota(); err != nil {
		ctx.Respond(&submitResponse{err: err})
		return
	}
	ps := &pendingSubmit{msgID: m.message, exclude: m.exclude}
	_ = item // the message stays where it is; the evaluator reads it from there
	p.enqueue(ctx, ps)
}

func (p *processActor) enqueue(ctx actor.Context, ps *pendingSubmit) {
	if len(p.pending) >= p.host.cfg.MaxPending {
		p.host.metrics.quotaHits.WithLabelValues("queue_depth").Inc()
		ctx.Respond(&submitResponse{err: fmt.Errorf("%w (%d, --max-pending); retry later", ErrBusy, len(p.pending))})
		return
	}
	if !ps.msgID.IsZero() {
		if p.pendingIDs[ps.msgID] {
			// The same message is being made durable right now (a client's or the router's retry
			// while the first attempt waits for its backup). It is not in the log yet, and the
			// first attempt may still fail: "already exists" now would acknowledge a message that
			// may be lost. The retry gets the first attempt's outcome instead.
			if s := ctx.Sender(); s != nil {
				p.dupWaiters[ps.msgID] = append(p.dupWaiters[ps.msgID], s)
			}
			return
		}
		dup, err := p.host.deps.Store.HasMessage(p.pid, ps.msgID)
		if err != nil {
			ctx.Respond(&submitResponse{err: err})
			return
		}
		if dup {
			ctx.Respond(&submitResponse{err: p.duplicate(ps.msgID)})
			return
		}
		p.pendingIDs[ps.msgID] = true
	}
	ps.sender = ctx.Sender()
	ps.received = time.Now()
	p.pending = append(p.pending, ps)
	p.flush(ctx)
}

// receiveQuota takes a token from the process's receive quota or says why not.
func (p *processActor) receiveQuota() error {
	if p.recv.Allow(time.Now()) {
		return nil
	}
	p.host.metrics.quotaHits.WithLabelValues("receive_rate").Inc()
	return fmt.Errorf("%w: process %s receives more than %g messages per second (--max-receive-rate); retry later", ErrQuota, p.pid, p.host.cfg.MaxReceiveRate)
}

func (p *processActor) duplicate(id ans104.ID) error {
	return fmt.Errorf("message %s already exists in process %s: %w", id, p.pid, persistence.ErrMessageExists)
}

// flush starts the durable append of everything pending, unless an append is in flight: then the
// pending submits wait and go together in the next batch.
func (p *processActor) flush(ctx actor.Context) {
	if p.inflight || len(p.pending) == 0 {
		return
	}
	n := min(len(p.pending), p.host.cfg.MaxBatch)
	batch := make([]*pendingSubmit, 0, n)
	entries := make([]persistence.Entry, 0, n)
	st := p.sched
	for _, ps := range p.pending[:n] {
		a, err := scheduler.Next(st, scheduler.Input{Message: ps.msgID, Clock: p.host.deps.Clock(),
			BlockHeight: p.host.deps.BlockHeight(), Epoch: p.epoch, Exclude: ps.exclude})
		var asg *ans104.DataItem
		if err == nil {
			asg, err = scheduler.Sign(a, p.host.deps.Signer)
		}
		if err != nil {
			p.reply(ctx, ps, Ack{}, err)
			continue
		}
		st = st.Advance(a, asg.ID())
		ps.entry = persistence.Entry{Process: p.pid, Nonce: a.Nonce, Epoch: a.Epoch, Timestamp: a.Timestamp,
			BlockHeight: a.BlockHeight, HashChain: a.HashChain, AssignmentID: asg.ID(), Assignment: asg.Bytes(),
			MessageID: ps.msgID}
		if ps.item != nil && !ps.msgID.IsZero() {
			ps.entry.Message = ps.item.Bytes()
		}
		ps.ack = Ack{ID: ps.msgID, Nonce: a.Nonce, Timestamp: a.Timestamp}
		if ps.item == nil && !ps.msgID.IsZero() {
			ps.ack.ID = asg.ID() // the assign flow answers with the assignment's id
		} else if ps.msgID.IsZero() {
			ps.ack.ID = p.pid
		}
		batch = append(batch, ps)
		entries = append(entries, ps.entry)
	}
	p.pending = append(p.pending[:0], p.pending[n:]...)
	if len(batch) == 0 {
		p.flush(ctx)
		return
	}
	p.sched = st
	p.inflight = true
	self, store, root, repl, epoch := ctx.Self(), p.host.deps.Store, p.host.system.Root, p.host.deps.Replication, p.epoch
	p.host.metrics.batchSize.Observe(float64(len(batch)))
	quorum := p.host.checkQuorum
	h := p.host
	if !h.startAppend() {
		root.Send(self, &appendDone{batch: batch, err: ErrStopping})
		return
	}
	go func() {
		defer h.appends.Done()
		// No append without a quorum, whatever the replication factor (a member cut off from the
		// majority must not extend a log the other side may be extending).
		err := quorum()
		if err == nil && repl != nil {
			// Backup first: a batch the backup refuses (fenced by a newer owner, or out of reach) is
			// written nowhere, so a stale or partitioned owner can never fork the log.
			err = repl.Replicate(h.appendCtx, p.pid, epoch, entries)
		}
		if err == nil {
			err = store.AppendBatch(h.appendCtx, p.pid, entries)
		}
		root.Send(self, &appendDone{batch: batch, err: err})
	}()
}

func (p *processActor) appended(ctx actor.Context, m *appendDone) {
	p.inflight = false
	if m.err != nil {
		// The scheduler state ran ahead of the log: read the truth back before anything else.
		p.sched = scheduler.Fresh(p.pid)
		p.head = 0
		if err := p.load(); err != nil {
			p.loadErr = err
		}
		if errors.Is(m.err, replication.ErrForked) {
			p.forkedWhileActive(ctx, m.err)
		}
		var again []*pendingSubmit
		for _, ps := range m.batch {
			if reschedulable(m.err) && ps.retries < maxReschedules && p.loadErr == nil {
				// The hand-over pulled entries; the request still stands: schedule it again (it may
				// now be a duplicate of what was pulled).
				if dup, err := p.host.deps.Store.HasMessage(p.pid, ps.msgID); err == nil && (ps.msgID.IsZero() || !dup) {
					ps.retries++
					again = append(again, ps)
					continue
				}
			}
			p.reply(ctx, ps, Ack{}, replyErr(m.err))
		}
		p.pending = append(again, p.pending...)
		p.dropPendingTicks()
		p.flush(ctx)
		return
	}
	entries := make([]evalEntry, 0, len(m.batch))
	for _, ps := range m.batch {
		p.reply(ctx, ps, ps.ack, nil)
		entries = append(entries, evalEntry{entry: ps.entry, item: ps.item})
	}
	p.head += uint64(len(m.batch))
	p.host.metrics.acked.Add(float64(len(m.batch)))
	p.ticksAppended(m.batch)
	p.ensureEvaluator(ctx)
	ctx.Send(p.evaluator, &headAdvanced{entries: entries})
	p.flush(ctx)
}

// forkedWhileActive refuses the process from now on: a write's re-sync found a fork. The evaluator
// goes too, because resolving the fork may roll this node's evaluation back under it; the next
// activation after the resolution starts a new one from the store.
func (p *processActor) forkedWhileActive(ctx actor.Context, err error) {
	p.loadErr = err
	if p.evaluator != nil {
		ctx.Stop(p.evaluator)
		p.evaluator = nil
	}
}

func (p *processActor) reply(ctx actor.Context, ps *pendingSubmit, ack Ack, err error) {
	delete(p.pendingIDs, ps.msgID)
	if ps.sender != nil {
		ctx.Send(ps.sender, &submitResponse{ack: ack, err: err})
	}
	for _, w := range p.dupWaiters[ps.msgID] {
		ctx.Send(w, &submitResponse{ack: ack, err: err})
	}
	delete(p.dupWaiters, ps.msgID)
	if err == nil {
		p.host.metrics.ackLatency.Observe(time.Since(ps.received).Seconds())
	}
}

func (p *processActor) ensureEvaluator(ctx actor.Context) {
	if p.evaluator != nil {
		return
	}
	ev := &evaluator{host: p.host, pid: p.pid, proc: p.proc, moduleID: p.module, head: p.head}
	p.evaluator = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return ev }))
}

// maybePassivate stops an idle activation: nothing in flight, nothing pending, the log fully
// evaluated, and (checked by the registry) no request on its way to it. Idleness comes from the
// host's sweeper, not from Proto.Actor's receive timeout, which has a data race in this version
// (protoactor-go issue #1139).
func (p *processActor) maybePassivate(ctx actor.Context) {
	if p.stopping || p.inflight || len(p.pending) > 0 || (p.evaluated < p.head && !p.host.cfg.LazyEval) {
		return // the sweeper asks again later
	}
	if !p.host.lookup.tryStop(p.id, p.self) {
		return
	}
	p.stopping = true
	if p.evaluator == nil {
		ctx.Stop(ctx.Self())
		return
	}
	ctx.Request(p.evaluator, &passivate{})
}

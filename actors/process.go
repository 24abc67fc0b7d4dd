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
// invariant 1). The decisions are its core's (actors/grain: batching, duplicates, bounds, the
// outcome of an append, holding requests while a hand-over runs, when to passivate); the actor is
// the shell that feeds the core events and runs the effects it asks for: the appends and the
// hand-over on goroutines, the replies, the evaluator child, the store's reads and the crons.
type processActor struct {
	host *Host
	pid  ans104.ID
	id   string
	self *actor.PID
	core *grain.Core

	loadErr error
	// handoverErr is why the activation's hand-over failed (nil: it succeeded, or no replication).
	handoverErr error
	proc        *ans104.DataItem // nil until the process is spawned
	module      ans104.ID

	evaluator *actor.PID

	origin cron.Origin // where the process's crons count from
	cron   *grainCron  // loaded on the first tick or monitor request
}

// loaded is what an activation reads of its process (load).
type loaded struct {
	proc   *ans104.DataItem
	module ans104.ID
	origin cron.Origin
	log    grain.Log
}

// grainEnv is the core's Env: the node's clock, block height and key.
type grainEnv struct{ h *Host }

func (e grainEnv) Clock() int64        { return e.h.deps.Clock() }
func (e grainEnv) BlockHeight() uint64 { return e.h.deps.BlockHeight() }
func (e grainEnv) Sign(a ans104.Assignment) (*ans104.DataItem, error) {
	return scheduler.Sign(a, e.h.deps.Signer)
}

func (p *processActor) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.started(ctx)
	case *submitRequest, *assignRequest, *tickRequest, *monitorRequest, *resultRequest, *dryRunBaseRequest, *stateRequest:
		p.run(ctx, p.core.Step(grain.Receive{Req: grain.Request{Msg: m, From: sender(ctx)}}))
	case *appendDone:
		p.appended(ctx, m)
	case *handoverDone:
		p.handedOver(ctx, m)
	case *evalProgress:
		p.run(ctx, p.core.Step(grain.Progress{Evaluated: m.evaluated}))
	case *idleCheck:
		p.run(ctx, p.core.Step(grain.IdleCheck{}))
	case *passivated:
		ctx.Stop(ctx.Self())
	case *actor.Stopped:
		p.run(ctx, p.core.Step(grain.Stopped{}))
		if p.cron != nil && p.cron.unsaved > 0 && !p.core.Inflight() {
			p.saveCron(false)
		}
		if r := p.host.deps.Replication; r != nil {
			r.Forget(p.pid)
		}
		p.host.lookup.stopped(p.id, p.self)
		p.host.metrics.passivations.Inc()
	}
}

// sender is the current message's sender, nil (untyped) for none.
func sender(ctx actor.Context) any {
	if s := ctx.Sender(); s != nil {
		return s
	}
	return nil
}

// run runs the core's effects, in order.
func (p *processActor) run(ctx actor.Context, effects []grain.Effect) {
	for _, e := range effects {
		switch e := e.(type) {
		case grain.Serve:
			p.serve(ctx, e.Req)
		case grain.Refuse:
			p.respond(ctx, e.Req, errorReply(e.Req.Msg, e.Err))
		case grain.Reply:
			p.reply(ctx, e)
		case grain.QuotaHit:
			p.host.metrics.quotaHits.WithLabelValues(e.Quota).Inc()
		case grain.Append:
			p.startAppend(ctx, e)
		case grain.Appended:
			entries := make([]evalEntry, 0, len(e.Batch))
			for _, s := range e.Batch {
				entries = append(entries, evalEntry{entry: s.Entry, item: s.Item})
			}
			p.host.metrics.acked.Add(float64(len(e.Batch)))
			p.ticksAppended(e.Batch)
			p.ensureEvaluator(ctx)
			ctx.Send(p.evaluator, &headAdvanced{entries: entries})
		case grain.TicksDropped:
			p.cron = nil
		case grain.StartHandover:
			p.startHandover(ctx)
		case grain.Resume:
			for _, r := range e.Reqs {
				r.Waited = true
				p.run(ctx, p.core.Step(grain.Receive{Req: r}))
			}
		case grain.TryStop:
			if p.host.lookup.tryStop(p.id, p.self) {
				p.run(ctx, p.core.Step(grain.StopAgreed{}))
			}
		case grain.Stop:
			if p.evaluator == nil {
				ctx.Stop(ctx.Self())
			} else {
				ctx.Request(p.evaluator, &passivate{})
			}
		default:
			panic(fmt.Sprintf("actors: unknown grain effect %T", e))
		}
	}
}

// serve handles a request the core let in.
func (p *processActor) serve(ctx actor.Context, r grain.Request) {
	switch m := r.Msg.(type) {
	case *submitRequest:
		p.submit(ctx, r, m)
	case *assignRequest:
		p.assign(ctx, r, m)
	case *tickRequest:
		p.tick(ctx, r, m)
	case *monitorRequest:
		p.monitor(ctx, r, m)
	default: // *resultRequest, *dryRunBaseRequest, *stateRequest: the evaluator's
		if !p.ready(ctx, r) {
			return
		}
		p.ensureEvaluator(ctx)
		from, _ := r.From.(*actor.PID)
		ctx.RequestWithCustomSender(p.evaluator, m, from)
	}
}

// respond answers a request (nobody to answer: nothing).
func (p *processActor) respond(ctx actor.Context, r grain.Request, reply any) {
	if to, ok := r.From.(*actor.PID); ok && to != nil {
		ctx.Send(to, reply)
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
	case *tickRequest, *monitorRequest:
		return &tickResponse{err: err}
	}
	return &submitResponse{err: err}
}

func (p *processActor) started(ctx actor.Context) {
	p.self = ctx.Self()
	p.host.metrics.activations.Inc()
	cfg := grain.Config{MaxBatch: p.host.cfg.MaxBatch, MaxPending: p.host.cfg.MaxPending,
		MaxReceiveRate: p.host.cfg.MaxReceiveRate, LazyEval: p.host.cfg.LazyEval}
	ci := cluster.GetClusterIdentity(ctx)
	if ci == nil {
		p.core = grain.New(p.pid, cfg, grainEnv{p.host})
		p.loadErr = errors.New("activation without a cluster identity")
		return
	}
	p.id = ci.Identity
	pid, err := ans104.ParseID(ci.Identity)
	p.pid = pid
	p.core = grain.New(p.pid, cfg, grainEnv{p.host})
	if err != nil {
		p.loadErr = fmt.Errorf("activation for %q: %w", ci.Identity, err)
		return
	}
	p.run(ctx, p.core.Step(grain.Activate{}))
}

// startHandover runs the hand-over, when the node replicates, and loads the process. With
// replication it runs on a goroutine (it may wait up to 30 s for the backup): the core holds the
// requests that arrive meanwhile and lets them in, in order, once it answers handoverDone. A single
// node only reads its store, here.
func (p *processActor) startHandover(ctx actor.Context) {
	p.handoverErr = nil
	base := loaded{proc: p.proc, module: p.module, origin: p.origin, log: p.core.Log()}
	h, r, pid := p.host, p.host.deps.Replication, p.pid
	if r == nil {
		p.handedOver(ctx, h.handover(nil, pid, base))
		return
	}
	if !h.startAppend() {
		p.handedOver(ctx, &handoverDone{l: base, loadErr: ErrStopping})
		return
	}
	self, root := ctx.Self(), h.system.Root
	go func() {
		defer h.appends.Done()
		root.Send(self, h.handover(r, pid, base))
	}()
}

// handover is the hand-over proper (docs/design.md §5): fence the backup and hold its log, then
// read ours (l is what the activation knew before).
func (h *Host) handover(r Replication, pid ans104.ID, l loaded) *handoverDone {
	d := &handoverDone{l: l}
	if r != nil {
		cctx, cancel := h.opContext(30 * time.Second)
		err := r.Activate(cctx, pid)
		cancel()
		if errors.Is(err, replication.ErrDiverged) || errors.Is(err, replication.ErrForked) {
			// A fork is refused until an operator resolves it (recheckFork); retrying the hand-over
			// on every request would only fail the same way.
			d.loadErr = err
			return d
		}
		if err != nil {
			// Reads are served from the local log; every write syncs again first and is refused
			// while the backup stays out of reach.
			h.log.Warn("activation could not sync with the backup", "process", pid, "err", err)
			d.handoverErr = err
		}
	}
	d.loadErr = h.load(pid, &d.l)
	return d
}

// handedOver takes what the hand-over read and lets the core resume.
func (p *processActor) handedOver(ctx actor.Context, d *handoverDone) {
	p.proc, p.module, p.origin = d.l.proc, d.l.module, d.l.origin
	p.loadErr, p.handoverErr = d.loadErr, d.handoverErr
	p.run(ctx, p.core.Step(grain.HandoverDone{Log: d.l.log}))
}

// load reads the process and the end of its log into l: the scheduler continues from the last
// durable assignment, whatever happened before.
func (h *Host) load(pid ans104.ID, l *loaded) error {
	st := h.deps.Store
	rec, err := st.Process(pid)
	if errors.Is(err, persistence.ErrNotFound) {
		// Not spawned yet: a spawn registers it at the epoch the hand-over fenced (the store's
		// floor for it; 0 on a single node).
		hs, err := st.State(context.Background(), pid)
		l.log.Epoch = hs.Epoch
		return err
	}
	if err != nil {
		return err
	}
	item, err := ans104.Parse(rec.Item, ans104.Limits{})
	if err != nil {
		return fmt.Errorf("stored process item: %w", err)
	}
	l.proc, l.module, l.log.Epoch = item, rec.ModuleID, rec.Epoch
	l.origin = cron.Origin{Timestamp: rec.Timestamp, Height: rec.BlockHeight}
	last, ok, err := st.Head(pid)
	if err != nil || !ok {
		return err
	}
	asg, err := parseAssignment(last.Assignment)
	if err != nil {
		return fmt.Errorf("last assignment of the log: %w", err)
	}
	l.log.Sched = scheduler.FromAssignment(asg, last.AssignmentID)
	l.log.Head = last.Nonce + 1
	if l.log.Evaluated, err = st.Evaluated(pid); err != nil {
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
// operator resolved it): the log may have changed under this activation, so it is read anew. r
// waits for that hand-over (true: the caller must not answer it).
func (p *processActor) recheckFork(ctx actor.Context, r grain.Request) bool {
	if r.Waited || !errors.Is(p.loadErr, replication.ErrForked) {
		return false
	}
	if _, forked, err := p.host.deps.Store.Fork(p.pid); err == nil && !forked {
		p.run(ctx, p.core.Step(grain.Activate{Req: &r}))
		return true
	}
	return false
}

// ready reports whether the process is there to serve r; if not, r is answered with why, or waits
// for a hand-over tried again.
func (p *processActor) ready(ctx actor.Context, r grain.Request) bool {
	if p.recheckFork(ctx, r) {
		return false
	}
	err := p.loadErr
	if err == nil && p.proc == nil && p.handoverErr != nil {
		// This node holds nothing of the process and its hand-over failed (backup out of reach,
		// no quorum): "not found" would be a lie. Try again (r waits for it), then answer with why.
		if !r.Waited {
			p.run(ctx, p.core.Step(grain.Activate{Req: &r}))
			return false
		}
		err = fmt.Errorf("process %s is not held here and its replicas cannot be reached: %w", p.pid, p.handoverErr)
	}
	if err == nil && p.proc == nil {
		err = fmt.Errorf("%w: %s", ErrProcessNotFound, p.pid)
	}
	if err != nil {
		p.respond(ctx, r, errorReply(r.Msg, err))
		return false
	}
	return true
}

func (p *processActor) submit(ctx actor.Context, r grain.Request, m *submitRequest) {
	if p.recheckFork(ctx, r) {
		return
	}
	if p.loadErr != nil {
		p.respond(ctx, r, &submitResponse{err: p.loadErr})
		return
	}
	item := m.item
	kind, _ := ans104.Kind(item)
	if kind == ans104.KindProcess {
		p.spawn(ctx, r, item)
		return
	}
	if !p.ready(ctx, r) {
		return
	}
	if item.TargetID() != p.pid {
		p.respond(ctx, r, &submitResponse{err: fmt.Errorf("%w: message targets %s", ErrWrongProcess, item.TargetID())})
		return
	}
	p.enqueue(ctx, &grain.Submit{To: r.From, Item: item, MsgID: item.ID()}, true)
}

// spawn registers the process and schedules its own assignment at nonce 0 (the process-assignment
// mode of the reference scheduler: the process is the first entry of its log and is evaluated like
// any message).
func (p *processActor) spawn(ctx actor.Context, r grain.Request, item *ans104.DataItem) {
	fail := func(err error) { p.respond(ctx, r, &submitResponse{err: err}) }
	if item.ID() != p.pid {
		fail(fmt.Errorf("%w: process item %s sent to %s", ErrWrongProcess, item.ID(), p.pid))
		return
	}
	lg := p.core.Log()
	if p.proc != nil || lg.Head > 0 {
		fail(fmt.Errorf("%w: %s", ErrProcessExists, p.pid))
		return
	}
	proc, err := ans104.AsProcess(item)
	if err != nil {
		fail(err)
		return
	}
	specs, err := p.parseSpawnCrons(item)
	if err != nil {
		fail(err)
		return
	}
	cctx, cancel := p.host.opContext(30 * time.Second)
	defer cancel()
	if _, err := p.host.module(cctx, proc.Module); err != nil {
		fail(fmt.Errorf("%w: %v (publish the module to this node first)", ErrModuleNotFound, err))
		return
	}
	st := p.host.deps.Store
	now := p.host.deps.Clock()
	rec := persistence.Process{ID: p.pid, ModuleID: proc.Module, Owner: item.Owner, Item: item.Bytes(),
		Timestamp: now, BlockHeight: p.host.deps.BlockHeight(), Epoch: lg.Epoch}
	for _, t := range item.Tags {
		rec.Tags = append(rec.Tags, persistence.Tag{Name: t.Name, Value: t.Value})
	}
	if err := st.PutProcess(cctx, rec); err != nil {
		fail(err)
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
	p.enqueue(ctx, &grain.Submit{To: r.From, Item: item}, false)
}

func (p *processActor) assign(ctx actor.Context, r grain.Request, m *assignRequest) {
	if !p.ready(ctx, r) {
		return
	}
	item, err := p.host.findItem(m.message)
	if err != nil {
		p.respond(ctx, r, &submitResponse{err: fmt.Errorf("assign %s: %w", m.message, err)})
		return
	}
	if item.Tags.Value("Type") == "Module" {
		// A module is code, not a message: assigning it would hand its binary to the process as
		// a message. Process items may be assigned (the reference SU allows it; the process
		// sees the item, Target empty).
		p.respond(ctx, r, &submitResponse{err: fmt.Errorf("%w: %s is a Module item; only messages and processes may be assigned", ErrWrongProcess, m.message)})
		return
	}
	// The message stays where it is; the evaluator reads it from there.
	p.enqueue(ctx, &grain.Submit{To: r.From, MsgID: m.message, Exclude: m.exclude}, true)
}

// enqueue hands a submit to the core with the store's answer on whether it is already in the log
// (almost always from the store's in-memory filter). rated: it counts against the receive quota.
func (p *processActor) enqueue(ctx actor.Context, s *grain.Submit, rated bool) {
	ev := grain.Enqueue{S: s, Now: time.Now(), Rated: rated}
	if !s.MsgID.IsZero() {
		ev.Dup, ev.DupErr = p.host.deps.Store.HasMessage(p.pid, s.MsgID)
	}
	p.run(ctx, p.core.Step(ev))
}

// startAppend makes a batch durable on a goroutine: the backup first when replicating, then the
// local log; appendDone brings the outcome back to the mailbox.
func (p *processActor) startAppend(ctx actor.Context, a grain.Append) {
	self, store, root, repl := ctx.Self(), p.host.deps.Store, p.host.system.Root, p.host.deps.Replication
	p.host.metrics.batchSize.Observe(float64(len(a.Batch)))
	h, pid := p.host, p.pid
	if !h.startAppend() {
		root.Send(self, &appendDone{batch: a.Batch, err: ErrStopping})
		return
	}
	h.warm.Go(func() {
		defer h.appends.Done()
		// No append without a quorum, whatever the replication factor (a member cut off from the
		// majority must not extend a log the other side may be extending).
		err := h.checkQuorum()
		if err == nil && repl != nil {
			// Backup first: a batch the backup refuses (fenced by a newer owner, or out of reach) is
			// written nowhere, so a stale or partitioned owner can never fork the log.
			err = repl.Replicate(h.appendCtx, pid, a.Epoch, a.Entries)
		}
		if err == nil {
			err = store.AppendBatch(h.appendCtx, pid, a.Entries)
		}
		root.Send(self, &appendDone{batch: a.Batch, err: err})
	})
}

// appended brings an append's outcome to the core; on failure it first reads the log back (the
// scheduler state ran ahead of it) and answers the store's questions the core will ask.
func (p *processActor) appended(ctx actor.Context, m *appendDone) {
	ev := grain.AppendDone{Batch: m.batch, Err: m.err}
	if m.err != nil {
		l := loaded{proc: p.proc, module: p.module, origin: p.origin, log: p.core.Log()}
		l.log.Sched, l.log.Head = scheduler.Fresh(p.pid), 0
		err := p.host.load(p.pid, &l)
		p.proc, p.module, p.origin = l.proc, l.module, l.origin
		if err != nil {
			p.loadErr = err
		}
		if errors.Is(m.err, replication.ErrForked) {
			p.forkedWhileActive(ctx, m.err)
		}
		ev.Reload, ev.Refused = l.log, p.loadErr != nil
		if grain.Reschedulable(m.err) && !ev.Refused {
			ev.Dups = make([]grain.Dup, len(m.batch))
			for i, s := range m.batch {
				if s.Retries < grain.MaxReschedules && !s.MsgID.IsZero() {
					ev.Dups[i].Has, ev.Dups[i].Err = p.host.deps.Store.HasMessage(p.pid, s.MsgID)
				}
			}
		}
	}
	p.run(ctx, p.core.Step(ev))
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

// reply answers a submit and the retries of the same message that waited for it.
func (p *processActor) reply(ctx actor.Context, r grain.Reply) {
	res := &submitResponse{ack: r.Ack, err: r.Err}
	if to, ok := r.S.To.(*actor.PID); ok && to != nil {
		ctx.Send(to, res)
	}
	for _, w := range r.Waiters {
		if to, ok := w.(*actor.PID); ok && to != nil {
			ctx.Send(to, res)
		}
	}
	if r.Err == nil {
		p.host.metrics.ackLatency.Observe(time.Since(r.S.Received).Seconds())
	}
}

func (p *processActor) ensureEvaluator(ctx actor.Context) {
	if p.evaluator != nil {
		return
	}
	ev := &evaluator{host: p.host, pid: p.pid, proc: p.proc, moduleID: p.module, head: p.core.Log().Head}
	p.evaluator = ctx.Spawn(actor.PropsFromProducer(func() actor.Actor { return ev }, actor.WithDispatcher(p.host.warm)))
}

package actors

import (
	"bytes"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/actors/grain"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
)

// grainCron is a grain's view of its process's crons: the authority on which ticks are in the log.
type grainCron struct {
	specs  []cron.Spec
	origin cron.Origin
	owner  string
	// last[i]: the last tick of cron i that is in the log, being appended, or skipped.
	last []uint64
	// durable[i]: the last tick of cron i that is durable in the log or skipped (what the cron
	// index records: ticks at or below it are never generated again).
	durable []uint64
	paused  bool
	unsaved int // durable ticks not yet in the cron index record
}

// saveEvery is how many durable ticks a grain lets pass between writes of its cron index record
// (and it writes on passivation): the record only bounds how much of the log an activation scans,
// so writing it with every tick would cost a Pebble commit per tick for nothing.
const saveEvery = 16

// loadCron reads the process's crons and where they stand: the cron index's record, then the log
// after what the record reflects (the record is written without fsync; the log is the truth).
func (p *processActor) loadCron() error {
	if p.cron != nil {
		return nil
	}
	specs, err := cron.Parse(p.proc)
	if err != nil {
		return err
	}
	gc := &grainCron{specs: specs, origin: p.origin, owner: p.proc.OwnerAddress(),
		last: make([]uint64, len(specs)), durable: make([]uint64, len(specs))}
	if len(specs) == 0 {
		p.cron = gc
		return nil
	}
	st := p.host.deps.Store
	rec, ok, err := st.GetCronState(p.pid)
	if err != nil {
		return err
	}
	var through uint64
	head := p.core.Log().Head
	if ok && rec.Through <= head {
		// (A record past the log's end is from a tail this node's log no longer holds, e.g. a
		// diverged tail dropped by a hand-over: the log alone is read then.)
		copy(gc.durable, rec.Last)
		through, gc.paused = rec.Through, rec.Paused
	}
	for n := through; n < head; n++ {
		e, err := st.Entry(p.pid, n)
		if err != nil {
			return err
		}
		if len(e.Message) == 0 {
			continue
		}
		item, err := ans104.Parse(e.Message, ans104.Limits{})
		if err != nil {
			return fmt.Errorf("log entry %d: %w", n, err)
		}
		info, ok := cron.ParseTick(item)
		if !ok || info.Index >= len(specs) {
			continue
		}
		asg, err := ans104.Parse(e.Assignment, ans104.Limits{})
		if err != nil || asg.SignatureType != item.SignatureType || !bytes.Equal(asg.Owner, item.Owner) {
			continue // not signed by its scheduler: not a tick
		}
		gc.durable[info.Index] = max(gc.durable[info.Index], info.Seq)
	}
	copy(gc.last, gc.durable)
	p.cron = gc
	return nil
}

// tick appends the ticks due in the ticker's window.
func (p *processActor) tick(ctx actor.Context, r grain.Request, m *tickRequest) {
	if !p.ready(ctx, r) {
		return
	}
	if err := p.loadCron(); err != nil {
		p.respond(ctx, r, &tickResponse{err: err})
		return
	}
	gc := p.cron
	if len(gc.specs) > 0 && !gc.paused {
		ticks, skipped := cron.Due(gc.specs, gc.origin, gc.last, m.w)
		for i, s := range skipped {
			if s > gc.last[i] {
				p.host.metrics.cronSkipped.Add(float64(s - gc.last[i]))
				gc.last[i], gc.durable[i] = s, max(gc.durable[i], s)
			}
		}
		for _, tk := range ticks {
			item := cron.Item(p.pid, gc.owner, gc.specs[tk.Cron], tk)
			if err := item.Sign(p.host.deps.Signer); err != nil {
				p.host.log.Error("signing a cron tick", "process", p.pid, "err", err)
				break
			}
			gc.last[tk.Cron] = tk.Seq
			p.enqueueTick(ctx, item, tk)
		}
	}
	p.respond(ctx, r, p.cronStatus())
}

func (p *processActor) cronStatus() *tickResponse {
	gc := p.cron
	return &tickResponse{specs: gc.specs, origin: gc.origin, last: append([]uint64(nil), gc.last...), paused: gc.paused}
}

// enqueueTick schedules a tick like a submit with no one waiting for the acknowledgement (the core
// keeps ticks out of the receive quota and the mailbox bound).
func (p *processActor) enqueueTick(ctx actor.Context, item *ans104.DataItem, tk cron.Tick) {
	p.enqueue(ctx, &grain.Submit{Item: item, MsgID: item.ID(), Tick: &tk}, false)
}

// ticksAppended records durable ticks: metrics and the cron index.
func (p *processActor) ticksAppended(batch []*grain.Submit) {
	if p.cron == nil {
		return
	}
	appended := false
	for _, s := range batch {
		if s.Tick == nil {
			continue
		}
		appended = true
		p.cron.unsaved++
		tk := s.Tick
		p.cron.durable[tk.Cron] = max(p.cron.durable[tk.Cron], tk.Seq)
		p.host.metrics.cronTicks.Inc()
		if p.cron.specs[tk.Cron].Unit == cron.Seconds {
			p.host.metrics.cronLateness.Observe(float64(s.Entry.Timestamp-tk.Due) / 1000)
		}
	}
	if appended {
		if p.cron.unsaved >= saveEvery {
			p.saveCron(false)
		}
	}
}

func (p *processActor) saveCron(sync bool) {
	gc := p.cron
	gc.unsaved = 0
	err := p.host.deps.Store.PutCronState(persistence.CronState{Process: p.pid, Through: p.core.Log().Head,
		Last: append([]uint64(nil), gc.durable...), Paused: gc.paused}, sync)
	if err != nil {
		p.host.log.Warn("recording cron state", "process", p.pid, "err", err)
	}
}

// monitor pauses or resumes the crons. Resuming skips the ticks that fell during the pause: a
// paused process does not tick, so there is nothing to catch up.
func (p *processActor) monitor(ctx actor.Context, r grain.Request, m *monitorRequest) {
	if !p.ready(ctx, r) {
		return
	}
	if err := p.loadCron(); err != nil {
		p.respond(ctx, r, &tickResponse{err: err})
		return
	}
	gc := p.cron
	if len(gc.specs) > 0 && gc.paused == m.on {
		gc.paused = !m.on
		if m.on {
			now, height := p.host.deps.Clock(), p.host.deps.BlockHeight()
			for i, s := range gc.specs {
				l := s.Last(gc.origin, now, height)
				gc.last[i], gc.durable[i] = max(gc.last[i], l), max(gc.durable[i], l)
			}
		}
		p.saveCron(true)
	}
	st := p.cronStatus()
	if len(gc.specs) > 0 {
		p.host.ticker.update(p.pid, st.specs, st.origin, st.last, st.paused, false)
	}
	p.respond(ctx, r, st)
}

// registerCron validates the crons of a process being spawned (before anything is stored) and,
// once it is, records it in the cron index and the ticker.
func (p *processActor) parseSpawnCrons(item *ans104.DataItem) ([]cron.Spec, error) {
	return cron.Parse(item)
}

func (p *processActor) registerCron(specs []cron.Spec) error {
	p.cron = &grainCron{specs: specs, origin: p.origin, owner: p.proc.OwnerAddress(),
		last: make([]uint64, len(specs)), durable: make([]uint64, len(specs))}
	if len(specs) == 0 {
		return nil
	}
	// Not synced on its own: the process's own assignment, appended right after with an fsync, makes
	// it durable too (the WAL is written in order), so a process acknowledged as spawned ticks after
	// any crash.
	if err := p.host.deps.Store.PutCronState(persistence.CronState{Process: p.pid, Last: p.cron.durable}, false); err != nil {
		return err
	}
	p.host.ticker.update(p.pid, specs, p.origin, p.cron.last, false, false)
	return nil
}

// CronProcesses is the number of processes the ticker schedules.
func (h *Host) CronProcesses() int { return h.ticker.processes() }

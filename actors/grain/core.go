package grain

import (
	"errors"
	"fmt"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/replication"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/persistence"
	"github.com/actorweave/actorweave/scheduler"
)

// Errors of the core, wrapped with detail (the actors package exports them under the same names).
var (
	ErrStopping = errors.New("node is stopping")
	ErrBusy     = errors.New("process is busy: too many submits waiting")
	ErrQuota    = errors.New("over quota")
)

// MaxReschedules bounds how often one submit is scheduled again after its batch was refused with
// replication.ErrResync (the log changed under the activation during a hand-over).
const MaxReschedules = 3

// Reschedulable reports whether a failed batch should be scheduled again rather than failed: the
// replicator re-synchronised the log (nothing was written) and the caller's request still stands.
func Reschedulable(err error) bool { return errors.Is(err, replication.ErrResync) }

// ReplyErr is what a submit refused by replication answers: a fenced owner's refusal also wraps
// cluster.ErrNotOwner, so the router waits for a fresher view and tries again (at the new owner, or
// here once the hand-over has re-fenced the backup) instead of failing the request.
//
// A local append refused with persistence.ErrStaleEpoch after the backup took the batch means the
// same: a hand-over fenced this node between the two (the new owner holds the batch; the router's
// retry finds it there as a duplicate and answers with its acknowledgement).
func ReplyErr(err error) error {
	if errors.Is(err, replication.ErrNotOwner) || errors.Is(err, persistence.ErrStaleEpoch) {
		return fmt.Errorf("%w: %w", awcluster.ErrNotOwner, err)
	}
	return err
}

// Config bounds one grain.
type Config struct {
	// MaxBatch bounds how many submits one durable append carries.
	MaxBatch int
	// MaxPending bounds the submits (and, during a hand-over, the requests) waiting at the grain;
	// beyond it a request is refused with ErrBusy.
	MaxPending int
	// MaxReceiveRate is the messages per second the process accepts (cron ticks excepted); 0: no
	// limit.
	MaxReceiveRate float64
	// LazyEval: an activation may passivate with entries not evaluated yet.
	LazyEval bool
}

// Env is what the core takes from outside while it schedules a batch: the scheduler's clock (ms),
// the block height and the node key's signature of an assignment. The core treats the answers as
// given; the scripted tests give fixed ones.
type Env interface {
	Clock() int64
	BlockHeight() uint64
	Sign(a ans104.Assignment) (*ans104.DataItem, error)
}

// Ack is a durable scheduling.
type Ack struct {
	ID        ans104.ID // the item's id, or the assignment's for the assign flow
	Nonce     uint64
	Timestamp int64
}

// Submit is one item to schedule: a submitted message or process, an assignment of a message held
// elsewhere, or a cron tick.
type Submit struct {
	To       any              // who gets the acknowledgement (opaque here); nil: no one (a tick)
	Item     *ans104.DataItem // the scheduled item; nil for an assignment of a message held elsewhere
	MsgID    ans104.ID        // zero for the process's own assignment
	Exclude  []string
	Tick     *cron.Tick // a cron tick (no one waits for its acknowledgement)
	Received time.Time  // when the core took it (the shell's acknowledgement latency)
	Entry    persistence.Entry
	Ack      Ack
	Retries  int // times scheduled again after a replication re-sync
}

// Log is where the process's log stands: what the core schedules after.
type Log struct {
	Sched     scheduler.State
	Epoch     uint64 // the ownership epoch the activation writes at
	Head      uint64 // entries in the log
	Evaluated uint64 // entries evaluated (the evaluator's progress)
}

// Request is a request that needs the activated state (a submit, an assignment, a result, a cron
// tick...): the shell's message and whom to answer, both opaque to the core.
type Request struct {
	Msg  any
	From any
	// Waited: the request waited for a hand-over; a failed one is not tried again for it.
	Waited bool
}

// Core is the pure state machine of one grain. It is not safe for concurrent use: the actor steps
// it from its mailbox only.
type Core struct {
	cfg Config
	env Env
	pid ans104.ID
	log Log

	inflight   bool // an append is running
	pending    []*Submit
	pendingIDs map[ans104.ID]bool
	// dupWaiters are requests for a message already pending here: they get its outcome.
	dupWaiters map[ans104.ID][]any
	recv       *Bucket // the receive quota

	handover     bool      // a hand-over is running
	wantHandover bool      // one waits for the append in flight to end
	held         []Request // requests waiting for the hand-over
	stopping     bool
}

// New returns the core of pid's grain before its activation: every request is served at once
// until an Activate event.
func New(pid ans104.ID, cfg Config, env Env) *Core {
	return &Core{cfg: cfg, env: env, pid: pid, log: Log{Sched: scheduler.Fresh(pid)},
		pendingIDs: map[ans104.ID]bool{}, dupWaiters: map[ans104.ID][]any{},
		recv: NewBucket(cfg.MaxReceiveRate, cfg.MaxReceiveRate)}
}

// Log is where the log stands as the core knows it.
func (c *Core) Log() Log { return c.log }

// Inflight reports whether an append is running.
func (c *Core) Inflight() bool { return c.inflight }

// activating reports whether requests wait for a hand-over.
func (c *Core) activating() bool { return c.handover || c.wantHandover }

// Step applies one event and returns the effects the shell must run, in order.
func (c *Core) Step(ev Event) []Effect {
	switch e := ev.(type) {
	case Receive:
		return c.receive(e.Req)
	case Activate:
		return c.activate(e.Req)
	case HandoverDone:
		return c.handedOver(e)
	case Enqueue:
		return c.enqueue(e)
	case AppendDone:
		return c.appended(e)
	case Progress:
		c.log.Evaluated = e.Evaluated
		return nil
	case IdleCheck:
		return c.idle()
	case StopAgreed:
		c.stopping = true
		return []Effect{Stop{}}
	case Stopped:
		var out []Effect
		for _, r := range c.held {
			out = append(out, Refuse{Req: r, Err: ErrStopping})
		}
		c.held = nil
		return out
	}
	panic(fmt.Sprintf("grain: unknown event %T", ev))
}

// receive serves a request now, or holds it while a hand-over runs (bounded by MaxPending).
func (c *Core) receive(r Request) []Effect {
	if !c.activating() {
		return []Effect{Serve{Req: r}}
	}
	if n := len(c.held) + len(c.pending); n >= c.cfg.MaxPending {
		return []Effect{QuotaHit{Quota: "queue_depth"}, Refuse{Req: r, Err: c.busy(n)}}
	}
	c.held = append(c.held, r)
	return nil
}

func (c *Core) busy(n int) error {
	return fmt.Errorf("%w (%d, --max-pending); retry later", ErrBusy, n)
}

// activate starts a hand-over (once the append in flight, if any, has ended); req, if any, waits
// for it.
func (c *Core) activate(req *Request) []Effect {
	if req != nil {
		c.held = append(c.held, *req)
	}
	if c.activating() {
		return nil
	}
	if c.inflight {
		c.wantHandover = true
		return nil
	}
	c.handover = true
	return []Effect{StartHandover{}}
}

// handedOver takes the log as the hand-over left it, resumes the appends and lets the held
// requests in, in their order of arrival.
func (c *Core) handedOver(e HandoverDone) []Effect {
	c.handover = false
	c.log = e.Log
	out := c.flush()
	if len(c.held) > 0 {
		out = append(out, Resume{Reqs: c.held})
		c.held = nil
	}
	return out
}

func (c *Core) enqueue(e Enqueue) []Effect {
	s := e.S
	if s.Tick != nil {
		// Ticks are not subject to the receive quota or the mailbox bound: the ticker sends at most
		// one window per process at a time and CronMaxTicks per cron in it.
		if c.pendingIDs[s.MsgID] || e.DupErr != nil || e.Dup {
			return nil // already in the log (the same tick, deterministic id), or the store is failing
		}
		c.pendingIDs[s.MsgID] = true
		s.Received = e.Now
		c.pending = append(c.pending, s)
		return c.flush()
	}
	if e.Rated && !c.recv.Allow(e.Now) {
		return []Effect{QuotaHit{Quota: "receive_rate"}, Reply{S: s,
			Err: fmt.Errorf("%w: process %s receives more than %g messages per second (--max-receive-rate); retry later", ErrQuota, c.pid, c.cfg.MaxReceiveRate)}}
	}
	if len(c.pending) >= c.cfg.MaxPending {
		return []Effect{QuotaHit{Quota: "queue_depth"}, Reply{S: s, Err: c.busy(len(c.pending))}}
	}
	if !s.MsgID.IsZero() {
		if c.pendingIDs[s.MsgID] {
			// The same message is being made durable right now (a client's or the router's retry
			// while the first attempt waits for its backup). It is not in the log yet, and the
			// first attempt may still fail: "already exists" now would acknowledge a message that
			// may be lost. The retry gets the first attempt's outcome instead.
			if s.To != nil {
				c.dupWaiters[s.MsgID] = append(c.dupWaiters[s.MsgID], s.To)
			}
			return nil
		}
		if e.DupErr != nil {
			return []Effect{Reply{S: s, Err: e.DupErr}}
		}
		if e.Dup {
			return []Effect{Reply{S: s, Err: fmt.Errorf("message %s already exists in process %s: %w", s.MsgID, c.pid, persistence.ErrMessageExists)}}
		}
		c.pendingIDs[s.MsgID] = true
	}
	s.Received = e.Now
	c.pending = append(c.pending, s)
	return c.flush()
}

// flush schedules everything pending (up to MaxBatch) as the next batch, unless an append or a
// hand-over is running: then the pending submits wait and go together in the next batch.
func (c *Core) flush() []Effect {
	var out []Effect
	for !c.inflight && !c.activating() && len(c.pending) > 0 {
		n := min(len(c.pending), c.cfg.MaxBatch)
		batch := make([]*Submit, 0, n)
		entries := make([]persistence.Entry, 0, n)
		st := c.log.Sched
		for _, s := range c.pending[:n] {
			a, err := scheduler.Next(st, scheduler.Input{Message: s.MsgID, Clock: c.env.Clock(),
				BlockHeight: c.env.BlockHeight(), Epoch: c.log.Epoch, Exclude: s.Exclude})
			var asg *ans104.DataItem
			if err == nil {
				asg, err = c.env.Sign(a)
			}
			if err != nil {
				out = append(out, c.reply(s, Ack{}, err))
				continue
			}
			st = st.Advance(a, asg.ID())
			s.Entry = persistence.Entry{Process: c.pid, Nonce: a.Nonce, Epoch: a.Epoch, Timestamp: a.Timestamp,
				BlockHeight: a.BlockHeight, HashChain: a.HashChain, AssignmentID: asg.ID(), Assignment: asg.Bytes(),
				MessageID: s.MsgID}
			if s.Item != nil && !s.MsgID.IsZero() {
				s.Entry.Message = s.Item.Bytes()
			}
			s.Ack = Ack{ID: s.MsgID, Nonce: a.Nonce, Timestamp: a.Timestamp}
			if s.Item == nil && !s.MsgID.IsZero() {
				s.Ack.ID = asg.ID() // the assign flow answers with the assignment's id
			} else if s.MsgID.IsZero() {
				s.Ack.ID = c.pid
			}
			batch = append(batch, s)
			entries = append(entries, s.Entry)
		}
		c.pending = append(c.pending[:0], c.pending[n:]...)
		if len(batch) == 0 {
			continue
		}
		c.log.Sched = st
		c.inflight = true
		out = append(out, Append{Batch: batch, Entries: entries, Epoch: c.log.Epoch})
	}
	return out
}

// appended ends an append: acknowledgements and the evaluator's news, or the failure's answers
// (a batch refused by a re-sync is scheduled again, at most MaxReschedules times per submit).
func (c *Core) appended(e AppendDone) []Effect {
	c.inflight = false
	var out []Effect
	if e.Err != nil {
		// The scheduler state ran ahead of the log: the shell read the truth back.
		c.log = e.Reload
		var again []*Submit
		for i, s := range e.Batch {
			if Reschedulable(e.Err) && s.Retries < MaxReschedules && !e.Refused && i < len(e.Dups) {
				// The hand-over pulled entries; the request still stands: schedule it again (it may
				// now be a duplicate of what was pulled).
				if d := e.Dups[i]; d.Err == nil && (s.MsgID.IsZero() || !d.Has) {
					s.Retries++
					again = append(again, s)
					continue
				}
			}
			out = append(out, c.reply(s, Ack{}, ReplyErr(e.Err)))
		}
		c.pending = append(again, c.pending...)
		// Ticks not yet durable are forgotten: the cron state is read again from the log and the
		// ticker's next wake-up generates them again.
		kept := c.pending[:0]
		for _, s := range c.pending {
			if s.Tick != nil {
				delete(c.pendingIDs, s.MsgID)
				continue
			}
			kept = append(kept, s)
		}
		c.pending = kept
		out = append(out, TicksDropped{})
	} else {
		for _, s := range e.Batch {
			out = append(out, c.reply(s, s.Ack, nil))
		}
		c.log.Head += uint64(len(e.Batch))
		out = append(out, Appended{Batch: e.Batch})
	}
	if c.wantHandover {
		c.wantHandover = false
		c.handover = true
		return append(out, StartHandover{})
	}
	return append(out, c.flush()...)
}

// reply answers a submit and the duplicates that wait for it.
func (c *Core) reply(s *Submit, ack Ack, err error) Effect {
	delete(c.pendingIDs, s.MsgID)
	r := Reply{S: s, Ack: ack, Err: err, Waiters: c.dupWaiters[s.MsgID]}
	delete(c.dupWaiters, s.MsgID)
	return r
}

// idle asks the shell to stop the activation when nothing is in flight, pending or held, and the
// log is fully evaluated (unless evaluation is lazy).
func (c *Core) idle() []Effect {
	if c.stopping || c.inflight || len(c.pending) > 0 || c.activating() || len(c.held) > 0 ||
		(c.log.Evaluated < c.log.Head && !c.cfg.LazyEval) {
		return nil // the sweeper asks again later
	}
	return []Effect{TryStop{}}
}

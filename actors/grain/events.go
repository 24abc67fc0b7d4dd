package grain

import (
	"time"

	"github.com/actorweave/actorweave/persistence"
)

// Event is what the shell tells the core: a request arrived, an effect ended, time passed.
type Event interface{ event() }

// Receive: a request that needs the activated state arrived. The core answers Serve, holds it
// while a hand-over runs, or refuses it with ErrBusy when too many wait.
type Receive struct{ Req Request }

// Activate: the activation needs a hand-over (its start, or a retry a request asked for). Req, if
// any, waits for it.
type Activate struct{ Req *Request }

// HandoverDone: the hand-over (and the reading of the log after it) ended; Log is where the log
// stands now.
type HandoverDone struct{ Log Log }

// Enqueue: a submit passed the shell's checks (the process exists, the item targets it). Now is
// the time (receive quota, latency); Rated: it counts against the receive quota; Dup and DupErr are
// the store's answer to "is this message already in the log?" (unused when MsgID is zero).
type Enqueue struct {
	S      *Submit
	Now    time.Time
	Rated  bool
	Dup    bool
	DupErr error
}

// Dup is the store's answer to "is this message already in the log?".
type Dup struct {
	Has bool
	Err error
}

// AppendDone: an Append ended. On failure the shell read the log back (Reload), says whether the
// activation now refuses the process (Refused: the read failed, or the log forked), and, for a
// reschedulable failure, answers Dups[i] for Batch[i].
type AppendDone struct {
	Batch   []*Submit
	Err     error
	Reload  Log
	Refused bool
	Dups    []Dup
}

// Progress: the evaluator evaluated the log up to Evaluated entries.
type Progress struct{ Evaluated uint64 }

// IdleCheck: the host's sweeper saw no request for IdleTimeout.
type IdleCheck struct{}

// StopAgreed: the lookup agreed that no request is on its way (after TryStop).
type StopAgreed struct{}

// Stopped: the actor stopped.
type Stopped struct{}

func (Receive) event()      {}
func (Activate) event()     {}
func (HandoverDone) event() {}
func (Enqueue) event()      {}
func (AppendDone) event()   {}
func (Progress) event()     {}
func (IdleCheck) event()    {}
func (StopAgreed) event()   {}
func (Stopped) event()      {}

// Effect is what the core asks the shell to do.
type Effect interface{ effect() }

// Serve: handle the request now.
type Serve struct{ Req Request }

// Refuse: answer the request with Err (the reply type the request expects).
type Refuse struct {
	Req Request
	Err error
}

// Reply: answer a submit (S.To, if any, and the Waiters for the same message) with Ack or Err.
type Reply struct {
	S       *Submit
	Ack     Ack
	Err     error
	Waiters []any
}

// QuotaHit: a quota refused a request (for the metrics).
type QuotaHit struct{ Quota string }

// Append: make Entries durable (the backup first when replicating, then the local log) off the
// mailbox, and answer AppendDone with Batch.
type Append struct {
	Batch   []*Submit
	Entries []persistence.Entry
	Epoch   uint64
}

// Appended: Batch is durable and acknowledged; the evaluator learns of it.
type Appended struct{ Batch []*Submit }

// TicksDropped: ticks not yet durable were forgotten; the shell reads its cron state anew.
type TicksDropped struct{}

// StartHandover: run the hand-over off the mailbox and answer HandoverDone.
type StartHandover struct{}

// Resume: the hand-over ended; receive Reqs again, in this order, as having waited.
type Resume struct{ Reqs []Request }

// TryStop: the activation is idle; ask the lookup whether it may stop, and answer StopAgreed if so.
type TryStop struct{}

// Stop: stop the activation (after the evaluator's passivation).
type Stop struct{}

func (Serve) effect()         {}
func (Refuse) effect()        {}
func (Reply) effect()         {}
func (QuotaHit) effect()      {}
func (Append) effect()        {}
func (Appended) effect()      {}
func (TicksDropped) effect()  {}
func (StartHandover) effect() {}
func (Resume) effect()        {}
func (TryStop) effect()       {}
func (Stop) effect()          {}

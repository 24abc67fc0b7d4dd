package evaluation

import (
	"context"
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/compute"
	"github.com/actorweave/actorweave/runtime"
)

// Source is where a Pipeline reads what it evaluates. Its methods are called from the goroutine
// that calls the Pipeline.
type Source interface {
	// Entry returns entry n of the log and, when the caller already holds it parsed, its message
	// item (else nil: the entry's own bytes, or Item, give it).
	Entry(n uint64) (compute.LogEntry, *ans104.DataItem, error)
	// Item returns the item an assignment-only entry names, or nil when it is not to be had (the
	// module then sees the bare assignment; compute.EntryOf).
	Item(id ans104.ID) *ans104.DataItem
	// Checkpoint returns the newest checkpoint of the process at or before nonce n, or nil when
	// there is none (the instance is then booted fresh and the log replayed from entry 0).
	Checkpoint(n uint64) (*Checkpoint, error)
}

// Checkpoint is a memory snapshot taken after entry Nonce, with that entry's Timestamp and
// BlockHeight. Its Memory belongs to the Pipeline once Source.Checkpoint returns it (the restored
// instance keeps it: runtime.Engine.Restore).
type Checkpoint struct {
	Nonce       uint64
	Timestamp   int64
	BlockHeight uint64
	Memory      []byte
}

// Config is what a Pipeline evaluates with.
type Config struct {
	Engine *runtime.Engine
	// Module is ModuleItem's data compiled by Engine.
	Module *runtime.Module
	// Process and ModuleItem are the process's item and its module's: the limits
	// (compute.LimitsFor) and env (compute.EnvJSON) come from their tags.
	Process, ModuleItem *ans104.DataItem
	// Drive is the process's WeaveDrive (nil: none), DriveBudget the bytes one message may read
	// through it; every instance gets both (runtime.Instance.SetDrive).
	Drive       runtime.Drive
	DriveBudget int64
	Source      Source
	// Replayed, if set, is called after each entry replayed into a rebuilt instance.
	Replayed func(n uint64)
	// Measure, if set, runs the module's Handle of one entry (handle) and may measure it.
	Measure func(handle func())
}

// Message is one entry of the log as its module receives it.
type Message struct {
	Nonce uint64
	// ID names the message: the assignment's Message, or the process's id at the start of the log
	// (the Process item is the message there).
	ID    ans104.ID
	Entry *compute.Entry
	JSON  []byte // compute.MessageJSON of Entry
}

// Interrupted is Evaluate's error when the evaluation was cut short (its context ended, or the
// engine is closing): it has no result, and the instance is closed. Cause is the runtime's error,
// nil when only the context ended (a deadline the cancellation caused is not the message's answer).
type Interrupted struct{ Cause error }

func (e *Interrupted) Error() string {
	if e.Cause == nil {
		return "evaluation interrupted"
	}
	return "evaluation interrupted: " + e.Cause.Error()
}

func (e *Interrupted) Unwrap() error { return e.Cause }

// Pipeline evaluates one process's log with one module instance at a time. Not safe for
// concurrent use.
type Pipeline struct {
	cfg      Config
	pid      ans104.ID
	moduleID ans104.ID
	limits   runtime.Limits
	env      []byte

	inst *runtime.Instance
	at   uint64 // entries inst's memory reflects (meaningful while inst is not nil)
	// lastTS and lastHeight are the Timestamp and Block-Height of entry at-1 (or of the
	// checkpoint restored, when nothing was replayed after it).
	lastTS     int64
	lastHeight uint64
}

// New derives the process's limits and env from its and its module's tags. It opens no instance
// (Open does).
func New(cfg Config) (*Pipeline, error) {
	if cfg.Engine == nil || cfg.Module == nil || cfg.Process == nil || cfg.ModuleItem == nil || cfg.Source == nil {
		return nil, errors.New("evaluation: Engine, Module, Process, ModuleItem and Source are required")
	}
	p := &Pipeline{cfg: cfg, pid: cfg.Process.ID(), moduleID: cfg.ModuleItem.ID()}
	var err error
	if p.limits, err = compute.LimitsFor(cfg.Process, cfg.ModuleItem); err != nil {
		return nil, err
	}
	if p.env, err = compute.EnvJSON(cfg.Process, cfg.ModuleItem); err != nil {
		return nil, err
	}
	return p, nil
}

// Limits are the limits every instance runs under (compute.LimitsFor).
func (p *Pipeline) Limits() runtime.Limits { return p.limits }

// Env is the env JSON every message is evaluated with (compute.EnvJSON).
func (p *Pipeline) Env() []byte { return p.env }

// Module is the compiled module the instances run.
func (p *Pipeline) Module() *runtime.Module { return p.cfg.Module }

// Drive is the process's WeaveDrive and its per-message budget.
func (p *Pipeline) Drive() (runtime.Drive, int64) { return p.cfg.Drive, p.cfg.DriveBudget }

// Instance is the open instance, nil when there is none (before Open, after Close, or after an
// evaluation that failed it). Its memory is that after the last entry opened or evaluated; the
// caller may read it (hash, copy) but evaluates through the Pipeline only.
func (p *Pipeline) Instance() *runtime.Instance { return p.inst }

// Last is the Timestamp and Block-Height of the last entry the memory reflects (or of the
// checkpoint it was restored from); zero before any.
func (p *Pipeline) Last() (timestamp int64, blockHeight uint64) { return p.lastTS, p.lastHeight }

// Open makes the instance hold the memory after entry next-1, the memory entry next is evaluated
// in: an open instance already there is kept; otherwise the newest checkpoint at or before next-1
// (Source.Checkpoint) is restored, or a fresh instance booted, and every entry after it up to
// next-1 replayed (runtime.Instance.Replay: deterministic evaluation, docs/design.md invariant 3,
// rebuilds the same memory; the results are already known). An entry that failed is replayed too:
// it fails again and leaves the memory as it found it, with the host state a failure leaves.
//
// A replay that needs a WeaveDrive read it cannot make now is runtime.ErrDriveUnavailable. On any
// error no instance is left open.
func (p *Pipeline) Open(ctx context.Context, next uint64) error {
	if p.inst != nil {
		if p.at == next {
			return nil
		}
		p.Close()
	}
	if err := p.open(ctx, next); err != nil {
		p.Close()
		return err
	}
	return nil
}

func (p *Pipeline) open(ctx context.Context, next uint64) error {
	from := uint64(0)
	if next > 0 {
		cp, err := p.cfg.Source.Checkpoint(next - 1)
		if err != nil {
			return err
		}
		if cp != nil {
			if cp.Nonce >= next {
				return fmt.Errorf("checkpoint %d is not before entry %d", cp.Nonce, next)
			}
			if p.inst, err = p.cfg.Engine.Restore(ctx, p.cfg.Module, p.limits, cp.Memory); err != nil {
				return fmt.Errorf("restore checkpoint %d: %w", cp.Nonce, err)
			}
			from = cp.Nonce + 1
			p.lastTS, p.lastHeight = cp.Timestamp, cp.BlockHeight
		}
	}
	if p.inst == nil {
		var err error
		if p.inst, err = p.cfg.Engine.Instantiate(ctx, p.cfg.Module, p.limits); err != nil {
			return fmt.Errorf("instantiate: %w", err)
		}
	}
	p.inst.SetDrive(p.cfg.Drive, p.cfg.DriveBudget)
	p.at = from
	for n := from; n < next; n++ {
		m, err := p.Message(n)
		if err != nil {
			return err
		}
		if err := p.inst.Replay(ctx, m.JSON, p.env); err != nil {
			return fmt.Errorf("replay of entry %d: %w", n, err)
		}
		p.advance(m)
		if p.cfg.Replayed != nil {
			p.cfg.Replayed(n)
		}
	}
	return nil
}

func (p *Pipeline) advance(m *Message) {
	p.at = m.Nonce + 1
	p.lastTS, p.lastHeight = m.Entry.Assignment.Timestamp, m.Entry.Assignment.BlockHeight
}

// Message reads entry n (Source.Entry) and builds the message its module receives
// (compute.EntryOf with Source.Item, then compute.MessageJSON). When only the JSON fails, the
// Message returned with the error still names the entry.
func (p *Pipeline) Message(n uint64) (*Message, error) {
	le, item, err := p.cfg.Source.Entry(n)
	if err != nil {
		return nil, err
	}
	ce, err := compute.EntryOf(le, p.cfg.Process, item, p.cfg.Source.Item)
	if err != nil {
		return nil, err
	}
	m := &Message{Nonce: n, ID: ce.Assignment.Message, Entry: ce}
	if le.MessageID.IsZero() {
		m.ID = p.pid
	}
	if m.JSON, err = compute.MessageJSON(ce, p.moduleID); err != nil {
		return m, err
	}
	return m, nil
}

// Evaluate evaluates m in the open instance, which must hold the memory after entry m.Nonce-1
// (Open(ctx, m.Nonce)), and returns the module's result.
//
//   - A result, error or not, is the entry's answer and the memory is that after the entry (a
//     message that errors leaves it as it was: runtime.Instance.Handle).
//   - An instance that fails (Handle's error) makes the entry's result that error, and is closed:
//     the next Open rebuilds it from the last checkpoint and the log.
//   - A WeaveDrive read the entry needs and cannot make now is an error that
//     errors.Is runtime.ErrDriveUnavailable: no result; the entry is to be evaluated again later.
//     The instance stays open at the memory before the entry, unless undoing the entry failed
//     (then it is closed).
//   - An evaluation cut short is *Interrupted: no result, the instance closed.
func (p *Pipeline) Evaluate(ctx context.Context, m *Message) (*runtime.Result, error) {
	if p.inst == nil || p.at != m.Nonce {
		return nil, fmt.Errorf("evaluation of entry %d: the instance is not open there", m.Nonce)
	}
	var res *runtime.Result
	var err error
	handle := func() { res, err = p.inst.Handle(ctx, m.JSON, p.env) }
	if p.cfg.Measure != nil {
		p.cfg.Measure(handle)
	} else {
		handle()
	}
	if errors.Is(err, runtime.ErrEngineClosed) || ctx.Err() != nil {
		// The evaluation was (or may have been) cut short, so it has no result: a "deadline
		// exceeded" from the cancellation is not the message's answer.
		p.Close()
		return nil, &Interrupted{Cause: err}
	}
	if errors.Is(err, runtime.ErrDriveUnavailable) {
		// Undoing the message needed a WeaveDrive read that failed: the instance is gone and the
		// message has no answer yet.
		p.Close()
		return nil, fmt.Errorf("entry %d: %w", m.Nonce, err)
	}
	if err != nil {
		// The instance is unusable: the message's result is the error, and the next Open rebuilds
		// the instance from the last checkpoint and the log.
		res = &runtime.Result{Error: err.Error()}
		p.Close()
	} else if res.Unavailable {
		// Not the message's answer (runtime.ErrDriveUnavailable): the instance was reverted to the
		// memory before it.
		return nil, fmt.Errorf("entry %d: %w: %s", m.Nonce, runtime.ErrDriveUnavailable, res.Error)
	}
	p.advance(m)
	return res, nil
}

// Close closes the open instance, if any; the next Open rebuilds one.
func (p *Pipeline) Close() {
	if p.inst != nil {
		_ = p.inst.Close(context.Background())
		p.inst = nil
	}
}

package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/actorweave/actorweave/ans104"
)

// Source is where a process is read back from: a gateway (Gateway) in production.
type Source interface {
	// Name says where the data comes from, for errors and reports (the gateway URL).
	Name() string
	// LogBatches lists pid's Log-Batch items (any order; the same item may be listed twice).
	LogBatches(ctx context.Context, pid ans104.ID) ([]BatchRef, error)
	// Checkpoints lists pid's Checkpoint items written by actorweave, newest first or in any order.
	Checkpoints(ctx context.Context, pid ans104.ID) ([]CheckpointRef, error)
	// Fields returns what the gateway knows of a standalone item besides its data.
	Fields(ctx context.Context, id ans104.ID) (*TxFields, error)
	// Data returns an item's raw data.
	Data(ctx context.Context, id string) ([]byte, error)
}

// DelegationSource is a Source that can also list the signed Scheduler-Delegation items of a
// Scheduler (the gateway does). Without it, only the Scheduler's own key may sign assignments.
type DelegationSource interface {
	// Delegates returns the addresses scheduler delegated to, from delegation items whose
	// signature verifies and whose signer is scheduler.
	Delegates(ctx context.Context, scheduler string) ([]string, error)
}

// CheckpointRef is a Checkpoint item as the gateway lists it.
type CheckpointRef struct {
	Fields     TxFields
	Owner      string // signer address as the gateway reports it
	Checkpoint *ans104.Checkpoint
}

// ErrNotOnGateway: the gateway has no log batch of the process.
var ErrNotOnGateway = errors.New("no log batch of this process on the gateway")

// Options tune a recovery or a verification walk.
type Options struct {
	Logger *slog.Logger
	// ProgressEvery logs progress every this many entries (default 10,000).
	ProgressEvery uint64
	// MaxMemoryBytes bounds a checkpoint's decompressed memory (default 4 GiB).
	MaxMemoryBytes uint64
	// MaxBufferBytes: a log up to this size is checked whole before anything is written (default
	// 64 MiB); a longer one is written as it is read, marked as recovering until done.
	MaxBufferBytes int
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.ProgressEvery == 0 {
		o.ProgressEvery = 10_000
	}
	if o.MaxMemoryBytes == 0 {
		o.MaxMemoryBytes = 4 << 30
	}
	if o.MaxBufferBytes == 0 {
		o.MaxBufferBytes = 64 << 20
	}
	return o
}

// WalkResult is what a walk saw besides the entries.
type WalkResult struct {
	Entries  uint64 // log length on the gateway (nonces 0..Entries-1)
	Batches  int    // batches read
	Skipped  []string
	Links    map[uint64]ans104.ID // hash-chain link of the entries asked for in WalkSpec.KeepLinks
	Process  *ans104.Process
	Duration time.Duration
}

// Walk reads pid's log from src in nonce order, one batch in memory at a time, checks every item's
// signature and the whole chain from nonce 0 (Chain), and calls fn with each batch's entries that
// follow the ones before. keepLinks names nonces whose hash-chain link the caller wants back (to
// check checkpoints against). A gap between batches is an error: a log with a hole cannot be
// recomputed.
func Walk(ctx context.Context, src Source, pid ans104.ID, o Options, keepLinks map[uint64]bool, fn func([]Entry) error) (*WalkResult, error) {
	o = o.withDefaults()
	start := time.Now()
	refs, err := src.LogBatches(ctx, pid)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return nil, fmt.Errorf("recovery: process %s on %s: %w", pid, src.Name(), ErrNotOnGateway)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].From != refs[j].From {
			return refs[i].From < refs[j].From
		}
		return refs[i].ID < refs[j].ID
	})
	res := &WalkResult{Links: map[uint64]ans104.ID{}}
	chain := NewChain(pid)
	if ds, ok := src.(DelegationSource); ok {
		chain.Delegates = func(scheduler string) ([]string, error) { return ds.Delegates(ctx, scheduler) }
	}
	seen := map[string]bool{}
	lastLog := uint64(0)
	for _, ref := range refs {
		if seen[ref.ID] {
			continue // listed twice
		}
		seen[ref.ID] = true
		next := chain.Next()
		if ref.To < next {
			// A second upload of a range already read (arweave/FORMAT.md says the same range keeps its id,
			// so this is another id): skipped, and reported.
			res.Skipped = append(res.Skipped, fmt.Sprintf("batch %s (nonces %d..%d) repeats nonces already read", ref.ID, ref.From, ref.To))
			o.Logger.Warn("log batch repeats nonces already read; skipped", "process", pid, "batch", ref.ID, "from", ref.From, "to", ref.To)
			continue
		}
		if ref.From > next {
			return nil, &BatchError{Process: pid, Batch: ref.ID, Reason: fmt.Sprintf("starts at nonce %d but the batches before end at %d: nonces %d..%d are missing on %s", ref.From, next, next, ref.From-1, src.Name())}
		}
		data, err := src.Data(ctx, ref.ID)
		if err != nil {
			return nil, fmt.Errorf("recovery: process %s: log batch %s (nonces %d..%d): %w", pid, ref.ID, ref.From, ref.To, err)
		}
		entries, err := ParseBatch(pid, ref, data)
		if err != nil {
			return nil, err
		}
		entries = entries[next-ref.From:]
		for _, e := range entries {
			if err := chain.Add(e); err != nil {
				return nil, fmt.Errorf("recovery: log batch %s on %s: %w", ref.ID, src.Name(), err)
			}
			if keepLinks[e.Nonce()] {
				res.Links[e.Nonce()] = e.Assignment.HashChain
			}
		}
		if err := fn(entries); err != nil {
			return nil, err
		}
		res.Batches++
		if n := chain.Next(); n/o.ProgressEvery > lastLog/o.ProgressEvery {
			o.Logger.Info("recovering process", "process", pid, "entries", n, "batches", res.Batches, "elapsed", time.Since(start).Round(time.Millisecond))
			lastLog = n
		}
	}
	res.Entries, res.Process, res.Duration = chain.Next(), chain.Process(), time.Since(start)
	return res, nil
}

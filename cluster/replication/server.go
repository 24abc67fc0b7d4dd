package replication

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/internal/warm"
	"github.com/actorweave/actorweave/persistence"
)

// ActorName is the name of the replication actor on every node; peers address it as
// actor.NewPID(nodeAddress, ActorName).
const ActorName = "replication"

// server is the replica side: it applies Append, Fence and Fetch requests to the local store. Each
// request runs on its own goroutine (an append waits for its fsync; the store serialises per
// process and group-commits across processes), and the reply goes straight to the requester.
type server struct {
	store   *persistence.Store
	root    *actor.RootContext
	timeout time.Duration
	maxScan int
	stats   *Stats
	// maxBytes bounds a compute reply (checkpoint and results; CatchUpBytes).
	maxBytes int
	// takeOver runs a hand-over (Replicator.takeOver).
	takeOver func(ctx context.Context, pid persistence.ID, from string, backups []string) error
	// The requests' owner: each runs on a goroutine of pool (parked ones, whose stacks have
	// grown: internal/warm) under base, which stop cancels before it waits for them.
	pool   *warm.Pool
	base   context.Context
	cancel context.CancelFunc
}

// stop cancels the requests still running and waits for them to return.
func (s *server) stop() {
	s.cancel()
	s.pool.Stop()
}

func (s *server) Receive(ctx actor.Context) {
	sender := ctx.Sender()
	switch m := ctx.Message().(type) {
	case *replpb.Append:
		s.serve(sender, func(c context.Context) *replpb.Reply { return s.append(c, m) })
	case *replpb.Fence:
		s.serve(sender, func(c context.Context) *replpb.Reply { return s.fence(c, m) })
	case *replpb.Fetch:
		s.serve(sender, func(c context.Context) *replpb.Reply { return s.fetch(c, m) })
	case *replpb.Handover:
		s.serve(sender, func(c context.Context) *replpb.Reply {
			if s.takeOver == nil {
				return &replpb.Reply{Code: replpb.Code_FAILED, Detail: "no hand-over here"}
			}
			backups := m.Backups
			if len(backups) == 0 && m.Backup != "" {
				backups = []string{m.Backup} // factor 2, or a sender from before the list
			}
			if err := s.takeOver(c, toID(m.Process), m.From, backups); err != nil {
				return &replpb.Reply{Code: replpb.Code_FAILED, Detail: err.Error()}
			}
			s.stats.TakenOver.Add(1)
			return &replpb.Reply{}
		})
	case *replpb.Truncate:
		s.serve(sender, func(c context.Context) *replpb.Reply { return s.truncate(c, m) })
	case *replpb.Discard:
		s.serve(sender, func(c context.Context) *replpb.Reply { return s.discard(c, m) })
	case *replpb.FetchCompute:
		s.pool.Go(func() {
			r := s.fetchCompute(m)
			if sender != nil {
				s.root.Send(sender, r)
			}
		})
	}
}

// serve runs fn on its own goroutine (an append waits for its fsync), bounded by the server's
// timeout, and sends its reply straight to the requester.
func (s *server) serve(to *actor.PID, fn func(context.Context) *replpb.Reply) {
	s.pool.Go(func() {
		ctx, cancel := context.WithTimeout(s.base, s.timeout)
		defer cancel()
		r := fn(ctx)
		if to != nil {
			s.root.Send(to, r)
		}
	})
}

// state fills r with what this replica holds of pid.
func (s *server) state(ctx context.Context, pid persistence.ID, r *replpb.Reply) *replpb.Reply {
	st, err := s.store.State(ctx, pid)
	if err != nil {
		return &replpb.Reply{Code: replpb.Code_FAILED, Detail: err.Error()}
	}
	r.Known, r.Epoch, r.Count = st.Known, st.Epoch, st.Count
	r.LastHashChain, r.LastAssignment = st.LastHC[:], st.LastAsg[:]
	if !st.Known && r.Code == replpb.Code_OK {
		r.Code = replpb.Code_UNKNOWN_PROCESS
	}
	return r
}

func (s *server) append(ctx context.Context, m *replpb.Append) *replpb.Reply {
	pid := toID(m.Process)
	if m.Record != nil {
		rec := processFromWire(m.Record)
		rec.Epoch = m.Epoch
		if rec.ID != pid {
			return &replpb.Reply{Code: replpb.Code_FAILED, Detail: "record of another process"}
		}
		if err := s.store.PutProcess(ctx, rec); errors.Is(err, persistence.ErrStaleEpoch) {
			return s.state(ctx, pid, &replpb.Reply{Code: replpb.Code_STALE_EPOCH, Detail: err.Error()})
		} else if err != nil && !errors.Is(err, persistence.ErrProcessExists) {
			return &replpb.Reply{Code: replpb.Code_FAILED, Detail: err.Error()}
		}
	}
	entries := entriesFromWire(pid, m.Entries)
	err := s.store.AppendReplicated(ctx, pid, m.Epoch, entries)
	if err == nil {
		s.stats.ReplicaEntries.Add(int64(len(entries)))
		return s.state(ctx, pid, &replpb.Reply{})
	}
	r := &replpb.Reply{Detail: err.Error()}
	switch {
	case errors.Is(err, persistence.ErrUnknownProcess):
		r.Code = replpb.Code_UNKNOWN_PROCESS
	case errors.Is(err, persistence.ErrStaleEpoch):
		r.Code = replpb.Code_STALE_EPOCH
	case errors.Is(err, persistence.ErrNonceGap):
		r.Code = replpb.Code_GAP
		if s.holds(pid, entries) {
			r.Code, r.Detail = replpb.Code_OK, "" // a retried batch this replica already holds
		}
	case errors.Is(err, persistence.ErrMessageExists):
		// This replica holds the message already, in an entry the sender lacks (a batch it took
		// from an owner that was fenced before appending it, then handed on): the sender must
		// re-synchronise (pull it) and will then find the message a duplicate.
		r.Code = replpb.Code_GAP
		if s.holds(pid, entries) {
			r.Code, r.Detail = replpb.Code_OK, ""
		}
	case errors.Is(err, persistence.ErrHashChain):
		r.Code = replpb.Code_DIVERGED
	default:
		r.Code = replpb.Code_FAILED
	}
	return s.state(ctx, pid, r)
}

// holds reports whether every entry is already in the log with the same hash-chain link.
func (s *server) holds(pid persistence.ID, entries []persistence.Entry) bool {
	for i := range entries {
		e, err := s.store.Entry(pid, entries[i].Nonce)
		if err != nil || e.HashChain != entries[i].HashChain || e.AssignmentID != entries[i].AssignmentID {
			return false
		}
	}
	return len(entries) > 0
}

func (s *server) fence(ctx context.Context, m *replpb.Fence) *replpb.Reply {
	pid := toID(m.Process)
	st, err := s.store.RaiseEpoch(ctx, pid, m.MinEpoch)
	switch {
	case err != nil:
		return &replpb.Reply{Code: replpb.Code_FAILED, Detail: err.Error()}
	case !st.Known:
		// The fence still holds: the process's epoch floor here is now st.Epoch, which the fencer
		// takes as its epoch for the new process.
		return &replpb.Reply{Code: replpb.Code_UNKNOWN_PROCESS, Epoch: st.Epoch, Detail: "process " + b64(pid) + " is not held here"}
	}
	return &replpb.Reply{Known: true, Epoch: st.Epoch, Count: st.Count, LastHashChain: st.LastHC[:], LastAssignment: st.LastAsg[:]}
}

func (s *server) fetch(ctx context.Context, m *replpb.Fetch) *replpb.Reply {
	pid := toID(m.Process)
	r := s.state(ctx, pid, &replpb.Reply{})
	if r.Code != replpb.Code_OK {
		return r
	}
	if m.WithRecord {
		p, err := s.store.Process(pid)
		if err != nil {
			return &replpb.Reply{Code: replpb.Code_FAILED, Detail: err.Error()}
		}
		r.Record = processToWire(&p)
	}
	limit := min(int(m.Max), s.maxScan)
	if limit <= 0 || m.From >= r.Count {
		return r
	}
	page, err := s.store.Scan(persistence.Query{Process: pid, By: persistence.ByNonce,
		From: persistence.Bound(int64(m.From) - 1), Limit: limit})
	if err != nil {
		return &replpb.Reply{Code: replpb.Code_FAILED, Detail: fmt.Sprintf("read log from %d: %v", m.From, err)}
	}
	r.Entries = entriesToWire(page.Entries)
	return r
}

func (s *server) truncate(ctx context.Context, m *replpb.Truncate) *replpb.Reply {
	pid := toID(m.Process)
	err := s.store.TruncateFrom(ctx, pid, m.From, m.Epoch)
	r := &replpb.Reply{}
	switch {
	case err == nil:
		s.stats.Truncated.Add(1)
	case errors.Is(err, persistence.ErrStaleEpoch):
		r.Code, r.Detail = replpb.Code_STALE_EPOCH, err.Error()
	case errors.Is(err, persistence.ErrUnknownProcess):
		r.Code, r.Detail = replpb.Code_UNKNOWN_PROCESS, err.Error()
	case errors.Is(err, persistence.ErrEvaluated):
		// Evaluated entries were acknowledged: the owner's history and this one both hold
		// acknowledged writes, a fork the owner records.
		r.Code, r.Detail = replpb.Code_DIVERGED, err.Error()
	default:
		r.Code, r.Detail = replpb.Code_FAILED, err.Error()
	}
	return s.state(ctx, pid, r)
}

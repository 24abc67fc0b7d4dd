package replication

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/persistence"
)

// The two loops that move ownership in bulk: Follow rebalances after every membership change, and
// Drain hands everything this node owns to its successors before a graceful leave. Both run
// Rebalance; placement stays the caller's (placementOf gives the placement under a view).

// Follow rebalances eagerly after every membership change (Rebalance from the previous view's
// placement to the new one's) until quit is closed, and returns then. What fails (a joining member
// may not serve yet) is retried every 250 ms, up to 40 times, while the view stays the same;
// anything left is taken over lazily by its next request.
func (r *Replicator) Follow(members awcluster.Membership, placementOf func(*awcluster.View) Placement, log *slog.Logger, quit <-chan struct{}) {
	views, cancel := members.Subscribe()
	defer cancel()
	prev := members.View()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		select {
		case <-quit:
			stop()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-quit:
			return
		case v := <-views:
			if v == nil || v == prev {
				continue
			}
			from, to := placementOf(prev), placementOf(v)
			res := r.Rebalance(ctx, from, to, 8, nil)
			prev = v
			if res.Synced+res.HandedOff > 0 {
				log.Info("rebalanced after a membership change", "members", len(v.Members), "processes", res.Processes,
					"synced", res.Synced, "handed_off", res.HandedOff, "failed", res.Failed, "bytes", res.Bytes, "took", res.Took)
			}
			for retry := 0; res.Failed > 0 && retry < 40; retry++ {
				select {
				case <-quit:
					return
				case <-time.After(250 * time.Millisecond):
				}
				if members.View() != v {
					break
				}
				res = r.Rebalance(ctx, from, to, 8, res.FailedIDs)
			}
		}
	}
}

// ErrDrainIncomplete: Drain's context ended before every process was handed over; the rest is
// left to the backups.
var ErrDrainIncomplete = errors.New("drain incomplete")

// DrainResult is what Drain did.
type DrainResult struct {
	Owned            int // processes this node owned under from that have an owner under to
	WithoutSuccessor int // owned processes no other member may hold (alone, or labels): they stay here
	HandedOff        int // of Owned, handed over
}

// Drain hands every process this node owns under from to its owner under to (the placement without
// this node), in batches of 64 on 8 workers, logging progress every 2 s, and retries the failed
// hand-overs every 250 ms until ctx ends. It returns ErrDrainIncomplete (joined with ctx's error)
// when ctx ended first: whatever was not handed over is left to the backups, which hold every
// acknowledged entry and become owners when this member leaves.
func (r *Replicator) Drain(ctx context.Context, from, to Placement, log *slog.Logger) (DrainResult, error) {
	start := time.Now()
	var res DrainResult
	var pids []persistence.ID
	_ = r.store.ProcessIDs(func(id persistence.ID) bool {
		if from(id).Owner() == r.self {
			if to(id).Owner() == "" {
				res.WithoutSuccessor++
			} else {
				pids = append(pids, id)
			}
		}
		return true
	})
	res.Owned = len(pids)
	log.Info("draining: handing processes to their successors", "processes", len(pids), "without_successor", res.WithoutSuccessor)
	handed, failed := 0, []persistence.ID(nil)
	const batch = 64
	lastLog := time.Now()
	for i := 0; i < len(pids); i += batch {
		rb := r.Rebalance(ctx, from, to, 8, pids[i:min(i+batch, len(pids))])
		handed += rb.HandedOff - rb.Failed
		failed = append(failed, rb.FailedIDs...)
		if time.Since(lastLog) > 2*time.Second {
			lastLog = time.Now()
			log.Info("draining", "handed_off", handed, "of", len(pids), "failed_so_far", len(failed), "elapsed", time.Since(start).Round(time.Millisecond))
		}
		if ctx.Err() != nil {
			break
		}
	}
	for len(failed) > 0 && ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
		rb := r.Rebalance(ctx, from, to, 8, failed)
		handed += rb.HandedOff - rb.Failed
		failed = rb.FailedIDs
	}
	res.HandedOff = handed
	if len(failed) > 0 || handed < len(pids) {
		return res, fmt.Errorf("drain: %d of %d processes handed over before the deadline: %w", handed, len(pids), errors.Join(ctx.Err(), ErrDrainIncomplete))
	}
	return res, nil
}

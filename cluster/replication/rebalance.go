package replication

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/actorweave/actorweave/cluster/replication/replpb"
	"github.com/actorweave/actorweave/persistence"
)

// RebalanceResult is what one Rebalance did.
type RebalanceResult struct {
	Processes int // processes held locally and examined
	Synced    int // processes this node now owns whose backups (or owner) changed: fenced and seeded
	HandedOff int // processes this node owned and handed to their new owner
	Failed    int // hand-overs that failed (retry them with Rebalance's only argument)
	FailedIDs []persistence.ID
	Bytes     int64         // replication bytes sent and received meanwhile (all processes of the node)
	Took      time.Duration // wall time
}

// Rebalance moves ownership eagerly after a membership change from prev to next: for every process
// in the local store, a process this node now owns with changed backups (or that it did not own)
// is synced at once (fence, pull or push: new backups are seeded), and a process this node owned
// and no longer does is handed to its new owner, which fences this node and pulls the log before it
// serves a write. Without it the same happens lazily on each process's next request; with it the
// replication factor is restored, and a joining node holds its share, without waiting for traffic.
// Work runs on `workers` goroutines (default 8). A non-nil only limits the walk to those processes
// (a retry of the ones that failed: a joining node may not serve yet when its peers see it).
func (r *Replicator) Rebalance(ctx context.Context, prev, next Placement, workers int, only []persistence.ID) RebalanceResult {
	start := time.Now()
	ctx = handover(ctx)
	bytes0 := r.stats.BytesSent.Load() + r.stats.BytesReceived.Load()
	pids := only
	if pids == nil {
		_ = r.store.ProcessIDs(func(id persistence.ID) bool { pids = append(pids, id); return true })
	}
	res := RebalanceResult{Processes: len(pids)}
	if workers <= 0 {
		workers = 8
	}
	type job struct {
		pid persistence.ID
		run func() error
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if err := j.run(); err != nil {
					mu.Lock()
					res.Failed++
					res.FailedIDs = append(res.FailedIDs, j.pid)
					mu.Unlock()
				}
			}
		}()
	}
	for _, pid := range pids {
		if ctx.Err() != nil {
			break
		}
		o, n := prev(pid), next(pid)
		oO, nO := o.Owner(), n.Owner()
		oB, nB := o.backupsOf(r.self, r.cfg.Factor), n.backupsOf(r.self, r.cfg.Factor)
		switch {
		case nO == r.self && (oO != r.self || !slices.Equal(oB, nB)):
			res.Synced++
			if len(nB) == 0 || r.cfg.Factor < 2 {
				continue
			}
			jobs <- job{pid, func() error { return r.sync(ctx, pid, nB) }}
		case oO == r.self && nO != r.self && nO != "":
			res.HandedOff++
			jobs <- job{pid, func() error { return r.handOff(ctx, pid, nO, n.backupsOf(nO, r.cfg.Factor)) }}
		}
	}
	close(jobs)
	wg.Wait()
	res.Bytes = r.stats.BytesSent.Load() + r.stats.BytesReceived.Load() - bytes0
	res.Took = time.Since(start)
	r.stats.Rebalances.Add(1)
	r.stats.RebalanceNanos.Store(int64(res.Took))
	return res
}

// handOff asks owner to take pid over from this node, with backups its replica set's backups.
func (r *Replicator) handOff(ctx context.Context, pid persistence.ID, owner string, backups []string) error {
	msg := &replpb.Handover{Process: pid[:], From: r.self}
	if len(backups) > 0 {
		msg.Backup = backups[0]
	}
	if len(backups) > 1 {
		msg.Backups = backups
	}
	rep, err := r.call(ctx, owner, msg)
	if err != nil {
		return err
	}
	if rep.Code != replpb.Code_OK {
		return fmt.Errorf("process %s: hand-over to %s: %s", b64(pid), owner, rep.Detail)
	}
	r.forget(pid)
	r.stats.HandedOff.Add(1)
	return nil
}

// handoverKey marks the context of rebalancing work, whose bytes Stats.HandoverBytes counts apart.
type handoverKey struct{}

func handover(ctx context.Context) context.Context {
	return context.WithValue(ctx, handoverKey{}, true)
}

// takeOver is the new owner's side of a hand-over: fence the node the log comes from and pull it,
// then bring the backups level (which fences them too).
func (r *Replicator) takeOver(ctx context.Context, pid persistence.ID, from string, backups []string) error {
	ctx = handover(ctx)
	var peers []string
	for _, b := range backups {
		if b != "" && b != r.self && !slices.Contains(peers, b) && len(peers) < r.cfg.Factor-1 {
			peers = append(peers, b)
		}
	}
	if from != "" && !slices.Contains(peers, from) && from != r.self {
		if err := r.sync(ctx, pid, []string{from}); err != nil {
			return err
		}
	}
	if len(peers) > 0 {
		if err := r.sync(ctx, pid, peers); err != nil {
			return err
		}
	}
	if from != "" && from != r.self {
		// The log is here; now the old owner's checkpoint and results, so that this node evaluates
		// only the tail. Best effort: without them it evaluates the whole log, as it always could.
		if err := r.pullCompute(ctx, pid, from); err != nil {
			r.stats.ComputeFailed.Add(1)
			msg := err.Error()
			r.stats.LastComputeError.Store(&msg)
		}
	}
	return nil
}

package actors

import (
	"container/heap"
	"errors"
	"math"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cron"
)

// ticker is the node's cron clock: one min-heap of the next time tick of every cron process (and
// a scan of the block-cron processes when the block height moves), one goroutine that pops what
// is due, and CronWorkers goroutines that ask the grains to append their ticks. It holds no
// goroutine, timer or activation per process: a process between ticks is only a heap entry, and
// its grain may be passivated; the tick request re-activates it like any request.
//
// The ticker's view (the last tick of each cron) is a hint for when to wake a process; the grain
// decides what to append from its own state, rebuilt from the log, so a stale hint costs at most
// an early wake-up, never a doubled or lost tick.
type ticker struct {
	h     *Host
	mu    sync.Mutex
	procs map[ans104.ID]*cronProc
	heap  tickHeap
	// height is the last block height the block crons were checked at.
	height uint64
	// fresh: processes registered in the store with crons since the last look (a replica or a
	// hand-over brought them); freshC wakes the ownership follower (cronown.go).
	fresh  map[ans104.ID]bool
	freshC chan struct{}
	wakeC  chan struct{}
	workC  chan *cronProc
	stopC  chan struct{}
	wg     sync.WaitGroup
}

type cronProc struct {
	pid      ans104.ID
	specs    []cron.Spec
	origin   cron.Origin
	last     []uint64
	paused   bool
	inflight bool
	first    bool // the catch-up window is still to be applied
	// missedBefore and missedHeight: ticks due at or before them fell while no node ticked the
	// process here (this node was down, or another node owned it); the first wake-up applies the
	// catch-up policy to them.
	missedBefore int64
	missedHeight uint64
	dropped      bool // ownership moved away while a wake-up was in flight
	blocks       bool
	due          int64 // next time tick, ms; math.MaxInt64 when none
	index        int   // position in the heap, -1 when not in it
}

func newTicker(h *Host) *ticker {
	return &ticker{h: h, procs: map[ans104.ID]*cronProc{}, wakeC: make(chan struct{}, 1),
		fresh: map[ans104.ID]bool{}, freshC: make(chan struct{}, 1),
		workC: make(chan *cronProc, h.cfg.CronWorkers*4), stopC: make(chan struct{})}
}

// start rebuilds the schedule from the cron index, keeping the processes this node owns, and
// starts ticking and following ownership (cronown.go).
func (t *ticker) start() error {
	t.height = t.h.deps.BlockHeight()
	views, unsubscribe := t.h.members.Subscribe()
	// Told of every cron process registered from now on (replicas, hand-overs, recoveries), so
	// none registered during the rebuild is missed.
	t.h.deps.Store.OnCronProcess(t.registered)
	adopted, _, err := t.reconcile()
	if err != nil {
		unsubscribe()
		return err
	}
	if adopted > 0 {
		t.h.log.Info("cron schedule rebuilt", "processes", adopted, "catch_up", t.h.cfg.CronCatchUp.String())
	}
	t.wg.Add(2 + t.h.cfg.CronWorkers)
	go t.run()
	go t.follow(views, unsubscribe)
	for i := 0; i < t.h.cfg.CronWorkers; i++ {
		go t.work()
	}
	return nil
}

func (t *ticker) stop() {
	close(t.stopC)
	t.wg.Wait()
}

// update registers or refreshes a cron process (from a spawn, a monitor change or the rebuild).
func (t *ticker) update(pid ans104.ID, specs []cron.Spec, o cron.Origin, last []uint64, paused, first bool) {
	t.mu.Lock()
	cp := t.procs[pid]
	if cp == nil {
		cp = &cronProc{pid: pid, index: -1}
		t.procs[pid] = cp
	}
	cp.specs, cp.origin, cp.last, cp.paused = specs, o, append([]uint64(nil), last...), paused
	if first && !cp.first {
		cp.first, cp.missedBefore, cp.missedHeight = true, t.h.deps.Clock(), t.h.deps.BlockHeight()
	}
	cp.blocks = false
	for _, s := range specs {
		cp.blocks = cp.blocks || s.Unit == cron.Blocks
	}
	t.schedule(cp)
	t.mu.Unlock()
	t.wake()
}

func (t *ticker) wake() {
	select {
	case t.wakeC <- struct{}{}:
	default:
	}
}

// schedule puts cp in the heap at its next time tick. Called with mu held.
func (t *ticker) schedule(cp *cronProc) {
	if cp.index >= 0 {
		heap.Remove(&t.heap, cp.index)
	}
	if cp.paused || cp.inflight {
		return
	}
	due, ok := cron.NextTimeDue(cp.specs, cp.origin, cp.last)
	if !ok {
		cp.due = math.MaxInt64
		return
	}
	cp.due = due
	heap.Push(&t.heap, cp)
}

func (t *ticker) run() {
	defer t.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := t.h.deps.Clock()
		height := t.h.deps.BlockHeight()
		t.mu.Lock()
		free := cap(t.workC) - len(t.workC)
		for free > 0 && len(t.heap) > 0 && t.heap[0].due <= now {
			cp := heap.Pop(&t.heap).(*cronProc)
			cp.inflight = true
			t.workC <- cp
			free--
		}
		if height > t.height {
			all := true
			for _, cp := range t.procs {
				if !cp.blocks || cp.paused || cp.inflight || !blockDue(cp, height) {
					continue
				}
				if free == 0 {
					all = false
					break
				}
				if cp.index >= 0 {
					heap.Remove(&t.heap, cp.index)
				}
				cp.inflight = true
				t.workC <- cp
				free--
			}
			if all {
				t.height = height
			}
		}
		wait := time.Second // the block height is polled at least this often
		if free == 0 {
			wait = 5 * time.Millisecond
		} else if len(t.heap) > 0 {
			wait = min(wait, time.Duration(t.heap[0].due-now)*time.Millisecond)
		}
		t.mu.Unlock()
		timer.Reset(max(wait, 0))
		select {
		case <-t.stopC:
			return
		case <-t.wakeC:
		case <-timer.C:
		}
	}
}

func blockDue(cp *cronProc, height uint64) bool {
	for i, s := range cp.specs {
		if s.Unit == cron.Blocks && s.Last(cp.origin, 0, height) > cp.last[i] {
			return true
		}
	}
	return false
}

func (t *ticker) work() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stopC:
			return
		case cp := <-t.workC:
			t.mu.Lock()
			w := cron.Window{Now: t.h.deps.Clock(), Height: t.h.deps.BlockHeight(), Policy: t.h.cfg.CronCatchUp, Max: t.h.cfg.CronMaxTicks}
			if cp.first {
				w.MissedBefore, w.MissedHeight = cp.missedBefore, cp.missedHeight
			}
			t.mu.Unlock()
			ctx, cancel := t.h.opContext(30 * time.Second)
			// Only ever here: a process this node does not own is ticked by its owner's ticker
			// (serveOwned refuses it with ErrNotOwner, and done drops it).
			r, err := serveOwned(ctx, t.h, opTick, cp.pid, w)
			cancel()
			t.done(cp, r, err)
		}
	}
}

func (t *ticker) done(cp *cronProc, r *tickResponse, err error) {
	t.mu.Lock()
	defer t.wake()
	defer t.mu.Unlock()
	cp.inflight = false
	switch {
	case cp.dropped:
		// Ownership moved away meanwhile: drop already forgot it.
	case errors.Is(err, awcluster.ErrNotOwner):
		t.forget(cp)
	case errors.Is(err, ErrProcessNotFound):
		delete(t.procs, cp.pid)
	case err != nil:
		select {
		case <-t.stopC:
			return
		default:
		}
		t.h.log.Warn("cron tick not appended; retrying in a second", "process", cp.pid, "err", err)
		cp.due = t.h.deps.Clock() + 1000
		heap.Push(&t.heap, cp)
	case len(r.specs) == 0:
		delete(t.procs, cp.pid)
	default:
		cp.first = false
		cp.specs, cp.origin, cp.last, cp.paused = r.specs, r.origin, r.last, r.paused
		t.schedule(cp)
	}
}

// processes is the number of cron processes the ticker knows.
func (t *ticker) processes() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.procs)
}

type tickHeap []*cronProc

func (h tickHeap) Len() int           { return len(h) }
func (h tickHeap) Less(i, j int) bool { return h[i].due < h[j].due }
func (h tickHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *tickHeap) Push(x any) {
	cp := x.(*cronProc)
	cp.index = len(*h)
	*h = append(*h, cp)
}
func (h *tickHeap) Pop() any {
	old := *h
	cp := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	cp.index = -1
	return cp
}

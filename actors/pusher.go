package actors

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorweave/actorweave/actors/grain"
	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/cron"
	"github.com/actorweave/actorweave/messenger"
	"github.com/actorweave/actorweave/persistence"
)

// pusher delivers what evaluations push (the messenger role). Pushes are already durable when they
// reach it; each is removed from the store only after its target holds it durably, and a push
// delivered twice (after a crash between the two) is refused by the target as a duplicate. Pushes
// of one source process are delivered one after another, in outbox order, so that what A sends to
// B arrives in the order A sent it.
//
// Each source's quotas (MaxSendRate, MaxSpawnsPerMinute) are token buckets that outlive its lane:
// a process over its rate has its pushes delayed, in order, never dropped (they are durable
// already), so a process sending to itself in a loop runs at the quota's pace and its lane, one
// goroutine among many, cannot crowd out the others.
type pusher struct {
	h      *Host
	mu     sync.Mutex
	lanes  map[ans104.ID]*lane
	quotas map[ans104.ID]*sendQuota
	// stopped: no new lane starts (evaluations still finishing during shutdown leave their pushes
	// in the store, where the next start resumes them).
	stopped bool
	stopC   chan struct{}
	wg      sync.WaitGroup
}

type lane struct{ queue []persistence.PendingPush }

// sendQuota is one source's buckets; used by its lane goroutine only (one at a time).
type sendQuota struct {
	send, spawn *grain.Bucket
	lastUsed    time.Time
	throttled   atomic.Bool
}

func newPusher(h *Host) *pusher {
	return &pusher{h: h, lanes: map[ans104.ID]*lane{}, quotas: map[ans104.ID]*sendQuota{}, stopC: make(chan struct{})}
}

// backlog is a source's undelivered pushes and whether its lane is waiting for its send quota.
func (p *pusher) backlog(src ans104.ID) (int, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	if l := p.lanes[src]; l != nil {
		n = len(l.queue)
	}
	q := p.quotas[src]
	return n, q != nil && q.throttled.Load()
}

// quota returns src's buckets. Called with mu held. Idle buckets (full again) are forgotten.
func (p *pusher) quota(src ans104.ID) *sendQuota {
	now := time.Now()
	q := p.quotas[src]
	if q == nil {
		if len(p.quotas) >= 4096 {
			for k, v := range p.quotas {
				if p.lanes[k] == nil && now.Sub(v.lastUsed) > time.Minute {
					delete(p.quotas, k)
				}
			}
		}
		cfg := p.h.cfg
		q = &sendQuota{send: grain.NewBucket(cfg.MaxSendRate, cfg.MaxSendRate), spawn: grain.NewBucket(cfg.MaxSpawnsPerMinute/60, cfg.MaxSpawnsPerMinute)}
		p.quotas[src] = q
	}
	q.lastUsed = now
	return q
}

// resume queues every push a previous run left undelivered.
func (p *pusher) resume() error {
	var after *persistence.PendingPush
	total := 0
	for {
		batch, err := p.h.deps.Store.PendingPushes(after, 1024)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			break
		}
		for i := 0; i < len(batch); {
			j := i
			for j < len(batch) && batch[j].Process == batch[i].Process {
				j++
			}
			p.enqueue(batch[i].Process, batch[i:j:j])
			i = j
		}
		total += len(batch)
		after = &batch[len(batch)-1]
	}
	if total > 0 {
		p.h.log.Info("resuming undelivered pushes", "count", total)
	}
	return nil
}

func (p *pusher) enqueue(src ans104.ID, pushes []persistence.PendingPush) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	l := p.lanes[src]
	if l == nil {
		l = &lane{}
		p.lanes[src] = l
		p.wg.Add(1)
		go p.run(src, l, p.quota(src))
	}
	l.queue = append(l.queue, pushes...)
	p.h.metrics.pushesPending.Add(float64(len(pushes)))
}

func (p *pusher) run(src ans104.ID, l *lane, q *sendQuota) {
	defer p.wg.Done()
	for {
		p.mu.Lock()
		if len(l.queue) == 0 {
			delete(p.lanes, src)
			p.mu.Unlock()
			return
		}
		pp := l.queue[0]
		l.queue = l.queue[1:]
		p.mu.Unlock()
		if !p.wait(src, q, pp) {
			return // stopping
		}
		if !p.deliverWithRetry(pp) {
			return // stopping
		}
		p.h.metrics.pushesPending.Dec()
		if err := p.h.deps.Store.Delivered(pp); err != nil {
			p.h.log.Warn("recording a delivered push", "process", src, "err", err)
		}
	}
}

// wait holds a push back until its source's quotas allow it.
func (p *pusher) wait(src ans104.ID, q *sendQuota, pp persistence.PendingPush) bool {
	now := time.Now()
	d := q.send.Reserve(now)
	quota := "send_rate"
	if messenger.Kind(pp.Kind) == messenger.KindSpawn {
		if ds := q.spawn.Reserve(now); ds > d {
			d, quota = ds, "spawn_rate"
		}
	}
	if d <= 0 {
		q.throttled.Store(false)
		return true
	}
	p.h.metrics.quotaHits.WithLabelValues(quota).Inc()
	if !q.throttled.Swap(true) {
		p.h.log.Warn("process over its send quota: its pushes are delayed", "process", src, "quota", quota,
			"max_send_rate", p.h.cfg.MaxSendRate, "max_spawns_per_minute", p.h.cfg.MaxSpawnsPerMinute)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-p.stopC:
		return false
	case <-t.C:
		return true
	}
}

func (p *pusher) deliverWithRetry(pp persistence.PendingPush) bool {
	backoff := 50 * time.Millisecond
	for {
		err := p.deliver(pp)
		if err == nil {
			p.h.metrics.pushesDelivered.Inc()
			return true
		}
		p.h.log.Warn("push not delivered yet", "from", ans104.ID(pp.Process), "nonce", pp.Nonce, "seq", pp.Seq,
			"to", ans104.ID(pp.Target), "err", err, "retry_in", backoff)
		select {
		case <-p.stopC:
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, p.h.cfg.PushRetryMax)
	}
}

// deliver makes one attempt; a nil error means the push is done (delivered, already there, or
// kept for the Arweave flush because its target is not a process).
func (p *pusher) deliver(pp persistence.PendingPush) error {
	ctx, cancel := p.h.opContext(30 * time.Second)
	defer cancel()
	target := ans104.ID(pp.Target)
	switch messenger.Kind(pp.Kind) {
	case messenger.KindAssign:
		_, err := p.h.Assign(ctx, target, ans104.ID(pp.Message), pp.Exclude)
		if errors.Is(err, persistence.ErrMessageExists) {
			return nil
		}
		if errors.Is(err, ErrProcessNotFound) {
			p.h.log.Warn("assignment to an unknown process dropped", "process", target, "message", ans104.ID(pp.Message))
			return nil
		}
		return err
	case messenger.KindMessage, messenger.KindSpawn, messenger.KindSpawned:
		item, err := ans104.Parse(pp.Item, ans104.Limits{})
		if err != nil {
			p.h.log.Error("stored push does not parse; dropped", "err", err)
			return nil
		}
		_, err = p.h.Submit(ctx, item)
		switch {
		case err == nil, errors.Is(err, persistence.ErrMessageExists), errors.Is(err, ErrProcessExists):
			return nil
		case isPermanent(err):
			p.h.log.Error("push refused by its target for good; dropped", "from", ans104.ID(pp.Process), "nonce", pp.Nonce,
				"seq", pp.Seq, "to", target, "err", err)
			return nil
		case errors.Is(err, ErrProcessNotFound):
			// Not a process this node holds: a wallet, or a process elsewhere. Keep the item: the
			// Arweave flush uploads it, as the reference messenger uploads messages to wallets.
			return p.h.deps.Store.PutItem(ctx, persistence.Item{ID: item.ID(), Raw: item.Bytes(), Owner: item.OwnerAddress(),
				Tags: storeTags(item.Tags), Timestamp: p.h.deps.Clock(), BlockHeight: p.h.deps.BlockHeight()})
		}
		return err
	}
	p.h.log.Error("unknown push kind; dropped", "kind", pp.Kind)
	return nil
}

// isPermanent: the target refuses the item itself (bad tags, a bad Cron-Interval on a spawn), so
// retrying cannot help.
func isPermanent(err error) bool {
	var te *ans104.TagError
	var ie *cron.IntervalError
	return errors.As(err, &te) || errors.As(err, &ie) || errors.Is(err, ErrWrongProcess)
}

func (p *pusher) stop() {
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	close(p.stopC)
	p.wg.Wait()
}

func storeTags(tags []ans104.Tag) []persistence.Tag {
	out := make([]persistence.Tag, len(tags))
	for i, t := range tags {
		out[i] = persistence.Tag{Name: t.Name, Value: t.Value}
	}
	return out
}

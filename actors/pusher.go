package actors

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/messenger"
	"github.com/actorweave/actorweave/persistence"
)

// pusher delivers what evaluations push (the messenger role). Pushes are already durable when they
// reach it; each is removed from the store only after its target holds it durably, and a push
// delivered twice (after a crash between the two) is refused by the target as a duplicate. Pushes
// of one source process are delivered one after another, in outbox order, so that what A sends to
// B arrives in the order A sent it.
type pusher struct {
	h     *Host
	mu    sync.Mutex
	lanes map[ans104.ID]*lane
	stopC chan struct{}
	wg    sync.WaitGroup
}

type lane struct{ queue []persistence.PendingPush }

func newPusher(h *Host) *pusher {
	return &pusher{h: h, lanes: map[ans104.ID]*lane{}, stopC: make(chan struct{})}
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
	l := p.lanes[src]
	if l == nil {
		l = &lane{}
		p.lanes[src] = l
		p.wg.Add(1)
		go p.run(src, l)
	}
	l.queue = append(l.queue, pushes...)
	p.h.metrics.pushesPending.Add(float64(len(pushes)))
}

func (p *pusher) run(src ans104.ID, l *lane) {
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
		if !p.deliverWithRetry(pp) {
			return // stopping
		}
		p.h.metrics.pushesPending.Dec()
		if err := p.h.deps.Store.Delivered(pp); err != nil {
			p.h.log.Warn("recording a delivered push", "process", src, "err", err)
		}
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
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

func (p *pusher) stop() {
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

package cluster

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Reconnecting, as serf does on top of memberlist: memberlist never contacts a member again once it
// declared it dead, so two sides of a healed partition (or a member that came back under a new
// identity, or a seed that started alone) would stay apart for ever. The provider remembers every
// peer gossip address it has seen alive (and the --join seeds), keeps that list in a file in the
// data folder so that a restarted node has it too, and a loop joins the remembered addresses that
// no live member holds, each with its own backoff, until ReconnectTimeout has passed since the
// address was last seen alive. A join is a push-pull exchange of the full state, tombstones
// included, which is what lets the watchdog settle which side of a healed partition comes back
// under a new identity (MergeRemoteState).

// peerBook is the remembered addresses: address → last time seen alive.
type peerBook struct {
	file string // "" keeps the book in memory only
	mu   sync.Mutex
	seen map[string]time.Time
	// saved is when the file was last written; dirty says an address was added since.
	saved time.Time
	dirty bool
}

type peerFile struct {
	Peers map[string]int64 `json:"peers"` // address → unix seconds last seen alive
}

// loadPeerBook reads file (missing: empty), dropping entries older than ttl.
func loadPeerBook(file string, ttl time.Duration) (*peerBook, error) {
	b := &peerBook{file: file, seen: map[string]time.Time{}}
	if file == "" {
		return b, nil
	}
	raw, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return b, nil
	}
	if err != nil {
		return nil, err
	}
	var pf peerFile
	if err := json.Unmarshal(raw, &pf); err != nil {
		// A damaged list only costs reconnect attempts: start afresh rather than refuse to start.
		return b, nil
	}
	for addr, at := range pf.Peers {
		if t := time.Unix(at, 0); time.Since(t) < ttl {
			b.seen[addr] = t
		}
	}
	return b, nil
}

// saw records addrs as alive now; it writes the file when an address is new, and at most once a
// minute otherwise (the times only bound how long an address is retried).
func (b *peerBook) saw(addrs []string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range addrs {
		if _, ok := b.seen[a]; !ok {
			b.dirty = true
		}
		b.seen[a] = now
	}
	if b.dirty || now.Sub(b.saved) > time.Minute {
		b.saveLocked(now)
	}
}

// add remembers addrs (the seeds) without marking them seen now, unless unknown.
func (b *peerBook) add(addrs []string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, a := range addrs {
		if _, ok := b.seen[a]; !ok {
			b.seen[a] = now
		}
	}
}

// list returns the addresses seen alive within ttl.
func (b *peerBook) list(ttl time.Duration, now time.Time) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for a, t := range b.seen {
		if now.Sub(t) < ttl {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

func (b *peerBook) save(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.saveLocked(now)
}

func (b *peerBook) saveLocked(now time.Time) {
	b.saved, b.dirty = now, false
	if b.file == "" {
		return
	}
	pf := peerFile{Peers: make(map[string]int64, len(b.seen))}
	for a, t := range b.seen {
		pf.Peers[a] = t.Unix()
	}
	raw, _ := json.Marshal(pf)
	tmp := b.file + ".tmp"
	if err := os.MkdirAll(filepath.Dir(b.file), 0o700); err != nil {
		return
	}
	if os.WriteFile(tmp, raw, 0o600) == nil {
		_ = os.Rename(tmp, b.file)
	}
}

// backoff is one address's reconnect schedule.
type backoff struct {
	next     time.Time
	delay    time.Duration
	inFlight bool
}

// reconnectPlan picks the remembered addresses to join now: not held by a live member, not this
// node, not already being tried, and due. It advances their schedules (doubling the delay, up to
// maxDelay) and forgets the schedules of addresses that are live again. Pure, for the tests.
func reconnectPlan(remembered []string, live map[string]bool, self string, sched map[string]*backoff,
	now time.Time, interval, maxDelay time.Duration) []string {
	for a := range sched {
		if live[a] {
			delete(sched, a)
		}
	}
	var due []string
	for _, a := range remembered {
		if a == self || live[a] {
			continue
		}
		s := sched[a]
		if s == nil {
			s = &backoff{next: now, delay: interval}
			sched[a] = s
		}
		if s.inFlight || now.Before(s.next) {
			continue
		}
		s.inFlight = true
		s.next = now.Add(s.delay)
		s.delay = min(2*s.delay, max(maxDelay, interval))
		due = append(due, a)
	}
	return due
}

// reconnect is the loop: every ReconnectInterval it joins the due addresses, each on its own
// goroutine (a join to a cut-off address waits for memberlist's TCP timeout).
func (p *Provider) reconnect() {
	defer close(p.reconnectDone)
	t := time.NewTicker(p.cfg.ReconnectInterval)
	defer t.Stop()
	sched := map[string]*backoff{}
	var mu sync.Mutex // guards sched's inFlight against the join goroutines
	for {
		now := time.Now()
		p.mu.Lock()
		ml, self := p.ml, p.self.Gossip
		removed := make(map[string]bool, len(p.removed))
		for id := range p.removed {
			removed[id] = true
		}
		p.mu.Unlock()
		if ml == nil {
			return
		}
		// Live: what memberlist holds alive or suspect under an id we still admit. A stale id at an
		// address (a member we removed) does not count: joining it is how the watchdog learns which
		// side of a healed partition restarts.
		live := map[string]bool{}
		for _, n := range p.nodeList() {
			if !removed[n.Name] {
				live[n.Addr] = true
			}
		}
		mu.Lock()
		due := reconnectPlan(p.peers.list(p.cfg.ReconnectTimeout, now), live, self, sched, now,
			p.cfg.ReconnectInterval, reconnectMaxDelay)
		mu.Unlock()
		for _, a := range due {
			go func(a string) {
				select {
				case <-p.stop: // shutting down: memberlist may be gone
					mu.Lock()
					sched[a].inFlight = false
					mu.Unlock()
					return
				default:
				}
				n, err := ml.Join([]string{a})
				mu.Lock()
				if s := sched[a]; s != nil {
					s.inFlight = false
				}
				mu.Unlock()
				if n > 0 {
					p.log.Info("reconnect: joined a remembered member", "gossip", a)
					p.poke()
				} else {
					p.log.Debug("reconnect: remembered member did not answer", "gossip", a, "err", err)
				}
			}(a)
		}
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
	}
}

// reconnectMaxDelay caps one address's backoff (serf retries every 30 s).
const reconnectMaxDelay = 30 * time.Second

// RememberedPeers is the gossip addresses this node would try to reconnect to (for tests and status).
func (p *Provider) RememberedPeers() []string {
	return p.peers.list(p.cfg.ReconnectTimeout, time.Now())
}

package actors

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/cluster"

	"github.com/actorweave/actorweave/ans104"
)

// lookup is our IdentityLookup: a registry of the live activations on this node. Besides mapping
// an identity to its PID it counts the requests in flight to each activation, so that an activation
// stops only when none is in flight and no new one can reach it. protoactor-go drops messages that
// sit behind a stopping actor (issue #391); with this registry no request ever does.
//
// It only ever holds processes this node owns: route.go checks ownership under the current view
// before anything reaches acquire, and sends other processes' requests to their owners.
type lookup struct {
	mu      sync.Mutex
	acts    map[string]*activation
	spawn   func(identity string) (*actor.PID, error)
	cluster *cluster.Cluster
}

type activation struct {
	pid      *actor.PID
	inflight int
	lastUsed time.Time
	stopping bool
	stopped  chan struct{} // closed when the actor has stopped
}

func newLookup() *lookup { return &lookup{acts: make(map[string]*activation)} }

// acquire returns the activation of identity, spawning it if needed, with one more request counted
// in flight. It waits while an old activation is stopping.
func (l *lookup) acquire(ctx context.Context, identity string) (*activation, error) {
	for {
		l.mu.Lock()
		a := l.acts[identity]
		if a != nil && a.stopping {
			l.mu.Unlock()
			select {
			case <-a.stopped:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if a == nil {
			a = &activation{stopped: make(chan struct{})}
			l.acts[identity] = a
			// Spawning under the lock keeps activation single; spawning is cheap (no I/O: the actor
			// loads its state when it starts).
			pid, err := l.spawn(identity)
			if err != nil {
				delete(l.acts, identity)
				l.mu.Unlock()
				return nil, err
			}
			a.pid = pid
		}
		a.inflight++
		a.lastUsed = time.Now()
		l.mu.Unlock()
		return a, nil
	}
}

func (l *lookup) release(a *activation) {
	l.mu.Lock()
	a.inflight--
	a.lastUsed = time.Now()
	l.mu.Unlock()
}

// idle returns the activations that had no request in flight since before cutoff.
func (l *lookup) idle(cutoff time.Time) []*actor.PID {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*actor.PID
	for _, a := range l.acts {
		if a.pid != nil && a.inflight == 0 && !a.stopping && a.lastUsed.Before(cutoff) {
			out = append(out, a.pid)
		}
	}
	return out
}

// leastRecentlyUsed returns up to n activations with no request in flight, least recently used first.
func (l *lookup) leastRecentlyUsed(n int) []*actor.PID {
	l.mu.Lock()
	cands := make([]*activation, 0, len(l.acts))
	for _, a := range l.acts {
		if a.pid != nil && a.inflight == 0 && !a.stopping {
			cands = append(cands, a)
		}
	}
	l.mu.Unlock()
	sort.Slice(cands, func(i, j int) bool { return cands[i].lastUsed.Before(cands[j].lastUsed) })
	out := make([]*actor.PID, 0, n)
	for _, a := range cands[:min(n, len(cands))] {
		out = append(out, a.pid)
	}
	return out
}

// tryStop marks identity's activation as stopping if no request is in flight to it; the caller
// then stops the actor and calls stopped. New requests wait for the stop and reactivate.
func (l *lookup) tryStop(identity string, pid *actor.PID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.acts[identity]
	if a == nil || a.pid == nil || !a.pid.Equal(pid) || a.inflight > 0 || a.stopping {
		return false
	}
	a.stopping = true
	return true
}

// stopped removes a stopped (or crashed) activation.
func (l *lookup) stopped(identity string, pid *actor.PID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.acts[identity]
	if a == nil || a.pid == nil || !a.pid.Equal(pid) {
		return
	}
	delete(l.acts, identity)
	close(a.stopped)
}

// active is the number of live activations.
func (l *lookup) active() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.acts)
}

// pids returns the live activations' PIDs (for shutdown).
func (l *lookup) pids() []*actor.PID {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]*actor.PID, 0, len(l.acts))
	for _, a := range l.acts {
		if a.pid != nil {
			out = append(out, a.pid)
		}
	}
	return out
}

// The cluster.IdentityLookup contract. Our request path calls acquire/release directly; Get is
// what the cluster package's own calls (cluster.Get, cluster.Request) resolve through.

func (l *lookup) Get(ci *cluster.ClusterIdentity) *actor.PID {
	a, err := l.acquire(context.Background(), ci.Identity)
	if err != nil {
		return nil
	}
	l.release(a)
	return a.pid
}

func (l *lookup) RemovePid(ci *cluster.ClusterIdentity, pid *actor.PID) { l.stopped(ci.Identity, pid) }

func (l *lookup) Setup(c *cluster.Cluster, kinds []string, isClient bool) { l.cluster = c }

func (l *lookup) Shutdown() {}

// live returns the live activations by identity.
func (l *lookup) live() map[string]*actor.PID {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]*actor.PID, len(l.acts))
	for id, a := range l.acts {
		if a.pid != nil && !a.stopping {
			out[id] = a.pid
		}
	}
	return out
}

// activated reports whether identity has an activation here (starting, live or stopping).
func (l *lookup) activated(identity string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.acts[identity]
	return ok
}

// Activated reports whether pid has an activation on this node (cluster/replication installs a
// handed-over checkpoint only when it has none: a live evaluator has read its cursor already).
func (h *Host) Activated(pid ans104.ID) bool { return h.lookup.activated(pid.String()) }

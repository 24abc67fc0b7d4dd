package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/actorweave/actorweave/ans104"
	awcluster "github.com/actorweave/actorweave/cluster"
	"github.com/actorweave/actorweave/cluster/clusterpb"
	"github.com/actorweave/actorweave/persistence"
)

// TagPlacementLabels on a Process item restricts where the process may live: "region=eu,tier=gold"
// places it only on members started with those --labels (and fails its spawn when no member has
// them). The requirement is fixed at spawn: it is part of the signed process item.
const TagPlacementLabels = "Placement-Labels"

// opLabels asks a member for the placement labels of a process it holds.
const opLabels = "grain.labels"

// labelsCache remembers each process's placement labels (they never change). Bounded: when full
// it starts over, which only costs a lookup again.
type labelsCache struct {
	mu sync.Mutex
	m  map[ans104.ID]awcluster.Labels
}

const maxLabelsCache = 200_000

func (c *labelsCache) get(pid ans104.ID) (awcluster.Labels, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.m[pid]
	return l, ok
}

func (c *labelsCache) put(pid ans104.ID, l awcluster.Labels) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxLabelsCache {
		c.m = map[ans104.ID]awcluster.Labels{}
	}
	c.m[pid] = l
}

// itemLabels reads a Process item's placement requirement.
func itemLabels(item *ans104.DataItem) (awcluster.Labels, error) {
	v := item.Tags.Value(TagPlacementLabels)
	if v == "" {
		return nil, nil
	}
	l, err := awcluster.ParseLabels(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %s tag: %v", persistence.ErrInvalid, TagPlacementLabels, err)
	}
	return l, nil
}

// localLabels finds pid's labels in this node's store; ok is false when it does not hold pid.
func (h *Host) localLabels(pid ans104.ID) (awcluster.Labels, bool, error) {
	rec, err := h.deps.Store.Process(pid)
	if errors.Is(err, persistence.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	item, err := ans104.Parse(rec.Item, ans104.Limits{})
	if err != nil {
		return nil, false, err
	}
	l, err := itemLabels(item)
	return l, err == nil, err
}

// labelsOf returns pid's placement labels: from the spawn itself, the cache, this node's store,
// or the members (whoever holds the process knows). A process nobody holds has none.
func (h *Host) labelsOf(ctx context.Context, pid ans104.ID, spawn *ans104.DataItem) (awcluster.Labels, error) {
	if spawn != nil && spawn.ID() == pid {
		l, err := itemLabels(spawn)
		if err == nil {
			h.labels.put(pid, l) // the id is the signed item's: its labels can be no other
		}
		return l, err
	}
	if l, ok := h.labels.get(pid); ok {
		return l, nil
	}
	l, ok, err := h.localLabels(pid)
	if err != nil {
		return nil, err
	}
	if !ok {
		if l, ok, err = h.remoteLabels(ctx, pid); err != nil {
			return nil, err
		}
	}
	if ok {
		h.labels.put(pid, l)
	}
	return l, nil
}

// remoteLabels asks every other member at once; the first that holds pid answers. Nobody holds
// it (a process not spawned yet, or on a member that did not answer: then routing without labels
// may pick a wrong owner, which refuses for lack of the process): no labels, no error.
func (h *Host) remoteLabels(ctx context.Context, pid ans104.ID) (awcluster.Labels, bool, error) {
	v := h.members.View()
	if len(v.Members) < 2 {
		return nil, false, nil
	}
	held := func(r *clusterpb.LabelsReply) bool { return r.Held }
	r, ok, _ := h.labelsOp().Any(ctx, v, h.fwd, &clusterpb.LabelsRequest{Process: pid[:]}, held, nil)
	if !ok {
		return nil, false, nil
	}
	l, err := awcluster.ParseLabels(r.Labels)
	return l, err == nil, err
}

// labelsOp answers the placement labels of a process the receiving member holds.
func (h *Host) labelsOp() *awcluster.Op[*clusterpb.LabelsRequest, *clusterpb.LabelsReply] {
	return &awcluster.Op[*clusterpb.LabelsRequest, *clusterpb.LabelsReply]{Name: opLabels,
		Serve: func(ctx context.Context, req *clusterpb.LabelsRequest) (*clusterpb.LabelsReply, error) {
			pid, err := idOf(req.Process)
			if err != nil {
				return nil, err
			}
			l, ok, err := h.localLabels(pid)
			if err != nil {
				return nil, err
			}
			return &clusterpb.LabelsReply{Held: ok, Labels: l.String()}, nil
		}}
}

// Owner returns the member that owns pid under this node's current view, with the view.
func (h *Host) Owner(ctx context.Context, pid ans104.ID) (awcluster.Member, *awcluster.View, error) {
	return h.ownerFor(ctx, pid, nil)
}

// ownerFor is pid's owner under the current view; spawn is pid's Process item when the request is
// its spawn (nil otherwise), whose labels place it before any member holds it.
func (h *Host) ownerFor(ctx context.Context, pid ans104.ID, spawn *ans104.DataItem) (awcluster.Member, *awcluster.View, error) {
	v := h.members.View()
	want, err := h.labelsOf(ctx, pid, spawn)
	if err != nil {
		return awcluster.Member{}, v, err
	}
	m, ok := v.Owner(pid.String(), want)
	if !ok {
		return awcluster.Member{}, v, fmt.Errorf("%w: no member has the labels %s that process %s requires", ErrNoPlacement, want, pid)
	}
	return m, v, nil
}

// ErrNoPlacement: no live member may hold the process.
var ErrNoPlacement = errors.New("no member can hold the process")

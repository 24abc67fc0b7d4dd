package cluster

import (
	"sort"
	"sync"
)

// View is one immutable snapshot of the membership: the members (sorted by Name) and this node.
// Seq grows by one with every change a node observes; it is local to the node (two nodes may
// number the same membership differently).
type View struct {
	Seq     uint64
	Self    Member
	Members []Member
}

// Owners returns the members that should hold process pid, best first: Owners(pid)[0] is the owner,
// [1] its backup, and so on. want restricts placement to members with those labels (nil: any).
func (v *View) Owners(pid string, want Labels) []Member { return Rank(pid, v.Members, want) }

// Replicas is pid's replica set under replication factor factor: its preference list, the owner
// first and then its backups in order, which is Owners(pid, want) (the router's order) cut to
// factor members. It is shorter when fewer members can hold pid; factor < 1 counts as 1. Every
// user of a replica set (replication, rebalancing, the node's wiring) takes it from here, so that
// they all agree with the router on who owns a process and who backs it up.
func (v *View) Replicas(pid string, want Labels, factor int) []Member {
	r := v.Owners(pid, want)
	if factor < 1 {
		factor = 1
	}
	if len(r) > factor {
		r = r[:factor]
	}
	return r
}

// Owner is Owners(pid, want)[0]; ok is false when no member can hold pid.
func (v *View) Owner(pid string, want Labels) (Member, bool) {
	r := v.Owners(pid, want)
	if len(r) == 0 {
		return Member{}, false
	}
	return r[0], true
}

// IsSelf reports whether m is this node (this incarnation).
func (v *View) IsSelf(m Member) bool { return m.ID == v.Self.ID }

// Member finds a member by its actor system id.
func (v *View) Member(id string) (Member, bool) {
	for _, m := range v.Members {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// sameMembers reports whether two member lists are the same (placement-relevant fields).
func sameMembers(a, b []Member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Name != y.Name || x.Address != y.Address || x.Capacity != y.Capacity ||
			x.Labels.String() != y.Labels.String() || x.Protocol != y.Protocol {
			return false
		}
	}
	return true
}

func sortMembers(ms []Member) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Name != ms[j].Name {
			return ms[i].Name < ms[j].Name
		}
		return ms[i].ID < ms[j].ID
	})
}

// Membership is what the rest of the node (routing, and hand-off and replication) asks of the
// cluster: the current view, and a stream of the next ones.
type Membership interface {
	// View is the current view (never nil once the node has started).
	View() *View
	// Subscribe returns a channel that receives every new view (at least the latest one: a slow
	// reader skips intermediate views, never the last) and a function that ends the subscription.
	Subscribe() (<-chan *View, func())
}

// views holds the current view and its subscribers; Provider and Static embed it.
type views struct {
	mu   sync.Mutex
	cur  *View
	subs map[chan *View]struct{}
}

func (vs *views) View() *View {
	vs.mu.Lock()
	defer vs.mu.Unlock()
	return vs.cur
}

func (vs *views) Subscribe() (<-chan *View, func()) {
	ch := make(chan *View, 1)
	vs.mu.Lock()
	if vs.subs == nil {
		vs.subs = map[chan *View]struct{}{}
	}
	vs.subs[ch] = struct{}{}
	vs.mu.Unlock()
	return ch, func() {
		vs.mu.Lock()
		delete(vs.subs, ch)
		vs.mu.Unlock()
	}
}

// publish installs a new member list if it differs from the current one and tells subscribers.
// It reports whether the view changed.
func (vs *views) publish(self Member, members []Member) bool {
	sortMembers(members)
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.cur != nil && vs.cur.Self.ID == self.ID && sameMembers(vs.cur.Members, members) {
		return false
	}
	seq := uint64(1)
	if vs.cur != nil {
		seq = vs.cur.Seq + 1
	}
	vs.cur = &View{Seq: seq, Self: self, Members: members}
	for ch := range vs.subs {
		// Replace a view the subscriber has not read yet: the latest is what matters.
		select {
		case <-ch:
		default:
		}
		ch <- vs.cur
	}
	return true
}

// Static is the membership of a single node: itself, for ever.
type Static struct{ views }

// NewStatic returns the membership of a node alone.
func NewStatic(self Member) *Static {
	s := &Static{}
	s.publish(self, []Member{self})
	return s
}

package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// ErrNoQuorum: this member's view holds no strict majority of the members the cluster is known to
// have, so it may be on the minority side of a partition. It must not take processes over nor
// acknowledge writes: the majority side may be doing both (docs/design.md invariant 2, and "nothing
// acknowledged is lost").
var ErrNoQuorum = errors.New("no quorum: this node sees too few of the cluster's members")

// Quorum is the split-brain guard of a member. memberlist has no quorum: after a partition each
// side declares the other dead, and with replication factor 2 any side of two or more members can
// form an owner-and-backup pair for a process it holds a copy of, so two sides of a 2-2 split
// would both acknowledge writes, and healing would keep only one history. The guard lets a member
// act as owner only while its view holds a strict majority of the known members.
//
// The known members are every Name (the stable node identity, which a restart keeps) seen in any
// view with a capacity above 0, kept in a file so that a restarted member remembers them. A member
// leaves the set only when it leaves gracefully (its drain asks every member to forget it) or an
// operator forgets it (a dead node that will not come back):
// until then it counts, which is what makes a partition and a death indistinguishable and both
// safe. The price: losing half of the cluster at once stops writes until the nodes return or are
// forgotten.
//
// A member counts as present only while it is also fresh (Quorum.SetFresh: the provider's lease,
// lease.go), so a member cut off from the others loses its quorum one lease after the cut, long
// before failure detection removes them from its view.
//
// A member joins the known set when it has been heard from (with SetFresh), not when a view first
// names it: counted in the view before its first heartbeat arrived, a newcomer made every member
// refuse writes with "no quorum" until then (up to a second on a loaded machine, at every join).
// Hearing it directly adds it to both sides of the count at once, so a newcomer never turns a
// minority into a majority unless it really is with that side.
//
// The known set, and the clustered flag set by the first view of two or more members, are the
// durable record that this node has been part of a cluster (Clustered): a node that restarts
// alone, inside a partition, must not mistake itself for a lone node.
type Quorum struct {
	mu        sync.Mutex
	path      string
	known     map[string]bool
	clustered bool
	fresh     func(name string) bool // nil: every member in view counts
	self      string
}

type quorumFile struct {
	Members   []string `json:"members"`
	Clustered bool     `json:"clustered,omitempty"`
}

// OpenQuorum loads the known members from path (created on the first change).
func OpenQuorum(path string) (*Quorum, error) {
	q := &Quorum{path: path, known: map[string]bool{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return q, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: known members: %w", err)
	}
	var f quorumFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("cluster: known members in %s: %w", path, err)
	}
	for _, n := range f.Members {
		q.known[n] = true
	}
	q.clustered = f.Clustered
	return q, nil
}

// SetFresh makes Check and Lease count a member as present only while fresh(name) holds (the
// provider's heartbeat lease); self is this node's name, always present.
func (q *Quorum) SetFresh(self string, fresh func(name string) bool) {
	q.mu.Lock()
	q.self, q.fresh = self, fresh
	q.mu.Unlock()
}

// inView is the set of names of v's members that may count (capacity above 0).
func inView(v *View) map[string]bool {
	present := map[string]bool{}
	for _, m := range v.Members {
		// A member of capacity 0 is leaving (a drain): it holds nothing, and it must not come
		// back into the known set it asked to leave.
		if m.Name != "" && m.Capacity > 0 {
			present[m.Name] = true
		}
	}
	return present
}

// Observe records the members of v as known (durably, before it returns), without checking.
func (q *Quorum) Observe(v *View) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.record(inView(v))
}

func (q *Quorum) record(present map[string]bool) error {
	grew := false
	if len(present) > 1 && !q.clustered {
		q.clustered, grew = true, true
	}
	for n := range present {
		if !q.known[n] && (q.fresh == nil || n == q.self || q.fresh(n)) {
			q.known[n], grew = true, true
		}
	}
	if grew {
		return q.save()
	}
	return nil
}

// Check records the members of v as known and returns ErrNoQuorum, with who is missing, unless the
// members of v that are also fresh hold a strict majority of the known members.
func (q *Quorum) Check(v *View) error {
	present := inView(v)
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.record(present); err != nil {
		return err
	}
	return q.verdict(present, "in view and heard from")
}

// Lease returns ErrNoQuorum unless the known members heard from within the lease (this node
// included) are a strict majority of the known members. Unlike Check it does not read a view: a
// view can look thin for a moment while membership changes, the heartbeats do not.
func (q *Quorum) Lease() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	present := map[string]bool{}
	if q.self != "" {
		present[q.self] = true
	}
	for n := range q.known {
		present[n] = true
	}
	return q.verdict(present, "heard from")
}

// verdict filters present by freshness and compares it with the known set; q.mu is held.
func (q *Quorum) verdict(present map[string]bool, what string) error {
	count := 0
	for n := range present {
		if n != q.self && q.fresh != nil && !q.fresh(n) {
			delete(present, n)
			continue
		}
		if q.known[n] || n == q.self {
			count++
		}
	}
	known := len(q.known)
	if q.self != "" && !q.known[q.self] {
		known++ // this node counts before its first view records it
	}
	if HasQuorum(known, count) {
		return nil
	}
	var missing []string
	for n := range q.known {
		if !present[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("%w: %d of %d known members are %s, a majority is %d; missing: %s (a partition, or nodes down: "+
		"bring them back, or remove a node that will not return with `actorweave cluster forget`)",
		ErrNoQuorum, count, known, what, known/2+1, strings.Join(missing, ", "))
}

// Clustered reports whether this node has ever been part of a cluster of two or more members that
// it has not forgotten since: read from the durable known set, so a restart cannot lose it.
func (q *Quorum) Clustered() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.clustered {
		return true
	}
	if q.self == "" {
		return len(q.known) > 1
	}
	for n := range q.known {
		if n != q.self {
			return true
		}
	}
	return false
}

// HasQuorum reports whether present members of known are a strict majority.
func HasQuorum(known, present int) bool { return 2*present > known }

// Forget removes members that left for good (a graceful leave, or an operator's decision). It
// reports which of them were known.
func (q *Quorum) Forget(names ...string) ([]string, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var gone []string
	for _, n := range names {
		if q.known[n] {
			delete(q.known, n)
			gone = append(gone, n)
		}
	}
	if len(gone) == 0 {
		return nil, nil
	}
	if len(q.known) == 0 || (len(q.known) == 1 && q.known[q.self]) {
		q.clustered = false // every other member forgotten: a lone node again
	}
	return gone, q.save()
}

// Known lists the known members, sorted.
func (q *Quorum) Known() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]string, 0, len(q.known))
	for n := range q.known {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// save writes the set atomically and durably (write, fsync, rename, fsync the folder).
func (q *Quorum) save() error {
	f := quorumFile{Members: make([]string, 0, len(q.known)), Clustered: q.clustered}
	for n := range q.known {
		f.Members = append(f.Members, n)
	}
	sort.Strings(f.Members)
	b, _ := json.MarshalIndent(f, "", "  ")
	tmp := q.path + ".tmp"
	w, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cluster: save known members: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, q.path)
	}
	if err != nil {
		return fmt.Errorf("cluster: save known members: %w", err)
	}
	if d, err := os.Open(filepath.Dir(q.path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

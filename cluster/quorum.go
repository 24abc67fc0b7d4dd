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
type Quorum struct {
	mu    sync.Mutex
	path  string
	known map[string]bool
}

type quorumFile struct {
	Members []string `json:"members"`
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
	return q, nil
}

// Check records the members of v as known and returns ErrNoQuorum, with who is missing, unless v
// holds a strict majority of the known members.
func (q *Quorum) Check(v *View) error {
	present := map[string]bool{}
	for _, m := range v.Members {
		// A member of capacity 0 is leaving (a drain): it holds nothing, and it must not come
		// back into the known set it asked to leave.
		if m.Name != "" && m.Capacity > 0 {
			present[m.Name] = true
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	grew := false
	for n := range present {
		if !q.known[n] {
			q.known[n], grew = true, true
		}
	}
	if grew {
		if err := q.save(); err != nil {
			return err
		}
	}
	if HasQuorum(len(q.known), len(present)) {
		return nil
	}
	var missing []string
	for n := range q.known {
		if !present[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	return fmt.Errorf("%w: %d of %d known members are in view, a majority is %d; missing: %s (a partition, or nodes down: "+
		"bring them back, or remove a node that will not return with `actorweave cluster forget`)",
		ErrNoQuorum, len(present), len(q.known), len(q.known)/2+1, strings.Join(missing, ", "))
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
	f := quorumFile{Members: make([]string, 0, len(q.known))}
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

package cluster

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func viewOf(names ...string) *View {
	v := &View{}
	for _, n := range names {
		v.Members = append(v.Members, Member{ID: n + "-id", Name: n, Capacity: 1})
	}
	return v
}

func TestHasQuorum(t *testing.T) {
	for _, c := range []struct {
		known, present int
		want           bool
	}{{1, 1, true}, {2, 1, false}, {2, 2, true}, {3, 2, true}, {3, 1, false}, {4, 2, false}, {4, 3, true}, {5, 3, true}, {5, 2, false}} {
		if got := HasQuorum(c.known, c.present); got != c.want {
			t.Errorf("HasQuorum(%d known, %d present) = %v", c.known, c.present, got)
		}
	}
}

// TestQuorumSplitBrain: both halves of a 2-2 split of a four-member cluster are refused, the side
// with three of five is not; the known members survive a restart, and forgetting a node that will
// not return gives the quorum back.
func TestQuorumSplitBrain(t *testing.T) {
	path := filepath.Join(t.TempDir(), "members.json")
	q, err := OpenQuorum(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Check(viewOf("a")); err != nil {
		t.Fatalf("a lone member: %v", err)
	}
	if err := q.Check(viewOf("a", "b", "c", "d")); err != nil {
		t.Fatalf("the whole cluster: %v", err)
	}
	for _, side := range [][]string{{"a", "b"}, {"c", "d"}} {
		err := q.Check(viewOf(side...))
		if !errors.Is(err, ErrNoQuorum) {
			t.Fatalf("half %v of a 2-2 split: %v, want ErrNoQuorum", side, err)
		}
		if !strings.Contains(err.Error(), "2 of 4") {
			t.Fatalf("error does not say how many are seen: %v", err)
		}
	}
	q, err = OpenQuorum(path) // a restart
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(q.Known(), ","); got != "a,b,c,d" {
		t.Fatalf("known after reopening: %s", got)
	}
	if err := q.Check(viewOf("a", "b")); !errors.Is(err, ErrNoQuorum) || !strings.Contains(err.Error(), "missing: c, d") {
		t.Fatalf("after a restart, half the cluster: %v", err)
	}
	if err := q.Check(viewOf("a", "b", "c", "e")); err != nil { // e joins: five known
		t.Fatalf("four of five: %v", err)
	}
	if err := q.Check(viewOf("a", "b", "e")); err != nil {
		t.Fatalf("three of five: %v", err)
	}
	if err := q.Check(viewOf("a", "b")); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("two of five: %v", err)
	}
	if gone, err := q.Forget("d", "c", "zz"); err != nil || strings.Join(gone, ",") != "d,c" {
		t.Fatalf("forget: %v %v", gone, err)
	}
	if err := q.Check(viewOf("a", "b")); err != nil {
		t.Fatalf("two of three after forgetting c and d: %v", err)
	}
	// A draining member (capacity 0) asked to be forgotten: its presence must not add it back.
	v := viewOf("a", "b", "e")
	v.Members[2].Capacity = 0
	if _, err := q.Forget("e"); err != nil {
		t.Fatal(err)
	}
	if err := q.Check(v); err != nil || strings.Join(q.Known(), ",") != "a,b" {
		t.Fatalf("a draining member came back into the known set: %v, known %v", err, q.Known())
	}
	if _, err := OpenQuorum(filepath.Join(t.TempDir(), "x", "y")); err != nil {
		t.Fatalf("a missing file is an empty set: %v", err)
	}
}

func TestAdminMAC(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Now()
	mac := SignAdmin(key, "forget", now, []string{"a", "b"})
	if err := VerifyAdmin(key, "forget", now, []string{"a", "b"}, mac, now.Add(time.Second)); err != nil {
		t.Fatalf("a good request: %v", err)
	}
	for name, err := range map[string]error{
		"other args":  VerifyAdmin(key, "forget", now, []string{"a"}, mac, now),
		"other op":    VerifyAdmin(key, "leave", now, []string{"a", "b"}, mac, now),
		"other key":   VerifyAdmin([]byte("another key of enough bytes....."), "forget", now, []string{"a", "b"}, mac, now),
		"stale":       VerifyAdmin(key, "forget", now, []string{"a", "b"}, mac, now.Add(AdminSkew+time.Second)),
		"not hex":     VerifyAdmin(key, "forget", now, []string{"a", "b"}, "zz", now),
		"time edited": VerifyAdmin(key, "forget", now.Add(time.Millisecond), []string{"a", "b"}, mac, now),
	} {
		if !errors.Is(err, ErrAdminAuth) {
			t.Errorf("%s: %v, want ErrAdminAuth", name, err)
		}
	}
}

// TestQuorumNewcomerCountsOnceHeard: a member a view names but this node has not heard from yet is
// not in the known set, so a join does not make the members refuse writes until the newcomer's
// first heartbeat; once heard it counts on both sides. The first view of two members makes the
// node clustered durably (replication's factor follows it), heard from or not.
func TestQuorumNewcomerCountsOnceHeard(t *testing.T) {
	path := filepath.Join(t.TempDir(), "members.json")
	q, err := OpenQuorum(path)
	if err != nil {
		t.Fatal(err)
	}
	heard := map[string]bool{}
	q.SetFresh("a", func(n string) bool { return heard[n] })
	if err := q.Observe(viewOf("a")); err != nil || q.Clustered() {
		t.Fatalf("a lone node: %v, clustered %v", err, q.Clustered())
	}
	// b joins; a has not heard its heartbeat yet.
	if err := q.Observe(viewOf("a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := q.Lease(); err != nil {
		t.Fatalf("a newcomer not heard from yet made a lone member lose its quorum: %v", err)
	}
	if !q.Clustered() || strings.Join(q.Known(), ",") != "a" {
		t.Fatalf("after b's view: clustered %v, known %v (want clustered, known a)", q.Clustered(), q.Known())
	}
	heard["b"] = true
	if err := q.Observe(viewOf("a", "b")); err != nil || strings.Join(q.Known(), ",") != "a,b" {
		t.Fatalf("b heard: %v, known %v", err, q.Known())
	}
	heard["b"] = false // b cut off: one of two known is not a majority
	if err := q.Lease(); !errors.Is(err, ErrNoQuorum) {
		t.Fatalf("b silent after it was heard: %v, want ErrNoQuorum", err)
	}
	q, err = OpenQuorum(path) // a restart keeps both the known set and the clustered flag
	if err != nil {
		t.Fatal(err)
	}
	q.SetFresh("a", func(n string) bool { return heard[n] })
	if !q.Clustered() || strings.Join(q.Known(), ",") != "a,b" {
		t.Fatalf("after reopening: clustered %v, known %v", q.Clustered(), q.Known())
	}
	// A node that saw a second member but never heard it (it left at once) is still clustered
	// after a restart: it must not write alone as a lone node would.
	path2 := filepath.Join(t.TempDir(), "members.json")
	q2, _ := OpenQuorum(path2)
	q2.SetFresh("a", func(string) bool { return false })
	if err := q2.Observe(viewOf("a", "b")); err != nil {
		t.Fatal(err)
	}
	if q2, _ = OpenQuorum(path2); !q2.Clustered() {
		t.Fatal("the clustered flag did not survive a restart")
	}
	if _, err := q.Forget("b"); err != nil || q.Clustered() {
		t.Fatalf("every other member forgotten: %v, clustered %v (want a lone node again)", err, q.Clustered())
	}
}

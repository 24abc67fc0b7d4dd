package replication

import (
	"fmt"
	"testing"
	"time"
)

// placeList tells every member of ms the same replica set of pid.
func placeList(pid string, list []*memberRef, ms ...*memberRef) {
	var addrs []string
	for _, m := range list {
		addrs = append(addrs, m.addr)
	}
	for _, m := range ms {
		m.must(cmd{Op: "place", PID: pid, Replicas: addrs})
	}
}

// TestReplicationFactor3LastBackupSurvives: under replication factor 3 an acknowledged write is
// on every member of the replica set (write-all), so when the owner and its first backup are
// killed -9 and only the last backup of the list survives, that member, owner now, holds every
// acknowledged entry, seeds its two new backups, and writes on. With the write acknowledged by the
// first backup alone (what factor 2 did), the survivor would hold nothing. A zombie owner (taken
// for dead, still running with the old list) can no longer write: the survivor's hand-over fenced
// it, and it is in the zombie's list, whose every member must take each write.
func TestReplicationFactor3LastBackupSurvives(t *testing.T) {
	c := newCluster(t)
	cfg := Config{Factor: 3, Timeout: 500 * time.Millisecond, WaitBackup: -1}
	a, b, cc, d, e := c.start(cfg), c.start(cfg), c.start(cfg), c.start(cfg), c.start(cfg)
	all := []*memberRef{a, b, cc, d, e}
	pid := newPID(t)
	placeList(pid, []*memberRef{a, b, cc}, all...)
	a.must(cmd{Op: "spawn", PID: pid})
	var acked uint64
	for i := 0; i < 4; i++ {
		acked = a.must(cmd{Op: "write", PID: pid, N: 3}).Count
	}
	sameLog(t, pid, acked, a, b, cc)
	for _, m := range []*memberRef{d, e} {
		if r := m.must(cmd{Op: "state", PID: pid}); r.Count != 0 {
			t.Fatalf("a member outside the replica set holds %d entries", r.Count)
		}
	}
	// Two members short: a list of two under factor 3 refuses writes (too few copies).
	placeList(pid, []*memberRef{a, b}, a)
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "no-backup" {
		t.Fatalf("write with two of three replicas in the view: %+v, want no-backup", r)
	}
	placeList(pid, []*memberRef{a, b, cc}, a)

	b.kill() // the first backup dies for real; the owner lives on as a zombie
	placeList(pid, []*memberRef{cc, d, e}, cc, d, e)
	rc := cc.must(cmd{Op: "activate", PID: pid})
	if rc.Count != acked {
		t.Fatalf("the last backup, owner now, holds %d entries, want the %d acknowledged", rc.Count, acked)
	}
	sameLog(t, pid, acked, cc, d, e)
	if w := a.do(cmd{Op: "write", PID: pid, N: 1}); w.Kind != "not-owner" {
		t.Fatalf("write by the zombie owner: %+v, want not-owner", w)
	}
	a.kill()
	rc = cc.must(cmd{Op: "write", PID: pid, N: 2})
	if rc.Count != acked+2 {
		t.Fatalf("after two writes the new owner holds %d entries, want %d", rc.Count, acked+2)
	}
	sameLog(t, pid, acked+2, cc, d, e)
	if r := cc.must(cmd{Op: "state", PID: pid}); r.Epochs != fmt.Sprintf("%d,%d", 1, rc.Epoch) {
		t.Fatalf("log epochs %q: want the old owner's 1, then the new owner's %d", r.Epochs, rc.Epoch)
	}
}

// TestReplicationFactor3FenceRounds: the backups of a replica set may be at different epochs (one
// was fenced for the process by another owner before); the owner fences the lower ones again at
// the highest, so that it holds one epoch on every replica that no other fence there returned, and
// every replica ends at it.
func TestReplicationFactor3FenceRounds(t *testing.T) {
	c := newCluster(t)
	cfg := Config{Factor: 3, Timeout: 2 * time.Second, WaitBackup: -1}
	a, b, cc := c.start(cfg), c.start(cfg), c.start(cfg)
	d := c.start(Config{Factor: 2}) // a member whose view gives it the process with C alone as its backup
	pid := newPID(t)
	placeList(pid, []*memberRef{cc, b}, cc)
	// C's view has only two members: under factor 3 it fences nothing and writes nothing.
	if r := cc.do(cmd{Op: "activate", PID: pid}); r.Kind != "no-backup" {
		t.Fatalf("activation with two replicas under factor 3: %+v, want no-backup", r)
	}
	// D takes the process for its own twice: C's floor is 2, B's 0.
	placeList(pid, []*memberRef{d, cc}, d)
	d.must(cmd{Op: "activate", PID: pid})
	d.must(cmd{Op: "forget", PID: pid})
	d.must(cmd{Op: "activate", PID: pid})
	placeList(pid, []*memberRef{a, b, cc}, a, b, cc)
	ra := a.must(cmd{Op: "spawn", PID: pid})
	if ra.Epoch != 3 {
		t.Fatalf("A took epoch %d, want 3 (C answered 3 and B 1, then 3 to the second round)", ra.Epoch)
	}
	rw := a.must(cmd{Op: "write", PID: pid, N: 3})
	sameLog(t, pid, rw.Count, a, b, cc)
	for _, m := range []*memberRef{a, b, cc} {
		if r := m.must(cmd{Op: "state", PID: pid}); r.Epoch != ra.Epoch || r.Epochs != fmt.Sprint(ra.Epoch) {
			t.Fatalf("replica at epoch %d with log epochs %q, want all at %d", r.Epoch, r.Epochs, ra.Epoch)
		}
	}
}

// TestReplicationFactor3Levelling: the new owner's hand-over pulls from whichever replica is
// longest, wherever it is in the list, and pushes to the ones behind. The last backup holds a
// batch nobody acknowledged (it took it; the owner died before the other backup answered), the
// new owner holds less, the new second backup nothing: afterwards all three hold the longest log.
func TestReplicationFactor3Levelling(t *testing.T) {
	c := newCluster(t)
	cfg := Config{Factor: 3, Timeout: 2 * time.Second, WaitBackup: -1}
	a, b, cc, d := c.start(cfg), c.start(cfg), c.start(cfg), c.start(cfg)
	pid := newPID(t)
	placeList(pid, []*memberRef{a, b, cc}, a, b, cc, d)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 5})
	b.must(cmd{Op: "load", PID: pid})
	b.must(cmd{Op: "write-local", PID: pid, N: 2}) // B alone took the owner's last batch
	a.kill()
	placeList(pid, []*memberRef{cc, d, b}, b, cc, d)
	rc := cc.must(cmd{Op: "activate", PID: pid})
	if rc.Count != 7 {
		t.Fatalf("new owner holds %d entries after its hand-over, want the longest replica's 7", rc.Count)
	}
	if s := cc.must(cmd{Op: "stats"}).Stats; s["pulled"] != 2 || s["caughtUp"] != 7 {
		t.Fatalf("new owner pulled %d and pushed %d entries, want 2 (from B) and 7 (D seeded)", s["pulled"], s["caughtUp"])
	}
	cc.must(cmd{Op: "write", PID: pid, N: 1})
	sameLog(t, pid, 8, cc, d, b)
}

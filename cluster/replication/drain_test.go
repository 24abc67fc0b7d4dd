package replication

import "testing"

// TestReplicationDrain: a draining owner hands its process to the owner of the placement without
// it; the new owner holds the whole log and takes writes, and the drained node, still believing it
// owns, is refused. Only the processes it owns are counted.
func TestReplicationDrain(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.start(Config{}), c.start(Config{}), c.start(Config{})
	pid, other := newPID(t), newPID(t)
	place(pid, a, b, a, b, d)
	place(other, b, a, a, b, d) // a is other's backup: not a's to hand over
	a.must(cmd{Op: "spawn", PID: pid})
	b.must(cmd{Op: "spawn", PID: other})
	for i := 0; i < 20; i++ {
		a.must(cmd{Op: "write", PID: pid, N: 1})
	}
	b.must(cmd{Op: "write", PID: other, N: 2})

	r := a.must(cmd{Op: "drain", PID: pid, Owner: d.addr, Backup: b.addr, N: 30_000})
	if r.Count != 1 || r.Epoch != 1 {
		t.Fatalf("drain handed %d of %d processes over, want 1 of 1", r.Count, r.Epoch)
	}
	place(pid, d, b, a, b, d)
	if rd := d.must(cmd{Op: "activate", PID: pid}); rd.Count != 20 {
		t.Fatalf("the successor holds %d entries, want 20", rd.Count)
	}
	d.must(cmd{Op: "write", PID: pid, N: 3})
	sameLog(t, pid, 23, d, b)
	place(pid, a, b, a)
	if w := a.do(cmd{Op: "write", PID: pid, N: 1}); w.Kind != "not-owner" && w.Kind != "stale" {
		t.Fatalf("the drained node writing as owner: %+v, want refused", w)
	}
}

// TestReplicationDrainIncomplete: a successor that cannot be reached leaves the drain incomplete
// when its time is up (ErrDrainIncomplete), and the process stays with its backup.
func TestReplicationDrainIncomplete(t *testing.T) {
	c := newCluster(t)
	a, b, d := c.start(Config{}), c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 5})
	d.kill()
	r := a.do(cmd{Op: "drain", PID: pid, Owner: d.addr, Backup: b.addr, N: 1500})
	if r.Kind != "drain-incomplete" || r.Count != 0 {
		t.Fatalf("drain to a dead successor: %+v, want drain-incomplete with nothing handed over", r)
	}
	sameLog(t, pid, 5, a, b)
}

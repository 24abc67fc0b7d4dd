package replication

import (
	"strings"
	"testing"

	"github.com/actorweave/actorweave/persistence"
)

func TestJudge(t *testing.T) {
	at := func(epoch uint64) persistence.Entry { return persistence.Entry{Epoch: epoch} }
	for _, c := range []struct {
		local, backup uint64
		want          verdict
	}{{3, 2, truncateBackup}, {2, 3, truncateLocal}, {2, 2, forked}} {
		if got := judge(at(c.local), at(c.backup)); got != c.want {
			t.Errorf("judge(local epoch %d, backup epoch %d) = %d, want %d", c.local, c.backup, got, c.want)
		}
	}
}

// countIn counts how often each id occurs in ids.
func countIn(ids []string) map[string]int {
	n := map[string]int{}
	for _, id := range ids {
		n[id]++
	}
	return n
}

// assertKeptAndRescheduled checks the resolved logs: the kept history's entries are the prefix of
// the new log, and every message of either history is in it exactly once.
func assertKeptAndRescheduled(t *testing.T, after reply, kept, lost reply) {
	t.Helper()
	if len(after.Msgs) < len(kept.Msgs) || strings.Join(after.Msgs[:len(kept.Msgs)], ",") != strings.Join(kept.Msgs, ",") {
		t.Fatal("the kept history is not the prefix of the resolved log")
	}
	n := countIn(after.Msgs)
	for _, id := range append(append([]string(nil), kept.Msgs...), lost.Msgs...) {
		if n[id] != 1 {
			t.Fatalf("message %s is %d times in the resolved log, want once", id, n[id])
		}
	}
}

// TestReplicationForkSameEpoch: owner and backup hold different entries at the same nonce and
// epoch (two owners acknowledged writes, an older bug's data). The activation records a fork and
// refuses with ErrForked, again and again without touching either log; resolve-fork keeps one
// history, archives the other and schedules its messages again, each exactly once.
func TestReplicationForkSameEpoch(t *testing.T) {
	c := newCluster(t)
	a, b := c.start(Config{}), c.start(Config{})
	pid := newPID(t)
	place(pid, a, b, a, b)
	a.must(cmd{Op: "spawn", PID: pid})
	a.must(cmd{Op: "write", PID: pid, N: 3})
	b.must(cmd{Op: "load", PID: pid})
	ra := a.must(cmd{Op: "write-local", PID: pid, N: 2})
	rb := b.must(cmd{Op: "write-local", PID: pid, N: 2})
	if ra.Count != 5 || rb.Count != 5 || ra.Digest == rb.Digest || ra.Epochs != rb.Epochs {
		t.Fatalf("setup: %+v / %+v", ra, rb)
	}
	for i := 0; i < 2; i++ {
		a.must(cmd{Op: "forget", PID: pid})
		r := a.do(cmd{Op: "activate", PID: pid})
		if r.Kind != "forked" || !strings.Contains(r.Err, "from nonce 3") || !strings.Contains(r.Err, a.addr) || !strings.Contains(r.Err, b.addr) {
			t.Fatalf("activation %d of a forked process: %+v", i, r)
		}
	}
	if r := a.do(cmd{Op: "write", PID: pid, N: 1}); r.Kind != "forked" {
		t.Fatalf("write to a forked process: %+v", r)
	}
	fa, fb := a.must(cmd{Op: "state", PID: pid}), b.must(cmd{Op: "state", PID: pid})
	if fa.Digest != ra.Digest || fb.Digest != rb.Digest || fa.Archived+fb.Archived != 0 {
		t.Fatal("a fork changed a history")
	}
	if fa.ForkNonce != 3 || fa.Fork == "" {
		t.Fatalf("fork record on the owner: %+v", fa)
	}
	if r := a.do(cmd{Op: "resolve", PID: pid, Owner: "nobody"}); r.Err == "" {
		t.Fatal("resolve-fork kept the history of a node that is no replica")
	}
	res := a.must(cmd{Op: "resolve", PID: pid, Owner: b.addr})
	if res.Resolved != 2 || res.Rescheduled != 2 || res.Count != 7 || res.Fork != "" || res.Archived != 2 {
		t.Fatalf("resolution: %+v", res)
	}
	sameLog(t, pid, 7, a, b)
	assertKeptAndRescheduled(t, res, rb, ra)
	a.must(cmd{Op: "write", PID: pid, N: 1})
	sameLog(t, pid, 8, a, b)
}

// TestReplicationForkEvaluatedTail: the lower-epoch tail that the epoch rule would drop has been
// evaluated (so it was acknowledged). Whether the replica refusing the truncation is the backup
// (its refusal reply) or the owner itself, the owner records a fork instead of failing on every
// activation; the resolution rolls the loser's evaluation back with its entries.
func TestReplicationForkEvaluatedTail(t *testing.T) {
	c := newCluster(t)
	a, b, cc := c.start(Config{}), c.start(Config{}), c.start(Config{})
	for _, evaluatedIsBackup := range []bool{true, false} {
		pid := newPID(t)
		place(pid, a, b, a, b, cc)
		a.must(cmd{Op: "spawn", PID: pid})
		a.must(cmd{Op: "write", PID: pid, N: 3})
		lost := a.must(cmd{Op: "write-local", PID: pid, N: 2}) // A alone, at the old epoch
		a.must(cmd{Op: "evaluate", PID: pid})
		// B takes over with C and writes at a newer epoch.
		place(pid, b, cc, a, b, cc)
		b.must(cmd{Op: "activate", PID: pid})
		kept := b.must(cmd{Op: "write", PID: pid, N: 2})
		if lost.Count != 5 || kept.Count != 5 || lost.Digest == kept.Digest {
			t.Fatalf("setup: %+v / %+v", lost, kept)
		}
		owner, backup := b, a // B meets A's refusal reply
		if !evaluatedIsBackup {
			owner, backup = a, b // A refuses its own truncation
		}
		place(pid, owner, backup, a, b, cc)
		owner.must(cmd{Op: "forget", PID: pid})
		for i := 0; i < 2; i++ {
			if r := owner.do(cmd{Op: "activate", PID: pid}); r.Kind != "forked" || !strings.Contains(r.Err, "evaluated") {
				t.Fatalf("activation %d (evaluated backup %v): %+v", i, evaluatedIsBackup, r)
			}
		}
		ra := a.must(cmd{Op: "state", PID: pid})
		if ra.Digest != lost.Digest || ra.Evaluated != 5 || ra.Archived != 0 {
			t.Fatalf("the evaluated history changed: %+v", ra)
		}
		if f := owner.must(cmd{Op: "state", PID: pid}); f.ForkNonce != 3 {
			t.Fatalf("fork record: %+v", f)
		}
		res := owner.must(cmd{Op: "resolve", PID: pid, Owner: b.addr})
		if res.Resolved != 2 || res.Rescheduled != 2 || res.Count != 7 {
			t.Fatalf("resolution: %+v", res)
		}
		sameLog(t, pid, 7, a, b)
		ra = a.must(cmd{Op: "state", PID: pid})
		if ra.Evaluated != 3 || ra.Archived != 2 || ra.Fork != "" {
			t.Fatalf("the losing replica after resolution: evaluated %d, archived %d, fork %q", ra.Evaluated, ra.Archived, ra.Fork)
		}
		assertKeptAndRescheduled(t, res, kept, lost)
		if rb := b.must(cmd{Op: "state", PID: pid}); rb.Fork != "" {
			t.Fatalf("fork record left on %s", b.addr)
		}
	}
}

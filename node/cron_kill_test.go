package node

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
	"github.com/actorweave/actorweave/internal/testutil"
)

// TestCronKill9: a node ticking a 1-second cron is killed with SIGKILL and restarted after a few
// seconds down. The ticks continue from where the log left them, none is doubled, and the ticks
// that fell during the downtime are appended as the catch-up policy says: all of them, only the
// latest, or none.
func TestCronKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 test runs a child node")
	}
	wasm := testutil.Module(t, "aoslike")
	for _, policy := range []string{"all", "latest", "none"} {
		t.Run(policy, func(t *testing.T) {
			t.Setenv("AW_NODE_CHILD_CATCHUP", policy)
			cronKillRound(t, wasm, policy)
		})
	}
}

func cronKillRound(t *testing.T, wasm []byte, policy string) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	child, url := startChild(t, dir)
	defer func() { child.Process.Kill(); child.Wait() }()
	user, _ := ans104.GenerateEd25519Signer()
	c := client.New(url, user)
	mod, err := c.PublishModule(ctx, client.ModuleSpec{Wasm: wasm, Format: "wasm32-unknown-emscripten2"})
	if err != nil {
		t.Fatal(err)
	}
	pid, err := c.Spawn(ctx, mod, "", nil, cronTags("1-second"))
	if err != nil {
		t.Fatal(err)
	}
	origin := processTimestamp(t, ctx, c, pid)
	time.Sleep(2500 * time.Millisecond)
	_ = child.Process.Signal(syscall.SIGKILL)
	_ = child.Wait()
	killed := time.Now().UnixMilli()
	time.Sleep(3500 * time.Millisecond) // three or four ticks fall while the node is down

	restarted := time.Now().UnixMilli() // the child's ticker starts after this ...
	child, url = startChild(t, dir)
	up := time.Now().UnixMilli() // ... and before this
	c = client.New(url, user)
	time.Sleep(2500 * time.Millisecond)
	ticks := logTicks(t, ctx, c, pid)
	checkTicks(t, ticks, origin, 1) // in order, each at its due second, never twice
	var before, after []tickRow
	for _, r := range ticks {
		if r.timestamp < killed {
			before = append(before, r)
		} else {
			after = append(after, r)
		}
	}
	if len(before) == 0 || len(after) < 2 {
		t.Fatalf("%d ticks before the kill, %d after the restart", len(before), len(after))
	}
	for i, r := range before {
		if r.seq != uint64(i+1) {
			t.Fatalf("before the kill: tick %d at position %d", r.seq, i)
		}
	}
	last := before[len(before)-1].seq
	// Ticks that fell while the node was down: due after the last one appended and before the
	// restart.
	missed := uint64((restarted/1000 - origin/1000)) - last
	if missed < 2 {
		t.Fatalf("only %d ticks fell during the downtime", missed)
	}
	first := after[0]
	switch policy {
	case "all":
		for i, r := range after {
			if r.seq != last+uint64(i)+1 {
				t.Fatalf("all: tick %d follows %d", r.seq, last+uint64(i))
			}
		}
	case "latest":
		// Only the latest tick due when the ticker started, then the ones due after.
		if first.seq <= last+1 || first.due < restarted-1000 || first.due > up {
			t.Fatalf("latest: first tick after the restart is %d due %d (last before %d, restart in [%d, %d])", first.seq, first.due, last, restarted, up)
		}
	case "none":
		if first.seq <= last+1 || first.due <= restarted {
			t.Fatalf("none: first tick after the restart is %d due %d (last before %d, restart at %d)", first.seq, first.due, last, restarted)
		}
	}
	// After the restart the ticks continue, one per second, with their evaluations.
	for i := 1; i < len(after); i++ {
		if after[i].seq != after[i-1].seq+1 {
			t.Fatalf("after the restart: tick %d follows %d", after[i].seq, after[i-1].seq)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, outs := cronPage(t, ctx, c, pid, "?limit=1000")
		if len(outs) >= len(ticks) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d cron results for %d ticks", len(outs), len(ticks))
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%s: %d ticks before the kill, %d fell while down, then ticks %v", policy, len(before), missed, seqs(after))
}

func seqs(rs []tickRow) []uint64 {
	out := make([]uint64, len(rs))
	for i, r := range rs {
		out[i] = r.seq
	}
	return out
}

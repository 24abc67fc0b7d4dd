package persistence

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// TestPowerLossKeepsAcknowledgedAppends complements TestKill9: SIGKILL loses only what had not
// reached the kernel, while a power cut also loses what was written but not fsync'd. Pebble's
// crashable in-memory filesystem gives that state: a CrashClone holds exactly the synced data
// (UnsyncedDataPercent 0). Every append acknowledged before the clone must be in it.
func TestPowerLossKeepsAcknowledgedAppends(t *testing.T) {
	for _, mode := range []CommitMode{CommitPipeline, CommitSerial} {
		t.Run(mode.String(), func(t *testing.T) {
			lost := powerLossRun(t, Options{Commit: mode})
			if lost > 0 {
				t.Fatalf("%d acknowledged appends missing after a simulated power cut", lost)
			}
		})
	}
}

// TestPowerLossDetectsNoSync proves the test above can fail: without fsync, acknowledged appends
// are lost at a power cut.
func TestPowerLossDetectsNoSync(t *testing.T) {
	if lost := powerLossRun(t, Options{NoSync: true}); lost == 0 {
		t.Fatal("NoSync lost nothing at a simulated power cut: the power-loss test cannot tell")
	}
}

// powerLossRun appends from 8 writers (400 appends each at most), takes crash clones at random moments, and returns how many
// appends acknowledged before a clone are missing from it (it fails the test on any other damage).
func powerLossRun(t *testing.T, o Options) (lost int) {
	fs := vfs.NewCrashableMem()
	o.FS = fs
	s := openTest(t, "db", o)
	const writers = 8
	chains := make([]*chain, writers)
	for i := range chains {
		chains[i] = mustPut(t, s, newProcess(t))
	}
	var mu sync.Mutex
	var acked []Entry
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Add(1)
		go func(c *chain) {
			defer wg.Done()
			for n := 0; n < 400; n++ { // bounded: NoSync appends to memory are very fast
				select {
				case <-stop:
					return
				default:
				}
				e := c.next(t, randBytes(t, 256))
				if err := s.Append(context.Background(), e); err != nil {
					t.Error(err)
					return
				}
				c.accepted(e)
				mu.Lock()
				acked = append(acked, e)
				mu.Unlock()
			}
		}(c)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for i := 0; i < 4; i++ {
		time.Sleep(time.Duration(20+rng.IntN(80)) * time.Millisecond)
		mu.Lock()
		before := append([]Entry(nil), acked...) // all of these returned before the clone
		mu.Unlock()
		clone := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: 0})
		lost += checkClone(t, clone, before)
	}
	close(stop)
	wg.Wait()
	s.Close()
	return lost
}

func checkClone(t *testing.T, fs *vfs.MemFS, acked []Entry) (lost int) {
	t.Helper()
	s, err := Open("db", Options{FS: fs})
	if err != nil {
		t.Fatalf("open crash clone: %v", err)
	}
	defer s.Close()
	for _, want := range acked {
		got, err := s.Entry(want.Process, want.Nonce)
		if err != nil {
			lost++
			continue
		}
		if digest(&got) != digest(&want) {
			t.Fatalf("entry %d of %s differs after the power cut", want.Nonce, b64(want.Process))
		}
	}
	// Whatever survived must still be a whole log.
	for _, e := range acked[:min(len(acked), 8)] {
		verifyChainOnly(t, s, e.Process)
	}
	return lost
}

// verifyChainOnly checks nonces and the hash chain of one log.
func verifyChainOnly(t *testing.T, s *Store, pid ID) {
	t.Helper()
	pg, err := s.Scan(Query{Process: pid, By: ByNonce, Limit: s.opts.MaxScanLimit})
	if err != nil {
		t.Fatal(err)
	}
	want := FirstHashChain(pid)
	for i, e := range pg.Entries {
		if e.Nonce != uint64(i) || e.HashChain != want {
			t.Fatalf("%s: entry %d breaks the log (nonce %d)", b64(pid), i, e.Nonce)
		}
		want = NextHashChain(e.AssignmentID, e.HashChain)
	}
}

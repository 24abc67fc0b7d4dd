package persistence

import (
	"sync"
	"testing"
)

// TestGroupCommitSharesFsyncs: concurrent appends to different processes must share WAL syncs
// (fewer syncs than appends), and every append must still have been followed by a sync.
func TestGroupCommitSharesFsyncs(t *testing.T) {
	for _, mode := range []CommitMode{CommitPipeline, CommitSerial} {
		t.Run(mode.String(), func(t *testing.T) {
			fs := NewSyncCountingFS(nil)
			s := openTest(t, t.TempDir(), Options{FS: fs, Commit: mode})
			defer s.Close()
			const writers, each = 32, 20
			chains := make([]*chain, writers)
			for i := range chains {
				chains[i] = mustPut(t, s, newProcess(t))
			}
			before := fs.WALSyncs()
			var wg sync.WaitGroup
			start := make(chan struct{})
			for _, c := range chains {
				wg.Add(1)
				go func(c *chain) {
					defer wg.Done()
					<-start
					c.appendN(t, s, each)
				}(c)
			}
			close(start)
			wg.Wait()
			syncs := fs.WALSyncs() - before
			t.Logf("%s: %d appends, %d WAL syncs", mode, writers*each, syncs)
			if syncs == 0 {
				t.Fatal("no WAL sync at all: appends are not durable")
			}
			if syncs >= writers*each {
				t.Fatalf("%d syncs for %d concurrent appends: no group commit", syncs, writers*each)
			}
		})
	}
}

// TestNoSyncSkipsFsync: the benchmark baseline really runs without a WAL sync per append (Pebble
// may still sync on its own, e.g. when it rotates the WAL).
func TestNoSyncSkipsFsync(t *testing.T) {
	fs := NewSyncCountingFS(nil)
	s := openTest(t, t.TempDir(), Options{FS: fs, NoSync: true})
	defer s.Close()
	c := mustPut(t, s, newProcess(t))
	before := fs.WALSyncs()
	c.appendN(t, s, 50)
	if n := fs.WALSyncs() - before; n > 5 {
		t.Fatalf("NoSync: %d WAL syncs", n)
	}
}

package runtime

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
)

// TestErrorsNeverAdvanceState: a run with failing messages interleaved ends in exactly the
// memory of the same run without them, whichever undo path each failure takes (same instance,
// fresh instance after growth, replay of a journal spanning base snapshots).
func TestErrorsNeverAdvanceState(t *testing.T) {
	ctx := context.Background()
	ok := func(i int) []byte {
		// Every 7th message grows memory, so some reverts need a fresh instance.
		if i%7 == 3 {
			return msg(fmt.Sprint(i), "Eval", fmt.Sprintf("big%d = string.rep('y', 200000 * %d) x = (x or 0) + 1 return x", i, i))
		}
		return msg(fmt.Sprint(i), "Eval", "x = (x or 0) + 1 return x")
	}
	fails := [][]byte{
		msg("e1", "Eval", "x = 1000 error('boom')"),
		msg("e2", "Eval", "x = 2000 junk = string.rep('z', 4e6) error('after growth')"),
		msg("e3", "Throw", "x"),
	}
	for _, every := range []int{1, 3, 64} {
		t.Run(fmt.Sprintf("snapshot-every-%d", every), func(t *testing.T) {
			clean := newTestInstance(t, newTestEngine(t, func(c *Config) { c.SnapshotEvery = every }), "aoslike", Limits{})
			dirty := newTestInstance(t, newTestEngine(t, func(c *Config) { c.SnapshotEvery = every }), "aoslike", Limits{})
			for i := 1; i <= 20; i++ {
				a, err := clean.Handle(ctx, ok(i), []byte(testEnv))
				if err != nil || a.Error != "" {
					t.Fatalf("clean %d: %v %+v", i, err, a)
				}
				if i%2 == 0 {
					f := fails[(i/2)%len(fails)]
					r, err := dirty.Handle(ctx, f, []byte(testEnv))
					if err != nil {
						t.Fatalf("dirty failure %d: %v", i, err)
					}
					if r.Error == "" {
						t.Fatalf("message %s did not fail", f)
					}
				}
				b, err := dirty.Handle(ctx, ok(i), []byte(testEnv))
				if err != nil || b.Error != "" {
					t.Fatalf("dirty %d: %v %+v", i, err, b)
				}
				if string(a.Output) != string(b.Output) || a.GasUsed != b.GasUsed {
					t.Fatalf("message %d: clean %s gas %d, dirty %s gas %d", i, a.Output, a.GasUsed, b.Output, b.GasUsed)
				}
				ca, na := memHex(clean)
				cb, nb := memHex(dirty)
				if ca != cb || na != nb {
					t.Fatalf("message %d: memory clean %d %s, dirty %d %s", i, na, ca, nb, cb)
				}
			}
			st := dirty.Stats()
			_, n := memHex(dirty)
			t.Logf("memory %d bytes, %+v", n, st)
			if st.Rebuilds == 0 {
				t.Error("no revert needed a fresh instance: the growth path is untested")
			}
		})
	}
}

// TestSnapshotRestore: an instance restored from a snapshot (in another engine) continues exactly
// like the original.
func TestSnapshotRestore(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, nil)
	orig := newTestInstance(t, e, "aoslike", Limits{})
	for i := 1; i <= 5; i++ {
		if r, err := orig.Handle(ctx, msg(fmt.Sprint(i), "Eval", "t = t or {} for i = 1, 20000 do t[#t + 1] = i end x = (x or 0) + 1 return x"), []byte(testEnv)); err != nil || r.Error != "" {
			t.Fatalf("%v %+v", err, r)
		}
	}
	mem, sum := orig.Snapshot()
	if sum != sha256.Sum256(mem) {
		t.Fatal("snapshot hash does not match its bytes")
	}
	if h, _ := orig.MemorySha256(); h != sum {
		t.Fatal("MemorySha256 differs from Snapshot")
	}
	e2 := newTestEngine(t, nil)
	m2, err := e2.Compile(ctx, testModule(t, "aoslike"), FormatEmscripten2)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := e2.Restore(ctx, m2, Limits{}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close(ctx)
	if h, n := restored.MemorySha256(); h != sum || n != len(mem) {
		t.Fatalf("restored memory differs")
	}
	for i := 6; i <= 8; i++ {
		m := msg(fmt.Sprint(i), "Eval", "x = x + 1 return x .. ' ' .. #t")
		a, err1 := orig.Handle(ctx, m, []byte(testEnv))
		b, err2 := restored.Handle(ctx, m, []byte(testEnv))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if want := fmt.Sprintf("%d 100000", i); outputData(t, b) != want || string(a.Output) != string(b.Output) || a.GasUsed != b.GasUsed {
			t.Fatalf("message %d: original %s (%d gas), restored %s (%d gas), want %s", i, a.Output, a.GasUsed, b.Output, b.GasUsed, want)
		}
		ha, _ := orig.MemorySha256()
		hb, _ := restored.MemorySha256()
		if ha != hb {
			t.Fatalf("message %d: memory differs after restore", i)
		}
	}
	// A snapshot of another size restores too (the fresh instance grows to fit).
	if _, err := e2.Restore(ctx, m2, Limits{MemoryLimit: 1 << 20}, mem); err == nil {
		t.Fatal("restore above the memory limit should fail")
	}
}

func TestMessageTooLargeForStack(t *testing.T) {
	ctx := context.Background()
	in := newTestInstance(t, newTestEngine(t, nil), "aoslike", Limits{})
	big := make([]byte, 3<<20) // 4 bytes per UTF-16 unit: 12 MiB on a 5 MiB stack
	for i := range big {
		big[i] = 'a'
	}
	r, err := in.Handle(ctx, msg("1", "Eval", "return 1 --"+string(big)), []byte(testEnv))
	if err != nil {
		t.Fatal(err)
	}
	if r.Error == "" {
		t.Fatal("a message larger than the stack was accepted")
	}
	r, err = in.Handle(ctx, msg("2", "Eval", "return 7"), []byte(testEnv))
	if err != nil || outputData(t, r) != "7" {
		t.Fatalf("%v %+v", err, r)
	}
}

// TestBootIsTheFirstBase: a new instance takes no copy of its memory (its base is its boot), and
// a failure before any snapshot boots a fresh instance that equals one that never saw it.
func TestBootIsTheFirstBase(t *testing.T) {
	ctx := context.Background()
	e := newTestEngine(t, nil)
	in := newTestInstance(t, e, "aoslike", Limits{})
	if st := in.Stats(); st.Snapshots != 0 {
		t.Fatalf("a new instance took %d snapshots, want 0 (its base is its boot)", st.Snapshots)
	}
	wantMem, wantN := memHex(newTestInstance(t, e, "aoslike", Limits{}))
	r, err := in.Handle(ctx, msg("e", "Eval", "x = 5 junk = string.rep('z', 4e6) error('boom')"), []byte(testEnv))
	if err != nil || r.Error == "" {
		t.Fatalf("the failing message: %v %+v", err, r)
	}
	if st := in.Stats(); st.Rebuilds != 1 {
		t.Fatalf("revert from the boot base: %+v, want one rebuild", st)
	}
	if gotMem, gotN := memHex(in); gotMem != wantMem || gotN != wantN {
		t.Fatalf("memory after the revert: %d bytes %s, a fresh instance: %d bytes %s", gotN, gotMem, wantN, wantMem)
	}
	r, err = in.Handle(ctx, msg("1", "Eval", "return tostring(x)"), []byte(testEnv))
	if err != nil || r.Error != "" || !strings.Contains(string(r.Output), "nil") {
		t.Fatalf("x after the reverted message: %v %+v", err, r)
	}
}

package ans104

import (
	"bytes"
	"runtime"
	"testing"
)

// FuzzParse: for any input, Parse does not panic, allocates in proportion to the input (a declared
// length or count can never make it allocate more than the bytes it was given), and whatever it
// accepts serialises back to exactly the input.
func FuzzParse(f *testing.F) {
	ed, _ := GenerateEd25519Signer()
	f.Add(testItem(f, ed).Bytes())
	bare := NewItem(nil, nil, nil, nil)
	_ = bare.Sign(ed)
	f.Add(bare.Bytes())
	f.Add([]byte{1, 0})
	f.Add(EncodeBundle([]*DataItem{bare}))
	lim := DefaultLimits()
	f.Fuzz(func(t *testing.T, in []byte) {
		// Each decoded tag costs a 32-byte header plus its bytes, and each tag takes at least two
		// input bytes: 17x the input bounds it, plus the fixed DataItem. TotalAlloc is process-wide
		// (the fuzzing engine allocates too), so the least of three runs is what Parse itself took.
		d, err := Parse(in, lim)
		if alloc := minAlloc(func() { _, _ = Parse(in, lim) }); alloc > 17*uint64(len(in))+4096 {
			t.Fatalf("Parse allocated %d bytes for a %d-byte input", alloc, len(in))
		}
		if err != nil {
			return
		}
		if !bytes.Equal(d.serialise(), in) {
			t.Fatal("accepted input does not serialise back to itself")
		}
		_ = d.Verify()
		_, _ = DecodeBundle(in, lim)
	})
}

func minAlloc(f func()) uint64 {
	least := ^uint64(0)
	for i := 0; i < 3; i++ {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		least = min(least, after.TotalAlloc-before.TotalAlloc)
	}
	return least
}

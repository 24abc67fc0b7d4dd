package runtime

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Benchmarks measure; they never pass or fail on time. Compare figures only within one run
// (see doc.go for the numbers and the commands).

const evalX = "x = (x or 0) + 1; return x"

// grow9MB grows the aos-like process to 9,175,040 bytes (140 pages), the memory of the aos
// module after 2,001 messages of this Eval in the reference loader.
const grow9MB = "t = {} for i = 1, 4000 do t[i] = string.rep('x', 400) .. i end return #t"

func benchEval(b *testing.B, every int) {
	ctx := context.Background()
	e := newTestEngine(b, func(c *Config) { c.SnapshotEvery = every })
	in := newTestInstance(b, e, "aoslike", Limits{})
	m := msg("1", "Eval", evalX)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := in.Handle(ctx, m, []byte(testEnv))
		if err != nil || r.Error != "" {
			b.Fatal(err, r)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msg/s")
	_, n := in.MemorySha256()
	b.ReportMetric(float64(n), "memory-bytes")
}

// BenchmarkEval: the chosen design, a base snapshot every DefaultSnapshotEvery messages.
func BenchmarkEval(b *testing.B) { benchEval(b, DefaultSnapshotEvery) }

// BenchmarkEvalSnapshotEvery: the cost of the base snapshot interval; every=1 is the design that
// copies the whole memory after every message.
func BenchmarkEvalSnapshotEvery(b *testing.B) {
	for _, every := range []int{1, 8, 32, 64} {
		b.Run(fmt.Sprintf("every=%d", every), func(b *testing.B) { benchEval(b, every) })
	}
}

// BenchmarkErrorRevert: an error message with a journal of k successful messages to replay.
func BenchmarkErrorRevert(b *testing.B) {
	for _, k := range []int{0, 8, 31, 63} {
		b.Run(fmt.Sprintf("journal=%d", k), func(b *testing.B) {
			ctx := context.Background()
			e := newTestEngine(b, nil)
			in := newTestInstance(b, e, "aoslike", Limits{})
			ok, bad := msg("1", "Eval", evalX), msg("2", "Eval", "error('x')")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for j := 0; j < k; j++ {
					if _, err := in.Handle(ctx, ok, []byte(testEnv)); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				if r, err := in.Handle(ctx, bad, []byte(testEnv)); err != nil || r.Error == "" {
					b.Fatal(err, r)
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	ctx := context.Background()
	wasm := testModule(b, "aoslike")
	b.Run("cold", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			e, err := NewEngine(ctx, Config{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.Compile(ctx, wasm, FormatEmscripten2); err != nil {
				b.Fatal(err)
			}
			_ = e.Close(ctx)
		}
	})
	b.Run("warm-disk-cache", func(b *testing.B) {
		dir := b.TempDir()
		prime, _ := NewEngine(ctx, Config{CacheDir: dir})
		if _, err := prime.Compile(ctx, wasm, FormatEmscripten2); err != nil {
			b.Fatal(err)
		}
		_ = prime.Close(ctx)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			e, err := NewEngine(ctx, Config{CacheDir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := e.Compile(ctx, wasm, FormatEmscripten2); err != nil {
				b.Fatal(err)
			}
			_ = e.Close(ctx)
		}
	})
}

// BenchmarkInstantiateBoot: instantiate plus the emscripten start-up (ctors, main: Lua boots).
func BenchmarkInstantiateBoot(b *testing.B) {
	ctx := context.Background()
	e := newTestEngine(b, nil)
	m, err := e.Compile(ctx, testModule(b, "aoslike"), FormatEmscripten2)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		in, err := e.Instantiate(ctx, m, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		_ = in.Close(ctx)
	}
}

// BenchmarkRestore: a new instance from a memory snapshot. The 9 MB image is the aos-like
// process grown to 9,175,040 bytes; the 64 MB one is the same image with 55 MB of free heap.
func BenchmarkRestore(b *testing.B) {
	ctx := context.Background()
	e := newTestEngine(b, nil)
	in := newTestInstance(b, e, "aoslike", Limits{})
	r, err := in.Handle(ctx, msg("1", "Eval", grow9MB), []byte(testEnv))
	if err != nil || r.Error != "" {
		b.Fatal(err, r)
	}
	img, _ := in.Snapshot()
	for _, size := range []int{len(img), 64 << 20} {
		full := make([]byte, size)
		copy(full, img)
		b.Run(fmt.Sprintf("%.1fMB", float64(size)/(1<<20)), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				r, err := e.Restore(ctx, in.mod, Limits{}, full)
				if err != nil {
					b.Fatal(err)
				}
				_ = r.Close(ctx)
			}
		})
	}
}

// BenchmarkMemoryCopy9MB: the cost of one full copy of a 9 MB memory, for scale.
func BenchmarkMemoryCopy9MB(b *testing.B) {
	src := make([]byte, 9175040)
	for i := range src {
		src[i] = byte(i * 7) // touched pages, not the shared zero page
	}
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		copy(dst, src)
	}
}

// BenchmarkUndoCost measures, in the same loop, what each way of keeping the memory from before
// a message costs per message: the evaluation itself, a full copy of the memory (the rejected
// design: copy before every message), and a journal append (the chosen design; plus a full copy
// every DefaultSnapshotEvery messages, i.e. copy/64 amortised).
func BenchmarkUndoCost(b *testing.B) {
	ctx := context.Background()
	e := newTestEngine(b, func(c *Config) { c.SnapshotEvery = 1 << 30 })
	in := newTestInstance(b, e, "aoslike", Limits{})
	// Grow the process to the 9,175,040 bytes of an aos process after 2,000 messages.
	if r, err := in.Handle(ctx, msg("0", "Eval", grow9MB), []byte(testEnv)); err != nil || r.Error != "" {
		b.Fatal(err, r)
	}
	m := msg("1", "Eval", evalX)
	buf := make([]byte, 0)
	var evalNs, copyNs, journalNs int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		r, reply, err := in.eval(ctx, m, []byte(testEnv), in.limits.Deadline)
		in.unlimitGas()
		t1 := time.Now()
		if err != nil || r.Error != "" {
			b.Fatal(err, r)
		}
		mem, _ := in.wm.Memory().Read(0, in.wm.Memory().Size())
		if cap(buf) < len(mem) {
			buf = make([]byte, len(mem))
		}
		copy(buf[:len(mem)], mem)
		t2 := time.Now()
		in.journal = append(in.journal[:0], journalEntry{msg: append([]byte(nil), m...), env: []byte(testEnv), reply: sha256.Sum256(reply)})
		t3 := time.Now()
		evalNs += t1.Sub(t0).Nanoseconds()
		copyNs += t2.Sub(t1).Nanoseconds()
		journalNs += t3.Sub(t2).Nanoseconds()
	}
	n := float64(b.N)
	b.ReportMetric(float64(evalNs)/n/1e3, "eval-µs")
	b.ReportMetric(float64(copyNs)/n/1e3, "fullcopy-µs")
	b.ReportMetric(float64(journalNs)/n/1e3, "journal-µs")
	b.ReportMetric(float64(copyNs)/float64(evalNs), "fullcopy/eval")
	b.ReportMetric(float64(in.wm.Memory().Size()), "memory-bytes")
}

// nodeShapedEnv and nodeShapedMsg are a message and env of the size a node hands the module (see
// compute.MessageJSON and compute.EnvJSON): signature, hash chain, the AO tags, the process's spawn
// tags. The aos-like module decodes both in Lua, so they cost about three times the minimal ones.
const nodeShapedEnv = `{"Process":{"Id":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ruPHWk","Owner":"iw3TZIr0FjCDuPZsZAyazfPzZVtE9z_8a6gHCSR2cqM","Tags":[{"name":"Data-Protocol","value":"ao"},{"name":"Variant","value":"ao.TN.1"},{"name":"Type","value":"Process"},{"name":"Module","value":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ruPHWk"},{"name":"Scheduler","value":"iw3TZIr0FjCDuPZsZAyazfPzZVtE9z_8a6gHCSR2cqM"}]},"Module":{"Id":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ruPHWk","Owner":"iw3TZIr0FjCDuPZsZAyazfPzZVtE9z_8a6gHCSR2cqM","Tags":[{"name":"Module-Format","value":"wasm32-unknown-emscripten2"}]}}`

func nodeShapedMsg(i int) []byte {
	return []byte(fmt.Sprintf(`{"Id":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ru%05d","Signature":"%s","Data":%q,"Owner":"iw3TZIr0FjCDuPZsZAyazfPzZVtE9z_8a6gHCSR2cqM","Anchor":null,"From":"iw3TZIr0FjCDuPZsZAyazfPzZVtE9z_8a6gHCSR2cqM","Target":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ruPHWk","Epoch":0,"Nonce":%d,"Timestamp":%d,"Block-Height":1500000,"Hash-Chain":"vPePQoUli9h1ebTW7vcbR24tkjX9QOVO6V8g8ruPHWk","Tags":[{"name":"Data-Protocol","value":"ao"},{"name":"Variant","value":"ao.TN.1"},{"name":"Type","value":"Message"},{"name":"Action","value":"Eval"}]}`,
		i%100000, strings.Repeat("A", 86), evalX, i+1, 1765050000000+i))
}

// BenchmarkEvalMessageShape: the same Eval as a minimal message and as the node hands it, on the
// aos-like Lua program built for wasm32 and for wasm64 (lowered to a 32-bit memory). Each instance
// evaluates at most 800 messages: the wasm64 build (emcc 3.1.6) fails after about 900 (every Eval
// after 886 identical ones is "control structure too long"; with node-shaped messages the 956th
// traps out of bounds), in the reference loader exactly as here, a bug of that build.
func BenchmarkEvalMessageShape(b *testing.B) {
	for _, mod := range []struct{ name, format string }{{"aoslike", FormatEmscripten2}, {"aoslike64", FormatWasm64}} {
		for _, shape := range []string{"minimal", "node"} {
			b.Run(mod.name+"/"+shape, func(b *testing.B) {
				ctx := context.Background()
				e := newTestEngine(b, nil)
				m, err := e.Compile(ctx, testModule(b, mod.name), mod.format)
				if err != nil {
					b.Fatal(err)
				}
				var in *Instance
				cpu0 := processCPU()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if i%800 == 0 {
						b.StopTimer()
						if in != nil {
							_ = in.Close(ctx)
						}
						if in, err = e.Instantiate(ctx, m, Limits{}); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
					}
					msgBytes, env := msg(fmt.Sprint(i%800), "Eval", evalX), []byte(testEnv)
					if shape == "node" {
						msgBytes, env = nodeShapedMsg(i%800), []byte(nodeShapedEnv)
					}
					if r, err := in.Handle(ctx, msgBytes, env); err != nil || r.Error != "" {
						b.Fatal(i, err, r)
					}
				}
				b.StopTimer()
				// CPU time, not only wall time: on a shared machine the wall clock also counts
				// waiting for a core (instantiations included: one per 800 messages).
				b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
				_ = in.Close(ctx)
			})
		}
	}
}

// processCPU is this process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

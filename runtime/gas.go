package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero/api"
)

// meterQuantum is how much gas a metered module may use between two visits to Go (the check
// below): about 0.2-0.4 ms of the aos-like module. Compiled WebAssembly cannot be preempted by
// the Go runtime, so a module that never returns to Go would hold up every stop-the-world
// (garbage collection) of the whole process; the quantum bounds that pause and is also how often
// the deadline is looked at.
const meterQuantum = 50_000_000

const maxGas = int64(^uint64(0) >> 1)

var (
	errOutOfGas = errors.New("out of gas!")
	errDeadline = errors.New("deadline exceeded")
)

// gasMeter counts the gas of a metered module as the reference loader does (used += n at every
// metered block, out of gas when used > limit, reset before each message).
//
// Inlined modules (wasmbin.InlineMeter) keep used and a soft limit in two of their own globals
// and call the metering.usegas import, bound here to check, only when used passes the soft
// limit. Other metered modules call usegas at every block and the count is kept here, in Go
// (about ten times slower: a Go call per block).
type gasMeter struct {
	inlined     bool
	i64         bool              // usegas takes an i64 (the wasm64 -metering format)
	used, soft  api.MutableGlobal // inlined: the module's globals
	goUsed      int64             // not inlined
	goSoft      int64
	hard        int64
	deadline    time.Time
	ctx         context.Context
	deadlineHit bool
	outOfGas    bool
}

func (g *gasMeter) get() int64 {
	if g.inlined {
		return int64(g.used.Get())
	}
	return g.goUsed
}

func (g *gasMeter) setSoft(v int64) {
	if g.inlined {
		g.soft.Set(uint64(v))
	} else {
		g.goSoft = v
	}
}

// start resets the count for a message.
func (g *gasMeter) start(ctx context.Context, limit uint64, deadline time.Time) {
	if g.inlined {
		g.used.Set(0)
	} else {
		g.goUsed = 0
	}
	g.hard = maxGas
	if limit < uint64(maxGas) {
		g.hard = int64(limit)
	}
	g.ctx, g.deadline, g.deadlineHit, g.outOfGas = ctx, deadline, false, false
	g.setSoft(min(g.hard, meterQuantum))
}

// unlimit lets the host's own calls into the module (stack API, malloc, boot) run unchecked.
func (g *gasMeter) unlimit() {
	g.hard, g.ctx = maxGas, nil
	g.setSoft(maxGas)
}

// usegas is the Go side of metering.usegas.
func (g *gasMeter) usegas(_ context.Context, _ api.Module, s []uint64) {
	if !g.inlined {
		if g.i64 {
			g.goUsed += int64(s[0])
		} else {
			g.goUsed += int64(int32(s[0]))
		}
		if g.goUsed <= g.goSoft {
			return
		}
	}
	g.check()
}

// check runs when the count passes the soft limit: out of gas, past the deadline, or a new quantum.
func (g *gasMeter) check() {
	used := g.get()
	if used > g.hard {
		g.outOfGas = true
		panic(errOutOfGas)
	}
	if g.ctx != nil && (g.ctx.Err() != nil || time.Now().After(g.deadline)) {
		g.deadlineHit = true
		panic(errDeadline)
	}
	g.setSoft(min(g.hard, used+meterQuantum))
}

package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// Engine is a wazero runtime with a compilation cache, shared by every instance it creates.
// It is safe for concurrent use; each Instance is not.
type Engine struct {
	cfg Config
	// rt runs metered modules. Their deadline is enforced through the meter (gas.go), which
	// returns to Go about every meterQuantum of gas; wazero's WithCloseOnContextDone instead
	// leaves the compiled code at every loop iteration and call, measured 5x slower on the
	// aos-like Lua module.
	rt wazero.Runtime
	// rtGuarded runs modules without metering, whose only bound on time is a context deadline.
	rtGuarded wazero.Runtime
	cache     wazero.CompilationCache
	// Stdio receives what modules write to stdout/stderr (nil: discarded).
	Stdio io.Writer

	mu      sync.Mutex
	modules map[[32]byte]*Module

	// gate keeps Close from releasing the runtimes under a running call: closing wazero while
	// compiled code runs is a SIGSEGV, not an error. Every call into module code enters the gate;
	// Close refuses new ones, cancels the running ones and waits for them.
	gate     sync.Mutex
	closing  bool
	inFlight sync.WaitGroup
	stop     context.Context
	stopNow  context.CancelFunc
}

// ErrEngineClosed is returned by calls into an engine that is closing or closed. An evaluation
// cut short by it has no result: it must be evaluated again by the next engine, never recorded.
var ErrEngineClosed = errors.New("runtime: engine closed")

// enter registers a call into module code. The returned context is also cancelled when Close
// starts (the meter and wazero's context checks stop the code at once); done must be called when
// the call has returned.
func (e *Engine) enter(ctx context.Context) (context.Context, func(), error) {
	e.gate.Lock()
	defer e.gate.Unlock()
	if e.closing {
		return nil, nil, ErrEngineClosed
	}
	e.inFlight.Add(1)
	cctx, cancel := context.WithCancel(ctx)
	unhook := context.AfterFunc(e.stop, cancel)
	return cctx, func() { unhook(); cancel(); e.inFlight.Done() }, nil
}

// Closing reports whether Close has started.
func (e *Engine) Closing() bool { return e.stop.Err() != nil }

// Module is a compiled module of a known format, shareable by many instances.
type Module struct {
	compiled wazero.CompiledModule
	rt       wazero.Runtime // the runtime compiled belongs to
	format   string
	gen      generation
	metered  bool
	// inlineMeter: the gas counter was inlined by wasmbin.InlineMeter (else inlineErr says why).
	inlineMeter bool
	inlineErr   error
	imports     []importFn
	meterI64    bool   // metering.usegas takes an i64 (wasm64 -metering)
	wasm64      bool   // a memory64 module, lowered (wasmbin.LowerMemory64); pointers are i64
	heapMax     uint64 // the glue's getHeapMax, capped by the module's declared maximum
	minBytes    uint64
	Hash        [32]byte // SHA-256 of the module binary

	mu     sync.Mutex
	bootSP uint64 // stack pointer between messages, learnt at the first boot
	booted bool
}

// Format returns the module format the module was compiled for.
func (m *Module) Format() string { return m.format }

// inlineMeter can be turned off by tests, to run the Go usegas path.
var inlineMeter = true

// MeterInlined reports whether the gas counter runs inline in the module's code, and if not, why.
func (m *Module) MeterInlined() (bool, error) { return m.inlineMeter, m.inlineErr }

// Metered reports whether the module imports metering.usegas (GasUsed and Compute-Limit apply).
func (m *Module) Metered() bool { return m.metered }

// NewEngine creates an engine. With cfg.CacheDir set, compiled machine code is cached on disk and
// reused by later engines (and processes) for the same module and wazero version.
func NewEngine(ctx context.Context, cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	rc := wazero.NewRuntimeConfig()
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		c, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("compilation cache %s: %w", cfg.CacheDir, err)
		}
		cache = c
		rc = rc.WithCompilationCache(c)
	}
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	rtGuarded := wazero.NewRuntimeWithConfig(ctx, rc.WithCloseOnContextDone(true))
	stop, stopNow := context.WithCancel(context.Background())
	return &Engine{cfg: cfg, rt: rt, rtGuarded: rtGuarded, cache: cache, modules: map[[32]byte]*Module{},
		stop: stop, stopNow: stopNow}, nil
}

// Close releases the runtime and every instance created by it. It first refuses new calls and
// cancels the running ones, and waits for them to return (bounded by ctx): if they have not by
// then, the runtimes are left open (the process is exiting; a crash would lose more) and Close
// says so.
func (e *Engine) Close(ctx context.Context) error {
	e.gate.Lock()
	e.closing = true
	e.gate.Unlock()
	e.stopNow()
	idle := make(chan struct{})
	go func() { e.inFlight.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-ctx.Done():
		return fmt.Errorf("runtime: engine left open, evaluations still running: %w", ctx.Err())
	}
	err := errors.Join(e.rt.Close(ctx), e.rtGuarded.Close(ctx))
	if e.cache != nil {
		err = errors.Join(err, e.cache.Close(ctx))
	}
	return err
}

// Config returns the engine's configuration, defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Compile validates the format and compiles the module (or returns the already compiled one).
func (e *Engine) Compile(ctx context.Context, wasm []byte, format string) (*Module, error) {
	if err := CheckFormat(format); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(wasm)
	e.mu.Lock()
	if m, ok := e.modules[sum]; ok && m.format == format {
		e.mu.Unlock()
		return m, nil
	}
	e.mu.Unlock()
	// Metered modules get their gas counter inlined when the rewrite understands the module;
	// otherwise metering.usegas is a Go function (the same gas, a Go call per basic block).
	m := &Module{rt: e.rt, format: format, gen: formatGeneration(format), Hash: sum}
	if meteredAtLoad(format) {
		metered, err := wasmbin.MeterReference(wasm, isWasm64(format))
		if err != nil {
			return nil, fmt.Errorf("%w %s: %v", ErrFormat, format, err)
		}
		wasm = metered
	}
	if isWasm64(format) {
		low, err := lowerWasm64(wasm)
		if err != nil {
			return nil, err
		}
		wasm, m.wasm64 = low, true
	}
	code, ierr := wasmbin.InlineMeter(wasm)
	if !inlineMeter {
		code, ierr = nil, errors.New("inlining disabled")
	}
	m.inlineMeter, m.inlineErr = ierr == nil, ierr
	if ierr != nil {
		code = wasm
	}
	cm, err := e.rt.CompileModule(ctx, code)
	if err != nil && m.inlineMeter {
		m.inlineMeter, m.inlineErr = false, fmt.Errorf("inlined module does not compile: %w", err)
		cm, err = e.rt.CompileModule(ctx, wasm)
	}
	if err != nil {
		return nil, fmt.Errorf("compile module: %w", err)
	}
	m.compiled = cm
	if err := m.inspect(); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	if !m.metered {
		// No meter: the deadline needs wazero's context-done checks in the compiled code.
		_ = cm.Close(ctx)
		if m.compiled, err = e.rtGuarded.CompileModule(ctx, wasm); err != nil {
			return nil, fmt.Errorf("compile module: %w", err)
		}
		m.rt, m.inlineMeter, m.inlineErr = e.rtGuarded, false, nil
	}
	e.mu.Lock()
	e.modules[sum] = m
	e.mu.Unlock()
	return m, nil
}

// inspect reads the module's imports and memory and checks they fit the format.
func (m *Module) inspect() error {
	mems := m.compiled.ExportedMemories()
	var memDef api.MemoryDefinition
	for _, d := range mems {
		memDef = d
	}
	if memDef == nil {
		return fmt.Errorf("%w: the module exports no memory", ErrFormat)
	}
	m.minBytes = uint64(memDef.Min()) << 16
	// The glue's getHeapMax: 500 MiB in the v1/v2 glue, 4 GiB - 64 KiB in v3/v4, 16 GiB in the
	// wasm64 glue (but a lowered memory stops at 4 GiB).
	m.heapMax = 524_288_000
	if m.gen >= genV3 {
		m.heapMax = 4_294_901_760
	}
	if m.wasm64 {
		m.heapMax = MaxWasm64Memory
	}
	if mx, ok := memDef.Max(); ok && uint64(mx)<<16 < m.heapMax {
		m.heapMax = uint64(mx) << 16
	}
	var missing []string
	for _, d := range m.compiled.ImportedFunctions() {
		mod, name, _ := d.Import()
		imp := importFn{module: mod, name: name, canonical: name, params: d.ParamTypes(), results: d.ResultTypes()}
		switch {
		case mod == "metering" && name == "usegas":
			if len(imp.params) != 1 || len(imp.results) != 0 ||
				(imp.params[0] != api.ValueTypeI32 && (imp.params[0] != api.ValueTypeI64 || !m.wasm64)) {
				return fmt.Errorf("%w: metering.usegas must be (i32) -> () (or (i64) -> () in wasm64), got %v -> %v", ErrFormat, imp.params, imp.results)
			}
			m.metered, m.meterI64 = true, imp.params[0] == api.ValueTypeI64
		case m.gen == genV1 && mod == "a":
			c, ok := minifiedImports[name]
			if !ok {
				missing = append(missing, mod+"."+name)
			}
			imp.canonical = c
		case m.gen == genV1:
			missing = append(missing, mod+"."+name)
		case mod != "env" && mod != "wasi_snapshot_preview1":
			missing = append(missing, mod+"."+name)
		}
		m.imports = append(m.imports, imp)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w %s: the module imports %s, which this format does not provide",
			ErrFormat, m.format, strings.Join(missing, ", "))
	}
	if m.compiled.ImportedMemories() != nil && len(m.compiled.ImportedMemories()) > 0 {
		return fmt.Errorf("%w: imported memories are not supported", ErrFormat)
	}
	if m.exportName("handle") == "" || !m.hasExport("handle") {
		return fmt.Errorf("%w %s: the module does not export handle", ErrFormat, m.format)
	}
	return nil
}

// exportName maps a readable export name to the name used by the module's format.
func (m *Module) exportName(name string) string {
	if m.gen == genV1 {
		if n, ok := minifiedExports[name]; ok {
			return n
		}
	}
	return name
}

func (m *Module) hasExport(name string) bool {
	_, ok := m.compiled.ExportedFunctions()[m.exportName(name)]
	return ok
}

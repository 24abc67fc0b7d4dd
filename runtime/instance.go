package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/sys"

	"github.com/actorweave/actorweave/runtime/internal/wasmbin"
)

// Instance is one live activation of a process: a wazero module instance booted the way the
// reference loader boots it, plus what is needed to undo a failed message. Not safe for
// concurrent use.
type Instance struct {
	eng    *Engine
	mod    *Module
	limits Limits

	wm    api.Module
	hosts map[string]api.Module
	gas   *gasMeter // nil for modules without metering
	host  *host
	fns   map[string]api.Function
	alive bool
	// leaf caches the stack API's functions and one call stack for them: they run on every
	// message and around every invoke_*, and are leaves (they call no host function), so one
	// stack serves them however deeply invokes nest.
	leaf leafCalls

	// Errors never advance state: base is the memory (and host state) after the last
	// checkpointed message, journal the successful messages since. See doc.go.
	base     []byte
	baseVars hostVars
	// baseBoot: the base is the state right after boot, not a copy. A revert boots a fresh
	// instance instead of writing a copy back (boot is deterministic), so an activation does not
	// copy its whole memory before its first message.
	baseBoot  bool
	journal   []journalEntry
	jBytes    int
	rebuilds  int
	snapshots int
}

type journalEntry struct {
	msg, env []byte
	reply    [32]byte // SHA-256 of the module's reply, checked on replay
}

// Stats are counters of the undo machinery, for tests and benchmarks.
type Stats struct {
	Snapshots int // base snapshots taken (full memory copies)
	Rebuilds  int // reverts that needed a fresh wazero instance
	Journal   int // messages in the replay journal now
}

// Stats returns the instance's counters.
func (in *Instance) Stats() Stats {
	return Stats{Snapshots: in.snapshots, Rebuilds: in.rebuilds, Journal: len(in.journal)}
}

// Instantiate creates an instance and runs the emscripten start-up sequence of the module's format.
func (e *Engine) Instantiate(ctx context.Context, m *Module, limits Limits) (*Instance, error) {
	ctx, done, err := e.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	in, err := e.newInstance(ctx, m, limits)
	if err != nil {
		return nil, err
	}
	if err := in.bootLimited(ctx); err != nil {
		in.closeModules(ctx)
		return nil, err
	}
	in.base, in.baseVars, in.baseBoot = nil, in.host.vars, true
	return in, nil
}

// bootLimited boots under the instance's compute limit and deadline: the start-up is module
// code too (the reference loader counts its gas against the same limit).
func (in *Instance) bootLimited(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, in.limits.Deadline)
	defer cancel()
	if in.gas != nil {
		in.gas.start(ctx, in.limits.ComputeLimit, time.Now().Add(in.limits.Deadline))
		defer in.gas.unlimit()
	}
	return in.boot(ctx)
}

// Restore creates an instance whose memory is mem (a Snapshot of an instance of the same module).
// Restore takes ownership of mem (it becomes the instance's base snapshot, reused later): the
// caller must not use it afterwards.
// Like the reference loader, the snapshot is memory only: globals and host state come from a
// fresh boot, so restoring boots the module once per Module and engine, and afterwards only
// instantiates it and sets the stack pointer to the value the boot left.
func (e *Engine) Restore(ctx context.Context, m *Module, limits Limits, mem []byte) (*Instance, error) {
	ctx, done, err := e.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	in, err := e.newInstance(ctx, m, limits)
	if err != nil {
		return nil, err
	}
	if err := in.restoreMemory(ctx, mem, freshVars()); err != nil {
		in.closeModules(ctx)
		return nil, err
	}
	in.base, in.baseVars = mem, in.host.vars // equal to the memory now: no second copy
	in.snapshots++
	return in, nil
}

func (e *Engine) newInstance(ctx context.Context, m *Module, limits Limits) (*Instance, error) {
	limits = limits.or(e.cfg.Limits)
	if m.minBytes > limits.MemoryLimit {
		return nil, fmt.Errorf("the module's initial memory (%d bytes) exceeds the memory limit (%d bytes)", m.minBytes, limits.MemoryLimit)
	}
	in := &Instance{eng: e, mod: m, limits: limits, fns: map[string]api.Function{}}
	in.host = &host{gen: m.gen, thisProgram: e.cfg.ThisProgram, memLimit: limits.MemoryLimit,
		heapMax: m.heapMax, stdio: e.Stdio, inst: in, pool: map[uint32][]api.Function{},
		vars: freshVars()}
	if err := in.instantiate(ctx); err != nil {
		return nil, err
	}
	return in, nil
}

// instantiate creates the wazero module instance (and its per-instance host modules).
func (in *Instance) instantiate(ctx context.Context) error {
	m := in.mod
	if m.metered {
		in.gas = &gasMeter{inlined: m.inlineMeter, i64: m.meterI64}
	}
	hosts, err := in.host.buildHostModules(ctx, m.rt, m.imports)
	if err != nil {
		return err
	}
	in.hosts = hosts
	rctx := experimental.WithMemoryAllocator(ctx, newMemoryAllocator(in.limits.MemoryLimit))
	rctx = experimental.WithImportResolver(rctx, func(name string) api.Module { return in.hosts[name] })
	wm, err := m.rt.InstantiateModule(rctx, m.compiled, wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		in.closeModules(ctx)
		return fmt.Errorf("instantiate module: %w", err)
	}
	in.wm = wm
	if m.inlineMeter {
		in.gas.used = wm.ExportedGlobal(wasmbin.GasUsedExport).(api.MutableGlobal)
		in.gas.soft = wm.ExportedGlobal(wasmbin.GasLimitExport).(api.MutableGlobal)
	}
	if in.gas != nil {
		in.gas.unlimit()
	}
	in.fns = map[string]api.Function{}
	in.leaf = leafCalls{}
	in.host.pool = map[uint32][]api.Function{}
	in.alive = true
	return nil
}

func (in *Instance) closeModules(ctx context.Context) {
	if in.wm != nil {
		_ = in.wm.Close(ctx)
		in.wm = nil
	}
	for _, h := range in.hosts {
		_ = h.Close(ctx)
	}
	in.hosts = nil
	for _, cm := range in.host.compiled {
		_ = cm.Close(ctx)
	}
	in.host.compiled = nil
	in.alive = false
}

// Close releases the instance.
func (in *Instance) Close(ctx context.Context) error {
	in.closeModules(ctx)
	in.base, in.journal = nil, nil
	// wazero keeps references to closed modules' functions (and so to the host closures that point
	// back here) longer than the instance lives: cut every link from them to this instance's memory
	// and function handles, so a closed instance costs nothing.
	in.fns, in.leaf = nil, leafCalls{}
	if in.host != nil {
		in.host.pool, in.host.stacks = nil, nil
		in.host.inst = nil
	}
	return nil
}

// export returns an exported function by readable name (nil if absent), cached.
func (in *Instance) export(name string) api.Function {
	if f, ok := in.fns[name]; ok {
		return f
	}
	f := in.wm.ExportedFunction(in.mod.exportName(name))
	in.fns[name] = f
	return f
}

func (in *Instance) call(ctx context.Context, name string, args ...uint64) ([]uint64, error) {
	f := in.export(name)
	if f == nil {
		return nil, fmt.Errorf("the module does not export %s", name)
	}
	return f.Call(ctx, args...)
}

func (in *Instance) mustCall(ctx context.Context, name string, args ...uint64) uint64 {
	r, err := in.call(ctx, name, args...)
	if err != nil {
		panic(err)
	}
	if len(r) > 0 {
		return r[0]
	}
	return 0
}

// The stack API has different names in the v4 glue.
// leafCalls are the stack API's exported functions, looked up once per wazero instance.
type leafCalls struct {
	save, restore, alloc api.Function
	stack                []uint64
}

// leafCall calls f (looked up by name into *slot the first time) with at most one argument and
// one result, through the instance's one leaf stack: no allocation per call.
func (in *Instance) leafCall(ctx context.Context, slot *api.Function, name string, arg uint64) uint64 {
	if *slot == nil {
		if *slot = in.export(name); *slot == nil {
			panic(fmt.Errorf("the module does not export %s", name))
		}
	}
	if in.leaf.stack == nil {
		in.leaf.stack = make([]uint64, 1)
	}
	in.leaf.stack[0] = arg
	if err := (*slot).CallWithStack(ctx, in.leaf.stack); err != nil {
		panic(err)
	}
	return in.leaf.stack[0]
}

func (in *Instance) stackSave(ctx context.Context) uint64 {
	if in.mod.gen >= genV4 {
		return in.leafCall(ctx, &in.leaf.save, "emscripten_stack_get_current", 0)
	}
	return in.leafCall(ctx, &in.leaf.save, "stackSave", 0)
}

func (in *Instance) stackRestore(ctx context.Context, sp uint64) {
	if in.mod.gen >= genV4 {
		in.leafCall(ctx, &in.leaf.restore, "_emscripten_stack_restore", sp)
		return
	}
	in.leafCall(ctx, &in.leaf.restore, "stackRestore", sp)
}

func (in *Instance) stackAlloc(ctx context.Context, n uint64) uint64 {
	if in.mod.gen >= genV4 {
		return in.leafCall(ctx, &in.leaf.alloc, "_emscripten_stack_alloc", n)
	}
	return in.leafCall(ctx, &in.leaf.alloc, "stackAlloc", n)
}

func (in *Instance) setThrew(ctx context.Context, threw, value uint64) {
	in.mustCall(ctx, "setThrew", threw, value)
}

func (in *Instance) mallocString(ctx context.Context, s string) uint32 {
	p := uint32(in.mustCall(ctx, "malloc", uint64(len(s)+1)))
	mem := in.wm.Memory()
	mem.WriteString(p, s)
	mem.WriteByte(p+uint32(len(s)), 0)
	return p
}

// unlimitGas lifts the gas limit for the host's own calls into the module (stack API, malloc,
// boot), which must not fail because the message before them ran out of gas.
func (in *Instance) unlimitGas() {
	if in.gas != nil {
		in.gas.unlimit()
	}
}

func (in *Instance) gasUsed() uint64 {
	if in.gas == nil {
		return 0
	}
	return uint64(in.gas.get())
}

// boot runs the start-up sequence of the reference glue for the module's format.
func (in *Instance) boot(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("boot: %v", r)
		}
	}()
	gen := in.mod.gen
	mem := in.wm.Memory()
	if gen >= genV2 && in.export("emscripten_stack_init") != nil {
		in.mustCall(ctx, "emscripten_stack_init")
		if in.export("emscripten_stack_get_end") != nil {
			end := uint32(in.mustCall(ctx, "emscripten_stack_get_end"))
			if gen >= genV3 && end == 0 {
				end = 4
			}
			mem.WriteUint32Le(end, stackCookie)
			mem.WriteUint32Le(end+4, 0x89BACDFE)
			if gen == genV2 || in.mod.wasm64 { // the wasm64 glue's writeStackCookie does too
				mem.WriteUint32Le(0, 0x63736d65) // 'emsc'
			}
		}
	}
	if _, err := in.call(ctx, "__wasm_call_ctors"); err != nil {
		return fmt.Errorf("boot: __wasm_call_ctors: %w", err)
	}
	if in.export("main") != nil && gen <= genV3 {
		var argc, argv uint64
		if gen == genV2 {
			// callMain: argv = [thisProgram, NULL] on the stack, never popped.
			argc = 1
			argv = in.stackAlloc(ctx, 8)
			s := in.host.thisProgram
			p := uint32(in.stackAlloc(ctx, uint64(len(s)+1))) // allocateUTF8OnStack: exact UTF-8 size
			mem.WriteString(p, s)
			mem.WriteByte(p+uint32(len(s)), 0)
			mem.WriteUint32Le(uint32(argv), p)
			mem.WriteUint32Le(uint32(argv)+4, 0)
		}
		if _, err := in.call(ctx, "main", argc, argv); err != nil {
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 0 {
				return fmt.Errorf("boot: main: %w", err)
			}
		}
		if gen == genV2 && in.export("fflush") != nil {
			if _, err := in.call(ctx, "fflush", 0); err != nil {
				return fmt.Errorf("boot: fflush: %w", err)
			}
		}
	}
	sp := in.stackSave(ctx)
	in.mod.mu.Lock()
	if !in.mod.booted {
		in.mod.booted, in.mod.bootSP = true, sp
	}
	in.mod.mu.Unlock()
	return nil
}

// freshVars is the host state of a new instance.
func freshVars() hostVars { return hostVars{dateCounter: 10000} }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// restoreMemory makes the live instance's memory equal to img, with host state vars. The current
// wazero instance is reused when it is alive and its memory has img's size; otherwise a fresh
// instance is created (memories cannot shrink, and a deadline closes the instance).
func (in *Instance) restoreMemory(ctx context.Context, img []byte, vars hostVars) error {
	m := in.mod
	m.mu.Lock()
	booted, sp := m.booted, m.bootSP
	m.mu.Unlock()
	if !booted {
		// Learn the stack pointer between messages from one real boot.
		if err := in.bootLimited(ctx); err != nil {
			return err
		}
		m.mu.Lock()
		sp = m.bootSP
		m.mu.Unlock()
	} else if !in.alive || uint64(in.wm.Memory().Size()) != uint64(len(img)) {
		in.rebuilds++
		in.closeModules(ctx)
		if err := in.instantiate(ctx); err != nil {
			return err
		}
		if m.gen >= genV2 && in.export("emscripten_stack_init") != nil {
			if _, err := in.call(ctx, "emscripten_stack_init"); err != nil {
				return err
			}
		}
	}
	mem := in.wm.Memory()
	if cur := uint64(mem.Size()); cur < uint64(len(img)) {
		if _, ok := mem.Grow(uint32((uint64(len(img)) - cur + 65535) >> 16)); !ok {
			return fmt.Errorf("restore: cannot grow memory to %d bytes", len(img))
		}
	}
	if uint64(mem.Size()) != uint64(len(img)) {
		return fmt.Errorf("restore: memory is %d bytes, snapshot %d", mem.Size(), len(img))
	}
	if !mem.Write(0, img) {
		return errors.New("restore: memory write failed")
	}
	in.host.vars = vars
	var err error
	func() {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("restore: %v", r)
			}
		}()
		in.stackRestore(ctx, sp)
	}()
	return err
}

// rebase takes a new base snapshot and empties the journal.
func (in *Instance) rebase() {
	mem := in.wm.Memory()
	buf, _ := mem.Read(0, mem.Size())
	if cap(in.base) >= len(buf) {
		in.base = in.base[:len(buf)]
	} else {
		in.base = make([]byte, len(buf))
	}
	copy(in.base, buf)
	in.baseVars, in.baseBoot = in.host.vars, false
	in.journal = in.journal[:0]
	in.jBytes = 0
	in.snapshots++
}

// Snapshot returns a copy of the whole linear memory and its SHA-256.
func (in *Instance) Snapshot() ([]byte, [32]byte) {
	// Memory is unmapped when the engine closes: read it only inside the gate (nil once closing).
	_, done, err := in.eng.enter(context.Background())
	if err != nil || in.wm == nil {
		return nil, [32]byte{}
	}
	defer done()
	mem := in.wm.Memory()
	buf, _ := mem.Read(0, mem.Size())
	out := make([]byte, len(buf))
	copy(out, buf)
	return out, sha256.Sum256(out)
}

// MemoryCopy returns a copy of the linear memory without Snapshot's hash (for throwaway
// instances: dry-runs), or nil once the engine is closing.
func (in *Instance) MemoryCopy() []byte {
	_, done, err := in.eng.enter(context.Background())
	if err != nil || in.wm == nil {
		return nil
	}
	defer done()
	buf, _ := in.wm.Memory().Read(0, in.wm.Memory().Size())
	return append([]byte(nil), buf...)
}

// MemoryBytes returns the size of the linear memory.
func (in *Instance) MemoryBytes() int { return int(in.wm.Memory().Size()) }

// MemorySha256 returns the SHA-256 of the whole linear memory and its size, without a copy.
func (in *Instance) MemorySha256() ([32]byte, int) {
	mem := in.wm.Memory()
	buf, _ := mem.Read(0, mem.Size())
	return sha256.Sum256(buf), len(buf)
}

// Handle evaluates one message (msg and env are the JSON the module's handle receives). A message
// that errors, traps, runs out of gas, memory or time yields a Result with Error, and the
// instance continues from its memory before the message. A non-nil error means the instance is
// no longer usable (e.g. a replay diverged).
func (in *Instance) Handle(ctx context.Context, msg, env []byte) (*Result, error) {
	if in.wm == nil {
		return nil, errors.New("instance is closed")
	}
	ctx, done, err := in.eng.enter(ctx)
	if err != nil {
		return nil, err
	}
	defer done()
	in.host.ceilingHit = false
	res, reply, err := in.eval(ctx, msg, env, in.limits.Deadline)
	if in.eng.Closing() {
		// Cut short by Close: not the message's result; the instance is not to be used again.
		in.closeModules(context.WithoutCancel(ctx))
		return nil, ErrEngineClosed
	}
	in.unlimitGas()
	if in.host.ceilingHit { // wasm64 over 4 GiB: never a different success, never an advance
		res, err = &Result{Error: ErrMemoryCeiling, GasUsed: in.gasUsed()}, nil
	}
	if err == nil && res.Error == "" {
		if size := uint64(in.wm.Memory().Size()); size > in.limits.MemoryLimit {
			res = &Result{Error: fmt.Sprintf("memory limit exceeded: %d bytes > %d", size, in.limits.MemoryLimit), GasUsed: res.GasUsed}
		} else {
			in.record(msg, env, reply)
			return res, nil
		}
	}
	if err != nil {
		var ee *evalError
		res = &Result{Error: err.Error(), GasUsed: in.gasUsed(), Unavailable: errors.As(err, &ee) && ee.unavailable}
	}
	if rerr := in.revert(ctx); rerr != nil {
		in.closeModules(ctx)
		return nil, fmt.Errorf("revert after a failed message: %w", rerr)
	}
	return res, nil
}

// Replay evaluates again a message whose result is already known, to rebuild memory (an
// activation after a checkpoint, an instance rebuilt after a failure). Its answer is not needed;
// what matters is that memory advances exactly as the first time: a message that cannot be
// evaluated now (a WeaveDrive read unavailable) is ErrDriveUnavailable, and the caller must stop
// rebuilding, since memory past it would not be the log's.
func (in *Instance) Replay(ctx context.Context, msg, env []byte) error {
	res, err := in.Handle(ctx, msg, env)
	if err != nil {
		return err
	}
	if res.Unavailable {
		return fmt.Errorf("%w: %s", ErrDriveUnavailable, res.Error)
	}
	return nil
}

func (in *Instance) record(msg, env, reply []byte) {
	in.journal = append(in.journal, journalEntry{msg: append([]byte(nil), msg...), env: append([]byte(nil), env...), reply: sha256.Sum256(reply)})
	in.jBytes += len(msg) + len(env)
	if len(in.journal) >= in.eng.cfg.SnapshotEvery || in.jBytes >= in.eng.cfg.JournalBytes {
		in.rebase()
	}
}

// revert restores the base snapshot, replays the journal and takes a new base.
func (in *Instance) revert(ctx context.Context) error {
	if in.baseBoot {
		if err := in.reboot(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	} else if err := in.restoreMemory(ctx, in.base, in.baseVars); err != nil {
		return err
	}
	for i, j := range in.journal {
		// These messages finished within the deadline once; a replay on a loaded machine gets
		// more room rather than failing the instance.
		res, reply, err := in.eval(context.WithoutCancel(ctx), j.msg, j.env, replayDeadlineFactor*in.limits.Deadline)
		in.unlimitGas()
		if err != nil {
			return fmt.Errorf("replay of journal entry %d: %w", i, err)
		}
		if res.Error != "" || sha256.Sum256(reply) != j.reply {
			return fmt.Errorf("replay of journal entry %d diverged (non-deterministic module or host)", i)
		}
	}
	// The reference CU drops an instance after an error and continues in a fresh one: the host
	// state the module can observe (tzset done, the v3/v4 date counter) starts afresh too.
	in.host.vars = freshVars()
	in.rebase()
	return nil
}

// reboot replaces the wazero instance with a freshly booted one: the base of an instance whose
// base is its boot (baseBoot). Boot is deterministic, so memory and host state equal what the
// first boot left.
func (in *Instance) reboot(ctx context.Context) error {
	in.rebuilds++
	in.closeModules(ctx)
	if err := in.instantiate(ctx); err != nil {
		return err
	}
	return in.bootLimited(ctx)
}

// replayDeadlineFactor multiplies the deadline of replayed journal messages.
const replayDeadlineFactor = 10

// evalError is a failure of the evaluation itself (trap, gas, deadline); it becomes Result.Error.
type evalError struct {
	msg         string
	unavailable bool // a WeaveDrive read failed for a reason outside the process
}

func (e *evalError) Error() string { return e.msg }

// Unwrap makes an unavailable failure errors.Is ErrDriveUnavailable (a revert whose journal replay
// met one reports it so).
func (e *evalError) Unwrap() error {
	if e.unavailable {
		return ErrDriveUnavailable
	}
	return nil
}

// eval runs handle once: strings on the stack as the glue's ccall does, metering reset, deadline.
func (in *Instance) eval(ctx context.Context, msg, env []byte, deadline time.Duration) (res *Result, reply []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	if !utf8.Valid(msg) || !utf8.Valid(env) {
		return nil, nil, &evalError{msg: "message or env is not valid UTF-8"}
	}
	in.host.wd.beginMessage(msg)
	defer in.host.wd.endMessage()
	defer func() {
		if r := recover(); r != nil {
			if de, ok := r.(*driveError); ok {
				err = in.classify(ctx, de)
			} else {
				err = in.classify(ctx, fmt.Errorf("%v", r))
			}
			res, reply = nil, nil
		}
	}()
	// The stack end is read before the meter is reset: the call is metered, and the reference
	// charges only what its ccall does (stackSave, stackAlloc, handle, stackRestore).
	var stackEnd uint64
	hasEnd := in.export("emscripten_stack_get_end") != nil
	if hasEnd {
		stackEnd = in.mustCall(ctx, "emscripten_stack_get_end")
	}
	if in.gas != nil {
		in.gas.start(ctx, in.limits.ComputeLimit, time.Now().Add(deadline))
	}
	sp := in.stackSave(ctx)
	size := func(b []byte) uint64 {
		if in.mod.gen <= genV2 {
			return uint64(4*utf16Len(string(b)) + 1)
		}
		return uint64(len(b) + 1)
	}
	need := size(msg) + size(env) + 64
	if hasEnd && (sp < stackEnd || sp-stackEnd < need) {
		return nil, nil, &evalError{msg: fmt.Sprintf("message too large for the module's stack: needs %d bytes, %d free", need, sp-stackEnd)}
	}
	mem := in.wm.Memory()
	put := func(b []byte) uint64 {
		p := in.stackAlloc(ctx, size(b))
		mem.Write(uint32(p), b)
		mem.WriteByte(uint32(p)+uint32(len(b)), 0)
		return p
	}
	msgPtr := put(msg)
	envPtr := put(env)
	r, cerr := in.call(ctx, "handle", msgPtr, envPtr)
	if cerr != nil {
		return nil, nil, in.classify(ctx, cerr)
	}
	reply = []byte(readCString(mem, uint32(r[0]), mem.Size()))
	in.stackRestore(ctx, sp)
	res = parseReply(reply)
	res.GasUsed = in.gasUsed()
	return res, reply, nil
}

// classify turns a failed call into the message's Error text.
func (in *Instance) classify(ctx context.Context, err error) error {
	var ee *sys.ExitError
	if de := (*driveError)(nil); errors.As(err, &de) && de.unavailable {
		if ctx.Err() != nil {
			in.alive = false // wazero may have closed the module
		}
		return &evalError{msg: de.msg, unavailable: true}
	}
	switch {
	case in.gas != nil && in.gas.deadlineHit:
		return &evalError{msg: fmt.Sprintf("deadline exceeded: the message ran longer than %s", in.limits.Deadline)}
	case in.gas != nil && (in.gas.outOfGas || in.gas.get() > in.gas.hard):
		return &evalError{msg: "out of gas!"}
	case errors.As(err, &ee) && (ee.ExitCode() == sys.ExitCodeDeadlineExceeded || ee.ExitCode() == sys.ExitCodeContextCanceled),
		ctx.Err() != nil:
		in.alive = false // wazero closed the module
		return &evalError{msg: fmt.Sprintf("deadline exceeded: the message ran longer than %s", in.limits.Deadline)}
	case errors.Is(err, errAbort):
		return &evalError{msg: "aborted: the module called abort()"}
	}
	var de *driveError
	if errors.As(err, &de) {
		return &evalError{msg: de.msg}
	}
	var ex exitError
	if errors.As(err, &ex) {
		return &evalError{msg: ex.Error()}
	}
	return &evalError{msg: firstLine(err.Error())}
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}

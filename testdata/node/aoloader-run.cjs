// aoloader-run.cjs: runs a module in the reference loader (@permaweb/ao-loader) the way
// `actorweave eval` runs it in actorweave, so the two can be compared line by line.
//
// Options come from the environment, not the command line, because the reference glue passes
// node's command-line arguments (process.argv.slice(2)) to the module's main() on the C stack,
// which changes the stack and so Lua's string-hash seed, the heap layout and the gas count.
//
//   AW_MODULE=F AW_FORMAT=FMT [AW_ENV=FILE] [AW_COMPUTE_LIMIT=N] node aoloader-run.cjs < messages.jsonl
//     prints one JSON line per message: {Output, Messages, Spawns, Assignments, Error, GasUsed,
//     MemorySha256, MemoryBytes}. As in a CU, a message that errors (a throw, or a result with
//     Error) does not advance memory: the next message starts from the memory before it, and
//     after a throw in a fresh loader instance.
//   AW_MODULE=F AW_FORMAT=FMT AW_BENCH=N [AW_UNSAFE_MEMORY=1] [AW_BENCH_DATA=LUA] node aoloader-run.cjs
//     evaluates N messages `Eval x = (x or 0) + 1; return x` (or AW_BENCH_DATA) and prints {mode, n, seconds, rate,
//     cpuSeconds, cpuRate} (wall clock and CPU time of the node process around the loop).
//     Default mode passes the previous Memory back in (as the loader tests and the CU do);
//     AW_UNSAFE_MEMORY=1 uses UNSAFE_MEMORY and passes null.
'use strict'
// The loader replaces Date.now/performance.now/process.hrtime with counters; keep a real clock.
const hrtime = process.hrtime.bigint.bind(process.hrtime)
const fs = require('fs')
const crypto = require('crypto')
const readline = require('readline')

function options (env) {
  const o = {
    module: env.AW_MODULE,
    format: env.AW_FORMAT,
    env: env.AW_ENV || null,
    computeLimit: env.AW_COMPUTE_LIMIT ? Number(env.AW_COMPUTE_LIMIT) : undefined,
    bench: env.AW_BENCH ? Number(env.AW_BENCH) : 0,
    unsafe: env.AW_UNSAFE_MEMORY === '1',
    benchData: env.AW_BENCH_DATA || 'x = (x or 0) + 1; return x'
  }
  if (process.argv.length > 2) { console.error('options are environment variables (AW_MODULE, AW_FORMAT, ...), not arguments'); process.exit(2) }
  if (!o.module || !o.format) { console.error('AW_MODULE and AW_FORMAT are required'); process.exit(2) }
  return o
}

const DEFAULT_ENV = { Process: { Id: 'PROCESS', Owner: 'OWNER', Tags: [] } }

function errorString (e) {
  if (typeof e === 'string') return e
  if (e instanceof Error) return e.message
  return JSON.stringify(e)
}

// The module's stdout/stderr (console.log etc. in the glue) must not mix with the result lines.
const toStderr = (...a) => { process.stderr.write(a.map(String).join(' ') + '\n') }
console.log = toStderr
console.info = toStderr
console.warn = toStderr

async function main () {
  const o = options(process.env)
  const AoLoader = require('@permaweb/ao-loader')
  const wasm = fs.readFileSync(o.module)
  const env = o.env ? JSON.parse(fs.readFileSync(o.env, 'utf8')) : DEFAULT_ENV
  const opts = { format: o.format, computeLimit: o.computeLimit }
  if (o.unsafe) opts.UNSAFE_MEMORY = true
  let handle = await AoLoader(wasm, opts)

  if (o.bench > 0) {
    const owner = env.Process.Owner
    let mem = null
    const cpu0 = process.cpuUsage()
    const start = hrtime()
    for (let i = 0; i < o.bench; i++) {
      const msg = { Id: String(i), Owner: owner, From: owner, Target: env.Process.Id, Module: 'MODULE', Timestamp: '0', 'Block-Height': '0', Tags: [{ name: 'Action', value: 'Eval' }], Data: o.benchData }
      const r = await handle(o.unsafe ? null : mem, msg, env)
      if (r.Error) throw new Error('bench message errored: ' + errorString(r.Error))
      if (!o.unsafe) mem = r.Memory
    }
    const seconds = Number(hrtime() - start) / 1e9
    const cpu = process.cpuUsage(cpu0)
    const cpuSeconds = (cpu.user + cpu.system) / 1e6
    process.stdout.write(JSON.stringify({ mode: o.unsafe ? 'ao-loader UNSAFE_MEMORY' : 'ao-loader default', n: o.bench, seconds, rate: o.bench / seconds, cpuSeconds, cpuRate: o.bench / cpuSeconds }) + '\n')
    return
  }

  let mem = null
  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of rl) {
    if (line.trim() === '') continue
    const msg = JSON.parse(line)
    let out
    try {
      const r = await handle(mem, msg, env)
      const memory = Buffer.from(r.Memory)
      out = { Output: r.Output, Messages: r.Messages, Spawns: r.Spawns, Assignments: r.Assignments, Error: r.Error === undefined ? undefined : errorString(r.Error), GasUsed: r.GasUsed }
      if (r.Error === undefined || r.Error === null || r.Error === '') mem = memory
      else out.Error = errorString(r.Error)
    } catch (e) {
      out = { Error: errorString(e) }
      // As the CU does, drop the instance after a throw and continue in a fresh one from the
      // memory before the message (the old one may have its stack pointer left mid-call).
      handle = await AoLoader(wasm, opts)
    }
    const cur = mem || Buffer.alloc(0)
    out.MemorySha256 = crypto.createHash('sha256').update(cur).digest('hex')
    out.MemoryBytes = cur.length
    process.stdout.write(JSON.stringify(out) + '\n')
  }
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1) })

// meter.cjs IN OUT [i32|i64]: rewrites a WebAssembly module with @permaweb/wasm-metering (the reference
// loader's own load-time metering, an i32 meter unless i64 is given, as for wasm64) so that it imports metering.usegas and charges gas at
// every basic block, as the pre-metered aos builds do. Used by scripts/deps.d/20-wasm-modules.sh.
'use strict'
const fs = require('fs')
const metering = require('@permaweb/wasm-metering')
const [input, output, meterType = 'i32'] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node meter.cjs IN.wasm OUT.wasm [i32|i64]')
  process.exit(2)
}
const metered = metering.meterWASM(fs.readFileSync(input), { meterType })
fs.writeFileSync(output, Buffer.from(metered))

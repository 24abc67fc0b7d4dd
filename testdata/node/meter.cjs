// meter.cjs IN OUT: rewrites a WebAssembly module with @permaweb/wasm-metering (the reference
// loader's own load-time metering, i32 meter) so that it imports metering.usegas and charges gas at
// every basic block, as the pre-metered aos builds do. Used by scripts/deps.d/20-wasm-modules.sh.
'use strict'
const fs = require('fs')
const metering = require('@permaweb/wasm-metering')
const [input, output] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node meter.cjs IN.wasm OUT.wasm')
  process.exit(2)
}
const metered = metering.meterWASM(fs.readFileSync(input), { meterType: 'i32' })
fs.writeFileSync(output, Buffer.from(metered))

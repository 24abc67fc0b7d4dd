// Interop oracle for the Go ans104 tests (ans104/interop_node_test.go).
//   node arbundles-interop.cjs sign   < {"jwk": {...}, "ethKey": "<hex>", "edSeed": "<hex>"}
//       prints a JSON array of {signer, type, id, raw (base64)} made by arbundles' signers (the
//       @dha-team/arbundles release that aoconnect 0.0.98 depends on).
//   node arbundles-interop.cjs verify < one base64 data item per line
//       prints one JSON line per item: {id, valid} as arbundles' DataItem.verify sees it.
const { ArweaveSigner, EthereumSigner, Curve25519, createData, DataItem } = require('@dha-team/arbundles')
const ed = require('@noble/ed25519')

class Ed25519Signer extends Curve25519 {
  constructor (seed, pub) { super(seed, pub); this._publicKey = Buffer.from(pub) }
  get key () { return this._key }
}

async function readStdin () {
  const chunks = []
  for await (const c of process.stdin) chunks.push(c)
  return Buffer.concat(chunks).toString()
}

const tags = [
  { name: 'Data-Protocol', value: 'ao' }, { name: 'Type', value: 'Message' },
  { name: 'Variant', value: 'ao.TN.1' }, { name: 'Action', value: 'Eval' }, { name: 'Unicode', value: 'héllo ✓' }
]
const target = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'
const anchor = '00000000000000000000000000000042'

async function sign (input) {
  const out = []
  const seed = Buffer.from(input.edSeed, 'hex')
  const signers = {
    arweave: new ArweaveSigner(input.jwk),
    ethereum: new EthereumSigner(input.ethKey),
    ed25519: new Ed25519Signer(seed, await ed.getPublicKey(seed))
  }
  for (const [name, signer] of Object.entries(signers)) {
    for (const [i, data] of ['return 1 + 1', '', 'x'.repeat(5000)].entries()) {
      const item = createData(data, signer, i === 1 ? { tags: [] } : { tags, target, anchor })
      await item.sign(signer)
      out.push({ signer: name, type: item.signatureType, id: item.id, raw: Buffer.from(item.getRaw()).toString('base64') })
    }
  }
  process.stdout.write(JSON.stringify(out))
}

async function verify (text) {
  for (const line of text.split('\n').filter(Boolean)) {
    const item = new DataItem(Buffer.from(line, 'base64'))
    let valid = false
    try { valid = await DataItem.verify(item.getRaw()) } catch (e) { valid = false }
    process.stdout.write(JSON.stringify({ id: item.id, valid }) + '\n')
  }
}

(async () => {
  const mode = process.argv[2]
  const text = await readStdin()
  if (mode === 'sign') await sign(JSON.parse(text))
  else if (mode === 'verify') await verify(text)
  else throw new Error('usage: arbundles-interop.cjs sign|verify')
})().catch(e => { console.error(e); process.exit(1) })

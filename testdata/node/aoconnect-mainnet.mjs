// aoconnect-mainnet.mjs: drives actorweave nodes with the unmodified @permaweb/aoconnect in
// MODE 'mainnet' (the AO-Core / HyperBEAM interface aos 2.x uses), imported as ESM (the CommonJS
// build cannot start mainnet mode). The Go test e2e/mainnet_test.go starts the node(s), publishes
// the module and runs this script; it asserts on the JSON summary printed on stdout.
//
// Environment:
//   AW_URLS      comma-separated node URLs; verbs are spread over them (one URL: one node)
//   AW_WALLET    an RSA JWK file (an Arweave wallet)
//   AW_WALLET2   a second RSA JWK file (a stranger, not the process owner)
//   AW_MODULE    the module id (a Module item the nodes hold)
//   AW_AUTHORITY optional: the Authority to spawn with (members that sign with different keys)
//
// No SCHEDULER is given: spawn reads it from GET /~meta@1.0/info/address, and the Authority
// defaults to it, as aos 2.x does. Progress goes to stderr; stdout is one JSON object.
import { readFileSync } from 'node:fs'
import { connect, createSigner } from '@permaweb/aoconnect'
import { connect as schedulerUtils } from '@permaweb/ao-scheduler-utils'

function need (name) {
  const v = process.env[name]
  if (!v) {
    console.error(`aoconnect-mainnet: ${name} is not set`)
    process.exit(2)
  }
  return v
}

const urls = need('AW_URLS').split(',')
const jwk = JSON.parse(readFileSync(need('AW_WALLET'), 'utf8'))
const jwk2 = JSON.parse(readFileSync(need('AW_WALLET2'), 'utf8'))
const module = need('AW_MODULE')
const authority = process.env.AW_AUTHORITY || undefined
const signer = createSigner(jwk)
const stranger = createSigner(jwk2)
const aos = urls.map((URL) => connect({ MODE: 'mainnet', URL, signer }))
const pick = (i) => aos[i % aos.length] // verb i goes to node i mod n
const log = (...a) => console.error('aoconnect-mainnet:', ...a)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const evalOutput = (r) => r?.Output?.data?.output
const errText = (e) => String(e?.message ?? e)

// trustCheck is aos 2.x's ao.isTrusted, installed into an aos-like process by an owner's Eval (the
// process program is Lua the owner may change, as with aos): a message is handled only if it comes
// straight from a wallet (From == Owner) or its signer is one of the process's Authority addresses;
// any other is answered "not trusted" and reaches neither a handler nor the Inbox.
const trustCheck = `
local inner = handle
local function authorities (p)
  local out = {}
  for _, t in ipairs((p or {}).Tags or {}) do
    if t.name == 'Authority' then for a in string.gmatch(t.value, '[^,%s]+') do out[#out + 1] = a end end
  end
  return out
end
function handle (msgJSON, envJSON)
  local msg, env = json.decode(msgJSON), json.decode(envJSON)
  local trusted = msg.From == msg.Owner
  for _, a in ipairs(authorities(env.Process)) do trusted = trusted or msg.Owner == a end
  if not trusted then
    return json.encode({ ok = true, response = { Output = { data = 'Message is not trusted by this process! From: ' .. tostring(msg.From) .. ' - Owner: ' .. tostring(msg.Owner), print = true },
      Messages = json.newarray(), Spawns = json.newarray(), Assignments = json.newarray() } })
  end
  return inner(msgJSON, envJSON)
end
return 'trust check installed'`

const summary = { nodes: urls.length }

// spawn (node 0), message (node 1) returning the slot, result by slot (node 2) and by id (node 0).
const a = await pick(0).spawn({ module, authority, tags: [{ name: 'Name', value: 'mainnet-a' }], data: 'mainnet-a' })
log('spawned A', a)
summary.processA = a
const slot = await pick(1).message({ process: a, tags: [{ name: 'Action', value: 'Eval' }], data: 'x = 6 * 7; return x' })
summary.messageSlot = slot
summary.resultBySlot = evalOutput(await pick(2).result({ process: a, slot }))
const sent = await pick(1).message({ process: a, tags: [{ name: 'Action', value: 'Eval' }], data: 'return x + 1', returnMessageId: true, returnAssignmentSlot: true })
summary.secondSlot = sent.slot
summary.secondId = sent.id
summary.resultById = evalOutput(await pick(0).result({ process: a, message: sent.id }))
// results: the current slot's result.
const page = await pick(2).results({ process: a })
summary.resultsCursor = page.edges[0]?.cursor
summary.resultsOutput = evalOutput(page.edges[0]?.node)
// dryrun: sees the state, does not change it.
summary.dryrunOutput = evalOutput(await pick(1).dryrun({ process: a, tags: [{ name: 'Action', value: 'Eval' }], data: 'return x * 10' }))
const after = await pick(0).message({ process: a, tags: [{ name: 'Action', value: 'Eval' }], data: 'return x' })
summary.afterDryrunOutput = evalOutput(await pick(0).result({ process: a, slot: after }))

// Process to process, with aos's trust check: B answers a Ping with a Pong to A; the Pong, signed by
// the node's scheduler key (A's Authority), reaches A's Inbox. A forged message (a stranger's
// wallet claiming From-Process B) is refused by A's trust check.
const b = await pick(1).spawn({ module, authority, tags: [{ name: 'Name', value: 'mainnet-b' }], data: 'mainnet-b' })
summary.processB = b
const evalOn = async (i, pid, code) => {
  const s = await pick(i).message({ process: pid, tags: [{ name: 'Action', value: 'Eval' }], data: code })
  return pick(i + 1).result({ process: pid, slot: s })
}
summary.trustInstalled = [evalOutput(await evalOn(0, a, trustCheck)), evalOutput(await evalOn(1, b, trustCheck))]
await evalOn(2, b, "Handlers.Ping = function (msg) ao.send({ Target = msg.From, Action = 'Pong', Data = 'pong ' .. msg.Data }) end; return 'ok'")
await evalOn(0, a, `ao.send({ Target = '${b}', Action = 'Ping', Data = 'one' }); return 'sent'`)
const deadline = Date.now() + 30000
let inbox = []
while (Date.now() < deadline) {
  inbox = JSON.parse(evalOutput(await evalOn(1, a, 'return Inbox')) || '[]')
  if (inbox.some((m) => m.Action === 'Pong')) break
  await sleep(200)
}
summary.inboxA = inbox
const forger = connect({ MODE: 'mainnet', URL: urls[urls.length - 1], signer: stranger })
const forgedSlot = await forger.message({ process: a, tags: [{ name: 'Action', value: 'Pong' }, { name: 'From-Process', value: b }], data: 'forged' })
summary.forgedOutput = (await pick(2).result({ process: a, slot: forgedSlot })).Output?.data ?? null
summary.inboxAfterForged = JSON.parse(evalOutput(await evalOn(2, a, 'return Inbox')) || '[]')

// The generic request verb, through both signing formats.
const info = await pick(0).request({ path: '/~meta@1.0/info/address', method: 'GET', 'signing-format': 'httpsig' })
summary.httpsigInfoStatus = info.status
summary.httpsigInfo = await info.text()
const slotReq = await pick(1).request({ path: `/${a}~process@1.0/slot/current`, method: 'GET', 'signing-format': 'httpsig', 'accept-codec': 'httpsig@1.0' })
summary.httpsigSlotStatus = slotReq.status
summary.httpsigSlot = await slotReq.text()
// A push signed with httpsig is refused: the log keeps ANS-104 items that Arweave can verify.
const httpsigPush = await pick(2).request({ path: `/${a}~process@1.0/push`, method: 'POST', 'signing-format': 'httpsig', Action: 'Eval', data: 'return 1' })
summary.httpsigPushStatus = httpsigPush.status
summary.httpsigPushBody = await httpsigPush.text()
const ansSlot = await pick(2).request({ path: `/${a}/slot/current`, 'signing-format': 'ans104', 'accept-bundle': 'true' })
summary.ans104SlotStatus = ansSlot.status
summary.ans104Slot = await ansSlot.text()

// Findable by AO's own tools: ao-scheduler-utils locate() reads the process's Scheduler tag and
// that scheduler's Scheduler-Location record from a node's GraphQL. (Its first step asks the
// legacy testnet's su-router, which is off line here: that one call is answered 404.)
{
  const realFetch = globalThis.fetch
  globalThis.fetch = (url, init) => String(url).startsWith('https://su-router.ao-testnet.xyz')
    ? Promise.resolve(new Response('not here', { status: 404 }))
    : realFetch(url, init)
  const { locate } = schedulerUtils({ GRAPHQL_URL: `${urls[urls.length - 1]}/graphql` })
  summary.located = await locate(a).catch(errText)
  globalThis.fetch = realFetch
}

// A badly signed httpsig request: a covered field changed after signing (the transport is patched
// for that one call).
const realFetch = globalThis.fetch
globalThis.fetch = (url, init) => {
  const h = new Headers(init.headers)
  h.set('note', 'changed')
  return realFetch(url, { ...init, headers: h })
}
const tampered = await pick(0).request({ path: '/~meta@1.0/info/address', method: 'GET', 'signing-format': 'httpsig', note: 'signed' })
globalThis.fetch = realFetch
summary.httpsigTamperedStatus = tampered.status
summary.httpsigTamperedBody = await tampered.text()

// Bad input: a slot beyond the log, an unknown device, a message to an unknown process.
const beyond = await pick(0).request({ path: `/${a}~process@1.0/compute/results=9999`, 'signing-format': 'ans104', 'require-codec': 'application/json' })
summary.beyondStatus = beyond.status
summary.beyondBody = await beyond.text()
const unknownDev = await pick(0).request({ path: `/${a}~nosuch@9.9/compute`, 'signing-format': 'ans104' })
summary.unknownDeviceStatus = unknownDev.status
summary.unknownDeviceBody = await unknownDev.text()
summary.unknownProcessError = await pick(1).message({ process: 'A'.repeat(43), tags: [{ name: 'Action', value: 'Eval' }], data: 'return 1' }).then(() => 'no error', errText)

console.log(JSON.stringify(summary))

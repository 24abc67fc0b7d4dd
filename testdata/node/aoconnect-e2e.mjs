// aoconnect-e2e.mjs: drives an actorweave node with the unmodified @permaweb/aoconnect (legacy
// mode), as a user of the public AO network would. The Go test e2e/aoconnect_test.go starts the
// node, publishes the module and runs this script; it asserts on the JSON summary printed on stdout.
//
// Environment (all required):
//   MU_URL, CU_URL, GATEWAY_URL  the node's URL (one node plays all three units)
//   AW_WALLET                    an RSA JWK file (an Arweave wallet)
//   AW_MODULE                    the module id (a Module item the node holds)
//   AW_SCHEDULER                 the node's scheduler address (GET / → address)
//
// Steps: spawn two processes (A and B); message A an Eval; result; results; dryrun; assign; then
// ping-pong: install a Ping handler on B, make A send B a Ping through its outbox, wait for B's
// Pong to reach A; then a spawn from inside A: A's Spawned notice names the child, and the child
// answers a message. Progress goes to stderr; stdout is one JSON object.
import { readFileSync } from 'node:fs'
import { connect, createDataItemSigner } from '@permaweb/aoconnect'

function need (name) {
  const v = process.env[name]
  if (!v) {
    console.error(`aoconnect-e2e: ${name} is not set`)
    process.exit(2)
  }
  return v
}

const MU_URL = need('MU_URL')
const CU_URL = need('CU_URL')
const GATEWAY_URL = need('GATEWAY_URL')
const jwk = JSON.parse(readFileSync(need('AW_WALLET'), 'utf8'))
const module = need('AW_MODULE')
const scheduler = need('AW_SCHEDULER')
const owner = process.env.AW_OWNER || undefined // wallet address, for dry-runs as the owner

const ao = connect({ MODE: 'legacy', MU_URL, CU_URL, GATEWAY_URL })
const signer = createDataItemSigner(jwk)
const log = (...a) => console.error('aoconnect-e2e:', ...a)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// evalOutput reads what the aos-like module answers to an Eval: Output.data.output.
const evalOutput = (r) => r?.Output?.data?.output

async function spawnProcess (name) {
  const pid = await ao.spawn({ module, scheduler, signer, tags: [{ name: 'Name', value: name }], data: name })
  log('spawned', name, pid)
  return pid
}

async function send (process, action, data, tags = []) {
  return ao.message({ process, signer, tags: [{ name: 'Action', value: action }, ...tags], data })
}

async function evalOn (process, code) {
  const id = await send(process, 'Eval', code)
  const r = await ao.result({ process, message: id })
  if (r.Error) throw new Error(`Eval on ${process} failed: ${JSON.stringify(r.Error)}`)
  return { id, result: r }
}

// waitFor polls results of process until pred matches an edge's node (pushes are asynchronous).
async function waitFor (process, what, pred, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs
  let page
  while (Date.now() < deadline) {
    page = await ao.results({ process, sort: 'ASC', limit: 100 })
    const hit = page.edges.find((e) => pred(e.node))
    if (hit) return hit.node
    await sleep(100)
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${process}; results: ${JSON.stringify(page)}`)
}

const summary = {}

// 1. spawn, message, result, results, dryrun.
const a = await spawnProcess('e2e-a')
summary.processA = a
const first = await evalOn(a, 'x = 6 * 7; return x')
summary.messageId = first.id
summary.evalOutput = evalOutput(first.result)
const second = await evalOn(a, "print('hello from aoconnect'); return x + 1")
summary.secondOutput = evalOutput(second.result)
const page = await ao.results({ process: a, sort: 'ASC', limit: 25 })
summary.resultsCount = page.edges.length
summary.resultsOutputs = page.edges.map((e) => evalOutput(e.node) ?? e.node.Output?.data ?? null)
summary.resultsCursorsAreStrings = page.edges.every((e) => typeof e.cursor === 'string' && e.cursor.length > 0)
// Paging: the cursor of the first edge, passed back as from, starts after it.
const next = await ao.results({ process: a, from: page.edges[0]?.cursor, sort: 'ASC', limit: 1 })
summary.resultsAfterFirst = next.edges.map((e) => evalOutput(e.node))
const desc = await ao.results({ process: a, sort: 'DESC', limit: 1 })
summary.resultsDescFirst = evalOutput(desc.edges[0]?.node)
const dry = await ao.dryrun({ process: a, data: 'return x * 10', tags: [{ name: 'Action', value: 'Eval' }], Owner: owner })
summary.dryrunOutput = evalOutput(dry)
const afterDry = await evalOn(a, 'return x')
summary.afterDryrunOutput = evalOutput(afterDry.result)

// 2. ping-pong between A and B through outbox messages.
const b = await spawnProcess('e2e-b')
summary.processB = b
await evalOn(b, "Handlers.Ping = function (msg) ao.send({ Target = msg.From, Action = 'Pong', Data = 'pong ' .. msg.Data }) end; return 'ok'")
await evalOn(a, `ao.send({ Target = '${b}', Action = 'Ping', Data = 'one' }); return 'sent'`)
const pingAtB = await waitFor(b, 'the Ping from A', (n) => (n.Messages || []).some((m) => m.Target === a))
summary.pongSentByB = pingAtB.Messages.find((m) => m.Target === a)
const pongAtA = await waitFor(a, 'the Pong from B', (n) => typeof n.Output?.data === 'string' && n.Output.data.includes('Action = Pong'))
summary.pongAtA = pongAtA.Output.data
summary.inboxA = JSON.parse(evalOutput((await evalOn(a, 'return Inbox')).result))

// 2b. assign: schedule A's first message (the Eval x = 6 * 7) on B too.
const assignment = await ao.assign({ process: b, message: first.id })
summary.assignmentId = assignment
summary.assignedOutput = evalOutput(await ao.result({ process: b, message: assignment }))

// 3. a spawn from inside A: the Spawned notice names the child, and the child answers a message.
await evalOn(a, "Handlers.Spawned = function (msg) for _, t in ipairs(msg.Tags) do if t.name == 'Process' then Child = t.value end end end; return 'ok'")
// The aos-like ao.spawn leaves the Module out of the spawn's Tags, where aos puts it and where the
// messenger looks for it: add the tags here.
const spawnEval = await evalOn(a, `local s = ao.spawn('${module}', { Data = 'child of A' }); s.Tags = { { name = 'Module', value = '${module}' }, { name = 'Name', value = 'child' } }; return 'spawning'`)
summary.spawnsInResult = spawnEval.result.Spawns.length
const notice = await waitFor(a, 'the Spawned notice', (n) => typeof n.Output?.data === 'string' && n.Output.data.startsWith('Handled Spawned'))
summary.spawnedNotice = notice.Output.data
const childId = evalOutput((await evalOn(a, 'return Child')).result)
summary.childId = childId ?? null
if (childId) {
  const hello = await send(childId, 'Hello', 'hi child')
  const r = await ao.result({ process: childId, message: hello })
  summary.childAnswer = r.Output?.data ?? null
}

// 4. Bad input is refused with the node's status and message, which aoconnect passes on.
const nowhere = 'A'.repeat(43)
summary.unknownModuleError = await ao.spawn({ module: nowhere, scheduler, signer }).then(() => 'no error', (e) => String(e?.message ?? e))
summary.unknownProcessError = await send(nowhere, 'Eval', 'return 1').then(() => 'no error', (e) => String(e?.message ?? e))

// 5. Crons: a process with a 1-second cron ticks (ticks are log assignments from the spawn on);
// monitor answers like the reference MU, GET /cron serves the cron evaluations, unmonitor pauses.
const cronPid = await ao.spawn({ module, scheduler, signer, tags: [{ name: 'Cron-Interval', value: '1-second' }, { name: 'Cron-Tag-Action', value: 'Tick' }] })
summary.monitorId = await ao.monitor({ process: cronPid, signer })
const cronEdges = async () => (await (await fetch(`${CU_URL}/cron/${cronPid}`)).json()).edges
await sleep(2500)
const ticked = await cronEdges()
summary.cronCount = ticked.length
summary.cronOutput = ticked[0]?.node?.Output?.data ?? null
summary.cronCursor = ticked[0]?.cursor ?? null
summary.unmonitorId = await ao.unmonitor({ process: cronPid, signer })
await sleep(300) // a tick already on its way may still land
const pausedAt = (await cronEdges()).length
await sleep(2000)
summary.cronPausedGrowth = (await cronEdges()).length - pausedAt

console.log(JSON.stringify(summary))

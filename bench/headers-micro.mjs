// Micro-benchmark of the per-request header work outside the suite: the upstream's request headers
// (drop lists, ours set) and the Host check, for a request as NAIS's ingress-nginx hands it over.
// Paired rounds against another build (`--before <dist>`: its header rewrite, which had no Host
// check), the differences and ratios as medians of per-round ones.
//
//   npm run build && node bench/headers-micro.mjs --before /path/to/old/dist [--rounds 21]
import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

const { values } = parseArgs({ options: { before: { type: 'string' }, rounds: { type: 'string', default: '21' }, iterations: { type: 'string', default: '100000' } } })
const load = async (dist, file) => await import(pathToFileURL(resolve(dist, file)).href)

// What ingress-nginx sends (its own forwarding headers included), a consumer's headers and a token.
const INCOMING = {
  host: 'api.intern.nav.no',
  'x-request-id': '3f1c0d1e9a2b4c5d6e7f8091a2b3c4d5',
  'x-real-ip': '10.0.0.7',
  'x-forwarded-for': '10.0.0.7',
  'x-forwarded-host': 'api.intern.nav.no',
  'x-forwarded-port': '443',
  'x-forwarded-proto': 'https',
  'x-forwarded-scheme': 'https',
  'x-scheme': 'https',
  'x-original-forwarded-for': '10.0.0.7',
  'user-agent': 'Apache-HttpClient/5.2',
  accept: 'application/json',
  authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln',
  traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  'content-type': 'application/json',
  'accept-encoding': 'gzip',
  'nav-call-id': 'c7a1',
  'nav-consumer-id': 'srvabc'
}
const RAW = Object.entries(INCOMING).flatMap(([k, v]) => [k, v])
const REQ = { headers: INCOMING, rawHeaders: RAW, httpVersion: '1.1' }
const CLAIMS = { orgno: '123456789', clientId: '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b', scope: 'nav:arbeid:arbeidsforhold.read' }

async function headersOf (dist) {
  const headers = await load(dist, 'proxy/headers.js')
  const drop = headers.createHeaderDrop?.({ forwardToken: true, passHeaders: [] })
  const ctx = { claims: CLAIMS, remoteAddress: '10.0.0.7', host: INCOMING.host, forwardToken: true, drop }
  return () => Object.keys(headers.toUpstreamRequestHeaders(INCOMING, ctx)).length
}

async function withHostCheck (dist) {
  const { checkHost } = await load(dist, 'http/host.js')
  const headers = await headersOf(dist)
  return () => {
    if (checkHost(REQ) !== undefined) throw new Error('refused')
    return headers()
  }
}

// CPU time of this thread (user + system), not wall time: on a shared 2-core machine the wall
// clock also counts the time another process had the core.
function nsPerRequest (work, iterations) {
  let keep = 0
  const started = process.cpuUsage()
  for (let i = 0; i < iterations; i++) keep += work()
  const used = process.cpuUsage(started)
  if (keep === 0) throw new Error('no work')
  return (used.user + used.system) * 1000 / iterations
}

const median = (list) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]
const targets = [['headers', await headersOf(resolve('dist'))], ['headers+Host', await withHostCheck(resolve('dist'))]]
if (values.before !== undefined) targets.unshift(['before', await headersOf(values.before)])
const iterations = Number(values.iterations)
const times = targets.map(() => [])
for (const [, work] of targets) nsPerRequest(work, iterations)
for (let round = 0; round < Number(values.rounds); round++) {
  // Alternate the order each round, so no target always runs on a warmer (or colder) machine.
  const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => i).reverse()
  for (const i of order) times[i].push(nsPerRequest(targets[i][1], iterations))
}
for (const [i, [label]] of targets.entries()) {
  const diff = median(times[i].map((t, r) => t - times[0][r]))
  const added = i === 0 ? '' : `; ${diff >= 0 ? '+' : ''}${diff.toFixed(0)} ns against ${targets[0][0]} (median of per-round differences), ratio ${median(times[i].map((t, r) => t / times[0][r])).toFixed(2)}`
  console.log(`${label.padEnd(13)} ${median(times[i]).toFixed(0)} ns CPU per request (median of ${values.rounds} rounds)${added}`)
}

/**
 * `npm run soak` (load with nothing lost): mixed traffic at a fixed rate against a real
 * portvakt process on loopback, while the upstream is restarted twice and the JWKS server is stopped
 * and started. It fails (exit 1) when:
 * - a request hangs, or is reset outside an upstream restart window;
 * - a valid request gets anything but 2xx, except a 502 overlapping an upstream restart window. In
 *   particular a JWKS outage after the keys were fetched must not cost a single valid request: the
 *   last good keys carry the gate (fresh tokens, never in the verified-token cache, prove it);
 * - a denied request gets another status or error code than its own, or reaches the upstream;
 * - any body arrives altered: every response body (reads, public, denials) is compared byte for byte
 *   with what the upstream sent for exactly that request; uploads are SHA-256 checked both ways;
 *   large streamed downloads (1–8 MiB, chunked and with a length) are checked byte by byte as they
 *   stream, and a body cut short but ended cleanly counts as altered, even in a restart window;
 * - any token used (whole, or its payload or signature segment) appears in portvakt's stdout or stderr;
 * - portvakt's RSS at the end (load stopped, a few seconds idle) is above 110% of its RSS at the
 *   start (after a short warm-up of the same traffic, then the same few seconds idle).
 * It prints the counts either way, and next to each RSS reading V8's own figures from portvakt's
 * /metrics (heap used and total, old and new space used, external memory), so a failed RSS check
 * says which it is: heap used climbing from run to run is a leak; heap used flat while heap total
 * and RSS grow is V8 and malloc sizing.
 *
 * portvakt runs with the memory-lean NODE_OPTIONS of the image (bench/README.md, Memory), the setting the image
 * and both manifests deploy, and the first output line says so. Why: with Node's default heap a
 * 16 MiB-per-semi-space young generation, an old space that grows before its first full collection
 * and malloc's high-water mark add 10–20 MiB of RSS over the first minutes while the JS heap in use
 * stays flat (README, test/README.md); the RSS rule would then measure V8's sizing,
 * not portvakt. With the lean young generation RSS holds, so the rule still catches anything portvakt
 * retains.
 *
 * Tunables (for a quick look, not for the record): SOAK_SECONDS (120), SOAK_RATE (requests/s, 30),
 * SOAK_WARMUP_SECONDS (5), SOAK_LOG (a file to copy portvakt's stdout to), SOAK_NODE_OPTIONS
 * (portvakt's NODE_OPTIONS instead of the lean ones; empty for Node's defaults).
 * Bounded: a hard stop kills everything after the run plus 90 s.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { makeKey } from '../test/helpers/keys.js'
import { TEST_ISSUER, tokenFactory } from '../test/helpers/tokens.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120)
const RATE = Number(process.env.SOAK_RATE ?? 30)
const WARMUP_SECONDS = Number(process.env.SOAK_WARMUP_SECONDS ?? 5)
// Both RSS readings come after this much idle, so neither counts buffers of requests in flight.
const SETTLE_MS = 5000
const REQUEST_TIMEOUT_MS = 20_000
const UPSTREAM_RESTARTS = [0.33, 0.66].map((f) => f * SECONDS * 1000)
const UPSTREAM_DOWN_MS = 1500
const JWKS_STOP = 0.45 * SECONDS * 1000
const JWKS_START = 0.62 * SECONDS * 1000
const RSS_LIMIT = 1.1
/** The image's memory-lean setting (bench/README.md, Memory), which bounds RSS under load. */
const LEAN_NODE_OPTIONS = '--max-semi-space-size=8'
const NODE_OPTIONS = process.env.SOAK_NODE_OPTIONS ?? LEAN_NODE_OPTIONS

const ROUTES = `
routes:
  - path: /api/v1/arbeidsforhold
    methods: [GET, HEAD]
    scopes: [nav:arbeid:arbeidsforhold.read]
  - path: /api/v1/arbeidsforhold
    methods: [POST, PUT]
    scopes: [nav:arbeid:arbeidsforhold.write]
  - path: /public
    public: true
`

type Kind = 'valid_get' | 'fresh_token' | 'valid_upload' | 'valid_download' | 'public' | 'bad_signature' | 'expired' | 'wrong_scope' | 'no_token' | 'bad_path'
type Denied = 'bad_signature' | 'expired' | 'wrong_scope' | 'no_token' | 'bad_path'
const DENIED: Readonly<Record<Denied, { status: number, code: string }>> = {
  bad_signature: { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID' },
  expired: { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID' },
  wrong_scope: { status: 403, code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE' },
  no_token: { status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING' },
  bad_path: { status: 400, code: 'PORTVAKT_ERR_BAD_PATH' }
}
function isDenied (kind: Kind): kind is Denied { return kind in DENIED }

// 20 slots a cycle: reads with a reused token (the verified-token cache) and with a token never seen
// before (a full check against the keys), uploads, a large download, public, and five denials.
const MIX: Kind[] = [
  'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'fresh_token', 'fresh_token', 'fresh_token',
  'valid_upload', 'valid_upload', 'valid_download', 'public', 'public', 'public',
  'bad_signature', 'expired', 'wrong_scope', 'no_token', 'bad_path'
]

// Every body the upstream sends is a window onto this random pattern, starting at an offset the
// request's own path names; the client computes the same window, so every byte can be compared. The
// odd length keeps the pattern out of step with chunk sizes.
const PATTERN = randomBytes(1_048_573)
const DOWNLOAD_CHUNK = 64 * 1024

/** Bytes `[position, position + length)` of the endless pattern, as views (no copies). */
function patternPieces (position: number, length: number): Buffer[] {
  const pieces: Buffer[] = []
  let at = position % PATTERN.length
  while (length > 0) {
    const n = Math.min(length, PATTERN.length - at)
    pieces.push(PATTERN.subarray(at, at + n))
    length -= n
    at = 0
  }
  return pieces
}

/** Whether `chunk` equals the pattern from `position` on. */
function matchesPattern (chunk: Uint8Array, position: number): boolean {
  const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  let offset = 0
  for (const piece of patternPieces(position, data.length)) {
    if (data.compare(piece, 0, piece.length, offset, offset + piece.length) !== 0) return false
    offset += piece.length
  }
  return true
}

/** The small body an ordinary read gets: the request it answers, then a window onto the pattern. */
function expectedReadBody (method: string, url: string, id: string, i: number): Buffer {
  return Buffer.concat([Buffer.from(`${method} ${url} ${id}\n`), ...patternPieces(i * 4099, (i * 131) % 32_768)])
}

/** A download's size and where its window starts, from its index alone. */
function downloadShape (i: number): { size: number, shift: number, withLength: boolean } {
  return { size: 1024 * 1024 + ((i * 7919 * 97) % (7 * 1024 * 1024)), shift: (i * 104_729) % PATTERN.length, withLength: i % 40 < 20 }
}

/** A server on a fixed port that can be stopped and started again. */
class Restartable {
  private server: Server | undefined
  port = 0
  constructor (private readonly handler: (req: IncomingMessage, res: ServerResponse) => void) {}
  async start (): Promise<void> {
    const server = createServer(this.handler)
    server.keepAliveTimeout = 5000
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(this.port, '127.0.0.1', resolve) })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>((resolve) => server.close(() => { resolve() }))
  }
}

/** Write `size` pattern bytes from `shift` on, honouring back-pressure. */
function streamPattern (res: ServerResponse, shift: number, size: number): void {
  let sent = 0
  const pump = (): void => {
    while (sent < size) {
      const n = Math.min(DOWNLOAD_CHUNK, size - sent)
      let ok = true
      for (const piece of patternPieces(shift + sent, n)) ok = res.write(piece)
      sent += n
      if (!ok) { res.once('drain', pump); return }
    }
    res.end()
  }
  pump()
}

/** What the upstream saw, by request id: the target, and the SHA-256 of an uploaded body. */
const upstreamSeen = new Map<string, { url: string, sha: string }>()
const upstream = new Restartable((req, res) => {
  const id = String(req.headers['x-soak-id'] ?? '')
  const url = req.url ?? ''
  res.setHeader('content-type', 'application/octet-stream')
  req.on('error', () => { res.destroy() })
  if (req.method === 'POST') {
    // Echo the body back as it streams in, so the response checks the way down and the hash the way up.
    const hash = createHash('sha256')
    req.on('data', (chunk: Buffer) => { hash.update(chunk); res.write(chunk) })
    req.on('end', () => { upstreamSeen.set(id, { url, sha: hash.digest('hex') }); res.end() })
    return
  }
  req.resume()
  upstreamSeen.set(id, { url, sha: '' })
  const download = /^\/api\/v1\/arbeidsforhold\/download\/(\d+)$/.exec(url)
  if (download !== null) {
    const shape = downloadShape(Number(download[1]))
    if (shape.withLength) res.setHeader('content-length', shape.size)
    streamPattern(res, shape.shift, shape.size)
    return
  }
  const i = Number(/\/(\d+)$/.exec(url)?.[1] ?? 0)
  res.end(expectedReadBody(req.method ?? '', url, id, i))
})

const counts = {
  sent: 0,
  warmupSent: 0,
  byKind: {} as Record<string, Record<string, number>>,
  hangs: 0,
  resetsInRestartWindow: 0,
  resetsOutsideRestartWindow: 0,
  clean502InRestartWindow: 0,
  validNon2xxOutsideRestartWindow: 0,
  freshTokenDuringJwksOutage: 0,
  freshTokenDuringJwksOutage2xx: 0,
  jwksOutageNon2xx: 0,
  deniedWrongAnswer: 0,
  deniedReachedUpstream: 0,
  uploadBytes: 0,
  downloadBytes: 0,
  bodiesChecked: 0,
  bodyMismatches: 0,
  tokensScanned: 0,
  tokensInLogs: 0,
  jwksFetchFailuresLogged: 0
}
const failures: string[] = []
/** Upstream restart windows, absolute ms; a request overlapping one may be cut or get a 502. */
const windows: Array<[number, number]> = []
/** The JWKS outage, absolute ms. */
const jwksDown: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]
let t0 = 0

function note (kind: Kind, outcome: string): void {
  const entry = counts.byKind[kind] ?? (counts.byKind[kind] = {})
  entry[outcome] = (entry[outcome] ?? 0) + 1
}

function inRestartWindow (start: number, end: number): boolean {
  // 2 s of grace after a window for the pool to notice the new upstream, 0.5 s before for clocks.
  return windows.some(([a, b]) => start <= b + 2000 && end >= a - 500)
}

function inJwksOutage (start: number, end: number): boolean {
  return start <= jwksDown[1] && end >= jwksDown[0]
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

/** V8's heap as portvakt's own /metrics (prom-client default metrics) reports it, and its RSS. */
interface HeapReading { heapUsed: number, heapTotal: number, oldUsed: number, newUsed: number, external: number, rss: number }

async function readHeap (adminBase: string): Promise<HeapReading> {
  const text = await (await fetch(`${adminBase}/metrics`)).text()
  const value = (series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `))
    return Number(line?.slice(series.length + 1).split(' ')[0] ?? Number.NaN)
  }
  return {
    heapUsed: value('nodejs_heap_size_used_bytes'),
    heapTotal: value('nodejs_heap_size_total_bytes'),
    oldUsed: value('nodejs_heap_space_size_used_bytes{space="old"}'),
    newUsed: value('nodejs_heap_space_size_used_bytes{space="new"}'),
    external: value('nodejs_external_memory_bytes'),
    rss: value('process_resident_memory_bytes')
  }
}

const heapMiB = (h: HeapReading): Record<string, number> => Object.fromEntries(Object.entries(h).map(([k, v]) => [k, mib(v)]))

function readRss (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) * 1024
}

const mib = (bytes: number): number => +(bytes / 2 ** 20).toFixed(1)
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

function uploadBody (size: number): { stream: ReadableStream<Uint8Array>, sha: string } {
  const data = randomBytes(size)
  const sha = createHash('sha256').update(data).digest('hex')
  let offset = 0
  // Streamed in 16 KiB pieces, so portvakt forwards a body it has not seen whole.
  const stream = new ReadableStream<Uint8Array>({
    pull (controller) {
      if (offset >= data.length) { controller.close(); return }
      controller.enqueue(data.subarray(offset, offset + 16_384))
      offset += 16_384
    }
  })
  return { stream, sha }
}

interface Tokens { read: string, write: string, wrongScope: string, expired: string, badSignature: string, fresh: () => Promise<string> }

/** Every token sent, for the log scan. */
const usedTokens = new Set<string>()

/** Start `dist/cli.js serve` and keep all it writes, stdout and stderr, for the token scan. */
function startPortvakt (dir: string, port: number, adminPort: number, jwksPort: number): { child: ChildProcessByStdio<null, Readable, Readable>, output: () => { stdout: string, stderr: string } } {
  writeFileSync(join(dir, 'routes.yaml'), ROUTES)
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    env: {
      PATH: process.env.PATH,
      MASKINPORTEN_ISSUER: TEST_ISSUER,
      MASKINPORTEN_JWKS_URI: `http://127.0.0.1:${jwksPort}/jwks`,
      PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
      PORTVAKT_UPSTREAM: `http://127.0.0.1:${upstream.port}`,
      PORTVAKT_HOST: '127.0.0.1',
      PORTVAKT_PORT: String(port),
      // Loopback only, on ports nothing else holds.
      PORTVAKT_ADMIN_HOST: '127.0.0.1',
      PORTVAKT_ADMIN_PORT: String(adminPort),
      PORTVAKT_EGRESS_PORT: '0',
      // Refresh often, so the JWKS outage is felt: the last good keys must keep serving through it.
      PORTVAKT_JWKS_MAX_AGE: '3s',
      PORTVAKT_JWKS_COOLDOWN: '1s',
      ...(NODE_OPTIONS === '' ? {} : { NODE_OPTIONS })
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  // Whole streams, not chunks: a token split across two chunks must still be found.
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk)
    if (process.env.SOAK_LOG !== undefined) writeFileSync(process.env.SOAK_LOG, chunk, { flag: 'a' })
  })
  child.stderr.on('data', (chunk: Buffer) => { stderr.push(chunk); process.stderr.write(chunk) })
  return { child, output: () => ({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') }) }
}

/** Tokens found in the text: whole, or by their payload (unique per token: jti) or signature. */
function countTokensIn (text: string): number {
  let found = 0
  for (const token of usedTokens) {
    const [, payload = token, signature = token] = token.split('.')
    if (text.includes(token) || text.includes(payload) || text.includes(signature)) found++
  }
  return found
}

/** Send `total` requests at RATE from index `first`, then wait for all of them. */
async function runLoad (base: string, tokens: Tokens, first: number, total: number): Promise<void> {
  const inFlight = new Set<Promise<void>>()
  const begin = Date.now()
  for (let n = 0; n < total; n++) {
    const wait = begin + (n * 1000) / RATE - Date.now()
    if (wait > 0) await sleep(wait)
    const i = first + n
    const p = one(base, MIX[i % MIX.length] as Kind, i, tokens).finally(() => { inFlight.delete(p) })
    inFlight.add(p)
    counts.sent++
  }
  await Promise.all(inFlight)
}

/** The disruptions, on their own clocks from t0. */
function startChaos (jwks: Restartable): Array<Promise<void>> {
  const chaos = UPSTREAM_RESTARTS.map(async (at) => {
    await sleep(at)
    const window: [number, number] = [Date.now(), Number.POSITIVE_INFINITY]
    windows.push(window)
    await upstream.stop()
    await sleep(UPSTREAM_DOWN_MS)
    await upstream.start()
    window[1] = Date.now()
    console.log(`  upstream down ${((window[0] - t0) / 1000).toFixed(1)}s–${((window[1] - t0) / 1000).toFixed(1)}s`)
  })
  chaos.push((async () => {
    await sleep(JWKS_STOP)
    jwksDown[0] = Date.now()
    await jwks.stop()
    await sleep(JWKS_START - JWKS_STOP)
    await jwks.start()
    jwksDown[1] = Date.now()
    console.log(`  JWKS down ${((jwksDown[0] - t0) / 1000).toFixed(1)}s–${((jwksDown[1] - t0) / 1000).toFixed(1)}s`)
  })())
  return chaos
}

async function main (): Promise<number> {
  const key = await makeKey('soak-key')
  const mint = tokenFactory(key)
  const forger = tokenFactory(await makeKey('soak-key'))
  const tokens: Tokens = {
    read: await mint({ lifetime: 600 }),
    write: await mint({ lifetime: 600, claims: { scope: 'nav:arbeid:arbeidsforhold.write' } }),
    wrongScope: await mint({ lifetime: 600, claims: { scope: 'nav:arbeid:arbeidsforhold.readwrite' } }),
    expired: await mint({ iatOffset: -900, lifetime: 600 }),
    badSignature: await forger({ lifetime: 600 }),
    fresh: async () => await mint({ lifetime: 300 })
  }
  const jwks = new Restartable((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [key.jwk] }))
  })
  await jwks.start()
  await upstream.start()
  const dir = mkdtempSync(join(tmpdir(), 'portvakt-soak-'))
  const port = await freePort()
  const adminPort = await freePort()
  const adminBase = `http://127.0.0.1:${adminPort}`
  const { child, output } = startPortvakt(dir, port, adminPort, jwks.port)
  const pid = child.pid as number
  const hardStop = setTimeout(() => { console.log('FAIL: hard stop: the run overran its bound'); child.kill('SIGKILL'); process.exit(1) }, (WARMUP_SECONDS + SECONDS + 90) * 1000)
  hardStop.unref()
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/public/ready`).then((r) => r.status === 200, () => false)
    if (ready) break
    if (i > 300 || child.exitCode !== null) throw new Error('portvakt did not start')
    await sleep(100)
  }
  upstreamSeen.clear()
  console.log(`soak: ${WARMUP_SECONDS}s warm-up, then ${SECONDS}s at ${RATE} req/s against portvakt pid ${pid} on ${base} (metrics ${adminBase}/metrics)`)
  console.log(`soak: portvakt runs with NODE_OPTIONS=${JSON.stringify(NODE_OPTIONS)} (${NODE_OPTIONS === LEAN_NODE_OPTIONS ? 'the README\'s memory-lean setting' : 'SOAK_NODE_OPTIONS, not the README\'s memory-lean setting'})`)

  // Warm-up: the same mix (downloads and uploads included) so lazy initialisation, JIT and buffer
  // pools are in, then idle, then the baseline.
  const warmupTotal = WARMUP_SECONDS * RATE
  t0 = Date.now()
  await runLoad(base, tokens, 0, warmupTotal)
  counts.warmupSent = counts.sent
  await sleep(SETTLE_MS)
  const rssStart = readRss(pid)
  const heapStart = await readHeap(adminBase)

  t0 = Date.now()
  let rssPeak = rssStart
  const rssSamples: number[] = []
  const heapUsedSamples: number[] = []
  const rssTimer = setInterval(() => {
    const rss = readRss(pid)
    rssPeak = Math.max(rssPeak, rss)
    if ((Date.now() - t0) % 10_000 < 1000) {
      rssSamples.push(mib(rss))
      void readHeap(adminBase).then((h) => { heapUsedSamples.push(mib(h.heapUsed)) }, () => {})
    }
  }, 1000)
  const chaos = startChaos(jwks)
  await runLoad(base, tokens, warmupTotal, SECONDS * RATE)
  await Promise.all(chaos)
  clearInterval(rssTimer)

  await sleep(SETTLE_MS)
  const rssEnd = readRss(pid)
  const heapEnd = await readHeap(adminBase)
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  const { stdout, stderr } = output()
  counts.tokensScanned = usedTokens.size
  counts.tokensInLogs = countTokensIn(`${stdout}\n${stderr}`)
  counts.jwksFetchFailuresLogged = stdout.split('\n').filter((line) => line.includes('signing keys could not be fetched')).length
  await upstream.stop()
  await jwks.stop()
  rmSync(dir, { recursive: true, force: true })

  const rssRatio = rssEnd / rssStart
  if (counts.hangs > 0) failures.push(`${counts.hangs} requests hung past ${REQUEST_TIMEOUT_MS} ms`)
  if (counts.resetsOutsideRestartWindow > 0) failures.push(`${counts.resetsOutsideRestartWindow} resets outside the restart windows`)
  if (counts.validNon2xxOutsideRestartWindow > 0) failures.push(`${counts.validNon2xxOutsideRestartWindow} valid requests got a non-2xx outside the restart windows`)
  if (counts.jwksOutageNon2xx > 0) failures.push(`${counts.jwksOutageNon2xx} valid requests failed during the JWKS outage`)
  if (counts.freshTokenDuringJwksOutage2xx === 0) failures.push('no fresh token was verified during the JWKS outage: the check proved nothing')
  if (counts.jwksFetchFailuresLogged === 0) failures.push('portvakt logged no failed JWKS fetch: the outage was not felt')
  if (counts.deniedWrongAnswer > 0) failures.push(`${counts.deniedWrongAnswer} denied requests got the wrong status or error code`)
  if (counts.deniedReachedUpstream > 0) failures.push(`${counts.deniedReachedUpstream} denied requests reached the upstream`)
  if (counts.bodyMismatches > 0) failures.push(`${counts.bodyMismatches} bodies arrived altered`)
  if (counts.tokensInLogs > 0) failures.push(`${counts.tokensInLogs} tokens found in portvakt's stdout/stderr`)
  if (stdout.length === 0) failures.push('portvakt wrote no log: the token scan proved nothing')
  if (!(rssRatio <= RSS_LIMIT)) failures.push(`RSS ended at ${mib(rssEnd)} MiB, ${(rssRatio * 100).toFixed(1)}% of its ${mib(rssStart)} MiB at the start (limit ${Math.round(RSS_LIMIT * 100)}%); JS heap used ${mib(heapStart.heapUsed)} → ${mib(heapEnd.heapUsed)} MiB, heap total ${mib(heapStart.heapTotal)} → ${mib(heapEnd.heapTotal)} MiB, NODE_OPTIONS=${JSON.stringify(NODE_OPTIONS)}`)

  console.log(JSON.stringify({
    ...counts,
    restartWindowsS: windows.map(([a, b]) => [+((a - t0) / 1000).toFixed(1), +((b - t0) / 1000).toFixed(1)]),
    jwksOutageS: jwksDown.map((at) => +((at - t0) / 1000).toFixed(1)),
    stdoutBytes: Buffer.byteLength(stdout),
    stderrBytes: Buffer.byteLength(stderr),
    rssStartMiB: mib(rssStart),
    rssPeakMiB: mib(rssPeak),
    rssEndMiB: mib(rssEnd),
    rssEndVsStart: `${(rssRatio * 100).toFixed(1)}%`,
    rssEvery10sMiB: rssSamples,
    heapUsedEvery10sMiB: heapUsedSamples,
    heapStartMiB: heapMiB(heapStart),
    heapEndMiB: heapMiB(heapEnd)
  }, null, 2))
  for (const failure of failures) console.log(`FAIL: ${failure}`)
  console.log(failures.length === 0 ? 'soak: PASS' : 'soak: FAIL')
  return failures.length === 0 ? 0 : 1
}

/** The request for slot `i`: where it goes, with which headers and body, and what it should get back. */
async function prepare (base: string, kind: Kind, i: number, tokens: Tokens): Promise<{ url: string, init: RequestInit & { duplex?: 'half' }, uploadSha?: string }> {
  const id = `r${i}`
  const headers: Record<string, string> = { 'x-soak-id': id }
  // A fresh token is minted for each use, so it is never in portvakt's verified-token cache.
  const byKind: Partial<Record<Kind, string>> = { valid_get: tokens.read, valid_download: tokens.read, valid_upload: tokens.write, bad_signature: tokens.badSignature, expired: tokens.expired, wrong_scope: tokens.wrongScope }
  const token = kind === 'fresh_token' ? await tokens.fresh() : byKind[kind]
  if (token !== undefined) {
    usedTokens.add(token)
    headers.authorization = `Bearer ${token}`
  }
  let url = `${base}/api/v1/arbeidsforhold/${i}`
  if (kind === 'valid_download') url = `${base}/api/v1/arbeidsforhold/download/${i}`
  if (kind === 'public') url = `${base}/public/${i}`
  if (kind === 'bad_path') url = `${base}/public%2f..%2fapi/v1/arbeidsforhold/${i}` // fetch would resolve an encoded dot segment itself
  const init: RequestInit & { duplex?: 'half' } = { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }
  if (kind !== 'valid_upload') return { url, init }
  const size = 64 * 1024 + ((i * 7919) % (960 * 1024))
  const upload = uploadBody(size)
  counts.uploadBytes += size
  Object.assign(init, { method: 'POST', body: upload.stream, duplex: 'half' })
  return { url, init, uploadSha: upload.sha }
}

/** Read a download as it streams, comparing every byte with the pattern; true when all arrived intact. */
async function readDownload (res: Response, i: number): Promise<boolean> {
  const { size, shift } = downloadShape(i)
  const reader = (res.body as ReadableStream<Uint8Array>).getReader()
  let got = 0
  let intact = true
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    if (intact && (got + value.byteLength > size || !matchesPattern(value, shift + got))) intact = false
    got += value.byteLength
  }
  counts.downloadBytes += got
  return intact && got === size
}

/** Whether a body is exactly what the upstream sent for this request (or, denied, portvakt's own error). */
function checkBody (kind: Kind, i: number, url: string, body: Buffer, uploadSha: string | undefined): boolean {
  const id = `r${i}`
  if (isDenied(kind)) {
    const parsed = ((): { code?: unknown } => { try { return JSON.parse(body.toString()) as { code?: unknown } } catch { return {} } })()
    return parsed.code === DENIED[kind].code
  }
  if (uploadSha !== undefined) return createHash('sha256').update(body).digest('hex') === uploadSha && upstreamSeen.get(id)?.sha === uploadSha
  const path = new URL(url).pathname
  return body.equals(expectedReadBody('GET', path, id, i))
}

async function one (base: string, kind: Kind, i: number, tokens: Tokens): Promise<void> {
  const { url, init, uploadSha } = await prepare(base, kind, i, tokens)
  const start = Date.now()
  try {
    const res = await fetch(url, init)
    const status = res.status
    let intact: boolean
    if (kind === 'valid_download' && status === 200) {
      intact = await readDownload(res, i)
    } else {
      const body = Buffer.from(await res.arrayBuffer())
      intact = status !== 200 && !isDenied(kind) ? true : checkBody(kind, i, url, body, uploadSha)
    }
    note(kind, String(status))
    judge(kind, i, status, intact, start, Date.now())
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    if ((err as Error).name === 'TimeoutError') {
      counts.hangs++
      note(kind, 'hang')
      if (counts.hangs <= 5) console.log(`  hang: ${kind} r${i} sent at ${start - t0} ms`)
    } else if (inRestartWindow(start, Date.now())) {
      counts.resetsInRestartWindow++
      note(kind, `reset(${cause})`)
    } else {
      counts.resetsOutsideRestartWindow++
      note(kind, `reset-outside(${cause})`)
      if (counts.resetsOutsideRestartWindow <= 5) console.log(`  reset outside a window: ${kind} r${i} at ${start - t0} ms: ${(err as Error).message} ${cause}`)
    }
  }
}

/** Count one answered request against the rules in the file comment. */
function judge (kind: Kind, i: number, status: number, intact: boolean, start: number, end: number): void {
  const say = (what: string, n: number): void => { if (n <= 5) console.log(`  ${what}: ${kind} r${i} got ${status} at ${start - t0} ms`) }
  if (isDenied(kind)) {
    if (status !== DENIED[kind].status || !intact) say('wrong denial', ++counts.deniedWrongAnswer)
    if (upstreamSeen.has(`r${i}`)) counts.deniedReachedUpstream++
    return
  }
  const duringOutage = inJwksOutage(start, end)
  if (kind === 'fresh_token' && duringOutage) {
    counts.freshTokenDuringJwksOutage++
    if (status >= 200 && status < 300) counts.freshTokenDuringJwksOutage2xx++
  }
  if (status >= 200 && status < 300) {
    counts.bodiesChecked++
    if (!intact) say('altered body', ++counts.bodyMismatches)
  } else if (status === 502 && inRestartWindow(start, end)) {
    counts.clean502InRestartWindow++
  } else {
    say('valid request refused', ++counts.validNon2xxOutsideRestartWindow)
    if (duringOutage) counts.jwksOutageNon2xx++
  }
}

main().then((code) => { process.exit(code) }, (err: unknown) => {
  console.error('soak: crashed:', err)
  process.exit(1)
})

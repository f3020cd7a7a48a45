/**
 * `npm run soak` (issue 7, "load with nothing lost"): two minutes of mixed traffic at a fixed rate
 * against a real portvakt process on loopback, while the upstream is restarted twice and the JWKS
 * server is stopped and started. It checks that every valid request is answered 2xx or a clean
 * 502/503 (no hang, no reset outside the restart windows), no denied request reaches the upstream,
 * every body arrives intact both ways (SHA-256), no token reaches a log line, and portvakt's RSS ends
 * within 10% of its value after the warm-up (the first half of the run). It prints the counts and
 * exits 1 when a check fails.
 *
 * Tunables (for a quick look, not for the record): SOAK_SECONDS (120), SOAK_RATE (requests/s, 30).
 * Bounded: a hard stop kills everything after SOAK_SECONDS + 90 s.
 */
import { spawn } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeKey } from '../test/helpers/keys.js'
import { TEST_ISSUER, tokenFactory } from '../test/helpers/tokens.js'

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120)
const RATE = Number(process.env.SOAK_RATE ?? 30)
const REQUEST_TIMEOUT_MS = 20_000
const UPSTREAM_RESTARTS = [0.33, 0.66].map((f) => f * SECONDS * 1000)
const UPSTREAM_DOWN_MS = 1500
const JWKS_STOP = 0.45 * SECONDS * 1000
const JWKS_START = 0.62 * SECONDS * 1000
// RSS climbs while V8 and the socket pools grow to their working size, then flattens (a 60 s and a
// 120 s run both level off near the same value); the leak check compares the end against that level.
const WARMUP_MS = Math.max(10_000, 0.5 * SECONDS * 1000)

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

type Kind = 'valid_get' | 'valid_upload' | 'public' | 'bad_signature' | 'expired' | 'wrong_scope' | 'no_token' | 'bad_path'
const DENIED: ReadonlySet<Kind> = new Set(['bad_signature', 'expired', 'wrong_scope', 'no_token', 'bad_path'])
const EXPECTED: Record<Kind, number> = { valid_get: 200, valid_upload: 200, public: 200, bad_signature: 401, expired: 401, wrong_scope: 403, no_token: 401, bad_path: 400 }
// 20 slots a cycle: half valid reads, uploads, public, and a fifth denied in five ways.
const MIX: Kind[] = [
  'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get', 'valid_get',
  'valid_upload', 'valid_upload', 'public', 'public', 'public', 'bad_signature', 'expired', 'wrong_scope', 'no_token', 'bad_path'
]

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

/** What the upstream saw: request ids, and the SHA-256 of each body it received. */
const upstreamSeen = new Map<string, string>()
const upstream = new Restartable((req, res) => {
  const id = String(req.headers['x-soak-id'] ?? '')
  const hash = createHash('sha256')
  res.setHeader('content-type', 'application/octet-stream')
  if (req.method === 'POST') {
    // Echo the body back as it streams in, so the response checks the way down and the hash the way up.
    req.on('data', (chunk: Buffer) => { hash.update(chunk); res.write(chunk) })
    req.on('end', () => { upstreamSeen.set(id, hash.digest('hex')); res.end() })
  } else {
    req.resume()
    req.on('end', () => { upstreamSeen.set(id, ''); res.end(`ok ${id}`) })
  }
  req.on('error', () => { res.destroy() })
})

const counts = {
  sent: 0,
  byKind: {} as Record<string, Record<string, number>>,
  hangs: 0,
  resetsInWindow: 0,
  resetsOutsideWindow: 0,
  unexpectedStatus: 0,
  deniedReachedUpstream: 0,
  uploadBytes: 0,
  bodiesChecked: 0,
  bodyMismatches: 0,
  tokensInLogs: 0
}
const failures: string[] = []
const windows: Array<[number, number]> = []
let t0 = 0

function note (kind: Kind, outcome: string): void {
  const entry = counts.byKind[kind] ?? (counts.byKind[kind] = {})
  entry[outcome] = (entry[outcome] ?? 0) + 1
}

function inRestartWindow (start: number, end: number): boolean {
  // A request overlapping a restart window (with 2 s of grace for pools to notice) may be cut.
  return windows.some(([a, b]) => start <= b + 2000 && end >= a - 500)
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

function readRss (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match?.[1] ?? 0) * 1024
}

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

async function main (): Promise<number> {
  const key = await makeKey('soak-key')
  const mint = tokenFactory(key)
  const forger = tokenFactory(await makeKey('soak-key'))
  const tokens = {
    read: await mint({ lifetime: 600 }),
    write: await mint({ lifetime: 600, claims: { scope: 'nav:arbeid:arbeidsforhold.write' } }),
    wrongScope: await mint({ lifetime: 600, claims: { scope: 'nav:arbeid:arbeidsforhold.readwrite' } }),
    expired: await mint({ iatOffset: -900, lifetime: 600 }),
    badSignature: await forger({ lifetime: 600 })
  }
  let jwksUp = true
  const jwks = new Restartable((_req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: [key.jwk] }))
  })
  await jwks.start()
  await upstream.start()
  const dir = mkdtempSync(join(tmpdir(), 'portvakt-soak-'))
  writeFileSync(join(dir, 'routes.yaml'), ROUTES)
  const port = await freePort()
  const child = spawn(process.execPath, ['dist/cli.js', 'serve'], {
    env: {
      PATH: process.env.PATH,
      MASKINPORTEN_ISSUER: TEST_ISSUER,
      MASKINPORTEN_JWKS_URI: `http://127.0.0.1:${jwks.port}/jwks`,
      PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
      PORTVAKT_UPSTREAM: `http://127.0.0.1:${upstream.port}`,
      PORTVAKT_HOST: '127.0.0.1',
      PORTVAKT_PORT: String(port),
      // Refresh often, so the JWKS outage is felt: the last good keys must keep serving through it.
      PORTVAKT_JWKS_MAX_AGE: '3s',
      PORTVAKT_JWKS_COOLDOWN: '1s'
    },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const hardStop = setTimeout(() => { failures.push('hard stop: the run overran its bound'); child.kill('SIGKILL'); process.exit(1) }, (SECONDS + 90) * 1000)
  hardStop.unref()
  let logText = ''
  let logBytes = 0
  child.stdout.on('data', (chunk: Buffer) => {
    logBytes += chunk.length
    if (process.env.SOAK_LOG !== undefined) writeFileSync(process.env.SOAK_LOG, chunk, { flag: 'a' })
    const text = chunk.toString()
    // Keep only what could hold a token: JWS headers start with eyJ ('{"' in base64url).
    if (text.includes('eyJ')) logText += text
  })
  child.stderr.on('data', (chunk: Buffer) => { process.stderr.write(chunk) })
  const base = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/public/ready`).then((r) => r.status === 200, () => false)
    if (ready) break
    if (i > 300 || child.exitCode !== null) throw new Error('portvakt did not start')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  upstreamSeen.clear()
  t0 = Date.now()
  console.log(`soak: ${SECONDS}s at ${RATE} req/s against portvakt pid ${child.pid} on ${base}`)

  // The disruptions, on their own clocks.
  const chaos: Array<Promise<void>> = []
  for (const at of UPSTREAM_RESTARTS) {
    chaos.push((async () => {
      await new Promise((resolve) => setTimeout(resolve, at))
      const start = Date.now() - t0
      const window: [number, number] = [start, Number.POSITIVE_INFINITY]
      windows.push(window)
      await upstream.stop()
      await new Promise((resolve) => setTimeout(resolve, UPSTREAM_DOWN_MS))
      await upstream.start()
      window[1] = Date.now() - t0
      console.log(`  upstream restarted at ${(start / 1000).toFixed(1)}s`)
    })())
  }
  chaos.push((async () => {
    await new Promise((resolve) => setTimeout(resolve, JWKS_STOP))
    await jwks.stop()
    jwksUp = false
    console.log(`  JWKS stopped at ${((Date.now() - t0) / 1000).toFixed(1)}s`)
    await new Promise((resolve) => setTimeout(resolve, JWKS_START - JWKS_STOP))
    await jwks.start()
    jwksUp = true
    console.log(`  JWKS started at ${((Date.now() - t0) / 1000).toFixed(1)}s`)
  })())

  let rssStart = 0
  let rssPeak = 0
  const rssSamples: number[] = []
  const rssTimer = setInterval(() => {
    const rss = readRss(child.pid as number)
    rssPeak = Math.max(rssPeak, rss)
    if ((Date.now() - t0) % 10_000 < 1000) rssSamples.push(+(rss / 2 ** 20).toFixed(1))
    if (rssStart === 0 && Date.now() - t0 >= WARMUP_MS) rssStart = rss
  }, 1000)

  const deniedIds: string[] = []
  const inFlight = new Set<Promise<void>>()
  const total = SECONDS * RATE
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE
    const wait = due - Date.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    const kind = MIX[i % MIX.length] as Kind
    const id = `r${i}`
    if (DENIED.has(kind)) deniedIds.push(id)
    const p = one(base, kind, id, i, tokens).finally(() => { inFlight.delete(p) })
    inFlight.add(p)
    counts.sent++
  }
  await Promise.all(inFlight)
  await Promise.all(chaos)
  clearInterval(rssTimer)
  void jwksUp

  // Let portvakt settle, then measure what it holds on to.
  await new Promise((resolve) => setTimeout(resolve, 10_000))
  const rssEnd = readRss(child.pid as number)
  counts.deniedReachedUpstream = deniedIds.filter((id) => upstreamSeen.has(id)).length
  child.kill('SIGTERM')
  await new Promise((resolve) => child.once('exit', resolve))
  counts.tokensInLogs = Object.values(tokens).filter((tk) => logText.includes(tk) || logText.includes(tk.split('.')[2] as string)).length
  await upstream.stop()
  await jwks.stop()
  rmSync(dir, { recursive: true, force: true })

  const rssRatio = rssEnd / rssStart
  if (counts.hangs > 0) failures.push(`${counts.hangs} requests hung past ${REQUEST_TIMEOUT_MS} ms`)
  if (counts.resetsOutsideWindow > 0) failures.push(`${counts.resetsOutsideWindow} resets outside the restart windows`)
  if (counts.unexpectedStatus > 0) failures.push(`${counts.unexpectedStatus} unexpected statuses`)
  if (counts.deniedReachedUpstream > 0) failures.push(`${counts.deniedReachedUpstream} denied requests reached the upstream`)
  if (counts.bodyMismatches > 0) failures.push(`${counts.bodyMismatches} bodies arrived altered`)
  if (counts.tokensInLogs > 0) failures.push(`${counts.tokensInLogs} tokens found in portvakt's log`)
  if (!(rssRatio <= 1.1)) failures.push(`RSS ended at ${(rssRatio * 100).toFixed(1)}% of its value after the warm-up`)

  console.log(JSON.stringify({
    ...counts,
    restartWindowsMs: windows,
    logBytes,
    rssAfterWarmupMiB: +(rssStart / 2 ** 20).toFixed(1),
    rssPeakMiB: +(rssPeak / 2 ** 20).toFixed(1),
    rssEndMiB: +(rssEnd / 2 ** 20).toFixed(1),
    rssEndVsAfterWarmup: `${(rssRatio * 100).toFixed(1)}%`,
    rssEvery10sMiB: rssSamples
  }, null, 2))
  for (const failure of failures) console.log(`FAIL: ${failure}`)
  console.log(failures.length === 0 ? 'soak: PASS' : 'soak: FAIL')
  return failures.length === 0 ? 0 : 1
}

async function one (base: string, kind: Kind, id: string, i: number, tokens: Record<string, string>): Promise<void> {
  const start = Date.now() - t0
  const headers: Record<string, string> = { 'x-soak-id': id }
  const auth = { valid_get: tokens.read, valid_upload: tokens.write, bad_signature: tokens.badSignature, expired: tokens.expired, wrong_scope: tokens.wrongScope } as Partial<Record<Kind, string>>
  if (auth[kind] !== undefined) headers.authorization = `Bearer ${auth[kind]}`
  let url = `${base}/api/v1/arbeidsforhold/${i}`
  if (kind === 'public') url = `${base}/public/${i}`
  if (kind === 'bad_path') url = `${base}/public%2f..%2fapi/v1/arbeidsforhold/${i}` // fetch would resolve an encoded dot segment itself
  let upload: { stream: ReadableStream<Uint8Array>, sha: string } | undefined
  const init: RequestInit & { duplex?: 'half' } = { headers, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }
  if (kind === 'valid_upload') {
    const size = 64 * 1024 + ((i * 7919) % (960 * 1024))
    upload = uploadBody(size)
    counts.uploadBytes += size
    Object.assign(init, { method: 'POST', body: upload.stream, duplex: 'half' })
  }
  try {
    const res = await fetch(url, init)
    const body = Buffer.from(await res.arrayBuffer())
    const valid = !DENIED.has(kind)
    const clean = valid && (res.status === 502 || res.status === 503)
    note(kind, String(res.status))
    if (res.status !== EXPECTED[kind] && !clean) {
      counts.unexpectedStatus++
      if (counts.unexpectedStatus <= 5) console.log(`  unexpected ${res.status} for ${kind} ${id}: ${body.toString().slice(0, 200)}`)
    }
    if (upload !== undefined && res.status === 200) {
      counts.bodiesChecked++
      const down = createHash('sha256').update(body).digest('hex')
      if (down !== upload.sha || upstreamSeen.get(id) !== upload.sha) counts.bodyMismatches++
    }
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    if ((err as Error).name === 'TimeoutError') {
      counts.hangs++
      note(kind, 'hang')
      if (counts.hangs <= 5) console.log(`  hang: ${kind} ${id} sent at ${start} ms`)
    } else if (inRestartWindow(start, Date.now() - t0)) {
      counts.resetsInWindow++
      note(kind, `reset(${cause})`)
    } else {
      counts.resetsOutsideWindow++
      note(kind, `reset-outside(${cause})`)
      if (counts.resetsOutsideWindow <= 5) console.log(`  reset outside a window: ${kind} ${id} at ${start} ms: ${(err as Error).message} ${cause}`)
    }
  }
}

main().then((code) => { process.exit(code) }, (err: unknown) => {
  console.error('soak: crashed:', err)
  process.exit(1)
})

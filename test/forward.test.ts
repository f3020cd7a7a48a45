import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { build } from './helpers/build.js'
import { eventually } from './helpers/poll.js'
import { close, listen, type Seen } from './helpers/servers.js'

const WRITE = { claims: { scope: 'nav:arbeid:arbeidsforhold.write' } }

/** An upstream whose answers a test writes itself; torn down with `t`. */
async function startUpstream (t: Test, handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handle)
  const url = await listen(server)
  t.teardown(async () => { await close(server) })
  return url
}

function sha256 (data: Buffer): string {
  return createHash('sha256').update(data).digest('hex')
}

t.test('forwards the same method, path and query', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold/7?a=1&b=%20x&a=2`, { method: 'DELETE', headers: { authorization: `Bearer ${await h.mint(WRITE)}` } })
  t.equal(res.status, 200)
  const seen = await res.json() as Seen
  t.equal(seen.method, 'DELETE')
  t.equal(seen.url, '/api/v1/arbeidsforhold/7?a=1&b=%20x&a=2')
  t.equal(seen.headers.host, new URL(h.upstream.url).host)
  t.equal(seen.headers['x-forwarded-host'], new URL(h.url).host)
  t.match(h.logs().find((l) => l.msg === 'access'), { method: 'DELETE', path: '/api/v1/arbeidsforhold/7', status: 200, outcome: 'allowed', consumer: '123456789' })
  t.notMatch(h.logText(), /eyJ/, 'no token in any log line')
})

t.test('streams a request body intact, with a length or chunked', async (t) => {
  const h = await build(t)
  const data = randomBytes(3 * 1024 * 1024 + 17)
  const token = await h.mint(WRITE)
  const sized = await fetch(`${h.url}/api/v1/arbeidsforhold`, { method: 'POST', body: data, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } })
  t.equal(sized.status, 200)
  t.match(await sized.json(), { bodyBytes: data.length, bodySha256: sha256(data), headers: { 'content-length': String(data.length) } })
  const chunked = await fetch(`${h.url}/api/v1/arbeidsforhold`, {
    method: 'PUT',
    body: new Blob([data]).stream(),
    duplex: 'half',
    headers: { authorization: `Bearer ${token}` }
  } as RequestInit)
  t.equal(chunked.status, 200)
  t.match(await chunked.json(), { method: 'PUT', bodyBytes: data.length, bodySha256: sha256(data) })
})

t.test('curl uploads a file with Expect: 100-continue and gets the upstream answer', async (t) => {
  const h = await build(t)
  const data = randomBytes(2 * 1024 * 1024)
  const dir = t.testdir()
  writeFileSync(join(dir, 'upload.bin'), data)
  const { stdout } = await promisify(execFile)('curl', ['-sS', '-T', join(dir, 'upload.bin'), '-H', `Authorization: Bearer ${await h.mint(WRITE)}`, `${h.url}/api/v1/arbeidsforhold/1`])
  t.match(JSON.parse(stdout), { method: 'PUT', bodyBytes: data.length, bodySha256: sha256(data) })
  t.equal(h.upstream.seen[0]?.headers.expect, undefined, 'the 100-continue negotiation stays on the client hop')
})

t.test('streams a response body intact, keeping the upstream\'s headers and status', async (t) => {
  const data = randomBytes(4 * 1024 * 1024)
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(206, { 'content-type': 'application/octet-stream', 'set-cookie': ['a=1', 'b=2'], 'x-app': 'yes' })
    let offset = 0
    const pump = (): void => {
      while (offset < data.length) {
        const chunk = data.subarray(offset, offset + 65_536)
        offset += chunk.length
        if (!res.write(chunk)) { res.once('drain', pump); return }
      }
      res.end()
    }
    pump()
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold/file`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 206)
  t.equal(res.headers.get('x-app'), 'yes')
  t.same(res.headers.getSetCookie(), ['a=1', 'b=2'])
  const body = Buffer.from(await res.arrayBuffer())
  t.equal(body.length, data.length)
  t.equal(sha256(body), sha256(data))
})

/** GET with node:http, which (unlike fetch) sends a Connection header as given. */
async function getRaw (url: string, headers: Record<string, string>): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('a header listed in the client\'s Connection header cannot strip the identity headers we set', async (t) => {
  const h = await build(t)
  const res = await getRaw(`${h.url}/api/v1/arbeidsforhold/1`, {
    authorization: `Bearer ${await h.mint()}`,
    connection: 'keep-alive, x-maskinporten-consumer, X-Forwarded-For, x-maskinporten-scope, x-hop, content-length',
    'x-maskinporten-consumer': '999999999',
    'x-hop': 'only for the next hop',
    'x-kept': 'yes'
  })
  t.equal(res.status, 200)
  const seen = JSON.parse(res.body) as Seen
  t.equal(seen.headers['x-maskinporten-consumer'], '123456789')
  t.equal(seen.headers['x-maskinporten-scope'], 'nav:arbeid:arbeidsforhold.read')
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
  t.equal(seen.headers['x-hop'], undefined, 'a header the client lists in Connection is for the first hop only')
  t.equal(seen.headers['x-kept'], 'yes')
  t.notMatch(String(seen.headers.connection), /x-hop/)
})

t.test('hop-by-hop headers of the upstream\'s answer do not reach the client', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { connection: 'x-internal', 'x-internal': 'secret', 'keep-alive': 'timeout=99', 'x-app': 'yes' })
    res.end('ok')
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  const res = await fetch(`${h.url}/public`)
  t.equal(res.status, 200)
  t.equal(res.headers.get('x-internal'), null)
  t.not(res.headers.get('keep-alive'), 'timeout=99')
  t.equal(res.headers.get('x-app'), 'yes')
  t.equal(await res.text(), 'ok')
})

t.test('HEAD is forwarded as HEAD and answers headers without a body', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { method: 'HEAD', headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 200)
  t.equal(res.headers.get('content-type'), 'application/json')
  t.equal((await res.arrayBuffer()).byteLength, 0)
  t.equal(h.upstream.seen[0]?.method, 'HEAD')
})

t.test('an upstream 503 is passed on once, never retried', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.url}/status/503`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 503)
  await res.arrayBuffer()
  t.equal(h.upstream.seen.length, 1)
})

t.test('an upstream that cannot be reached answers 502 with our JSON error', async (t) => {
  const dead = createServer()
  const url = await listen(dead)
  await close(dead)
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: url } })
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold/1`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 502)
  t.match(await res.json(), { code: 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE' })
  t.match(h.logs().find((l) => l.msg === 'access'), { status: 502, outcome: 'upstream_error', code: 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE' })
  t.notMatch(h.logText(), /eyJ/, 'no token in any log line')
})

t.test('an upstream slower than PORTVAKT_UPSTREAM_TIMEOUT answers 504 with our JSON error', async (t) => {
  const h = await build(t, { env: { PORTVAKT_UPSTREAM_TIMEOUT: '100ms' } })
  const res = await fetch(`${h.url}/slow/5000`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 504)
  t.match(await res.json(), { code: 'PORTVAKT_ERR_UPSTREAM_TIMEOUT' })
})

t.test('an upstream that breaks off mid-body leaves the client with a truncated answer, not a whole one', async (t) => {
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-length': '1000000' })
    res.write(Buffer.alloc(1000))
    setImmediate(() => { res.destroy() })
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  const res = await fetch(`${h.url}/public`)
  t.equal(res.status, 200)
  await t.rejects(res.arrayBuffer())
})

t.test('a client that goes away mid-answer makes portvakt drop the upstream request', async (t) => {
  // How the upstream's answer ended: undefined while it is still open.
  let ended: { finished: boolean } | undefined
  const upstream = await startUpstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' })
    res.write(Buffer.alloc(1024))
    res.on('close', () => { ended = { finished: res.writableFinished } })
    // Never ends on its own: only the proxy dropping the request closes it.
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  await new Promise<void>((resolve, reject) => {
    const req = request(`${h.url}/public/stream`, (res) => {
      res.once('data', () => { req.destroy(); resolve() })
    })
    req.on('error', reject)
    req.end()
  })
  t.ok(await eventually(() => ended !== undefined, 10_000), 'the upstream saw its request closed')
  t.same(ended, { finished: false }, 'cut off, not finished: the proxy dropped it')
  t.equal(h.logs().filter((l) => l.level === 50).length, 0, 'the client leaving is no upstream failure')
})

t.test('a client that goes away before the upstream answers is not logged as an upstream failure', async (t) => {
  let arrived!: () => void
  const got = new Promise<void>((resolve) => { arrived = resolve })
  let upstreamClosed!: () => void
  const closed = new Promise<void>((resolve) => { upstreamClosed = resolve })
  const upstream = await startUpstream(t, (req) => {
    req.socket.on('close', upstreamClosed)
    arrived()
    // Never answers: only the proxy dropping the request ends it.
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  const req = request(`${h.url}/public/wait`)
  req.on('error', () => {})
  req.end()
  await got
  req.destroy()
  await closed
  t.equal(h.logs().filter((l) => l.level === 50).length, 0, 'no error line')
})

t.test('a body larger than the body buffer is streamed: its first bytes reach the upstream before the client has sent the rest', async (t) => {
  let firstBytes!: () => void
  const upstreamHasBytes = new Promise<void>((resolve) => { firstBytes = resolve })
  const upstream = await startUpstream(t, (req, res) => {
    const hash = createHash('sha256')
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; hash.update(chunk); firstBytes() })
    req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ bodyBytes: bytes, bodySha256: hash.digest('hex') })) })
  })
  const h = await build(t, { env: { PORTVAKT_UPSTREAM: upstream } })
  // More than the 64 KiB body buffer (PORTVAKT_BODY_BUFFER): a body within it is read whole first.
  const first = randomBytes(96 * 1024)
  const rest = randomBytes(64 * 1024)
  const token = await h.mint(WRITE)
  const answer = new Promise<{ status: number, body: string }>((resolve, reject) => {
    const req = request(`${h.url}/api/v1/arbeidsforhold`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    // Chunked, with no length: a proxy that buffered the body would have to wait for its end.
    req.write(first)
    // The rest is held back until the upstream says it has bytes, which buffering would never allow;
    // the 10 s net turns that hang into a failed assertion instead of a runner timeout.
    const held = new Promise<false>((resolve) => { setTimeout(resolve, 10_000, false).unref() })
    void Promise.race([upstreamHasBytes.then(() => true), held]).then((reached) => {
      t.ok(reached, 'the upstream received bytes while the client still held back the second half')
      req.end(rest)
    })
  })
  const res = await answer
  t.equal(res.status, 200)
  t.same(JSON.parse(res.body), { bodyBytes: first.length + rest.length, bodySha256: sha256(Buffer.concat([first, rest])) }, 'the whole body arrived intact')
})

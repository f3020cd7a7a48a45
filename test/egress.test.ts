import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { jwtVerify } from 'jose'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadSettings } from '../src/config/env.js'
import { createLogger } from '../src/log.js'
import { startGateway } from '../src/start.js'
import { build } from './helpers/build.js'
import { startTarget, startTokenEndpoint } from './helpers/egress.js'
import { makeKey } from './helpers/keys.js'
import { curl } from './helpers/process.js'
import { close } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

interface Reply { status: number, headers: IncomingHttpHeaders, body: Buffer, json: Record<string, unknown> }

/** A request with exact headers and path (fetch would normalise both), body optional. */
async function send (port: number, path: string, options: { method?: string, headers?: Record<string, string>, body?: Buffer } = {}): Promise<Reply> {
  return await new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks)
        let json: Record<string, unknown> = {}
        try { json = JSON.parse(body.toString()) as Record<string, unknown> } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json })
      })
    })
    req.on('error', reject)
    req.end(options.body)
  })
}

function sha256 (bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}

t.test('egress: the app calls 127.0.0.1/<name>/... and portvakt adds the token', async (t) => {
  const key = await makeKey()
  const endpoint = await startTokenEndpoint(key)
  const target = await startTarget(key, 'skatt:some.scope')
  t.teardown(async () => { await close(endpoint.server); await close(target.server) })
  const h = await build(t, {
    routes: `
routes:
  - { path: /internal/isalive, public: true }
egress:
  - name: skatt
    url: ${target.url}/v1
    scopes: [skatt:some.scope]
    resource: https://api.skatteetaten.no
  - name: parallel
    url: ${target.url}/v1
    scopes: [skatt:some.scope]
  - name: underscoped
    url: ${target.url}/v1
    scopes: [skatt:other.scope]
  - name: nede
    url: http://127.0.0.1:1
    scopes: [skatt:some.scope]
`,
    // Each test below revokes and refreshes within moments; the interval has its own test.
    env: { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_EGRESS_PORT: '0', PORTVAKT_EGRESS_REFRESH_INTERVAL: '0' }
  })
  const egress = h.gateway.egress
  if (egress === undefined) throw new Error('the egress listener did not start')
  const port = egress.port

  t.test('forwards path and query as sent, with our token in place of the app\'s', async (t) => {
    const res = await send(port, '/skatt/a/b%C3%A6?x=1&y=%2F', { headers: { authorization: 'Bearer the-apps-own', 'x-app': 'kept' } })
    t.equal(res.status, 200)
    t.equal(res.headers['x-target'], 'yes')
    const seen = target.seen.at(-1)
    t.equal(seen?.url, '/v1/a/b%C3%A6?x=1&y=%2F')
    t.equal(seen?.headers['x-app'], 'kept')
    t.equal(seen?.headers.host, new URL(target.url).host, 'the target\'s own host')
    const token = String(seen?.headers.authorization).replace(/^Bearer /, '')
    const { payload } = await jwtVerify(token, key.publicKey, { issuer: TEST_ISSUER, audience: 'https://api.skatteetaten.no' })
    t.equal(payload.scope, 'skatt:some.scope')
    t.equal(endpoint.requests.at(-1)?.body.resource, 'https://api.skatteetaten.no')
  })

  t.test('the bare name and a bare query reach the base URL', async (t) => {
    t.equal((await send(port, '/skatt')).status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1')
    t.equal((await send(port, '/skatt?q=1')).status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1?q=1')
    t.equal((await send(port, '/skatt/')).status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1/')
    const head = await send(port, '/skatt/h', { method: 'HEAD' })
    t.equal(head.status, 200)
    t.equal(head.body.length, 0, 'HEAD: headers only')
    t.equal(target.seen.at(-1)?.method, 'HEAD')
  })

  t.test('hop-by-hop headers are dropped both ways', async (t) => {
    const res = await send(port, '/skatt/echo', {
      method: 'POST',
      headers: { connection: 'keep-alive, x-hop-out', 'x-hop-out': 'no', 'proxy-authorization': 'Basic c2VjcmV0', te: 'trailers', 'content-type': 'text/plain' },
      body: Buffer.from('hello')
    })
    t.equal(res.status, 200)
    t.equal(res.body.toString(), 'hello')
    const seen = target.seen.at(-1)
    t.equal(seen?.headers['x-hop-out'], undefined)
    t.equal(seen?.headers['proxy-authorization'], undefined)
    t.equal(seen?.headers.te, undefined)
    t.equal(res.headers['x-hop'], undefined, 'a header the target\'s Connection names is not returned')
  })

  t.test('a cached token serves later requests without asking again', async (t) => {
    const before = endpoint.requests.length
    for (let i = 0; i < 3; i++) t.equal((await send(port, '/skatt/x')).status, 200)
    t.equal(endpoint.requests.length, before)
  })

  t.test('50 concurrent first requests share one token fetch', async (t) => {
    let release = (): void => {}
    endpoint.hold = new Promise((resolve) => { release = resolve })
    const before = endpoint.requests.length
    const calls = Array.from({ length: 50 }, async () => await send(port, '/parallel/p'))
    while (endpoint.requests.length === before) await new Promise((resolve) => setImmediate(resolve))
    release()
    endpoint.hold = undefined
    const answers = await Promise.all(calls)
    t.same(new Set(answers.map((a) => a.status)), new Set([200]))
    t.equal(endpoint.requests.length, before + 1)
  })

  t.test('a 401 from the target gets a fresh token (skip_cache) and one retry', async (t) => {
    target.revokeSeen()
    const seenBefore = target.seen.length
    const res = await send(port, '/skatt/after-rights-changed')
    t.equal(res.status, 200)
    t.same(target.seen.slice(seenBefore).map((s) => s.status), [401, 200])
    t.equal(endpoint.requests.at(-1)?.body.skip_cache, true)
    t.equal((await send(port, '/skatt/next')).status, 200, 'the fresh token is cached')
  })

  t.test('a small request body is replayed on the retry, byte for byte', async (t) => {
    target.revokeSeen()
    const body = randomBytes(4096)
    const seenBefore = target.seen.length
    const res = await send(port, '/skatt/upload', { method: 'PUT', body, headers: { 'content-type': 'application/octet-stream' } })
    t.equal(res.status, 200)
    const seen = target.seen.slice(seenBefore)
    t.same(seen.map((s) => s.status), [401, 200])
    t.equal(seen[1]?.bodySha256, sha256(body))
  })

  t.test('a target that refuses the fresh token too: its 401 is passed on after one retry', async (t) => {
    const seenBefore = target.seen.length
    const res = await send(port, '/underscoped/x')
    t.equal(res.status, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"')
    t.equal(target.seen.length - seenBefore, 2)
  })

  t.test('a large body streams out and back intact, and a 401 on it is passed on unretried', async (t) => {
    const body = randomBytes(8 * 1024 * 1024)
    const res = await send(port, '/skatt/echo', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
    t.equal(res.status, 200)
    t.equal(res.body.length, body.length)
    t.equal(sha256(res.body), sha256(body), 'the same bytes came back')
    t.equal(target.seen.at(-1)?.bodySha256, sha256(body), 'the target got every byte')
    target.revokeSeen()
    const seenBefore = target.seen.length
    const refused = await send(port, '/skatt/echo', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } })
    t.equal(refused.status, 401)
    t.equal(target.seen.length - seenBefore, 1, 'a streamed body cannot be sent twice')
  })

  t.test('a token-endpoint failure answers 502 with its error, and is not cached', async (t) => {
    endpoint.failure = { status: 400, error: 'invalid_scope', error_description: 'not granted' }
    const res = await send(port, '/underscoped/y')
    t.equal(res.status, 502)
    t.same(res.json, { code: 'PORTVAKT_ERR_TOKEN_ENDPOINT', message: 'no token from NAIS_TOKEN_ENDPOINT: invalid_scope', error: 'invalid_scope', error_description: 'not granted' })
    endpoint.failure = undefined
    const seenBefore = target.seen.length
    await send(port, '/underscoped/y')
    t.ok(target.seen.length > seenBefore, 'the next request gets a token and reaches the target')
  })

  t.test('unknown names, bad paths and unroutable methods are answered here, never forwarded', async (t) => {
    const seenBefore = target.seen.length
    const unknown = await send(port, '/nobody/x')
    t.equal(unknown.status, 404)
    t.equal(unknown.json.code, 'PORTVAKT_ERR_NOT_FOUND')
    const dots = await send(port, '/skatt/%2e%2e/admin')
    t.equal(dots.status, 400)
    t.equal(dots.json.code, 'PORTVAKT_ERR_BAD_PATH')
    t.equal((await send(port, '/skatt//x')).status, 400)
    t.equal((await send(port, '/skatt/x', { method: 'TRACE' })).status, 405)
    t.equal(target.seen.length, seenBefore)
  })

  t.test('a Host that is not loopback is refused (DNS rebinding), never forwarded', async (t) => {
    const seenBefore = target.seen.length
    const res = await send(port, '/skatt/x', { headers: { host: 'evil.example:8083' } })
    t.equal(res.status, 403)
    t.equal(res.json.code, 'PORTVAKT_ERR_NOT_LOOPBACK')
    t.equal(target.seen.length, seenBefore)
    t.equal((await send(port, '/skatt/x', { headers: { host: `localhost:${port}` } })).status, 200)
    t.equal((await send(port, '/skatt/x', { headers: { host: '[::1]' } })).status, 200)
  })

  t.test('an unreachable target is a 502', async (t) => {
    const res = await send(port, '/nede/x')
    t.equal(res.status, 502)
    t.equal(res.json.code, 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE')
  })

  t.test('curl, as an app would call it', async (t) => {
    const res = await curl([`http://127.0.0.1:${port}/skatt/fra-curl?a=1`])
    t.equal(res.status, 200)
    t.equal(JSON.parse(res.body).url, '/v1/fra-curl?a=1')
  })

  t.test('counts requests by name and status, token fetches by result, cache hits', async (t) => {
    const stats = egress.stats()
    t.ok((stats.requests.skatt?.['200'] ?? 0) >= 10)
    t.equal(stats.requests.parallel?.['200'], 50)
    t.equal(stats.requests.underscoped?.['401'], 2)
    t.equal(stats.requests.underscoped?.['502'], 1)
    t.equal(stats.requests['-']?.['404'], 1, 'unknown names share one label')
    t.equal(stats.fetches.error, 1)
    t.equal(stats.fetches.ok, endpoint.requests.length - 1)
    t.ok(stats.cacheHits > 0)
  })

  t.test('no token reaches the log; each request has an egress line', async (t) => {
    const text = h.logText()
    const tokens = new Set(target.seen.map((s) => String(s.headers.authorization).replace(/^Bearer /, '')))
    t.notOk([...tokens].some((token) => text.includes(token.split('.')[1] as string)), 'no token payload in the log')
    t.notOk(text.includes('the-apps-own'))
    t.match(h.logs().find((l) => l.msg === 'egress' && l.status === 401), { egress: 'underscoped', retried: true, path: '/underscoped/x' })
    t.match(h.logs().find((l) => l.msg === 'egress listening'), { host: '127.0.0.1', egress: [{ name: 'skatt', target: 'skatt:some.scope' }] })
  })

  t.test('a reloaded route table changes the egress targets without a restart', async (t) => {
    writeFileSync(h.gateway.routes.file, `egress:\n  - { name: ny, url: "${target.url}/v2", scopes: [skatt:some.scope] }\n`)
    const result = await h.gateway.routes.reload()
    t.equal(result.ok, true)
    t.equal((await send(port, '/ny/x')).status, 200)
    t.equal(target.seen.at(-1)?.url, '/v2/x')
    t.equal((await send(port, '/skatt/x')).status, 404, 'a removed name is gone')
  })

  const address = Object.values(networkInterfaces()).flat().find((i) => i !== undefined && !i.internal && i.family === 'IPv4')?.address
  t.test('the listener is not reachable on this machine\'s other addresses', { skip: address === undefined ? 'this machine has no non-loopback IPv4 address' : false }, async (t) => {
    if (address === undefined) return
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(port, address)
      socket.once('connect', () => { socket.destroy(); resolve('connected') })
      socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
    })
    t.equal(outcome, 'ECONNREFUSED', `${address}:${port} refuses`)
  })
})

t.test('egress targets without NAIS_TOKEN_ENDPOINT stop the start, naming the variable', async (t) => {
  const dir = t.testdir({ 'routes.yaml': 'egress:\n  - { name: skatt, url: "http://127.0.0.1:9", scopes: [skatt:a] }\n' })
  const settings = loadSettings({ MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks', PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_EGRESS_PORT: '0' })
  await t.rejects(startGateway(settings, createLogger('silent')), { name: 'ConfigError', message: /NAIS_TOKEN_ENDPOINT: not set, but .*routes\.yaml lists egress targets/ })
})

t.test('no egress targets, no egress listener', async (t) => {
  const h = await build(t)
  t.equal(h.gateway.egress, undefined)
})

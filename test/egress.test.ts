import t, { type Test } from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { connect } from 'node:net'
import { networkInterfaces } from 'node:os'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadSettings } from '../src/config/env.js'
import { createLogger } from '../src/observe/log.js'
import { startGateway } from '../src/start.js'
import { sendRaw } from './helpers/attack.js'
import { build } from './helpers/build.js'
import { startDevTokenIssuer, startTarget, startTokenEndpoint, type Target, type TokenEndpoint } from './helpers/egress.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { eventually } from './helpers/poll.js'
import { curl } from './helpers/cli.js'
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

/** The steerable token endpoint and a target that wants skatt:some.scope on its tokens, both closed when `t` ends. */
async function startSkatt (t: Test): Promise<{ endpoint: TokenEndpoint, target: Target }> {
  const endpoint = await startTokenEndpoint()
  const target = await startTarget({ ...endpoint, scope: 'skatt:some.scope' })
  t.teardown(async () => { await endpoint.close(); await close(target.server) })
  return { endpoint, target }
}

/** A route table's egress list of one target, skatt, at `target`'s /v1. */
function skattEgress (target: Target): string {
  return `egress:\n  - { name: skatt, url: "${target.url}/v1", scopes: [skatt:some.scope] }\n`
}

t.test('egress: the app calls 127.0.0.1/<name>/... and portvakt adds the token', async (t) => {
  const { endpoint, target } = await startSkatt(t)
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
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(endpoint.jwksUri)), { issuer: endpoint.issuer, audience: 'https://api.skatteetaten.no' })
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

  t.test('a _method query parameter is the target\'s to read: forwarded as sent, the method unchanged', async (t) => {
    const res = await send(port, '/skatt/items/1?_method=DELETE&a=1')
    t.equal(res.status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1/items/1?_method=DELETE&a=1')
    t.equal(target.seen.at(-1)?.method, 'GET')
  })

  t.test('a dot segment cannot climb out of the target\'s base path', async (t) => {
    const seenBefore = target.seen.length
    for (const path of ['/skatt/../other', '/skatt/..', '/skatt/./x', '/skatt/%2e%2e/other?_method=x']) {
      const res = await send(port, path)
      t.equal(res.status, 400, path)
      t.equal(res.json.code, 'PORTVAKT_ERR_BAD_PATH', path)
    }
    t.equal(target.seen.length, seenBefore, 'none forwarded')
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
    t.ok(await eventually(() => endpoint.requests.length > before, undefined, 0), 'the first call reached the token endpoint')
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

  t.test('a small chunked body is read whole, sent with its length, and replayed on the retry', async (t) => {
    target.revokeSeen()
    const body = randomBytes(3000)
    const seenBefore = target.seen.length
    const res = await send(port, '/skatt/upload', { method: 'POST', body, headers: { 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } })
    t.equal(res.status, 200)
    const seen = target.seen.slice(seenBefore)
    t.same(seen.map((s) => s.status), [401, 200], 'within PORTVAKT_BODY_BUFFER, a chunked body can be sent twice too')
    t.equal(seen[1]?.bodySha256, sha256(body))
  })

  t.test('a target that refuses the fresh token too: its 401 is passed on after one retry', async (t) => {
    const seenBefore = target.seen.length
    const res = await send(port, '/underscoped/x')
    t.equal(res.status, 401)
    t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"')
    t.equal(target.seen.length - seenBefore, 2)
    t.same(res.json, { error: 'invalid_token' }, 'with the target\'s own body')
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

  t.test('CONNECT, a coded body and an unparsable request get the gate\'s answers, never forwarded', async (t) => {
    const seenBefore = target.seen.length
    const url = `http://127.0.0.1:${port}`
    const connectAnswer = await sendRaw(url, 'CONNECT evil.com:443 HTTP/1.1\r\nHost: evil.com:443\r\n\r\n')
    t.equal(connectAnswer.status, 400, 'CONNECT is answered, not closed without a word')
    t.equal(JSON.parse(connectAnswer.body).code, 'PORTVAKT_ERR_BAD_PATH')
    t.equal(connectAnswer.headers.connection, 'close')
    const coded = await sendRaw(url, 'POST /skatt/x HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n')
    t.equal(coded.status, 501, 'a transfer coding other than chunked is not sent out as a plain body')
    t.equal(JSON.parse(coded.body).code, 'PORTVAKT_ERR_TRANSFER_CODING_UNSUPPORTED')
    t.equal(coded.headers.connection, 'close')
    const garbled = await sendRaw(url, 'NOT A REQUEST\r\n\r\n')
    t.equal(garbled.status, 400)
    t.equal(JSON.parse(garbled.body).code, 'PORTVAKT_ERR_MALFORMED_REQUEST', 'in our format, as on the gate')
    for (const answer of [connectAnswer, coded, garbled]) t.equal(answer.headers['www-authenticate'], undefined, 'no Bearer challenge: not a credentials problem')
    t.equal(target.seen.length, seenBefore)
    t.match(h.logs().find((l) => l.msg === 'egress' && l.method === 'CONNECT'), { path: 'evil.com:443', status: 400, code: 'PORTVAKT_ERR_BAD_PATH' }, 'the CONNECT is logged')
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

t.test('egress with the dev issuer itself as NAIS_TOKEN_ENDPOINT, and a target that checks its tokens against the issuer\'s JWKS', async (t) => {
  const issuer = await startDevTokenIssuer()
  const target = await startTarget({ ...issuer, scope: 'skatt:some.scope', audience: 'https://api.skatteetaten.no' })
  t.teardown(async () => { await issuer.close(); await close(target.server) })
  const h = await build(t, {
    routes: `
egress:
  - { name: skatt, url: "${target.url}/v1", scopes: [skatt:some.scope], resource: "https://api.skatteetaten.no" }
  - { name: noaud, url: "${target.url}/v1", scopes: [skatt:some.scope] }
  - { name: otherscope, url: "${target.url}/v1", scopes: [skatt:other.scope], resource: "https://api.skatteetaten.no" }
`,
    env: { NAIS_TOKEN_ENDPOINT: issuer.tokenEndpoint, PORTVAKT_EGRESS_PORT: '0', PORTVAKT_EGRESS_REFRESH_INTERVAL: '0' }
  })
  const port = h.gateway.egress?.port as number
  const jtis = (from: number): Array<string | undefined> => target.seen.slice(from).map((s) => s.jti)

  t.test('a token with the target\'s scope and audience passes its check', async (t) => {
    const res = await send(port, '/skatt/x')
    t.equal(res.status, 200)
    t.match(issuer.issued, [{ scope: 'skatt:some.scope', audience: 'https://api.skatteetaten.no', cached: false }])
    t.equal((await send(port, '/skatt/y')).status, 200)
    t.equal(issuer.issued.length, 1, 'the second call used the cached token')
  })

  t.test('tokens without the target\'s audience or scope are refused by it, and its 401 passed on', async (t) => {
    for (const name of ['noaud', 'otherscope']) {
      const seenBefore = target.seen.length
      const res = await send(port, `/${name}/x`)
      t.equal(res.status, 401, name)
      t.same(target.seen.slice(seenBefore).map((s) => s.status), [401, 401], `${name}: refused, refreshed once, refused again`)
    }
  })

  t.test('the target starts rejecting: one skip_cache fetch and one retry, then its 401 is passed on', async (t) => {
    const seenBefore = target.seen.length
    const issuedBefore = issuer.issued.length
    target.rejectAll = true
    const res = await send(port, '/skatt/while-rejecting')
    t.equal(res.status, 401)
    t.same(res.json, { error: 'invalid_token' })
    const [refused, retried] = jtis(seenBefore)
    t.equal(target.seen.length - seenBefore, 2, 'sent twice')
    t.ok(refused !== undefined && retried !== undefined && refused !== retried, 'the retry carried another token')
    t.match(issuer.issued.slice(issuedBefore), [{ scope: 'skatt:some.scope', cached: false }], 'a fresh token, though the issuer held an unexpired one: skip_cache')
    target.rejectAll = false
    t.equal((await send(port, '/skatt/after')).status, 200)
    t.equal(target.seen.at(-1)?.jti, retried, 'the fresh token replaced the refused one in our cache')
    t.equal(issuer.issued.length, issuedBefore + 1)
  })

  t.test('rights changed: the refused token is replaced and the retry succeeds', async (t) => {
    const seenBefore = target.seen.length
    target.revokeSeen()
    const res = await send(port, '/skatt/after-rights-changed')
    t.equal(res.status, 200)
    t.same(target.seen.slice(seenBefore).map((s) => s.status), [401, 200])
    t.equal(issuer.issued.at(-1)?.cached, false)
  })
})

t.test('a 401 whose skip_cache refresh fails answers 502 with the endpoint\'s error, and the 401\'s body was read', async (t) => {
  const { endpoint, target } = await startSkatt(t)
  const h = await build(t, {
    routes: skattEgress(target),
    env: { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_EGRESS_PORT: '0', PORTVAKT_EGRESS_REFRESH_INTERVAL: '0', PORTVAKT_EGRESS_TIMEOUT: '60s' }
  })
  const port = h.gateway.egress?.port as number
  t.equal((await send(port, '/skatt/first')).status, 200, 'a token is cached')
  // Past undici's 64 KiB read-ahead: left unread, this body holds the connection until the body timeout.
  target.refusalBytes = 200 * 1024
  target.rejectAll = true
  endpoint.failure = { status: 400, error: 'invalid_scope', error_description: 'skatt:some.scope is no longer granted' }
  const res = await send(port, '/skatt/refused')
  t.equal(res.status, 502)
  t.same(res.json, { code: 'PORTVAKT_ERR_TOKEN_ENDPOINT', message: 'no token from NAIS_TOKEN_ENDPOINT: invalid_scope', error: 'invalid_scope', error_description: 'skatt:some.scope is no longer granted' })
  t.equal(endpoint.requests.at(-1)?.body.skip_cache, true, 'the failure was the skip_cache fetch')
  target.rejectAll = false
  endpoint.failure = undefined
  t.equal((await send(port, '/skatt/next')).status, 200, 'the cached token still serves')
  t.equal(target.connections, 1, 'one keep-alive connection served all three: the refusal was read to its end')
})

t.test('a 401 with a body too large to hold is passed on whole, without a retry', async (t) => {
  const { endpoint, target } = await startSkatt(t)
  const h = await build(t, {
    routes: skattEgress(target),
    env: { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_EGRESS_PORT: '0', PORTVAKT_EGRESS_REFRESH_INTERVAL: '0' }
  })
  target.refusalBytes = 2 * 1024 * 1024
  target.rejectAll = true
  const res = await send(h.gateway.egress?.port as number, '/skatt/x')
  t.equal(res.status, 401)
  t.equal(res.body.length, 2 * 1024 * 1024, 'every byte of it')
  t.equal(res.headers['www-authenticate'], 'Bearer error="invalid_token"')
  t.equal(target.seen.length, 1, 'not retried')
  t.equal(endpoint.requests.length, 1, 'no skip_cache fetch')
})

/** A portvakt whose route table starts without egress targets, and a way to change that table. */
async function buildWithoutEgress (t: Test, env: Record<string, string>) {
  const h = await build(t, { routes: 'routes:\n  - { path: /public, public: true }\n', env: { PORTVAKT_EGRESS_PORT: '0', ...env } })
  const reload = async (egress: string): Promise<void> => {
    writeFileSync(h.gateway.routes.file, `routes:\n  - { path: /public, public: true }\n${egress}`)
    t.equal((await h.gateway.routes.reload()).ok, true, 'the table is valid')
  }
  return { h, reload }
}

t.test('the egress listener follows reloads: started by the first targets, stopped when none are left', async (t) => {
  const { endpoint, target } = await startSkatt(t)
  const { h, reload } = await buildWithoutEgress(t, { NAIS_TOKEN_ENDPOINT: endpoint.url })
  t.equal(h.gateway.egress, undefined, 'no targets, no listener')

  await reload(skattEgress(target))
  t.ok(await eventually(() => h.gateway.egress !== undefined), 'the listener starts')
  const port = h.gateway.egress?.port as number
  t.equal((await send(port, '/skatt/x')).status, 200)
  t.equal(target.seen.at(-1)?.url, '/v1/x')
  t.match(h.logs().find((l) => l.msg === 'route table reloaded'), { egress: [{ name: 'skatt', url: `${target.url}/v1`, target: 'skatt:some.scope' }] }, 'the reload line names the egress targets')

  await reload('')
  t.ok(await eventually(() => h.gateway.egress === undefined), 'the listener stops')
  const refused = await new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => { socket.destroy(); resolve('connected') })
    socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? 'error') })
  })
  t.equal(refused, 'ECONNREFUSED', 'nothing listens on the old port')
  t.ok(h.logs().some((l) => l.msg === 'egress stopped: the route table lists no egress targets'))
  t.equal((await fetch(`${h.url}/public`)).status, 200, 'the gate serves on')

  const served = async (): Promise<number | undefined> => valueOf(await scrape(h.adminUrl), 'portvakt_egress_requests_total', { name: 'skatt', status: '200' })
  t.equal(await served(), 1, 'the stopped listener\'s requests still count')
  await reload(skattEgress(target))
  t.ok(await eventually(() => h.gateway.egress !== undefined), 'started again')
  t.equal((await send(h.gateway.egress?.port as number, '/skatt/y')).status, 200)
  t.equal(await served(), 2, 'counters go on from there, never backwards')
})

t.test('a reload that removes the last target stops the listener within PORTVAKT_SHUTDOWN_TIMEOUT, even with a call hanging', async (t) => {
  const endpoint = await startTokenEndpoint()
  // A target that takes the request and never answers.
  let arrived = false
  const hanging = createServer(() => { arrived = true })
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { hanging.closeAllConnections(); await endpoint.close(); await close(hanging) })
  const { port: hangingPort } = hanging.address() as AddressInfo
  // The egress call timeout stays at its 30 s default: only the stop's own bound can end this test in time.
  const { h, reload } = await buildWithoutEgress(t, { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_SHUTDOWN_TIMEOUT: '300ms' })
  await reload(`egress:\n  - { name: slow, url: "http://127.0.0.1:${hangingPort}/v1", scopes: [skatt:some.scope] }\n`)
  t.ok(await eventually(() => h.gateway.egress !== undefined), 'the listener starts')
  const call = send(h.gateway.egress?.port as number, '/slow/x').then((r) => r.status, (err: NodeJS.ErrnoException) => err.code ?? 'error')
  t.ok(await eventually(() => arrived), 'the call reached the target and hangs there')
  await reload('')
  t.ok(await eventually(() => h.gateway.egress === undefined && h.logs().some((l) => l.msg === 'egress stopped: the route table lists no egress targets'), 10_000), 'the listener stops, bounded by the shutdown timeout')
  t.not(await call, 200, 'the hanging call was cut, not answered')
  t.equal((await fetch(`${h.url}/public`)).status, 200, 'the gate serves on')
})

t.test('a reload that adds egress targets without NAIS_TOKEN_ENDPOINT logs the variable to set, and the gate keeps serving', async (t) => {
  const { h, reload } = await buildWithoutEgress(t, {})
  await reload('egress:\n  - { name: skatt, url: "http://127.0.0.1:9", scopes: [skatt:some.scope] }\n')
  t.ok(await eventually(() => h.logs().some((l) => l.level === 50 && /NAIS_TOKEN_ENDPOINT/.test(JSON.stringify(l)))), 'an error names NAIS_TOKEN_ENDPOINT')
  t.match(h.logs().find((l) => l.level === 50), { problems: [/^NAIS_TOKEN_ENDPOINT: not set/] })
  t.equal(h.gateway.egress, undefined)
  t.equal((await fetch(`${h.url}/public`)).status, 200, 'the gate serves on')
})

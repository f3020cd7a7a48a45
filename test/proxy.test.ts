import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { build } from './helpers/build.js'
import { call } from './helpers/http.js'
import { close } from './helpers/servers.js'

interface Echo { method: string, url: string, headers: Record<string, string | undefined>, bodyBytes: number, bodySha256: string }

/** Send a request with exact raw headers (names as given, repeats kept), which fetch would normalise. */
async function rawCall (url: string, path: string, headers: Array<[string, string]>, method = 'GET'): Promise<{ status: number, body: string }> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve, reject) => {
    const raw = [['host', `${hostname}:${port}`], ...headers].flat()
    const req = httpRequest({ host: hostname, port, path, method, headers: raw as unknown as Record<string, string> }, (res) => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('forwarding', async (t) => {
  const h = await build(t)
  const token = await h.mint()

  t.test('the upstream sees the same method, path and query as received', async (t) => {
    const res = await call(`${h.url}/api/v1/arbeidsforhold/1/%C3%A6?b=2&a=%2F&a=3`, { token, method: 'HEAD' })
    t.equal(res.status, 200)
    const seen = h.upstream.seen.at(-1) as Echo
    t.equal(seen.method, 'HEAD')
    t.equal(seen.url, '/api/v1/arbeidsforhold/1/%C3%A6?b=2&a=%2F&a=3')
  })

  t.test('a long path is forwarded, not cut', async (t) => {
    const path = `/api/v1/arbeidsforhold/${'x'.repeat(3000)}`
    const res = await call(`${h.url}${path}`, { token })
    t.equal(res.status, 200)
    t.equal((res.body as unknown as Echo).url, path)
  })

  t.test('request bodies of any content type are streamed through intact', async (t) => {
    const writeToken = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.write' } })
    for (const type of ['application/json', 'text/plain', 'application/octet-stream']) {
      const body = randomBytes(3 * 1024 * 1024).toString('base64')
      const res = await call(`${h.url}/api/v1/arbeidsforhold`, { method: 'POST', token: writeToken, body, headers: { 'content-type': type } })
      t.equal(res.status, 200, type)
      const echo = res.body as unknown as Echo
      t.equal(echo.bodyBytes, Buffer.byteLength(body), `${type}: every byte arrived`)
      t.equal(echo.bodySha256, createHash('sha256').update(body).digest('hex'), `${type}: intact`)
    }
  })

  t.test('a 5xx from the upstream is passed on once, never retried', async (t) => {
    const before = h.upstream.seen.length
    const res = await call(`${h.url}/status/503`, { token })
    t.equal(res.status, 503)
    t.equal(h.upstream.seen.length, before + 1)
  })

  t.test('Authorization is passed on by default', async (t) => {
    const res = await call(`${h.url}/api/v1/arbeidsforhold`, { token })
    t.equal((res.body as unknown as Echo).headers.authorization, `Bearer ${token}`)
  })

  t.test('X-Forwarded-* are set by us and client copies are overwritten', async (t) => {
    const res = await call(`${h.url}/api/v1/arbeidsforhold`, { token, headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-host': 'evil', 'forwarded': 'for=6.6.6.6', 'x-real-ip': '6.6.6.6', 'x-original-url': '/admin' } })
    const seen = (res.body as unknown as Echo).headers
    t.equal(seen['x-forwarded-for'], '127.0.0.1')
    t.equal(seen['x-forwarded-proto'], 'http')
    t.equal(seen['x-forwarded-host'], new URL(h.url).host)
    t.equal(seen.forwarded, undefined)
    t.equal(seen['x-real-ip'], undefined)
    t.equal(seen['x-original-url'], undefined)
  })
})

t.test('identity headers are ours alone', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  const forged: Array<[string, string]> = [
    ['X-Maskinporten-Consumer', '999999999'], ['x_maskinporten_consumer', '999999999'], ['X.Maskinporten.Consumer', '999999999'],
    ['X-MASKINPORTEN-CLIENT-ID', 'forged'], ['x_maskinporten_scope', 'nav:admin:all']
  ]

  t.test('forged copies are replaced on a protected route', async (t) => {
    const res = await rawCall(h.url, '/api/v1/arbeidsforhold', [['authorization', `Bearer ${token}`], ...forged])
    t.equal(res.status, 200)
    const seen = (JSON.parse(res.body) as Echo).headers
    t.equal(seen['x-maskinporten-consumer'], '123456789')
    t.equal(seen['x-maskinporten-client-id'], '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b')
    t.equal(seen['x-maskinporten-scope'], 'nav:arbeid:arbeidsforhold.read')
    for (const name of Object.keys(seen)) t.notMatch(name, /_|maskinporten\.|\.maskinporten/, `no variant ${name} left`)
  })

  t.test('forged copies are removed on a public route', async (t) => {
    const res = await rawCall(h.url, '/public/x', forged)
    t.equal(res.status, 200)
    const seen = (JSON.parse(res.body) as Echo).headers
    for (const name of Object.keys(seen)) t.notMatch(name, /maskinporten/i, `${name} removed`)
  })

  t.test('a Connection header naming our headers cannot strip them', async (t) => {
    const res = await rawCall(h.url, '/api/v1/arbeidsforhold', [['authorization', `Bearer ${token}`], ['connection', 'x-maskinporten-consumer, x-maskinporten-scope']])
    const seen = (JSON.parse(res.body) as Echo).headers
    t.equal(seen['x-maskinporten-consumer'], '123456789')
    t.equal(seen['x-maskinporten-scope'], 'nav:arbeid:arbeidsforhold.read')
  })

  t.test('two Authorization headers are refused', async (t) => {
    const before = h.upstream.seen.length
    const res = await rawCall(h.url, '/api/v1/arbeidsforhold', [['authorization', `Bearer ${token}`], ['authorization', 'Bearer other']])
    t.equal(res.status, 400)
    t.equal(h.upstream.seen.length, before)
  })
})

t.test('paths and routes', async (t) => {
  const h = await build(t)
  const token = await h.mint()

  t.test('dot segments and encoded separators are refused before routing and never forwarded', async (t) => {
    for (const path of ['/public/../api/v1/arbeidsforhold', '/public/%2e%2e/api', '/public/%2E%2E/api', '/api%2fv1/arbeidsforhold', '/api/%00', '/public;x/../api', '/public//x']) {
      const res = await rawCall(h.url, path, [])
      t.equal(res.status, 400, path)
      t.equal((JSON.parse(res.body) as { code: string }).code, 'PORTVAKT_ERR_BAD_PATH', path)
    }
    t.equal(h.upstream.seen.length, 0)
  })

  t.test('prefix confusion: /apix matches no route and is a 404, never forwarded', async (t) => {
    const res = await call(`${h.url}/apix`, { token })
    t.equal(res.status, 404)
    t.equal(res.body.code, 'PORTVAKT_ERR_NOT_FOUND')
    t.equal(h.upstream.seen.length, 0)
  })

  t.test('a routed path without the method is a 405 with Allow', async (t) => {
    const res = await call(`${h.url}/api/v1/arbeidsforhold`, { method: 'OPTIONS', token })
    t.equal(res.status, 405)
    t.equal(res.body.code, 'PORTVAKT_ERR_METHOD_NOT_ALLOWED')
    t.equal(res.headers.get('allow'), 'GET, HEAD, POST, PUT, PATCH, DELETE')
    const other = await rawCall(h.url, '/internal/isalive', [], 'PROPFIND')
    t.equal(other.status, 405, 'a method no route can name is a 405 too')
    t.equal(h.upstream.seen.length, 0)
  })

  t.test('a public route needs no token', async (t) => {
    const res = await call(`${h.url}/internal/isalive`)
    t.equal(res.status, 200)
    t.equal(h.upstream.seen.at(-1)?.url, '/internal/isalive')
  })
})

t.test('PORTVAKT_FORWARD_TOKEN=false strips Authorization', async (t) => {
  const h = await build(t, { env: { PORTVAKT_FORWARD_TOKEN: 'false' } })
  const res = await call(`${h.url}/api/v1/arbeidsforhold`, { token: await h.mint() })
  t.equal(res.status, 200)
  t.equal((res.body as unknown as Echo).headers.authorization, undefined)
})

t.test('upstream failures', async (t) => {
  t.test('an upstream that is down is a 502 with a JSON body', async (t) => {
    const h = await build(t)
    await close(h.upstream.server)
    const res = await call(`${h.url}/api/v1/arbeidsforhold`, { token: await h.mint() })
    t.equal(res.status, 502)
    t.equal(res.body.code, 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE')
    t.ok(h.logs().some((l) => l.level === 50 && l.code === 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE'), 'logged as an error')
  })

  t.test('an upstream slower than PORTVAKT_UPSTREAM_TIMEOUT is a 504', async (t) => {
    const h = await build(t, { env: { PORTVAKT_UPSTREAM_TIMEOUT: '200ms' } })
    const res = await call(`${h.url}/slow/3000`, { token: await h.mint() })
    t.equal(res.status, 504)
    t.equal(res.body.code, 'PORTVAKT_ERR_UPSTREAM_TIMEOUT')
  })
})

t.test('logs', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  await call(`${h.url}/api/v1/arbeidsforhold?secret=1`, { token })
  await call(`${h.url}/api/v1/arbeidsforhold`, { token: token + 'x' })
  await call(`${h.url}/public`)

  t.test('one access line per request with route, status, consumer and outcome', async (t) => {
    const access = h.logs().filter((l) => l.msg === 'access')
    t.equal(access.length, 3)
    t.match(access[0], { method: 'GET', path: '/api/v1/arbeidsforhold', route: 'GET,HEAD /api/v1/arbeidsforhold', status: 200, consumer: '123456789', outcome: 'allowed' })
    t.match(access[1], { status: 401, outcome: 'unauthenticated', reason: 'bad_signature' })
    t.match(access[2], { status: 200, outcome: 'public', route: '* /public' })
    t.type(access[0]?.ms, 'number')
    t.notOk(JSON.stringify(access[0]).includes('secret'), 'the query is not logged')
  })

  t.test('the resolved settings and route table are logged once at start', async (t) => {
    const started = h.logs().filter((l) => l.msg === 'portvakt started')
    t.equal(started.length, 1)
    t.equal((started[0]?.routes as unknown[]).length, 9)
  })

  t.test('no token or Authorization value reaches the log', async (t) => {
    t.notOk(h.logText().includes(token.split('.')[1] as string))
    t.notOk(/bearer/i.test(h.logText()))
  })
})

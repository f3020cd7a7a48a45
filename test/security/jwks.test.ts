/**
 * JWKS attacks: keys over plain http, an oversized key set, symmetric and
 * encryption keys, duplicate kids, redirects. Bad keys never verify a token: refused at start, or
 * 503 while no usable keys are in hand, or 401 for the token; the upstream sees nothing.
 */
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { writeFileSync } from 'node:fs'
import { Writable } from 'node:stream'
import t, { type Test } from 'tap'
import { fetchJwks, MAX_JWKS_BYTES } from '../../src/auth/jwks.js'
import { resolveIssuer } from '../../src/config/discovery.js'
import { ConfigError } from '../../src/config/errors.js'
import { loadSettings } from '../../src/config/env.js'
import { createLogger } from '../../src/observe/log.js'
import { startGateway } from '../../src/start.js'
import { build, TEST_ROUTES } from '../helpers/build.js'
import { makeKey } from '../helpers/keys.js'
import { close, listen, startEchoUpstream } from '../helpers/servers.js'
import { eventually } from '../helpers/poll.js'
import { TEST_ISSUER, tokenFactory } from '../helpers/tokens.js'
import { ask, assertDenied, CHALLENGE, resetSeen, signHmac, validClaims } from '../helpers/attack.js'

const PATH = '/api/v1/arbeidsforhold/1'
const BASE_ENV = { MASKINPORTEN_ISSUER: TEST_ISSUER, PORTVAKT_ROUTES: 'config/routes.yaml' }

/** A server with a handler of the test's choosing, counting hits, closed at teardown. */
async function serve (t: Test, handler: (res: import('node:http').ServerResponse, url: string) => void): Promise<{ url: string, hits: () => number, server: Server }> {
  let hits = 0
  const server = createServer((req, res) => { hits++; handler(res, req.url ?? '') })
  const url = await listen(server)
  t.teardown(async () => { await close(server) })
  return { url, hits: () => hits, server }
}

/** A portvakt whose first key fetch may fail: it does not wait for keys. */
async function startWithoutKeys (t: Test, jwksUri: string): Promise<{ url: string, seen: () => number, logText: () => string }> {
  const upstream = await startEchoUpstream()
  const dir = t.testdir({})
  const routes = join(dir, 'routes.yaml')
  writeFileSync(routes, TEST_ROUTES)
  const settings = loadSettings({ ...BASE_ENV, MASKINPORTEN_JWKS_URI: jwksUri, PORTVAKT_ROUTES: routes, PORTVAKT_UPSTREAM: upstream.url, PORTVAKT_HOST: '127.0.0.1', PORTVAKT_PORT: '0' })
  let text = ''
  const logger = createLogger('info', new Writable({ write (chunk: Buffer, _enc, done) { text += chunk.toString(); done() } }))
  const gateway = await startGateway(settings, logger)
  t.teardown(async () => { await gateway.close(); await close(upstream.server) })
  return { url: `http://127.0.0.1:${gateway.port}`, seen: () => upstream.seen.length, logText: () => text }
}


t.test('refuses a JWKS or well-known URL over plain http to a host that is not loopback', async (t) => {
  for (const name of ['MASKINPORTEN_JWKS_URI', 'MASKINPORTEN_WELL_KNOWN_URL']) {
    const env = name === 'MASKINPORTEN_JWKS_URI' ? { ...BASE_ENV, [name]: 'http://keys.example.com/jwks' } : { [name]: 'http://issuer.example.com/.well-known/oauth-authorization-server' }
    t.throws(() => loadSettings(env), { name: 'ConfigError', message: new RegExp(`${name}: plain http.*PORTVAKT_ALLOW_INSECURE_JWKS=true`) })
    t.doesNotThrow(() => loadSettings({ ...env, PORTVAKT_ALLOW_INSECURE_JWKS: 'true' }), 'allowed when explicitly asked')
  }
  for (const host of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', '127.1.2.3']) {
    t.doesNotThrow(() => loadSettings({ ...BASE_ENV, MASKINPORTEN_JWKS_URI: `http://${host}/jwks` }), `loopback ${host} stays allowed`)
  }
  for (const host of ['127.0.0.1.evil.example', 'localhost.evil.example', '10.0.0.1', '0.0.0.0']) {
    t.throws(() => loadSettings({ ...BASE_ENV, MASKINPORTEN_JWKS_URI: `http://${host}/jwks` }), { name: 'ConfigError' }, `${host} is not loopback`)
  }
})

t.test('refuses a discovered jwks_uri over plain http to a host that is not loopback', async (t) => {
  const meta = await serve(t, (res) => {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ issuer: TEST_ISSUER, jwks_uri: 'http://keys.example.com/jwks' }))
  })
  const source = { issuer: undefined, jwksUri: undefined, wellKnownUrl: `${meta.url}/.well-known/oauth-authorization-server`, allowInsecure: false }
  await t.rejects(resolveIssuer(source, 2000), { name: 'ConfigError', message: /jwks_uri http:\/\/keys\.example\.com\/jwks, not https and not loopback/ })
  t.same(await resolveIssuer({ ...source, allowInsecure: true }, 2000), { issuer: TEST_ISSUER, jwksUri: 'http://keys.example.com/jwks' }, 'allowed when explicitly asked')
})

t.test('refuses a 10 MB JWKS, declared or streamed, and answers 503 while no keys are in hand', async (t) => {
  const padding = 'x'.repeat(10 * 1024 * 1024)
  const big = await serve(t, (res, url) => {
    res.setHeader('content-type', 'application/json')
    if (url === '/declared') res.setHeader('content-length', String(padding.length + 20))
    res.end(`{"keys":[],"pad":"${padding}"}`)
  })
  t.ok(padding.length > MAX_JWKS_BYTES)
  await t.rejects(fetchJwks(`${big.url}/declared`, { timeoutMs: 5000, algorithms: ['RS256'] }), { message: /larger than 1048576 bytes/ })
  await t.rejects(fetchJwks(`${big.url}/streamed`, { timeoutMs: 5000, algorithms: ['RS256'] }), { message: /larger than 1048576 bytes/ })
  const gw = await startWithoutKeys(t, `${big.url}/streamed`)
  t.ok(await eventually(() => gw.logText().includes('signing keys could not be fetched')), 'the failed fetch is logged')
  const token = await tokenFactory(await makeKey())()
  const res = await ask(gw.url + PATH, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 503)
  t.equal(JSON.parse(res.body).code, 'PORTVAKT_ERR_KEYS_UNAVAILABLE')
  t.equal(gw.seen(), 0, 'the upstream saw nothing')
  t.match(gw.logText(), /larger than 1048576 bytes/)
  t.notOk(gw.logText().includes(token))
})

t.test('refuses a JWKS redirect, and the redirect target is never asked', async (t) => {
  const target = await serve(t, (res) => { res.end('{"keys":[]}') })
  const redirecting = await serve(t, (res) => { res.statusCode = 302; res.setHeader('location', `${target.url}/jwks`); res.end() })
  await t.rejects(fetchJwks(`${redirecting.url}/jwks`, { timeoutMs: 5000, algorithms: ['RS256'] }))
  const gw = await startWithoutKeys(t, `${redirecting.url}/jwks`)
  t.ok(await eventually(() => gw.logText().includes('signing keys could not be fetched')), 'the failed fetch is logged')
  const token = await tokenFactory(await makeKey())()
  const res = await ask(gw.url + PATH, { headers: { authorization: `Bearer ${token}` } })
  t.equal(res.status, 503)
  t.equal(target.hits(), 0, 'the redirect was not followed')
  t.equal(gw.seen(), 0)
})

t.test('refuses a well-known redirect at start', async (t) => {
  const redirecting = await serve(t, (res) => { res.statusCode = 301; res.setHeader('location', 'https://evil.example/.well-known'); res.end() })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: `${redirecting.url}/.well-known`, allowInsecure: false }, 2000), ConfigError)
})

t.test('key-set attacks on a running portvakt', async (t) => {
  const h = await build(t)
  const invalid = { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken }
  const publish = async (keys: object[]): Promise<void> => {
    h.jwks.keys = keys as typeof h.jwks.keys
    await h.gateway.keys.refresh('schedule')
  }
  t.beforeEach(() => { resetSeen(h) })

  t.test('an oct key in the JWKS never verifies: HS256 with its secret is refused', async (t) => {
    const secret = Buffer.from('a shared secret that an attacker also knows, 32+ bytes')
    await publish([h.key.jwk, { kty: 'oct', k: secret.toString('base64url'), kid: 'hmac', alg: 'HS256', use: 'sig' }])
    const token = signHmac(256, secret, { alg: 'HS256', kid: 'hmac' }, validClaims())
    assertDenied(t, h, await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } }), { ...invalid, reason: 'bad_alg', secrets: [token] })
    const ok = await h.mint()
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${ok}` } })).status, 200, 'the RSA key still works')
  })

  t.test('duplicate kids are ambiguous: both keys are left out, even for a token the right key signed', async (t) => {
    const other = await makeKey(h.key.kid)
    const third = await makeKey()
    await publish([other.jwk, h.key.jwk, third.jwk])
    const token = await h.mint()
    assertDenied(t, h, await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } }), { ...invalid, reason: 'unusable_key', secrets: [token] })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint({ key: third })}` } })).status, 200, 'the key with a kid of its own works')
    // With nothing else in the set, it is a failed fetch: the last good keys (the third one) keep serving.
    h.jwks.keys = [other.jwk, h.key.jwk]
    await t.rejects(h.gateway.keys.refresh('schedule'), { message: /no usable signing key.*also published for another key/ })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint({ key: third })}` } })).status, 200, 'the last good keys keep serving')
  })

  t.test('a JWKS that is not a key set keeps the last good keys serving', async (t) => {
    await publish([h.key.jwk])
    h.jwks.keys = 'not a list' as unknown as typeof h.jwks.keys
    await t.rejects(h.gateway.keys.refresh('schedule'))
    const token = await h.mint()
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })).status, 200)
  })
})

t.test('keys that may not verify never do, even published beside a usable key', async (t) => {
  const h = await build(t)
  const invalid = { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken }
  const other = await makeKey()
  const cases: Array<[string, object]> = [
    ['a key marked use: enc', { ...other.jwk, use: 'enc' }],
    ['a key whose key_ops exclude verify', { ...other.jwk, key_ops: ['encrypt'] }]
  ]
  for (const [what, jwk] of cases) {
    resetSeen(h)
    h.jwks.keys = [h.key.jwk, jwk] as typeof h.jwks.keys
    await h.gateway.keys.refresh('schedule')
    const token = await h.mint({ key: other })
    assertDenied(t, h, await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } }), { ...invalid, reason: 'unusable_key', secrets: [token] })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint()}` } })).status, 200, `${what} leaves the usable key working`)
  }
})

t.test('a key set of only keys that may not verify does not replace the keys in use', async (t) => {
  const h = await build(t)
  const other = await makeKey()
  for (const keys of [[{ ...other.jwk, use: 'enc' }], [{ ...other.jwk, key_ops: ['encrypt'] }], []]) {
    h.jwks.keys = keys as typeof h.jwks.keys
    await t.rejects(h.gateway.keys.refresh('schedule'), { message: /no usable signing key/ })
    const denied = await h.mint({ key: other })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${denied}` } })).status, 401, 'the unusable key verifies nothing')
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint()}` } })).status, 200, 'the last good key still does')
  }
})

/**
 * How portvakt reaches Altinn, end to end over real sockets: the auth headers the PDP receives (the
 * exchanged Altinn token, the subscription key), the exchanged token kept until its exp, the decision
 * cache (hit, expiry, Deny kept, nothing else kept), one call for identical questions, and every way
 * Altinn can fail (down, slow, 401, 500, redirect, exchange failures): 503 with Retry-After, never a
 * permit, a cached decision still served, readiness untouched. Plus the metrics and the start rules.
 */
import t, { type Test } from 'tap'
import { writeFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:http'
import { decodeJwt } from 'jose'
import { loadSettings } from '../src/config/env.js'
import { ConfigError } from '../src/config/errors.js'
import { createLogger } from '../src/observe/log.js'
import { startGateway } from '../src/start.js'
import { answerOf, resultOf } from '../src/dev/altinn-answers.js'
import { ask, assertDenied, assertNoSecretLogged, resetSeen } from './helpers/attack.js'
import { ALTINN_ROUTES, buildAltinn, SUBSCRIPTION_KEY } from './helpers/altinn.js'
import { build } from './helpers/build.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { close, listen } from './helpers/servers.js'
import { systemUserClaims } from './helpers/party-claims.js'
import { TEST_ISSUER } from './helpers/tokens.js'

const bearer = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } })
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

t.test('the PDP receives the exchanged Altinn token as Bearer and the subscription key; the exchange the Maskinporten token', async (t) => {
  const a = await buildAltinn(t)
  const token = await a.token()
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200)
  const [exchange] = a.exchanges()
  const [question] = a.questions()
  const maskinporten = String(exchange?.headers.authorization).replace(/^Bearer /, '')
  const altinn = String(question?.headers.authorization).replace(/^Bearer /, '')
  t.match(decodeJwt(maskinporten), { iss: a.issuer.issuer, scope: 'altinn:authorization/authorize' }, 'a Maskinporten token for the PDP scope, from NAIS_TOKEN_ENDPOINT')
  t.match(decodeJwt(altinn), { iss: `${a.pdp.url}/authentication/api/v1/openid/`, 'urn:altinn:authlevel': 3 }, 'the PDP gets the exchanged token')
  t.not(altinn, token, 'never the caller\'s token')
  t.equal(question?.headers['ocp-apim-subscription-key'], SUBSCRIPTION_KEY)
  t.not(exchange?.headers.accept, 'application/json', 'no Accept of JSON at the exchange: the token comes back as text')
  t.equal(exchange?.headers['ocp-apim-subscription-key'], undefined)
  assertNoSecretLogged(t, a.h, [SUBSCRIPTION_KEY, maskinporten, altinn, token])
  t.equal(a.issuer.issued.length, 1)
})

t.test('the exchanged token is kept until its exp (less a minute), then exchanged anew', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_TTL: '0s' } })
  // 63 s of life, 60 s of margin: good for three seconds.
  a.pdp.tokenLifetimeSec = 63
  const token = await a.token()
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200)
  t.equal((await ask(`${a.h.url}/krav/2`, bearer(token))).status, 200)
  t.equal(a.exchanges().length, 1, 'one exchange for two questions')
  t.equal(a.questions().length, 2, 'no decision cache here')
  await sleep(3100)
  t.equal((await ask(`${a.h.url}/krav/3`, bearer(token))).status, 200)
  t.equal(a.exchanges().length, 2, 'exchanged again once the token is near its exp')
})

t.test('the exchange answering the JWT as a JSON string literal is read, quotes stripped', async (t) => {
  const a = await buildAltinn(t)
  const real = a.pdp.exchange
  t.equal(real, undefined)
  // Ask the real exchange once for a token, then hand it back quoted.
  const mp = await (await fetch(a.issuer.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity_provider: 'maskinporten', target: 'altinn:authorization/authorize' }) })).json() as { access_token: string }
  const altinn = await (await fetch(`${a.pdp.url}/authentication/api/v1/exchange/maskinporten`, { headers: { authorization: `Bearer ${mp.access_token}` } })).text()
  a.pdp.exchange = () => ({ body: `"${altinn}"\n` })
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(await a.token()))).status, 200)
  t.equal(a.questions().at(-1)?.headers.authorization, `Bearer ${altinn}`)
})

t.test('a decision is cached per question for the TTL: a hit asks nothing, expiry asks again', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_TTL: '400ms' } })
  const token = await a.token()
  for (let i = 0; i < 3; i++) t.equal((await ask(`${a.h.url}/krav/${i}`, bearer(token))).status, 200)
  t.equal(a.questions().length, 1, 'one question for three requests')
  t.match(a.h.logs().filter((l) => l.msg === 'access').at(-1), { altinn: 'permit', altinn_cached: true })
  // Another action is another question.
  t.equal((await ask(`${a.h.url}/krav/1`, { method: 'POST', ...bearer(token) })).status, 403)
  t.equal(a.questions().length, 2)
  await sleep(500)
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200)
  t.equal(a.questions().length, 3, 'asked again after the TTL')
  const samples = await scrape(a.h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_altinn_cache_hits_total'), 2)
  t.equal(valueOf(samples, 'portvakt_altinn_decisions_total', { outcome: 'permit' }), 2)
  t.equal(valueOf(samples, 'portvakt_altinn_decisions_total', { outcome: 'deny' }), 1)
  t.equal(valueOf(samples, 'portvakt_altinn_decision_duration_seconds_count'), 3)
})

t.test('a Deny is cached like a Permit; NotApplicable, Indeterminate and unreadable answers are not', async (t) => {
  const a = await buildAltinn(t)
  const token = await a.token()
  for (const [name, body, cached] of [['Deny', answerOf(resultOf('Deny')), true], ['NotApplicable', answerOf(resultOf('NotApplicable')), false], ['Indeterminate', answerOf(resultOf('Indeterminate')), false], ['unreadable', '{', false]] as const) {
    a.pdp.seen.length = 0
    a.pdp.answer = () => ({ body })
    const path = `/krav/${name}`
    // A different system user each round, so each round starts with an empty cache entry.
    const claims = { scope: 'nav:okonomi/krav.read', consumer: { authority: 'iso6523-actorid-upis', ID: '0192:314330897' }, authorization_details: [{ type: 'urn:altinn:systemuser', systemuser_org: { authority: 'iso6523-actorid-upis', id: '0192:314168267' }, systemuser_id: [`00000000-0000-4000-8000-00000000000${name.length % 10}`] }] }
    const own = await a.h.mint({ claims })
    t.equal((await ask(`${a.h.url}${path}`, bearer(own))).status, 403)
    t.equal((await ask(`${a.h.url}${path}`, bearer(own))).status, 403)
    t.equal(a.questions().length, cached ? 1 : 2, `${name} ${cached ? 'is' : 'is not'} kept`)
  }
  t.ok(token)
})

t.test('identical questions at once share one call', async (t) => {
  const a = await buildAltinn(t)
  const token = await a.token()
  a.pdp.answer = () => ({ body: answerOf(resultOf('Permit')), delayMs: 200 })
  const answers = await Promise.all(Array.from({ length: 8 }, async (_, i) => await ask(`${a.h.url}/krav/${i}`, bearer(token))))
  t.same(answers.map((r) => r.status), Array(8).fill(200))
  t.equal(a.questions().length, 1, 'one PDP call')
  t.equal(a.exchanges().length, 1, 'one exchange')
})

/** Assert a 503 with Retry-After, the upstream untouched, and the error log saying why. */
function assertUnavailable (t: Test, a: Awaited<ReturnType<typeof buildAltinn>>, answer: Awaited<ReturnType<typeof ask>>, why: RegExp): void {
  assertDenied(t, a.h, answer, { status: 503, code: 'PORTVAKT_ERR_ALTINN_UNAVAILABLE', challenge: null })
  t.equal(answer.headers['retry-after'], '5')
  const error = a.h.logs().filter((l) => l.level === 50).at(-1)
  t.match(error, { code: 'PORTVAKT_ERR_ALTINN_UNAVAILABLE', err: { message: why } }, 'an error line says why')
  t.match(a.h.logs().filter((l) => l.msg === 'access').at(-1), { status: 503, altinn: 'unavailable', outcome: 'altinn_unavailable' })
  resetSeen(a.h)
}

t.test('the PDP failing is a 503 with Retry-After, never a permit: 500, 401 (our credentials), 403, redirect, slow, down', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_TIMEOUT: '300ms', PORTVAKT_ALTINN_CACHE_TTL: '0s' } })
  const token = await a.token()
  const elsewhere = createServer((_req, res) => { res.end(answerOf(resultOf('Permit'))) })
  const elsewhereUrl = await listen(elsewhere)
  let elsewhereSeen = 0
  elsewhere.on('request', () => { elsewhereSeen++ })
  t.teardown(async () => { await close(elsewhere) })

  a.pdp.answer = () => ({ status: 500, body: answerOf(resultOf('Permit')) })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /Altinn's PDP answered 500/)
  a.pdp.answer = () => ({ status: 503, body: '' })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /answered 503/)
  a.pdp.answer = () => ({ status: 403, body: '' })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /lacks the scope it takes \(PORTVAKT_ALTINN_SCOPE\)/)
  a.pdp.answer = () => ({ status: 302, headers: { location: `${elsewhereUrl}/authorization/api/v1/authorize` } })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /could not be asked/)
  t.equal(elsewhereSeen, 0, 'the redirect was not followed: our tokens went nowhere else')
  a.pdp.answer = () => ({ body: answerOf(resultOf('Permit')), delayMs: 600 })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /no answer within PORTVAKT_ALTINN_TIMEOUT/)

  const exchanges = a.exchanges().length
  a.pdp.answer = () => ({ status: 401, body: '' })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /answered 401: it refuses our credentials/)
  a.pdp.answer = undefined
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200, 'fine again once Altinn is')
  t.equal(a.exchanges().length, exchanges + 1, 'the refused token was dropped and exchanged anew')
  resetSeen(a.h)

  await a.pdp.close()
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /ECONNREFUSED/)
  t.equal((await fetch(`${a.h.adminUrl}/isready`)).status, 200, 'readiness does not depend on the PDP')
  const samples = await scrape(a.h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_altinn_decisions_total', { outcome: 'unavailable' }), 7)
})

t.test('the exchange failing is a 503: refused, 500, not a JWT, slow; the token endpoint failing too', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_TIMEOUT: '300ms' } })
  const token = await a.token()
  a.pdp.exchange = () => ({ status: 401 })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /exchange answered 401: it refused our Maskinporten token/)
  a.pdp.exchange = () => ({ status: 500 })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /exchange answered 500/)
  const elsewhere = createServer((_req, res) => { res.end('eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9.c2ln') })
  const elsewhereUrl = await listen(elsewhere)
  let elsewhereSeen = 0
  elsewhere.on('request', () => { elsewhereSeen++ })
  t.teardown(async () => { await close(elsewhere) })
  a.pdp.exchange = () => ({ status: 307, headers: { location: elsewhereUrl } })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /exchange failed/)
  t.equal(elsewhereSeen, 0, 'the redirect was not followed: the Maskinporten token went nowhere else')
  a.pdp.exchange = () => ({ body: '{"access_token":"x"}' })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /without a JWT that has an exp/)
  a.pdp.exchange = () => ({ body: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.c2ln' })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /without a JWT that has an exp/)
  a.pdp.exchange = () => ({ delayMs: 600 })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /exchange failed \(no answer within PORTVAKT_ALTINN_TIMEOUT\)/)
  t.equal(a.questions().length, 0, 'the PDP was never asked without an Altinn token')
})

t.test('an exchange refusing our Maskinporten token (401) gets a fresh one next time', async (t) => {
  const a = await buildAltinn(t)
  const token = await a.token()
  a.pdp.exchange = () => ({ status: 401 })
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(token)), /exchange answered 401/)
  a.pdp.exchange = undefined
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200)
  const [refused, next] = a.exchanges().map((e) => e.headers.authorization)
  t.ok(refused !== undefined && next !== undefined && refused !== next, 'the second exchange carries another Maskinporten token')
  t.equal(a.issuer.issued.length, 2, 'one skip_cache fetch from NAIS_TOKEN_ENDPOINT')
})

t.test('NAIS_TOKEN_ENDPOINT failing is a 503, and the exchange is never called without a token', async (t) => {
  const a = await buildAltinn(t)
  await a.issuer.close()
  assertUnavailable(t, a, await ask(`${a.h.url}/krav/1`, bearer(await a.token())), /no Maskinporten token for altinn:authorization\/authorize from NAIS_TOKEN_ENDPOINT/)
  t.same(a.pdp.seen, [])
})

t.test('a decision still in the cache is served while Altinn is down', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_TTL: '1m' } })
  const token = await a.token()
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(token))).status, 200)
  t.equal((await ask(`${a.h.url}/krav/1`, { method: 'POST', ...bearer(token) })).status, 403)
  await a.pdp.close()
  t.equal((await ask(`${a.h.url}/krav/2`, bearer(token))).status, 200, 'the Permit is served')
  t.equal((await ask(`${a.h.url}/krav/2`, { method: 'POST', ...bearer(token) })).status, 403, 'the Deny is served')
})

t.test('the decision cache is bounded: the oldest question goes first', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_CACHE_SIZE: '1' } })
  const token = await a.token()
  await ask(`${a.h.url}/krav/1`, bearer(token))
  await ask(`${a.h.url}/krav/1`, { method: 'POST', ...bearer(token) })
  await ask(`${a.h.url}/krav/1`, bearer(token))
  t.equal(a.questions().length, 3, 'the GET question was pushed out by the POST one')
  t.equal(valueOf(await scrape(a.h.adminUrl), 'portvakt_altinn_cache_entries'), 1)
})

t.test('without a subscription key none is sent, and the start warns', async (t) => {
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_SUBSCRIPTION_KEY: '' }, pdpKey: null })
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(await a.token()))).status, 200)
  t.notOk('ocp-apim-subscription-key' in (a.questions()[0]?.headers ?? {}))
  t.ok(a.h.logs().some((l) => l.level === 40 && /no subscription key is set/.test(String(l.msg))))
})

t.test('the subscription key is read from a file, and the start line says only where it comes from', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'portvakt-altinn-key-'))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  writeFileSync(join(dir, 'key'), `${SUBSCRIPTION_KEY}\n`)
  const a = await buildAltinn(t, { env: { PORTVAKT_ALTINN_SUBSCRIPTION_KEY: '', PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: join(dir, 'key') } })
  t.equal((await ask(`${a.h.url}/krav/1`, bearer(await a.token()))).status, 200)
  t.equal(a.questions()[0]?.headers['ocp-apim-subscription-key'], SUBSCRIPTION_KEY)
  t.match(a.h.logs().find((l) => l.msg === 'portvakt started'), { settings: { altinn: { subscriptionKey: `file ${join(dir, 'key')}`, authorizeUrl: `${a.pdp.url}/authorization/api/v1/authorize` } } })
  assertNoSecretLogged(t, a.h, [SUBSCRIPTION_KEY])
})

async function startProblems (t: Test, env: Record<string, string>, routes = ALTINN_ROUTES): Promise<readonly string[]> {
  const dir = t.testdir({ 'routes.yaml': routes })
  try {
    const settings = loadSettings({ MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:1/jwks', PORTVAKT_ROUTES: join(dir, 'routes.yaml'), PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', ...env })
    const gateway = await startGateway(settings, createLogger('silent'))
    await gateway.close()
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('a table with altinn routes does not start with PORTVAKT_ALTINN_URL but without NAIS_TOKEN_ENDPOINT; bad settings are named', async (t) => {
  t.same(await startProblems(t, {}), [], 'without PORTVAKT_ALTINN_URL it starts (those routes answer 503)')
  t.match(await startProblems(t, { PORTVAKT_ALTINN_URL: 'https://platform.tt02.altinn.no' }), [/^NAIS_TOKEN_ENDPOINT: not set/])
  t.match(await startProblems(t, { PORTVAKT_ALTINN_URL: 'https://platform.tt02.altinn.no', NAIS_TOKEN_ENDPOINT: 'http://127.0.0.1:1/token', PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: '/nonexistent/key' }), [/^PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: cannot read \/nonexistent\/key \(ENOENT\)/])
  t.same(await startProblems(t, {}, 'routes:\n  - { path: /a, public: true }\n'), [], 'no altinn route, no Altinn setting needed')
  const problems = (env: Record<string, string>): readonly string[] => {
    try {
      loadSettings({ MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:1/jwks', ...env })
      return []
    } catch (err) {
      return (err as ConfigError).problems
    }
  }
  t.match(problems({ PORTVAKT_ALTINN_URL: 'http://platform.tt02.altinn.no' }), [/PORTVAKT_ALTINN_URL: plain http to a host that is not loopback/])
  t.match(problems({ PORTVAKT_ALTINN_URL: 'https://platform.tt02.altinn.no/?x=1' }), [/PORTVAKT_ALTINN_URL: give the platform's base URL only/])
  t.match(problems({ PORTVAKT_ALTINN_URL: 'platform.tt02.altinn.no' }), [/PORTVAKT_ALTINN_URL: "platform\.tt02\.altinn\.no" is not an absolute URL/])
  t.match(problems({ PORTVAKT_ALTINN_SUBSCRIPTION_KEY: 'a', PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: '/k' }), [/both set; set one/])
  t.match(problems({ PORTVAKT_ALTINN_SUBSCRIPTION_KEY: 'a b' }), [/PORTVAKT_ALTINN_SUBSCRIPTION_KEY: the key is printable ASCII/])
  t.match(problems({ PORTVAKT_ALTINN_TIMEOUT: 'soon', PORTVAKT_ALTINN_CACHE_SIZE: '-1', PORTVAKT_ALTINN_CACHE_TTL: '2h' }), [/PORTVAKT_ALTINN_TIMEOUT/, /PORTVAKT_ALTINN_CACHE_TTL/, /PORTVAKT_ALTINN_CACHE_SIZE/])
  const settings = loadSettings({ MASKINPORTEN_ISSUER: TEST_ISSUER, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:1/jwks', PORTVAKT_ALTINN_URL: 'https://platform.tt02.altinn.no/' })
  t.same({ ...settings.altinn }, {
    baseUrl: 'https://platform.tt02.altinn.no',
    authorizeUrl: 'https://platform.tt02.altinn.no/authorization/api/v1/authorize',
    exchangeUrl: 'https://platform.tt02.altinn.no/authentication/api/v1/exchange/maskinporten',
    scope: 'altinn:authorization/authorize',
    timeoutMs: 5000,
    cacheTtlMs: 30_000,
    cacheSize: 10_000,
    subscriptionKey: undefined
  }, 'the defaults, and the paths that follow from the base')
})

t.test('altinn routes without PORTVAKT_ALTINN_URL answer 503, at start (with a warning naming them) and after a reload', async (t) => {
  const started = await build(t, { routes: ALTINN_ROUTES })
  const startToken = await started.mint({ claims: { scope: 'nav:okonomi/krav.read', ...systemUserClaims() } })
  t.match(started.logs().find((l) => l.level === 40 && l.routes !== undefined), { routes: ['GET,HEAD,POST /krav'], lines: [3], msg: /PORTVAKT_ALTINN_URL is not set, but .* has routes with altinn: they answer 503/ })
  const atStart = await ask(`${started.url}/krav/1`, bearer(startToken))
  t.equal(atStart.status, 503)
  t.equal(atStart.headers['retry-after'], '5')
  t.equal((await ask(`${started.url}/plain/1`, bearer(startToken))).status, 200, 'the other routes serve')
  t.equal((await fetch(`${started.adminUrl}/isready`)).status, 200)

  const h = await build(t, { routes: 'routes:\n  - { path: /plain, scopes: [nav:okonomi/krav.read] }\n' })
  writeFileSync(h.gateway.routes.file, ALTINN_ROUTES)
  await h.gateway.routes.reload('SIGHUP')
  const token = await h.mint({ claims: { scope: 'nav:okonomi/krav.read', ...systemUserClaims() } })
  const answer = await ask(`${h.url}/krav/1`, bearer(token))
  t.equal(answer.status, 503)
  t.match(JSON.parse(answer.body), { code: 'PORTVAKT_ERR_ALTINN_UNAVAILABLE' })
  t.same(h.upstream.seen, [])
})

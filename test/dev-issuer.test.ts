import t, { type Test } from 'tap'
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose'
import { loadDevKey, type DevKey } from '../src/dev/dev-key.js'
import { startDevIssuer, type DevIssuer, type IssueEvent } from '../src/dev/issuer.js'

interface Running { issuer: DevIssuer, key: DevKey, events: IssueEvent[], clock: { now: number } }

// One key for the file: RSA generation is the slow part, and every test may share it.
let shared: Promise<DevKey> | undefined

async function start (t: Test): Promise<Running> {
  shared ??= loadDevKey(t.testdir())
  const key = await shared
  const events: IssueEvent[] = []
  const clock = { now: Math.floor(Date.now() / 1000) }
  const issuer = await startDevIssuer({ host: '127.0.0.1', port: 0, key, onIssue: (e) => { events.push(e) }, now: () => clock.now })
  t.teardown(issuer.close)
  return { issuer, key, events, clock }
}

async function postJson (url: string, body: unknown): Promise<{ status: number, json: Record<string, unknown>, headers: Headers }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: await res.json() as Record<string, unknown>, headers: res.headers }
}

async function postForm (url: string, body: Record<string, string>): Promise<{ status: number, json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', body: new URLSearchParams(body) })
  return { status: res.status, json: await res.json() as Record<string, unknown> }
}

const READ = { identity_provider: 'maskinporten', target: 'nav:arbeid:arbeidsforhold.read' }

t.test('publishes RFC 8414 metadata with the trailing-slash issuer, the keys and the token endpoint', async (t) => {
  const { issuer } = await start(t)
  const meta = await (await fetch(issuer.metadataUrl)).json() as Record<string, string>
  t.match(meta.issuer, /^http:\/\/127\.0\.0\.1:\d+\/$/)
  t.equal(meta.issuer, issuer.issuer)
  t.equal(meta.jwks_uri, issuer.jwksUri)
  t.equal(meta.token_endpoint, issuer.tokenEndpoint)
})

t.test('/jwk publishes the public key only', async (t) => {
  const { issuer, key } = await start(t)
  const res = await fetch(issuer.jwksUri)
  t.equal(res.status, 200)
  const { keys } = await res.json() as { keys: Array<Record<string, string>> }
  t.equal(keys.length, 1)
  t.equal(keys[0]?.kid, key.kid)
  t.equal(keys[0]?.alg, 'RS256')
  for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) t.notOk(secret in (keys[0] ?? {}), `no ${secret}`)
})

t.test('a JSON request gets a token shaped like a real Maskinporten token', async (t) => {
  const { issuer, key } = await start(t)
  const { status, json, headers } = await postJson(issuer.tokenEndpoint, READ)
  t.equal(status, 200)
  t.equal(headers.get('cache-control'), 'no-store')
  t.equal(json.token_type, 'Bearer')
  t.equal(json.expires_in, 120)
  const token = json.access_token as string
  t.same(decodeProtectedHeader(token), { kid: key.kid, alg: 'RS256' }, 'header {kid, alg}, no typ')
  const publicKey = await importJWK(key.publicJwk, 'RS256')
  const { payload } = await jwtVerify(token, publicKey, { issuer: issuer.issuer, algorithms: ['RS256'] })
  t.equal(payload.scope, 'nav:arbeid:arbeidsforhold.read')
  t.equal(payload.client_amr, 'private_key_jwt')
  t.equal(payload.token_type, 'Bearer')
  t.match(payload.client_id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  t.same(payload.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:123456789' })
  t.equal((payload.exp ?? 0) - (payload.iat ?? 0), 120)
  t.type(payload.jti, 'string')
  t.notOk('aud' in payload, 'no aud unless asked')
  t.notOk('sub' in payload, 'no sub: Maskinporten tokens have none')
})

t.test('a form request with resource gets aud, and the dev-only fields are honoured', async (t) => {
  const { issuer } = await start(t)
  const { status, json } = await postForm(issuer.tokenEndpoint, {
    identity_provider: 'maskinporten',
    target: 'nav:arbeid:a.read  nav:arbeid:b.read',
    resource: 'https://arbeid.api.nav.no',
    consumer_orgno: '987654321',
    expires_in: '60'
  })
  t.equal(status, 200)
  t.equal(json.expires_in, 60)
  const claims = decodeJwt(json.access_token as string)
  t.equal(claims.aud, 'https://arbeid.api.nav.no')
  t.equal(claims.scope, 'nav:arbeid:a.read nav:arbeid:b.read', 'whitespace-separated target, one space in scope')
  t.same(claims.consumer, { authority: 'iso6523-actorid-upis', ID: '0192:987654321' })
})

t.test('answers from its cache per (target, resource), and skip_cache mints anew', async (t) => {
  const { issuer, events, clock } = await start(t)
  const first = await postJson(issuer.tokenEndpoint, READ)
  clock.now += 30
  const second = await postJson(issuer.tokenEndpoint, READ)
  t.equal(second.json.access_token, first.json.access_token, 'same target: the cached token')
  t.equal(second.json.expires_in, 90, 'expires_in counts down')
  const withResource = await postJson(issuer.tokenEndpoint, { ...READ, resource: 'https://a.example' })
  t.not(withResource.json.access_token, first.json.access_token, 'another resource: another token')
  const skipped = await postJson(issuer.tokenEndpoint, { ...READ, skip_cache: true })
  t.not(skipped.json.access_token, first.json.access_token, 'skip_cache: a new token')
  const formSkipped = await postForm(issuer.tokenEndpoint, { ...READ, skip_cache: 'true' })
  t.not(formSkipped.json.access_token, skipped.json.access_token, 'skip_cache=true in a form too')
  t.same(events.map((e) => e.cached), [false, true, false, false, false])
})

t.test('never hands out a cached token that is about to expire', async (t) => {
  const { issuer, clock } = await start(t)
  const first = await postJson(issuer.tokenEndpoint, READ)
  clock.now += 118
  const second = await postJson(issuer.tokenEndpoint, READ)
  t.not(second.json.access_token, first.json.access_token)
  t.equal(second.json.expires_in, 120)
})

t.test('the NAIS in-pod path /api/v1/token works as well', async (t) => {
  const { issuer } = await start(t)
  const { status } = await postJson(new URL('/api/v1/token', issuer.issuer).href, READ)
  t.equal(status, 200)
})

t.test('bad requests get 400 with an RFC 6749 error', async (t) => {
  const { issuer } = await start(t)
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['no target', { identity_provider: 'maskinporten' }, 'invalid_request', /target is required/],
    ['empty target', { ...READ, target: '  ' }, 'invalid_scope', /target is empty/],
    ['malformed scope', { ...READ, target: 'noprefix' }, 'invalid_scope', /<prefix>:<subscope>/],
    ['another identity provider', { ...READ, identity_provider: 'azuread' }, 'invalid_request', /maskinporten/],
    ['relative resource', { ...READ, resource: '/api' }, 'invalid_target', /absolute URI/],
    ['bad orgno', { ...READ, consumer_orgno: '12345' }, 'invalid_request', /9 digits/],
    ['too long a lifetime', { ...READ, expires_in: 86400 }, 'invalid_request', /at most 3600/],
    ['not an object', ['x'], 'invalid_request', /JSON object/]
  ]
  for (const [name, body, error, description] of cases) {
    const { status, json } = await postJson(issuer.tokenEndpoint, body)
    t.equal(status, 400, name)
    t.equal(json.error, error, name)
    t.match(json.error_description, description, name)
  }
  const notJson = await fetch(issuer.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' })
  t.equal(notJson.status, 400)
  t.match(await notJson.json(), { error: 'invalid_request', error_description: /not valid JSON/ })
  const text = await fetch(issuer.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'target=x' })
  t.equal(text.status, 400)
  t.match(await text.json(), { error: 'invalid_request', error_description: /Content-Type/ })
  const huge = await fetch(issuer.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(70_000) })
  t.equal(huge.status, 400)
})

t.test('the token endpoint takes POST only, and unknown paths are 404', async (t) => {
  const { issuer } = await start(t)
  const get = await fetch(issuer.tokenEndpoint)
  t.equal(get.status, 405)
  t.equal(get.headers.get('allow'), 'POST')
  t.equal((await fetch(new URL('/nope', issuer.issuer))).status, 404)
})

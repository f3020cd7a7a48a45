import t, { type Test } from 'tap'
import { decodeJwt } from 'jose'
import { TokenClient, TokenEndpointError } from '../src/egress/token-client.js'
import { startTokenEndpoint, type TokenEndpoint } from './helpers/egress.js'
import { eventually } from './helpers/poll.js'

async function failureOf (pending: Promise<unknown>): Promise<unknown> {
  return await pending.then(() => undefined, (err: unknown) => err)
}

const SPEC = { target: 'skatt:some.scope skatt:other.scope', resource: 'https://api.skatteetaten.no' }

async function setup (t: Test, clock?: { ms: number }): Promise<{ endpoint: TokenEndpoint, client: TokenClient }> {
  const endpoint = await startTokenEndpoint()
  t.teardown(endpoint.close)
  const client = new TokenClient({ endpoint: endpoint.url, fetch, timeoutMs: 5000, marginMs: 20_000, refreshIntervalMs: 10_000, now: clock === undefined ? undefined : () => clock.ms })
  return { endpoint, client }
}

t.test('asks the token endpoint in its JSON format: identity_provider, target, resource', async (t) => {
  const { endpoint, client } = await setup(t)
  const token = await client.getToken(SPEC)
  t.equal(decodeJwt(token).scope, SPEC.target)
  t.equal(decodeJwt(token).aud, SPEC.resource)
  t.same(endpoint.requests, [{ contentType: 'application/json', body: { identity_provider: 'maskinporten', target: SPEC.target, resource: SPEC.resource } }])
  await client.getToken({ target: 'skatt:a', resource: undefined })
  t.same(endpoint.requests[1]?.body, { identity_provider: 'maskinporten', target: 'skatt:a' }, 'no resource key when none is set')
})

t.test('caches per (target, resource) until expires_in minus the margin', async (t) => {
  const clock = { ms: 1_000_000 }
  const { endpoint, client } = await setup(t, clock)
  endpoint.expiresIn = 120
  const first = await client.getToken(SPEC)
  t.equal(await client.getToken(SPEC), first, 'the same token from the cache')
  await client.getToken({ ...SPEC, resource: undefined })
  t.equal(endpoint.requests.length, 2, 'another resource is another token')
  clock.ms += 99_000
  t.equal(await client.getToken(SPEC), first, 'still cached 1 s before expiry minus margin')
  clock.ms += 1_000
  await client.getToken(SPEC)
  t.equal(endpoint.requests.length, 3, 'fetched again at expires_in minus the margin')
  t.same(client.stats(), { fetches: { ok: 3, error: 0 }, cacheHits: 2, refreshesSkipped: 0 })
})

t.test('a token that lives shorter than the margin is used once, not cached', async (t) => {
  const { endpoint, client } = await setup(t)
  endpoint.expiresIn = 10
  await client.getToken(SPEC)
  await client.getToken(SPEC)
  t.equal(endpoint.requests.length, 2)
})

t.test('50 concurrent callers share one fetch (single flight)', async (t) => {
  const { endpoint, client } = await setup(t)
  let release = (): void => {}
  endpoint.hold = new Promise((resolve) => { release = resolve })
  const waiting = Array.from({ length: 50 }, async () => await client.getToken(SPEC))
  // every caller is waiting on the one held answer before it is released
  t.ok(await eventually(() => endpoint.requests.length > 0, undefined, 0), 'the one fetch is under way')
  release()
  const tokens = await Promise.all(waiting)
  t.equal(new Set(tokens).size, 1)
  t.equal(endpoint.requests.length, 1)
})

t.test('a refused token is replaced with skip_cache: true, once for all who saw it refused', async (t) => {
  const { endpoint, client } = await setup(t)
  const first = await client.getToken(SPEC)
  const fresh = await Promise.all(Array.from({ length: 10 }, async () => await client.getToken(SPEC, first)))
  t.equal(new Set(fresh).size, 1)
  t.not(fresh[0], first, 'a new token, not the platform cache\'s old one')
  t.equal(endpoint.requests.length, 2)
  t.equal(endpoint.requests[1]?.body.skip_cache, true)
  t.equal(await client.getToken(SPEC, first), fresh[0], 'a late refusal of the old token gets the new one from the cache')
  t.equal(await client.getToken(SPEC), fresh[0], 'and so do later callers')
  t.equal(endpoint.requests.length, 2)
})

t.test('a target that refuses every token gets at most one skip_cache fetch per refresh interval', async (t) => {
  const clock = { ms: 1_000_000 }
  const { endpoint, client } = await setup(t, clock)
  const first = await client.getToken(SPEC)
  const second = await client.refreshToken(SPEC, first)
  t.ok(second !== undefined && second !== first, 'the first refusal is refreshed')
  t.equal(await client.refreshToken(SPEC, first), second, 'a late refusal of the old token gets the new one')
  t.equal(await client.refreshToken(SPEC, second as string), undefined, 'the new one refused too, moments later: no fetch')
  t.equal(endpoint.requests.length, 2)
  clock.ms += 10_000
  const third = await client.refreshToken(SPEC, second as string)
  t.ok(third !== undefined && third !== second, 'after the interval, refreshed again')
  t.equal(endpoint.requests.length, 3)
  t.equal(client.stats().refreshesSkipped, 1)
})

t.test('callers arriving while a fresh token is fetched wait for it, not for the old one', async (t) => {
  const { endpoint, client } = await setup(t)
  const first = await client.getToken(SPEC)
  let release = (): void => {}
  endpoint.hold = new Promise((resolve) => { release = resolve })
  const refreshing = client.getToken(SPEC, first)
  t.ok(await eventually(() => endpoint.requests.length >= 2, undefined, 0), 'the fresh fetch is under way')
  const other = client.getToken({ ...SPEC }, first)
  release()
  t.equal(await other, await refreshing)
  t.equal(endpoint.requests.length, 2)
})

t.test('an error answer carries the endpoint\'s error and error_description, and is not cached', async (t) => {
  const { endpoint, client } = await setup(t)
  endpoint.failure = { status: 400, error: 'invalid_scope', error_description: 'skatt:some.scope is not granted to this client' }
  const err = await failureOf(client.getToken(SPEC))
  t.ok(err instanceof TokenEndpointError)
  t.match(err, { code: 'PORTVAKT_ERR_TOKEN_ENDPOINT', status: 502, error: 'invalid_scope', errorDescription: 'skatt:some.scope is not granted to this client' })
  endpoint.failure = undefined
  t.ok(await client.getToken(SPEC), 'the next call asks again and succeeds')
  t.equal(endpoint.requests.length, 2)
  t.same(client.stats().fetches, { ok: 1, error: 1 })
})

t.test('an answer that is not OAuth JSON still names the status', async (t) => {
  const { endpoint, client } = await setup(t)
  endpoint.failure = { status: 503, raw: 'upstream connect error' }
  t.match(await failureOf(client.getToken(SPEC)), { error: 'http_503', errorDescription: undefined })
  endpoint.failure = { status: 200, raw: '{"token_type":"Bearer"}' }
  t.match(await failureOf(client.getToken(SPEC)), { error: 'invalid_token_response' })
  endpoint.failure = { status: 200, raw: '{"access_token":"x","expires_in":0}' }
  t.match(await failureOf(client.getToken(SPEC)), { error: 'invalid_token_response' })
})

t.test('an unreachable endpoint is a token_endpoint_unreachable error', async (t) => {
  const { endpoint } = await setup(t)
  await endpoint.close()
  const client = new TokenClient({ endpoint: endpoint.url, fetch, timeoutMs: 5000 })
  t.match(await failureOf(client.getToken(SPEC)), { error: 'token_endpoint_unreachable', errorDescription: /^NAIS_TOKEN_ENDPOINT could not be reached: http:\/\/127\.0\.0\.1:\d+\/.*: 127\.0\.0\.1:\d+ refused the connection \(ECONNREFUSED\): nothing listens there$/ })
})

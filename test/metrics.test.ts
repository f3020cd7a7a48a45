import t from 'tap'
import { build } from './helpers/build.js'
import { makeKey } from './helpers/keys.js'
import { close } from './helpers/servers.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { labelRejection } from '../src/observe/metrics.js'

const READ = 'GET,HEAD /api/v1/arbeidsforhold'

t.test('metrics count requests by route, method, status class and outcome, labelled from the route table', async (t) => {
  const h = await build(t)
  const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } })
  await fetch(`${h.url}/api/v1/arbeidsforhold/1`, auth(await h.mint()))
  await fetch(`${h.url}/api/v1/arbeidsforhold/2`, auth(await h.mint()))
  await fetch(`${h.url}/api/v1/arbeidsforhold/3`)
  await fetch(`${h.url}/api/v1/arbeidsforhold/4`, auth(await h.mint({ claims: { scope: 'nav:arbeid:other' } })))
  await fetch(`${h.url}/api/v1/arbeidsforhold/5`, auth(await h.mint({ iatOffset: -600, lifetime: 120 })))
  await fetch(`${h.url}/api/v1/arbeidsforhold/6`, auth(await h.mint({ claims: { iss: 'https://evil.example/' } })))
  await fetch(`${h.url}/nowhere/secret-customer-id-4711`)
  await fetch(`${h.url}/public`)

  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: READ, method: 'GET', status_class: '2xx', outcome: 'allowed' }), 2)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: READ, status_class: '4xx', outcome: 'unauthenticated' }), 3)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: READ, status_class: '4xx', outcome: 'forbidden' }), 1)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: 'none', status_class: '4xx', outcome: 'not_found' }), 1)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: '* /public', outcome: 'public' }), 1)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { route: READ, reason: 'missing' }), 1)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { route: READ, reason: 'insufficient_scope' }), 1)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { route: READ, reason: 'expired' }), 1)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { route: READ, reason: 'wrong_issuer' }), 1)
  t.equal(valueOf(samples, 'portvakt_request_duration_seconds_count', { route: READ, outcome: 'allowed' }), 2)
  t.equal(valueOf(samples, 'portvakt_upstream_duration_seconds_count', { route: READ }), 2, 'only forwarded requests time the upstream')
  t.ok(samples.every((s) => !Object.values(s.labels).some((v) => v.includes('4711') || v.includes('/api/v1/arbeidsforhold/'))), 'no raw path in any label')

  t.equal(valueOf(samples, 'portvakt_jwks_fetches_total', { result: 'ok', trigger: 'start' }), 1)
  t.equal(valueOf(samples, 'portvakt_jwks_keys'), 1)
  t.equal(valueOf(samples, 'portvakt_jwks_keys_usable'), 1)
  t.equal(valueOf(samples, 'portvakt_jwks_stale'), 0)
  t.ok((valueOf(samples, 'portvakt_jwks_keys_age_seconds') ?? -1) >= 0, 'keys age is reported')
  t.ok(valueOf(samples, 'process_cpu_user_seconds_total') !== undefined, 'default process metrics are there')
  t.ok(valueOf(samples, 'nodejs_eventloop_lag_seconds') !== undefined, 'event loop lag is there')
})

t.test('an upstream that is down counts as upstream_error with a 5xx', async (t) => {
  const h = await build(t)
  await close(h.upstream.server)
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${await h.mint()}` } })
  t.equal(res.status, 502)
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: READ, status_class: '5xx', outcome: 'upstream_error' }), 1)
})

t.test('the metrics endpoint answers in the Prometheus text format', async (t) => {
  const h = await build(t)
  const res = await fetch(`${h.adminUrl}/metrics`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/)
  t.match(await res.text(), /# TYPE portvakt_requests_total counter/)
})

t.test('rejection labels cover every refusal for a token and nothing else', async (t) => {
  t.equal(labelRejection('PORTVAKT_ERR_TOKEN_MISSING', undefined), 'missing')
  t.equal(labelRejection('PORTVAKT_ERR_TOKEN_INVALID', 'unknown_kid'), 'unknown_kid')
  t.equal(labelRejection('PORTVAKT_ERR_TOKEN_INVALID', undefined), 'malformed')
  t.equal(labelRejection('PORTVAKT_ERR_CONSUMER_NOT_ALLOWED', undefined), 'consumer_not_allowed')
  t.equal(labelRejection('PORTVAKT_ERR_KEYS_UNAVAILABLE', undefined), undefined)
  t.equal(labelRejection(undefined, undefined), undefined)
})

t.test('a token whose signature does not verify is counted as bad_signature in /metrics', async (t) => {
  const h = await build(t)
  // Signed by another key under the published key's kid: the kid matches, the signature cannot.
  const impostor = await makeKey(h.key.kid)
  const res = await fetch(`${h.url}/api/v1/arbeidsforhold`, { headers: { authorization: `Bearer ${await h.mint({ key: impostor })}` } })
  t.equal(res.status, 401)
  t.equal((await res.json() as { reason: string }).reason, 'bad_signature')
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { route: READ, reason: 'bad_signature' }), 1)
  t.equal(valueOf(samples, 'portvakt_requests_total', { route: READ, status_class: '4xx', outcome: 'unauthenticated' }), 1)
})

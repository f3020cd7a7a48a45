import t from 'tap'
import { build } from './helpers/build.js'
import { call } from './helpers/http.js'
import { close } from './helpers/servers.js'
import { startTarget, startTokenEndpoint } from './helpers/egress.js'

function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

t.test('the verified-token cache\'s hits and misses are metrics', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  for (let i = 0; i < 3; i++) t.equal((await call(`${h.url}/api/v1/arbeidsforhold`, { token })).status, 200)
  const text = await (await fetch(`${h.adminUrl}/metrics`)).text()
  t.equal(sample(text, 'portvakt_token_cache_misses_total'), 1, 'the first request verifies in full')
  t.equal(sample(text, 'portvakt_token_cache_hits_total'), 2, 'the next two are cache hits')
  t.equal(sample(text, 'portvakt_token_cache_entries'), 1)
})

t.test('egress requests, token fetches and token cache hits are metrics', async (t) => {
  const endpoint = await startTokenEndpoint()
  const target = await startTarget({ ...endpoint, scope: 'skatt:some.scope' })
  t.teardown(async () => { await endpoint.close(); await close(target.server) })
  const h = await build(t, {
    routes: `routes:\n  - { path: /internal/isalive, public: true }\negress:\n  - name: skatt\n    url: ${target.url}/v1\n    scopes: [skatt:some.scope]\n`,
    env: { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_EGRESS_PORT: '0' }
  })
  const port = h.gateway.egress?.port
  for (let i = 0; i < 2; i++) t.equal((await fetch(`http://127.0.0.1:${port}/skatt/x`)).status, 200)
  const text = await (await fetch(`${h.adminUrl}/metrics`)).text()
  t.equal(sample(text, 'portvakt_egress_requests_total{name="skatt",status="200"}'), 2)
  t.equal(sample(text, 'portvakt_egress_token_fetches_total{result="ok"}'), 1)
  t.equal(sample(text, 'portvakt_egress_token_cache_hits_total'), 1)
})

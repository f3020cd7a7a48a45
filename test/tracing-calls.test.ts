/**
 * The calls portvakt makes, traced: JWKS and issuer metadata fetches as root client spans, and the
 * egress side: the app's call as a server span (its traceparent honoured), the token fetch and the
 * outbound call(s) as its children, each with its traceparent passed on; no token in any span.
 */
import { createServer } from 'node:http'
import t from 'tap'
import { startTarget, startTokenEndpoint } from './helpers/egress.js'
import { pollUntil } from './helpers/poll.js'
import { close, listen } from './helpers/servers.js'
import { spansOf, traced } from './helpers/tracing.js'

t.test('the JWKS and metadata fetches are root client spans, named by what they fetch', async (t) => {
  const missing = createServer((_req, res) => { res.writeHead(404).end() })
  const metadataUrl = `${await listen(missing)}/.well-known/oauth-authorization-server`
  t.teardown(async () => { await close(missing) })
  const { rx, h } = await traced(t, 'grpc', { MASKINPORTEN_WELL_KNOWN_URL: metadataUrl })
  const spans = await pollUntil(() => rx.spans, (all) => all.some((s) => s.attributes['portvakt.call'] === 'jwks') && all.some((s) => s.attributes['portvakt.call'] === 'metadata'))
  t.match(spans.find((s) => s.attributes['portvakt.call'] === 'jwks'), { kind: 'CLIENT', name: 'GET', parentSpanId: '', status: 'UNSET', attributes: { 'url.full': `${h.jwks.url}/jwks`, 'http.response.status_code': 200 } })
  t.match(spans.find((s) => s.attributes['portvakt.call'] === 'metadata'), { kind: 'CLIENT', name: 'GET', parentSpanId: '', status: 'ERROR', attributes: { 'url.full': metadataUrl, 'http.response.status_code': 404, 'error.type': '404' } })
})

t.test('egress: the app\'s call is a server span under the app\'s own; the token fetch and the call (and its retry) are its children', async (t) => {
  const endpoint = await startTokenEndpoint()
  const target = await startTarget({ ...endpoint, scope: 'skatt:some.scope' })
  t.teardown(async () => { await endpoint.close(); await close(target.server) })
  const routes = `
routes:
  - { path: /internal/isalive, public: true }
egress:
  - { name: skatt, url: '${target.url}/v1', scopes: [skatt:some.scope] }
`
  const { h, rx } = await traced(t, 'grpc', { NAIS_TOKEN_ENDPOINT: endpoint.url, PORTVAKT_EGRESS_PORT: '0', PORTVAKT_EGRESS_REFRESH_INTERVAL: '0' }, { routes })
  const port = h.gateway.egress?.port ?? 0
  const appTrace = '0af7651916cd43dd8448eb211c80319c'
  const appSpan = 'b7ad6b7169203331'
  const call = async (): Promise<number> => (await fetch(`http://127.0.0.1:${port}/skatt/items?id=42`, { headers: { traceparent: `00-${appTrace}-${appSpan}-01` } })).status
  t.equal(await call(), 200)
  target.revokeSeen()
  t.equal(await call(), 200, 'a refused token is replaced and the call sent again')
  const spans = await spansOf(rx, appTrace, 7)
  const servers = spans.filter((s) => s.kind === 'SERVER')
  t.equal(servers.length, 2)
  for (const server of servers) t.match(server, { parentSpanId: appSpan, name: 'GET /skatt', attributes: { 'portvakt.egress': 'skatt', 'http.route': '/skatt', 'http.response.status_code': 200 } })
  const [first, second] = servers.sort((a, b) => spans.indexOf(a) - spans.indexOf(b))
  const childrenOf = (id: string | undefined): typeof spans => spans.filter((s) => s.parentSpanId === id)
  t.same(childrenOf(first?.spanId).map((s) => s.attributes['portvakt.call']).sort(), ['egress', 'token'], 'the first: a token fetch and the call')
  t.same(childrenOf(second?.spanId).map((s) => `${String(s.attributes['portvakt.call'])}:${String(s.attributes['http.response.status_code'])}:${String(s.attributes['http.request.resend_count'] ?? 0)}`).sort(),
    ['egress:200:1', 'egress:401:0', 'token:200:0'], 'the second: the refused call, a fresh token, the call sent again')
  const egressCall = childrenOf(first?.spanId).find((s) => s.attributes['portvakt.call'] === 'egress')
  t.match(egressCall, { kind: 'CLIENT', attributes: { 'url.full': `${target.url}/v1/items?id=REDACTED`, 'server.address': '127.0.0.1' } })
  t.equal(target.seen[0]?.headers.traceparent, `00-${appTrace}-${egressCall?.spanId ?? ''}-01`, 'the target gets our call span as its parent')
  const tokenSpan = childrenOf(first?.spanId).find((s) => s.attributes['portvakt.call'] === 'token')
  t.match(tokenSpan, { name: 'POST', attributes: { 'url.full': endpoint.url, 'http.response.status_code': 200 } })
  t.equal(endpoint.requests[0]?.traceparent, `00-${appTrace}-${tokenSpan?.spanId ?? ''}-01`, 'the token endpoint too')
  const tokens = target.seen.map((s) => String(s.headers.authorization).replace('Bearer ', ''))
  t.ok(tokens.length === 3 && tokens.every((tok) => tok.length > 20))
  const everything = JSON.stringify(rx.spans)
  t.notOk(tokens.some((tok) => everything.includes(tok)), 'no egress token in any span')
  const line = h.logs().find((l) => l.msg === 'egress')
  t.match(line, { trace_id: appTrace, span_id: first?.spanId }, 'the egress line leads to its trace')
})

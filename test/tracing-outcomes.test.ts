/**
 * What a server span says of each kind of answer: refusals are the gate working (status unset, the
 * code in portvakt.code), 5xx are errors of the server (error.type), a failed upstream call is an
 * error of its client span; an unknown method is _OTHER. No token in any of them.
 */
import t from 'tap'
import { askRawHeaders, sendRaw } from './helpers/attack.js'
import { CUSTOMER, delegatedClaims, SUPPLIER, SYSTEM_ID, SYSTEM_USER_ID, SYSTEM_USER_ORG, systemUserClaims, VENDOR } from './helpers/party-claims.js'
import { spansOf, traced } from './helpers/tracing.js'

/** The spans of the request just answered (by its access line's trace id). */
async function spansOfLast (ctx: Awaited<ReturnType<typeof traced>>, count: number): Promise<{ server: Record<string, unknown> | undefined, client: Record<string, unknown> | undefined }> {
  const line = ctx.h.logs().filter((l) => l.msg === 'access').at(-1) as { trace_id: string }
  const spans = await spansOf(ctx.rx, line.trace_id, count)
  return { server: spans.find((s) => s.kind === 'SERVER') as unknown as Record<string, unknown>, client: spans.find((s) => s.kind === 'CLIENT') as unknown as Record<string, unknown> }
}

t.test('refusals: the route and the code on the server span, its status unset, no client span, the upstream saw nothing', async (t) => {
  const ctx = await traced(t, 'http/protobuf')
  const { h } = ctx
  const underscoped = await h.mint({ claims: { scope: 'nav:arbeid:rapport.read' } })
  const cases = [
    { headers: [] as string[], status: 401, code: 'PORTVAKT_ERR_TOKEN_MISSING', outcome: 'unauthenticated', reason: undefined },
    { headers: ['authorization', 'Bearer not.a.token'], status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', outcome: 'unauthenticated', reason: 'malformed' },
    { headers: ['authorization', `Bearer ${underscoped}`], status: 403, code: 'PORTVAKT_ERR_INSUFFICIENT_SCOPE', outcome: 'forbidden', reason: undefined }
  ]
  for (const c of cases) {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, c.headers)
    t.equal(res.status, c.status)
    const { server, client } = await spansOfLast(ctx, 1)
    t.match(server, { name: 'GET /api/v1/arbeidsforhold', status: 'UNSET', attributes: { 'http.response.status_code': c.status, 'portvakt.code': c.code, 'portvakt.outcome': c.outcome, 'portvakt.reason': c.reason } }, c.code)
    t.equal((server?.attributes as Record<string, unknown>)['error.type'], undefined, 'a refusal is no error of the server')
    t.equal(client, undefined)
  }
  t.equal(h.upstream.seen.length, 0, 'the upstream saw nothing')
  t.notOk(JSON.stringify(ctx.rx.spans).includes(underscoped), 'no token in any span')
})

t.test('no route: the span is named by the method alone; an unknown method is _OTHER, named HTTP', async (t) => {
  const ctx = await traced(t, 'http/protobuf')
  await askRawHeaders(`${ctx.h.url}/nowhere`, [])
  const { server } = await spansOfLast(ctx, 1)
  t.match(server, { name: 'GET', attributes: { 'http.response.status_code': 404, 'portvakt.code': 'PORTVAKT_ERR_NOT_FOUND' } })
  t.equal((server?.attributes as Record<string, unknown>)['http.route'], undefined)
  await sendRaw(ctx.h.url, 'PROPFIND /public HTTP/1.1\r\nHost: portvakt.test\r\nConnection: close\r\n\r\n')
  const other = await spansOfLast(ctx, 1)
  t.match(other.server, { name: /^HTTP/, attributes: { 'http.request.method': '_OTHER', 'http.request.method_original': 'PROPFIND', 'http.response.status_code': 405 } })
})

t.test('the upstream down: 502, an error of both spans, named by our code and by the socket\'s', async (t) => {
  const ctx = await traced(t, 'http/protobuf', { PORTVAKT_UPSTREAM: 'http://127.0.0.1:1' })
  const token = await ctx.h.mint()
  const res = await askRawHeaders(`${ctx.h.url}/api/v1/arbeidsforhold/1`, ['authorization', `Bearer ${token}`])
  t.equal(res.status, 502)
  const { server, client } = await spansOfLast(ctx, 2)
  t.match(server, { status: 'ERROR', attributes: { 'error.type': 'PORTVAKT_ERR_UPSTREAM_UNAVAILABLE', 'http.response.status_code': 502, 'portvakt.outcome': 'upstream_error' } })
  t.match(client, { status: 'ERROR', attributes: { 'portvakt.call': 'upstream', 'error.type': 'ECONNREFUSED', 'server.port': 1 } })
})

t.test('the app answering 4xx: an error of the client span (the conventions\' rule), not of the server span', async (t) => {
  const ctx = await traced(t, 'http/protobuf')
  const token = await ctx.h.mint()
  const res = await askRawHeaders(`${ctx.h.url}/status/404`, ['authorization', `Bearer ${token}`])
  t.equal(res.status, 404)
  const { server, client } = await spansOfLast(ctx, 2)
  t.match(server, { status: 'UNSET', attributes: { 'http.response.status_code': 404, 'portvakt.outcome': 'allowed' } })
  t.match(client, { status: 'ERROR', attributes: { 'http.response.status_code': 404, 'error.type': '404' } })
})

t.test('with PORTVAKT_TRUSTED_HOPS the span has the scheme and client address the ingress reports', async (t) => {
  const ctx = await traced(t, 'http/protobuf', { PORTVAKT_TRUSTED_HOPS: '1' })
  await askRawHeaders(`${ctx.h.url}/public`, ['x-forwarded-for', '203.0.113.7', 'x-forwarded-proto', 'https'])
  const { server } = await spansOfLast(ctx, 2)
  t.match(server, { attributes: { 'url.scheme': 'https', 'client.address': '203.0.113.7', 'network.peer.address': '127.0.0.1' } })
  await askRawHeaders(`${ctx.h.url}/public`, ['x-forwarded-proto', 'gopher'])
  t.match((await spansOfLast(ctx, 2)).server, { attributes: { 'url.scheme': 'http' } }, 'a scheme that is neither http nor https is not taken')
})

t.test('no upstream connection free in time (503): the call span ends as an error, with our code', async (t) => {
  const ctx = await traced(t, 'http/protobuf', { PORTVAKT_UPSTREAM_CONNECTIONS: '2', PORTVAKT_UPSTREAM_QUEUE_TIMEOUT: '50ms' })
  const token = await ctx.h.mint()
  const statuses = await Promise.all([0, 1, 2].map(async () => (await askRawHeaders(`${ctx.h.url}/slow/600`, ['authorization', `Bearer ${token}`])).status))
  t.same(statuses.sort(), [200, 200, 503])
  const busy = ctx.h.logs().find((l) => l.msg === 'access' && l.status === 503) as { trace_id: string }
  const spans = await spansOf(ctx.rx, busy.trace_id, 2)
  t.match(spans.find((s) => s.kind === 'CLIENT'), { status: 'ERROR', attributes: { 'portvakt.call': 'upstream', 'error.type': 'PORTVAKT_ERR_UPSTREAM_BUSY' } })
  t.match(spans.find((s) => s.kind === 'SERVER'), { status: 'ERROR', attributes: { 'error.type': 'PORTVAKT_ERR_UPSTREAM_BUSY', 'http.response.status_code': 503 } })
})

t.test('a delegated token\'s supplier and a system user\'s organisation and system on the server span; a plain token\'s has none of them', async (t) => {
  const ctx = await traced(t, 'http/protobuf')
  const { h } = ctx
  const scope = 'nav:arbeid:arbeidsforhold.read'
  const tokens = {
    delegated: await h.mint({ claims: { scope, ...delegatedClaims() } }),
    systemUser: await h.mint({ claims: { scope, ...systemUserClaims() } }),
    plain: await h.mint({ claims: { scope } })
  }
  const expected = {
    delegated: { 'portvakt.consumer': CUSTOMER, 'portvakt.supplier': SUPPLIER, 'portvakt.systemuser_org': undefined, 'portvakt.system_id': undefined },
    systemUser: { 'portvakt.consumer': VENDOR, 'portvakt.supplier': undefined, 'portvakt.systemuser_org': SYSTEM_USER_ORG, 'portvakt.system_id': SYSTEM_ID },
    plain: { 'portvakt.consumer': '123456789', 'portvakt.supplier': undefined, 'portvakt.systemuser_org': undefined, 'portvakt.system_id': undefined }
  }
  for (const [kind, token] of Object.entries(tokens) as Array<[keyof typeof tokens, string]>) {
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/1`, ['authorization', `Bearer ${token}`])
    t.equal(res.status, 200, kind)
    const { server } = await spansOfLast(ctx, 2)
    const attributes = server?.attributes as Record<string, unknown>
    t.same(Object.fromEntries(Object.keys(expected[kind]).map((name) => [name, attributes[name]])), expected[kind], kind)
  }
  const everything = JSON.stringify(ctx.rx.spans)
  t.notOk(Object.values(tokens).some((token) => everything.includes(token) || everything.includes(token.split('.')[1] ?? token)), 'no token, nor its claims segment, in any span')
  t.notOk(everything.includes(SYSTEM_USER_ID), 'nor the system user\'s id')
})

/**
 * Traces, against a real OTLP receiver on port 0 over each OTEL_EXPORTER_OTLP_PROTOCOL: one server
 * span per request with HTTP semantic conventions and portvakt.* attributes, a client span for the
 * upstream call whose id the app receives as its parent in traceparent, the ids in the access line,
 * the service named apart from the app, and no token anywhere in a span.
 */
import t from 'tap'
import { askRawHeaders } from './helpers/attack.js'
import { PROTOCOLS, spansOf, traced } from './helpers/tracing.js'

for (const protocol of PROTOCOLS) {
  t.test(`${protocol}: a server span and an upstream client span per request; the app gets the client span as its parent`, async (t) => {
    const { h, rx } = await traced(t, protocol)
    const token = await h.mint({ claims: { scope: 'nav:arbeid:arbeidsforhold.read', client_id: 'the-client' } })
    const res = await askRawHeaders(`${h.url}/api/v1/arbeidsforhold/42?secret=s3cr3t-in-query&page=2`, ['authorization', `Bearer ${token}`, 'user-agent', 'curl/8'])
    t.equal(res.status, 200)
    const access = h.logs().find((l) => l.msg === 'access') as { trace_id: string, span_id: string }
    t.match(access.trace_id, /^[0-9a-f]{32}$/, 'the access line names the trace')
    t.match(access.span_id, /^[0-9a-f]{16}$/)
    const spans = await spansOf(rx, access.trace_id, 2)
    const server = spans.find((s) => s.kind === 'SERVER')
    const client = spans.find((s) => s.kind === 'CLIENT')
    t.match(server, {
      transport: protocol,
      scope: 'portvakt',
      name: 'GET /api/v1/arbeidsforhold',
      spanId: access.span_id,
      parentSpanId: '',
      status: 'UNSET',
      resource: { 'service.name': 'myapp-portvakt', 'service.namespace': 'team', 'k8s.container.name': 'myapp', 'service.version': String },
      attributes: {
        'http.request.method': 'GET',
        'http.route': '/api/v1/arbeidsforhold',
        'http.response.status_code': 200,
        'url.path': '/api/v1/arbeidsforhold/42',
        'url.query': 'secret=REDACTED&page=REDACTED',
        'url.scheme': 'http',
        'client.address': '127.0.0.1',
        'network.peer.address': '127.0.0.1',
        'user_agent.original': 'curl/8',
        'portvakt.route': 'GET,HEAD /api/v1/arbeidsforhold',
        'portvakt.outcome': 'allowed',
        'portvakt.consumer': '123456789',
        'portvakt.client_id': 'the-client'
      }
    })
    t.match(client, {
      name: 'GET',
      parentSpanId: access.span_id,
      attributes: { 'portvakt.call': 'upstream', 'http.request.method': 'GET', 'http.response.status_code': 200, 'server.address': '127.0.0.1', 'server.port': h.upstream.port, 'url.full': `${h.upstream.url}/api/v1/arbeidsforhold/42?secret=REDACTED&page=REDACTED` }
    })
    const seen = h.upstream.seen[0]?.headers as Record<string, string>
    t.equal(seen.traceparent, `00-${access.trace_id}-${client?.spanId ?? ''}-01`, 'the app\'s span becomes a child of our client span')
    const everything = JSON.stringify(rx.spans) + JSON.stringify(rx.exports)
    t.notOk(everything.includes(token), 'no token in any span')
    t.notOk(everything.includes(token.split('.')[2] ?? token), 'not even its signature')
    t.notMatch(everything, /s3cr3t-in-query|authorization/i, 'nor a query value or the Authorization header')
  })
}

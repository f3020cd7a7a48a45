/**
 * Trace headers from a client, who may be anyone: a traceparent is honoured as the sampler says
 * (parentbased_* by default, as NAIS sets it); a malformed one starts a new trace; baggage and
 * tracestate reach the app only as the W3C limits allow, never as span attributes; the propagators
 * configured decide which headers the app gets. With tracing off every one of them passes untouched.
 */
import t from 'tap'
import { askRawHeaders, resetSeen } from './helpers/attack.js'
import { build } from './helpers/build.js'
import { spansOf, traced } from './helpers/tracing.js'

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = '00f067aa0ba902b7'

/** The access line of the last request and the trace headers the app saw with it. */
function lastRequest (h: Awaited<ReturnType<typeof traced>>['h']): { traceId: string, spanId: string, app: Record<string, string | undefined> } {
  const line = h.logs().filter((l) => l.msg === 'access').at(-1) as { trace_id: string, span_id: string }
  const seen = (h.upstream.seen.at(-1)?.headers ?? {}) as Record<string, string | undefined>
  return { traceId: line.trace_id, spanId: line.span_id, app: { traceparent: seen.traceparent, tracestate: seen.tracestate, baggage: seen.baggage } }
}

t.test('a client\'s sampled traceparent: our server span is its child, the app\'s parent is our client span, tracestate kept', async (t) => {
  const { h, rx } = await traced(t, 'grpc')
  await askRawHeaders(`${h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-01`, 'tracestate', 'vendor=abc,other=1'])
  const { traceId, spanId, app } = lastRequest(h)
  t.equal(traceId, TRACE, 'the client\'s trace goes on')
  const spans = await spansOf(rx, TRACE, 2)
  const server = spans.find((s) => s.kind === 'SERVER')
  const client = spans.find((s) => s.kind === 'CLIENT')
  t.match(server, { spanId, parentSpanId: PARENT, traceState: 'vendor=abc,other=1', name: 'GET /public' })
  t.equal(client?.parentSpanId, spanId)
  t.equal(app.traceparent, `00-${TRACE}-${client?.spanId ?? ''}-01`)
  t.equal(app.tracestate, 'vendor=abc,other=1')
})

t.test('a client\'s unsampled traceparent with parentbased_always_on: nothing recorded, the decision passed on; always_on records it', async (t) => {
  const parentBased = await traced(t, 'http/protobuf')
  await askRawHeaders(`${parentBased.h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-00`])
  const unsampled = lastRequest(parentBased.h)
  t.equal(unsampled.traceId, TRACE, 'the access line still leads to the trace the client named')
  t.match(unsampled.app.traceparent, new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`), 'the app is told it is not sampled')
  await askRawHeaders(`${parentBased.h.url}/public`, [])
  const sampled = lastRequest(parentBased.h)
  await spansOf(parentBased.rx, sampled.traceId, 2)
  t.equal(parentBased.rx.spans.filter((s) => s.traceId === TRACE).length, 0, 'no span of the unsampled trace was exported')

  const alwaysOn = await traced(t, 'http/protobuf', { OTEL_TRACES_SAMPLER: 'always_on' })
  await askRawHeaders(`${alwaysOn.h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-00`])
  const spans = await spansOf(alwaysOn.rx, TRACE, 2)
  t.equal(spans.find((s) => s.kind === 'SERVER')?.parentSpanId, PARENT, 'recorded, still in the client\'s trace')
})

t.test('a malformed traceparent starts a new trace, and the app gets a valid one', async (t) => {
  const { h, rx } = await traced(t, 'http/protobuf')
  for (const bad of [`00-${'0'.repeat(32)}-${PARENT}-01`, `00-${TRACE}-${'0'.repeat(16)}-01`, `ff-${TRACE}-${PARENT}-01`, 'garbage', `00-${TRACE.toUpperCase()}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01-extra`]) {
    resetSeen(h)
    await askRawHeaders(`${h.url}/public`, ['traceparent', bad])
    const { traceId, app } = lastRequest(h)
    t.not(traceId, TRACE, bad)
    t.match(app.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, bad)
    const server = (await spansOf(rx, traceId, 2)).find((s) => s.kind === 'SERVER')
    t.equal(server?.parentSpanId, '', `${bad}: a root`)
  }
})

t.test('baggage and tracestate: passed on within the W3C limits, never copied into a span', async (t) => {
  const { h, rx } = await traced(t, 'http/protobuf')
  // More members (250) and bytes (~12 KB) than W3C baggage allows, within the gate's 16 KB header limit.
  const members = Array.from({ length: 250 }, (_, i) => `k${i}=${'v'.repeat(44)}`)
  const state = Array.from({ length: 60 }, (_, i) => `v${i}=${'x'.repeat(20)}`).join(',')
  const res = await askRawHeaders(`${h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-01`, 'baggage', `user.id=secret-baggage-value,${members.join(',')}`, 'tracestate', state])
  t.equal(res.status, 200)
  const { app } = lastRequest(h)
  const passed = (app.baggage ?? '').split(',')
  t.ok(passed.length <= 180, `${passed.length} baggage members: at most 180 (W3C baggage)`)
  t.ok((app.baggage ?? '').length <= 8192, 'at most 8192 bytes')
  t.ok(passed.includes('user.id=secret-baggage-value'), 'baggage does reach the app')
  t.ok((app.tracestate ?? '').length <= 512 && (app.tracestate ?? '').split(',').length <= 32, 'tracestate within 32 members and 512 characters')
  const spans = await spansOf(rx, TRACE, 2)
  t.notMatch(JSON.stringify(spans), /secret-baggage-value|k249=/, 'no span carries baggage')
})

t.test('OTEL_PROPAGATORS decides what the app gets: tracecontext alone drops a client\'s baggage; none sends no trace header', async (t) => {
  const context = await traced(t, 'http/protobuf', { OTEL_PROPAGATORS: 'tracecontext' })
  await askRawHeaders(`${context.h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-01`, 'baggage', 'a=1'])
  const first = lastRequest(context.h)
  t.equal(first.traceId, TRACE)
  t.equal(first.app.baggage, undefined, 'the client\'s baggage is not passed on')
  const none = await traced(t, 'http/protobuf', { OTEL_PROPAGATORS: 'none' })
  await askRawHeaders(`${none.h.url}/public`, ['traceparent', `00-${TRACE}-${PARENT}-01`, 'tracestate', 'a=1', 'baggage', 'a=1'])
  const second = lastRequest(none.h)
  t.not(second.traceId, TRACE, 'a client\'s traceparent is not read')
  t.same(second.app, { traceparent: undefined, tracestate: undefined, baggage: undefined }, 'and none reaches the app')
})

t.test('tracing off: trace headers pass to the app untouched, and the access line has no trace ids', async (t) => {
  const h = await build(t)
  const sent = { traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'vendor=abc', baggage: 'a=1' }
  await askRawHeaders(`${h.url}/public`, Object.entries(sent).flat())
  const seen = h.upstream.seen.at(-1)?.headers ?? {}
  t.match(seen, sent)
  const line = h.logs().filter((l) => l.msg === 'access').at(-1)
  t.equal(line?.trace_id, undefined)
  t.equal(line?.span_id, undefined)
})

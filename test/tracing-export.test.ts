/**
 * A collector that hangs or is away never holds up or fails a request: spans wait in a bounded
 * queue, and what is dropped (queue full) or lost (export failed) is counted in
 * portvakt_trace_spans_dropped_total, named in the README, and said in the log (once a minute).
 */
import t from 'tap'
import { build } from './helpers/build.js'
import { askRawHeaders } from './helpers/attack.js'
import { scrape, valueOf } from './helpers/metrics.js'
import { startHungCollector } from './helpers/otlp-receiver.js'
import { pollUntil } from './helpers/poll.js'

const SMALL_QUEUE = { OTEL_BSP_MAX_QUEUE_SIZE: '4', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2', OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_EXPORTER_OTLP_TIMEOUT: '300' }

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  t.test(`${protocol}: a hung collector: every request answered, dropped and lost spans counted and said`, async (t) => {
    const hung = await startHungCollector()
    t.teardown(hung.close)
    const h = await build(t, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: hung.url, OTEL_EXPORTER_OTLP_PROTOCOL: protocol, ...SMALL_QUEUE } })
    const statuses = await Promise.all(Array.from({ length: 40 }, async () => (await askRawHeaders(`${h.url}/public`, [])).status))
    t.same([...new Set(statuses)], [200], 'all 40 answered while no export got through')
    const metric = 'portvakt_trace_spans_dropped_total'
    const samples = await pollUntil(async () => await scrape(h.adminUrl), (s) => (valueOf(s, metric, { reason: 'export_failed' }) ?? 0) > 0)
    t.ok((valueOf(samples, metric, { reason: 'queue_full' }) ?? 0) > 0, 'spans beyond the queue are dropped and counted')
    t.ok((valueOf(samples, metric, { reason: 'export_failed' }) ?? 0) > 0, 'spans of a timed-out export are counted')
    const warnings = h.logs().filter((l) => l.level === 40 && /^trace spans (dropped|lost)/.test(String(l.msg)))
    t.same(warnings.map((l) => l.reason).sort(), ['export_failed', 'queue_full'], 'one warning per reason, not one per span')
  })
}

t.test('a collector that refuses connections: requests answered, lost spans counted', async (t) => {
  const h = await build(t, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', ...SMALL_QUEUE } })
  for (let i = 0; i < 5; i++) t.equal((await askRawHeaders(`${h.url}/public`, [])).status, 200)
  const samples = await pollUntil(async () => await scrape(h.adminUrl), (s) => (valueOf(s, 'portvakt_trace_spans_dropped_total', { reason: 'export_failed' }) ?? 0) > 0)
  t.ok((valueOf(samples, 'portvakt_trace_spans_dropped_total', { reason: 'export_failed' }) ?? 0) > 0)
})

t.test('tracing off: the counter is there, with nothing in it', async (t) => {
  const h = await build(t)
  const text = await (await fetch(`${h.adminUrl}/metrics`)).text()
  t.match(text, /# HELP portvakt_trace_spans_dropped_total Trace spans never exported/)
  t.equal(valueOf(await scrape(h.adminUrl), 'portvakt_trace_spans_dropped_total'), undefined)
})

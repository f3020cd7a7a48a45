/**
 * OTEL_* → tracing settings (config/tracing-env.ts): off unless an endpoint is set, NAIS's values
 * read as NAIS sets them, signal-specific variables winning, and everything portvakt cannot honour
 * refused at once, naming the variable. The collector's headers reach it and never the log.
 */
import t from 'tap'
import { ConfigError } from '../src/config/errors.js'
import { loadSettings } from '../src/config/env.js'
import { readTracing, serviceNameOf } from '../src/config/tracing-env.js'
import { askRawHeaders } from './helpers/attack.js'
import { pollUntil } from './helpers/poll.js'
import { traced } from './helpers/tracing.js'

const ISSUER = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwks' }

/** What NAIS's auto-instrumentation sets (https://docs.nais.io/observability/reference/auto-config/). */
const NAIS = {
  OTEL_SERVICE_NAME: 'myapp',
  OTEL_EXPORTER_OTLP_ENDPOINT: 'http://opentelemetry-collector.nais-system:4317',
  OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
  OTEL_EXPORTER_OTLP_INSECURE: 'true',
  OTEL_PROPAGATORS: 'tracecontext,baggage',
  OTEL_TRACES_SAMPLER: 'parentbased_always_on',
  OTEL_LOGS_EXPORTER: 'none',
  OTEL_RESOURCE_ATTRIBUTES: 'service.name=myapp,service.namespace=team,k8s.container.name=myapp,k8s.pod.name=myapp-1'
}

function problemsOf (env: Record<string, string>): string[] {
  try {
    loadSettings({ ...ISSUER, ...env })
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems]
    throw err
  }
  return []
}

t.test('off without an endpoint, with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none; then nothing else is held to', async (t) => {
  t.equal(loadSettings(ISSUER).tracing, undefined)
  t.equal(loadSettings({ ...ISSUER, ...NAIS, OTEL_SDK_DISABLED: 'true' }).tracing, undefined)
  t.equal(loadSettings({ ...ISSUER, ...NAIS, OTEL_TRACES_EXPORTER: 'none' }).tracing, undefined)
  t.equal(loadSettings({ ...ISSUER, OTEL_TRACES_SAMPLER: 'bogus', OTEL_PROPAGATORS: 'b3' }).tracing, undefined, 'no endpoint: the rest is not read')
})

t.test('NAIS\'s auto-instrumentation, read as it sets it', async (t) => {
  t.same(loadSettings({ ...ISSUER, ...NAIS }).tracing, {
    url: 'http://opentelemetry-collector.nais-system:4317/',
    protocol: 'grpc',
    headers: {},
    timeoutMs: 10_000,
    compression: 'none',
    serviceName: 'myapp-portvakt',
    resource: { 'service.namespace': 'team', 'k8s.container.name': 'myapp', 'k8s.pod.name': 'myapp-1' },
    propagators: { traceContext: true, baggage: true },
    sampler: { name: 'parentbased_always_on', ratio: 1 },
    batch: { scheduledDelayMs: 5000, exportTimeoutMs: 30_000, maxQueueSize: 2048, maxExportBatchSize: 512 }
  })
})

t.test('HTTP: /v1/traces appended to the generic endpoint, a traces endpoint used as is; the signal\'s variables win', async (t) => {
  const url = (env: Record<string, string>): string | undefined => readTracing(env).tracing?.url
  t.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }), 'http://c:4318/v1/traces', 'http/protobuf by default')
  t.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/base/' }), 'http://c:4318/base/v1/traces')
  t.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://t:8443/custom' }), 'https://t:8443/custom')
  const tracing = readTracing({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_HEADERS: 'x-a=1,x-b=from%20generic',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-b=from%20traces',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip'
  }).tracing
  t.match(tracing, { url: 'http://c:4318/v1/traces', protocol: 'http/json', headers: { 'x-a': '1', 'x-b': 'from traces' }, timeoutMs: 3000, compression: 'gzip' })
  t.equal(readTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_TIMEOUT: '2000' }).tracing?.timeoutMs, 2000, 'the generic one when the signal\'s is unset')
  t.match(readTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).tracing?.sampler, { name: 'parentbased_traceidratio', ratio: 0.25 })
})

t.test('everything portvakt cannot honour is refused, every problem at once, naming the variable', async (t) => {
  const problems = problemsOf({
    OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http',
    OTEL_TRACES_EXPORTER: 'zipkin',
    OTEL_PROPAGATORS: 'tracecontext,b3',
    OTEL_TRACES_SAMPLER: 'bogus',
    OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
    OTEL_RESOURCE_ATTRIBUTES: 'a=%E0%A4%A',
    OTEL_EXPORTER_OTLP_TIMEOUT: '10s',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'br',
    OTEL_EXPORTER_OTLP_INSECURE: 'maybe',
    OTEL_BSP_MAX_QUEUE_SIZE: '-1'
  })
  for (const [name, why] of [
    ['OTEL_EXPORTER_OTLP_ENDPOINT', /is not an http\(s\) URL .*NAIS sets http:\/\/opentelemetry-collector/],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', /write grpc, http\/protobuf, http\/json/],
    ['OTEL_TRACES_EXPORTER', /OTLP only: write otlp, or none/],
    ['OTEL_PROPAGATORS', /b3: portvakt propagates W3C trace context and baggage only/],
    ['OTEL_TRACES_SAMPLER', /write one of always_on/],
    ['OTEL_EXPORTER_OTLP_HEADERS', /is not key=value/],
    ['OTEL_RESOURCE_ATTRIBUTES', /is not key=value/],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', /not a whole number/],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', /write gzip or none/],
    ['OTEL_EXPORTER_OTLP_INSECURE', /is not true or false/],
    ['OTEL_BSP_MAX_QUEUE_SIZE', /not a whole number from 1/]
  ] as const) t.ok(problems.some((p) => p.startsWith(`${name}: `) && why.test(p)), name, { problems })
  t.match(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_EXPORTER_OTLP_CERTIFICATE: '/ca.pem', OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: '/k.pem' }), [/^OTEL_EXPORTER_OTLP_CERTIFICATE: not supported/, /^OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: not supported/])
  t.match(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_BSP_MAX_QUEUE_SIZE: '10', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '20' }), [/^OTEL_BSP_MAX_EXPORT_BATCH_SIZE: 20 is more than OTEL_BSP_MAX_QUEUE_SIZE \(10\)/])
  t.match(problemsOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' }), [/^OTEL_TRACES_SAMPLER_ARG: "1.5" is not a ratio from 0 to 1/])
})

t.test('the service is the app\'s name with -portvakt, so its server spans are told from the app\'s', async (t) => {
  t.equal(serviceNameOf('myapp'), 'myapp-portvakt')
  t.equal(serviceNameOf('myapp-portvakt'), 'myapp-portvakt', 'already named: kept')
  t.equal(serviceNameOf('portvakt'), 'portvakt')
  t.equal(serviceNameOf(undefined), 'portvakt')
  t.equal(readTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c', OTEL_RESOURCE_ATTRIBUTES: 'service.name=fromattrs' }).tracing?.serviceName, 'fromattrs-portvakt', 'service.name from OTEL_RESOURCE_ATTRIBUTES without OTEL_SERVICE_NAME')
})

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  t.test(`${protocol}: OTEL_EXPORTER_OTLP_HEADERS reach the collector; the start line names them, never their values`, async (t) => {
    const { h, rx } = await traced(t, protocol, { OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=s3cr3t-key' })
    await askRawHeaders(`${h.url}/public`, [])
    const exports = await pollUntil(() => rx.exports, (e) => e.length > 0)
    t.match(exports[0], { 'x-api-key': protocol === 'grpc' ? 's3cr3t-key' : 's3cr3t-key' })
    const started = h.logs().find((l) => l.msg === 'portvakt started') as { settings: { tracing: { headers: unknown, serviceName: string } } }
    t.same(started.settings.tracing.headers, ['x-api-key'])
    t.equal(started.settings.tracing.serviceName, 'myapp-portvakt')
    t.notMatch(h.logText(), /s3cr3t-key/)
  })
}

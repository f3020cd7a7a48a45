/**
 * The OpenTelemetry environment (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/,
 * https://opentelemetry.io/docs/specs/otel/protocol/exporter/) → tracing settings, or undefined when
 * tracing is off: no endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. What NAIS's
 * auto-instrumentation sets (https://docs.nais.io/observability/reference/auto-config/) is read
 * here, once; the SDK is then given every value explicitly (observe/tracing-sdk.ts), so it never
 * falls back on process.env. A value portvakt cannot honour is refused, never ignored.
 */
import { z } from 'zod'
import { boolean } from './env-values.js'

/** OTEL_EXPORTER_OTLP_PROTOCOL's values. */
export const OTLP_PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const
/** OTEL_TRACES_SAMPLER's values (the spec's, less the vendors'). */
export const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const
/** OTEL_PROPAGATORS' values portvakt has: W3C trace context and baggage. */
const PROPAGATORS = ['tracecontext', 'baggage', 'none'] as const

/**
 * `key=value,key=value`, values percent-encoded: OTEL_EXPORTER_OTLP_HEADERS and
 * OTEL_RESOURCE_ATTRIBUTES (the W3C baggage format without properties). Refused whole on a
 * malformed pair, as the spec asks of OTEL_RESOURCE_ATTRIBUTES.
 */
const keyValues = z.string().transform((text, ctx) => {
  const pairs: Record<string, string> = {}
  for (const raw of text.split(',')) {
    if (raw.trim() === '') continue
    const at = raw.indexOf('=')
    const key = raw.slice(0, at).trim()
    let value: string | undefined
    try { value = decodeURIComponent(raw.slice(at + 1).trim()) } catch { value = undefined }
    if (at <= 0 || key === '' || value === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${raw.trim().split('=')[0]}…" is not key=value (values percent-encoded, pairs separated by commas)` })
      return z.NEVER
    }
    pairs[key] = value
  }
  return pairs
})

const endpoint = z.string().transform((text, ctx) => {
  if (URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)) return new URL(text).href
  ctx.addIssue({ code: 'custom', message: `"${text}" is not an http(s) URL (with a scheme, as the OpenTelemetry spec requires); NAIS sets http://opentelemetry-collector.nais-system:4317` })
  return z.NEVER
})

const wholeNumber = (min: number, max: number) => z.string().transform((text, ctx) => {
  const n = Number(text)
  if (/^\d+$/.test(text) && n >= min && n <= max) return n
  ctx.addIssue({ code: 'custom', message: `"${text}" is not a whole number from ${min} to ${max}` })
  return z.NEVER
})
const count = (fallback: string, min: number, max: number) => z.string().default(fallback).pipe(wholeNumber(min, max))

/** One variable each; a signal-specific one (OTEL_EXPORTER_OTLP_TRACES_*) wins over the generic one. */
const OtelSchema = z.object({
  OTEL_SDK_DISABLED: boolean('false'),
  OTEL_TRACES_EXPORTER: z.enum(['otlp', 'none'], { error: 'portvakt exports traces over OTLP only: write otlp, or none to turn tracing off' }).default('otlp'),
  OTEL_EXPORTER_OTLP_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint.optional(),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.enum(OTLP_PROTOCOLS, { error: `write ${OTLP_PROTOCOLS.join(', ')}` }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.enum(OTLP_PROTOCOLS, { error: `write ${OTLP_PROTOCOLS.join(', ')}` }).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: keyValues.optional(),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: keyValues.optional(),
  OTEL_EXPORTER_OTLP_TIMEOUT: wholeNumber(1, 600_000).optional(),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: wholeNumber(1, 600_000).optional(),
  OTEL_EXPORTER_OTLP_COMPRESSION: z.enum(['gzip', 'none'], { error: 'write gzip or none' }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: z.enum(['gzip', 'none'], { error: 'write gzip or none' }).optional(),
  // Read for its validity only: the endpoint's scheme (http or https) decides, as the spec says it
  // does for an endpoint with a scheme, and the spec requires one.
  OTEL_EXPORTER_OTLP_INSECURE: boolean('false'),
  OTEL_EXPORTER_OTLP_TRACES_INSECURE: boolean('false'),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
  OTEL_RESOURCE_ATTRIBUTES: keyValues.default({}),
  OTEL_PROPAGATORS: z.string().default('tracecontext,baggage').transform((text, ctx) => {
    const names = text.split(',').map((n) => n.trim()).filter((n) => n !== '')
    const unknown = names.filter((n) => !(PROPAGATORS as readonly string[]).includes(n))
    if (unknown.length === 0) return { traceContext: names.includes('tracecontext'), baggage: names.includes('baggage') }
    ctx.addIssue({ code: 'custom', message: `${unknown.join(', ')}: portvakt propagates W3C trace context and baggage only; write tracecontext,baggage (or none)` })
    return z.NEVER
  }),
  OTEL_TRACES_SAMPLER: z.enum(SAMPLERS, { error: `write one of ${SAMPLERS.join(', ')}` }).default('parentbased_always_on'),
  OTEL_TRACES_SAMPLER_ARG: z.string().optional(),
  OTEL_BSP_SCHEDULE_DELAY: count('5000', 0, 600_000),
  OTEL_BSP_EXPORT_TIMEOUT: count('30000', 1, 600_000),
  OTEL_BSP_MAX_QUEUE_SIZE: count('2048', 1, 1_000_000),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: count('512', 1, 1_000_000)
})
type Otel = z.output<typeof OtelSchema>

// Where the SDK would read a file named in the environment; portvakt exports with Node's trusted CAs.
const UNSUPPORTED = ['CERTIFICATE', 'CLIENT_KEY', 'CLIENT_CERTIFICATE'].flatMap((v) => [`OTEL_EXPORTER_OTLP_${v}`, `OTEL_EXPORTER_OTLP_TRACES_${v}`])

/** Tracing as configured: where and how spans are exported, what they are told apart by, how they are sampled and propagated. */
export interface TracingSettings {
  /** the collector: for http the whole URL (…/v1/traces), for grpc the endpoint */
  readonly url: string
  readonly protocol: typeof OTLP_PROTOCOLS[number]
  /** sent with every export; values are secret (the start line shows names only) */
  readonly headers: Readonly<Record<string, string>>
  readonly timeoutMs: number
  readonly compression: 'gzip' | 'none'
  /** `<app>-portvakt` (see serviceNameOf) */
  readonly serviceName: string
  /** OTEL_RESOURCE_ATTRIBUTES, service.name left out (serviceName is ours) */
  readonly resource: Readonly<Record<string, string>>
  readonly propagators: { readonly traceContext: boolean, readonly baggage: boolean }
  readonly sampler: { readonly name: typeof SAMPLERS[number], readonly ratio: number }
  readonly batch: { readonly scheduledDelayMs: number, readonly exportTimeoutMs: number, readonly maxQueueSize: number, readonly maxExportBatchSize: number }
}

/**
 * The service portvakt's spans belong to: the app's name (OTEL_SERVICE_NAME, else service.name in
 * OTEL_RESOURCE_ATTRIBUTES) with `-portvakt`, so its server spans are not counted as the app's;
 * a name that already ends in portvakt is kept; `portvakt` when no name is given.
 */
export function serviceNameOf (name: string | undefined): string {
  if (name === undefined || name === '') return 'portvakt'
  return name.endsWith('portvakt') ? name : `${name}-portvakt`
}

function samplerRatio (env: Otel, problems: string[]): number {
  if (!env.OTEL_TRACES_SAMPLER.endsWith('traceidratio')) return 1
  const arg = env.OTEL_TRACES_SAMPLER_ARG ?? '1.0'
  const ratio = Number(arg)
  if (arg.trim() !== '' && ratio >= 0 && ratio <= 1) return ratio
  problems.push(`OTEL_TRACES_SAMPLER_ARG: "${arg}" is not a ratio from 0 to 1 (for ${env.OTEL_TRACES_SAMPLER})`)
  return 1
}

function toSettings (e: Otel, url: string, problems: string[]): TracingSettings {
  const protocol = e.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? e.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf'
  // A generic endpoint is the collector's root: for HTTP the signal's path is appended (the spec's rule).
  const signalUrl = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined || protocol === 'grpc' ? url : new URL('v1/traces', url.endsWith('/') ? url : `${url}/`).href
  const { 'service.name': named, ...resource } = e.OTEL_RESOURCE_ATTRIBUTES
  if (e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE > e.OTEL_BSP_MAX_QUEUE_SIZE) problems.push(`OTEL_BSP_MAX_EXPORT_BATCH_SIZE: ${e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE} is more than OTEL_BSP_MAX_QUEUE_SIZE (${e.OTEL_BSP_MAX_QUEUE_SIZE}); a batch comes from the queue`)
  return Object.freeze({
    url: signalUrl,
    protocol,
    headers: Object.freeze({ ...e.OTEL_EXPORTER_OTLP_HEADERS, ...e.OTEL_EXPORTER_OTLP_TRACES_HEADERS }),
    timeoutMs: e.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? e.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    compression: e.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION ?? e.OTEL_EXPORTER_OTLP_COMPRESSION ?? 'none',
    serviceName: serviceNameOf(e.OTEL_SERVICE_NAME ?? named),
    resource: Object.freeze(resource),
    propagators: Object.freeze(e.OTEL_PROPAGATORS),
    sampler: Object.freeze({ name: e.OTEL_TRACES_SAMPLER, ratio: samplerRatio(e, problems) }),
    batch: Object.freeze({ scheduledDelayMs: e.OTEL_BSP_SCHEDULE_DELAY, exportTimeoutMs: e.OTEL_BSP_EXPORT_TIMEOUT, maxQueueSize: e.OTEL_BSP_MAX_QUEUE_SIZE, maxExportBatchSize: e.OTEL_BSP_MAX_EXPORT_BATCH_SIZE })
  })
}

/**
 * Tracing from an environment map (empty values already dropped); `problems` names every variable
 * to fix. Undefined when off; the rest is read, and held to, only when it is on.
 */
export function readTracing (present: Record<string, string | undefined>): { tracing: TracingSettings | undefined, problems: string[] } {
  const env: Record<string, unknown> = {}
  const problems: string[] = []
  for (const [name, schema] of Object.entries(OtelSchema.shape)) {
    const parsed = (schema as z.ZodType).safeParse(present[name])
    if (parsed.success) env[name] = parsed.data
    else problems.push(...parsed.error.issues.map((i) => `${name}: ${i.message}`))
  }
  const e = env as Otel
  const url = e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? e.OTEL_EXPORTER_OTLP_ENDPOINT
  const named = present.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? present.OTEL_EXPORTER_OTLP_ENDPOINT
  if (named === undefined || e.OTEL_SDK_DISABLED === true || e.OTEL_TRACES_EXPORTER === 'none') return { tracing: undefined, problems: [] }
  for (const name of UNSUPPORTED) if (present[name] !== undefined) problems.push(`${name}: not supported; portvakt exports with the CAs Node trusts (NAIS's collector needs none)`)
  if (problems.length > 0 || url === undefined) return { tracing: undefined, problems }
  const tracing = toSettings(e, url, problems)
  return problems.length > 0 ? { tracing: undefined, problems } : { tracing, problems }
}

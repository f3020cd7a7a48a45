/**
 * The OpenTelemetry SDK, set up from the tracing settings alone: a TracerProvider (not sdk-node,
 * which configures itself from process.env and brings every signal), a BatchSpanProcessor with a
 * bounded queue, and the OTLP exporter for the protocol in use, loaded only then. Every exporter
 * option is given, so none falls back on the environment (the exporters would read OTEL_* there).
 * Loaded by tracing.ts only when tracing is on.
 */
import { createNoopMeter, type Meter, type MeterProvider } from '@opentelemetry/api'
import { CompositePropagator, SDK_INFO, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { AlwaysOffSampler, AlwaysOnSampler, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, TracerProvider, type Sampler, type SpanExporter } from '@opentelemetry/sdk-trace'
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions'
import type { TracingSettings } from '../config/tracing-env.js'
import { portvaktVersion } from '../version.js'
import type { Logger } from './log.js'
import type { Tracing } from './tracing.js'
import { createSpans } from './tracing-spans.js'

/** The SDK's own count of spans a span processor finished, failed ones with error.type (queue_full, or the export error's name). */
const PROCESSED = 'otel.sdk.processor.span.processed'
/** Say so at most this often while spans are being lost. */
const WARN_EVERY_MS = 60_000
/** Longer attribute values are cut (a path or User-Agent the size of a header limit). */
const ATTRIBUTE_VALUE_LENGTH_LIMIT = 2048

async function createExporter (settings: TracingSettings): Promise<SpanExporter> {
  const common = { url: settings.url, timeoutMillis: settings.timeoutMs }
  if (settings.protocol === 'grpc') {
    const [{ OTLPTraceExporter }, grpc] = await Promise.all([import('@opentelemetry/exporter-trace-otlp-grpc'), import('@grpc/grpc-js')])
    const metadata = new grpc.Metadata()
    for (const [name, value] of Object.entries(settings.headers)) metadata.set(name, value)
    const credentials = settings.url.startsWith('https:') ? grpc.credentials.createSsl() : grpc.credentials.createInsecure()
    type GrpcOptions = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>
    return new OTLPTraceExporter({ ...common, credentials, metadata, compression: settings.compression as GrpcOptions['compression'] })
  }
  const { OTLPTraceExporter } = settings.protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto')
  type Options = NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>
  return new OTLPTraceExporter({ ...common, headers: { ...settings.headers }, compression: settings.compression as Options['compression'], httpAgentOptions: { keepAlive: true } })
}

function samplerOf ({ name, ratio }: TracingSettings['sampler']): Sampler {
  const root = name.endsWith('always_off') ? new AlwaysOffSampler() : name.endsWith('traceidratio') ? new TraceIdRatioBasedSampler(ratio) : new AlwaysOnSampler()
  return name.startsWith('parentbased_') ? new ParentBasedSampler({ root }) : root
}

/**
 * The span processor's self-observability meter (an experimental SDK option) narrowed to one
 * counter: spans it dropped because the queue was full, or lost in a failed export. No metrics SDK
 * is needed for that; `onLost` hears each.
 */
function lostSpanMeter (onLost: (reason: 'queue_full' | 'export_failed', count: number) => void): MeterProvider {
  const noop = createNoopMeter()
  const meter: Meter = Object.assign(Object.create(noop) as Meter, {
    createCounter: (name: string, options?: Parameters<Meter['createCounter']>[1]) => name !== PROCESSED
      ? noop.createCounter(name, options)
      : Object.assign(noop.createCounter(name, options), {
        add: (count: number, attributes?: Record<string, unknown>) => {
          const error = attributes?.['error.type']
          if (error !== undefined) onLost(error === 'queue_full' ? 'queue_full' : 'export_failed', count)
        }
      })
  })
  return { getMeter: () => meter }
}

/** Counts what is lost, and says so in the log at most once a minute per reason. */
function countLost (logger: Logger): { lost: Record<string, number>, onLost: (reason: 'queue_full' | 'export_failed', count: number) => void } {
  const lost: Record<string, number> = {}
  const warned: Record<string, number> = {}
  return {
    lost,
    onLost: (reason, count) => {
      lost[reason] = (lost[reason] ?? 0) + count
      const now = Date.now()
      if (now - (warned[reason] ?? Number.NEGATIVE_INFINITY) < WARN_EVERY_MS) return
      warned[reason] = now
      logger.warn({ reason, lost: lost[reason] }, reason === 'queue_full'
        ? 'trace spans dropped: the export queue is full (the collector is slow or away; OTEL_BSP_MAX_QUEUE_SIZE); requests are not held up'
        : 'trace spans lost: an export to the collector failed (OTEL_EXPORTER_OTLP_ENDPOINT); requests are not held up')
    }
  }
}

/** Set up the SDK from `settings`: spans batched and exported in the background, never on a request's path. */
export async function createTracing (settings: TracingSettings, logger: Logger): Promise<Tracing> {
  const { lost, onLost } = countLost(logger)
  const processor = new BatchSpanProcessor({
    exporter: await createExporter(settings),
    maxQueueSize: settings.batch.maxQueueSize,
    maxExportBatchSize: settings.batch.maxExportBatchSize,
    scheduledDelayMillis: settings.batch.scheduledDelayMs,
    exportTimeoutMillis: settings.batch.exportTimeoutMs,
    selfObsMeterProvider: lostSpanMeter(onLost)
  })
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...SDK_INFO, ...settings.resource, [ATTR_SERVICE_NAME]: settings.serviceName, [ATTR_SERVICE_VERSION]: portvaktVersion() }),
    sampler: samplerOf(settings.sampler),
    spanLimits: { attributeValueLengthLimit: ATTRIBUTE_VALUE_LENGTH_LIMIT },
    spanProcessors: [processor]
  })
  const { traceContext, baggage } = settings.propagators
  const propagator = new CompositePropagator({ propagators: [...(traceContext ? [new W3CTraceContextPropagator()] : []), ...(baggage ? [new W3CBaggagePropagator()] : [])] })
  const shutdown = async (timeoutMs: number): Promise<void> => {
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs).unref() })
    await Promise.race([provider.shutdown().catch(() => undefined), late])
    clearTimeout(timer)
  }
  return createSpans({ tracer: provider.getTracer('portvakt', portvaktVersion()), propagator }, () => ({ ...lost }), shutdown)
}

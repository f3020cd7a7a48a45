/** A portvakt exporting its spans to a real OTLP receiver, for the tracing tests. */
import type { Test } from 'tap'
import { build, type BuildOptions, type Harness } from './build.js'
import { pollUntil } from './poll.js'
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js'

/** Every OTEL_EXPORTER_OTLP_PROTOCOL. */
export const PROTOCOLS = ['grpc', 'http/protobuf', 'http/json'] as const

/** A receiver and a portvakt exporting to it over `protocol`, both closed when `t` ends. */
export async function traced (t: Test, protocol: typeof PROTOCOLS[number], env: Record<string, string> = {}, options: Omit<BuildOptions, 'env'> = {}): Promise<{ h: Harness, rx: OtlpReceiver }> {
  const rx = await startOtlpReceiver()
  t.teardown(rx.close)
  const h = await build(t, {
    ...options,
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: protocol === 'grpc' ? rx.grpcUrl : rx.httpUrl,
      OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
      OTEL_EXPORTER_OTLP_INSECURE: 'true',
      OTEL_SERVICE_NAME: 'myapp',
      OTEL_RESOURCE_ATTRIBUTES: 'service.name=myapp,service.namespace=team,k8s.container.name=myapp',
      OTEL_PROPAGATORS: 'tracecontext,baggage',
      OTEL_TRACES_SAMPLER: 'parentbased_always_on',
      OTEL_BSP_SCHEDULE_DELAY: '10',
      ...env
    }
  })
  return { h, rx }
}

/** The spans of one trace once `count` of them are in. */
export async function spansOf (rx: OtlpReceiver, traceId: string, count: number): Promise<ReceivedSpan[]> {
  return await pollUntil(() => rx.spans.filter((s) => s.traceId === traceId), (spans) => spans.length >= count)
}


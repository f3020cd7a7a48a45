/**
 * A real OTLP trace receiver for tests, on port 0: gRPC (TraceService/Export) and HTTP POST
 * /v1/traces (protobuf and JSON), decoding with the opentelemetry-proto definitions
 * (test/fixtures/vendor/opentelemetry-proto/README.md says which and from where) through
 * @grpc/proto-loader and protobufjs. Every span that arrives is kept, normalised so the three
 * transports read alike: ids in hex, kinds and status codes by name, attribute values as plain values.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import * as grpc from '@grpc/grpc-js'
import * as protoLoader from '@grpc/proto-loader'
import protobuf from 'protobufjs'

const PROTO_DIR = join(process.cwd(), 'test', 'fixtures', 'vendor', 'opentelemetry-proto')
const SERVICE = 'opentelemetry/proto/collector/trace/v1/trace_service.proto'
const NS = 'opentelemetry.proto.collector.trace.v1'
// The same options for both protobuf paths, so both give the same shape.
const OPTIONS = { keepCase: false, longs: Number, enums: String, bytes: String, defaults: false, oneofs: false }

/** One span as received. */
export interface ReceivedSpan {
  transport: 'grpc' | 'http/protobuf' | 'http/json'
  resource: Record<string, unknown>
  scope: string
  traceId: string
  spanId: string
  /** '' for a root span */
  parentSpanId: string
  traceState: string
  name: string
  kind: string
  attributes: Record<string, unknown>
  status: string
}

/** A running receiver. */
export interface OtlpReceiver {
  /** for OTEL_EXPORTER_OTLP_ENDPOINT with grpc */
  grpcUrl: string
  /** the collector's root, for OTEL_EXPORTER_OTLP_ENDPOINT with http/* (…/v1/traces is appended) */
  httpUrl: string
  spans: ReceivedSpan[]
  /** the headers (HTTP) or metadata (gRPC) of each export */
  exports: Array<Record<string, unknown>>
  close: () => Promise<void>
}

type Json = Record<string, unknown>
const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER']
const STATUS = ['UNSET', 'OK', 'ERROR']

/** An id: base64 from protobuf, hex in OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding). */
function hexId (value: unknown, transport: ReceivedSpan['transport']): string {
  if (typeof value !== 'string' || value === '') return ''
  return transport === 'http/json' ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex')
}

function valueOf (any: Json | undefined): unknown {
  if (any === undefined) return undefined
  if ('stringValue' in any) return any.stringValue
  if ('intValue' in any) return Number(any.intValue)
  if ('doubleValue' in any) return any.doubleValue
  if ('boolValue' in any) return any.boolValue
  return any
}

function attributesOf (list: unknown): Record<string, unknown> {
  return Object.fromEntries(((list ?? []) as Json[]).map((kv) => [kv.key as string, valueOf(kv.value as Json | undefined)]))
}

/** Either enum form: a name (protobuf, SPAN_KIND_SERVER) or a number (JSON). */
function enumName (value: unknown, names: string[], prefix: string): string {
  if (typeof value === 'number') return names[value] ?? String(value)
  if (typeof value === 'string') return value.replace(prefix, '')
  return names[0] as string
}

function collect (into: ReceivedSpan[], body: Json, transport: ReceivedSpan['transport']): void {
  for (const rs of (body.resourceSpans ?? []) as Json[]) {
    const resource = attributesOf((rs.resource as Json | undefined)?.attributes)
    for (const ss of (rs.scopeSpans ?? []) as Json[]) {
      const scope = ((ss.scope as Json | undefined)?.name ?? '') as string
      for (const s of (ss.spans ?? []) as Json[]) {
        into.push({
          transport,
          resource,
          scope,
          traceId: hexId(s.traceId, transport),
          spanId: hexId(s.spanId, transport),
          parentSpanId: hexId(s.parentSpanId, transport),
          traceState: (s.traceState ?? '') as string,
          name: s.name as string,
          kind: enumName(s.kind, KINDS, 'SPAN_KIND_'),
          attributes: attributesOf(s.attributes),
          status: enumName((s.status as Json | undefined)?.code, STATUS, 'STATUS_CODE_')
        })
      }
    }
  }
}

async function startGrpc (state: OtlpReceiver): Promise<{ url: string, server: grpc.Server }> {
  const definition = protoLoader.loadSync(SERVICE, { ...OPTIONS, includeDirs: [PROTO_DIR] })
  // The package tree loadPackageDefinition builds: opentelemetry.proto.collector.trace.v1.TraceService.
  const tree = grpc.loadPackageDefinition(definition) as unknown as { opentelemetry: { proto: { collector: { trace: { v1: { TraceService: { service: grpc.ServiceDefinition } } } } } } }
  const service = tree.opentelemetry.proto.collector.trace.v1.TraceService.service
  const server = new grpc.Server()
  server.addService(service, {
    Export: (call: grpc.ServerUnaryCall<Json, Json>, callback: grpc.sendUnaryData<Json>) => {
      state.exports.push(call.metadata.getMap())
      collect(state.spans, call.request, 'grpc')
      callback(null, {})
    }
  })
  const port = await new Promise<number>((resolve, reject) => { server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => { if (err === null) resolve(p); else reject(err) }) })
  return { url: `http://127.0.0.1:${port}`, server }
}

function decodeHttp (state: OtlpReceiver, headers: IncomingHttpHeaders, raw: Buffer, root: protobuf.Root): boolean {
  const body = headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw
  const type = headers['content-type'] ?? ''
  state.exports.push({ ...headers })
  if (type.startsWith('application/x-protobuf')) {
    const Request = root.lookupType(`${NS}.ExportTraceServiceRequest`)
    collect(state.spans, Request.toObject(Request.decode(body), OPTIONS) as Json, 'http/protobuf')
    return true
  }
  if (type.startsWith('application/json')) {
    collect(state.spans, JSON.parse(body.toString('utf8')) as Json, 'http/json')
    return true
  }
  return false
}

/** Start a receiver; closed by `close()`. */
export async function startOtlpReceiver (): Promise<OtlpReceiver> {
  const state: OtlpReceiver = { grpcUrl: '', httpUrl: '', spans: [], exports: [], close: async () => {} }
  const grpcSide = await startGrpc(state)
  const root = new protobuf.Root()
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target)
  root.loadSync(SERVICE)
  const web: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') { res.writeHead(404).end(); return }
      const json = (req.headers['content-type'] ?? '').startsWith('application/json')
      if (!decodeHttp(state, req.headers, Buffer.concat(chunks), root)) { res.writeHead(415).end(); return }
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' }).end(json ? '{}' : '')
    })
  })
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve))
  state.grpcUrl = grpcSide.url
  state.httpUrl = `http://127.0.0.1:${(web.address() as { port: number }).port}`
  state.close = async () => {
    grpcSide.server.forceShutdown()
    web.closeAllConnections()
    await new Promise<void>((resolve) => { web.close(() => { resolve() }) })
  }
  return state
}

/** A collector that takes connections and never answers: what an export meets when the collector hangs. */
export async function startHungCollector (): Promise<{ url: string, close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server: TcpServer = createTcpServer((socket) => { sockets.add(socket); socket.on('error', () => {}) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

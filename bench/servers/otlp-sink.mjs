// An OTLP/gRPC trace collector for the bench's `--extra tracing` target: it takes every export and
// answers success without decoding it (an empty ExportTraceServiceResponse is zero bytes), so what
// the target pays for is portvakt's side of tracing. Usage: node otlp-sink.mjs <port>
import * as grpc from '@grpc/grpc-js'

const port = Number(process.argv[2])
const raw = (bytes) => bytes
const TraceService = {
  Export: { path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export', requestStream: false, responseStream: false, requestSerialize: raw, requestDeserialize: raw, responseSerialize: raw, responseDeserialize: raw }
}
let exports = 0
let bytes = 0
const server = new grpc.Server()
server.addService(TraceService, {
  Export: (call, callback) => {
    exports++
    bytes += call.request.length
    callback(null, Buffer.alloc(0))
  }
})
server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err) => {
  if (err !== null) throw err
  process.stdout.write(`otlp sink on ${port}\n`)
})
process.on('SIGTERM', () => {
  process.stdout.write(`exports ${exports}, ${(bytes / 1024 / 1024).toFixed(1)} MiB\n`)
  server.forceShutdown()
  process.exit(0)
})

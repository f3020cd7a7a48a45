// The baseline: a stock Fastify + @fastify/http-proxy with no auth, as its README shows it.
// argv: port, upstream URL.
import Fastify from 'fastify'
import httpProxy from '@fastify/http-proxy'

const app = Fastify({ logger: false })
await app.register(httpProxy, { upstream: process.argv[3], prefix: '/' })
await app.listen({ host: '127.0.0.1', port: Number(process.argv[2]) })
process.on('SIGTERM', () => { app.close().then(() => process.exit(0)) })

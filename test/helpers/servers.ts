/** Real HTTP servers on port 0 for tests: a JWKS endpoint and an echo upstream. */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { JWK } from 'jose'

/** Listen on 127.0.0.1 port 0 and return the base URL. */
export async function listen (server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Close a server, ending idle keep-alive sockets so tests don't hang. */
export async function close (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
}

/** A JWKS endpoint whose keys, availability and hit count tests control. */
export interface JwksServer {
  url: string
  hits: number
  keys: JWK[]
  /** answer 500 while true */
  down: boolean
  server: Server
}

/** Serve `keys` as a JWKS at `/jwks`, plus RFC 8414 metadata at `/.well-known/oauth-authorization-server`. */
export async function startJwksServer (keys: JWK[], issuer = 'https://test.maskinporten.no/'): Promise<JwksServer> {
  const state = { hits: 0, keys, down: false } as JwksServer
  state.server = createServer((req, res) => {
    if (req.url === '/.well-known/oauth-authorization-server') {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ issuer, jwks_uri: `${state.url}/jwks`, token_endpoint: `${state.url}/token` }))
      return
    }
    state.hits++
    if (state.down) {
      res.statusCode = 500
      res.end('down')
      return
    }
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ keys: state.keys }))
  })
  state.url = await listen(state.server)
  return state
}

/** What a test server saw of one request: method, target, headers and the body's size and SHA-256. */
export interface RequestSeen {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  bodyBytes: number
  bodySha256: string
}

/** What the echo upstream saw of one request. */
export interface Seen extends RequestSeen {
  /** trailer fields that arrived after a chunked body */
  trailers: Record<string, string | undefined>
}

/** An upstream that echoes what it received as JSON, and records every request. */
export interface EchoUpstream {
  url: string
  port: number
  seen: Seen[]
  server: Server
}

function respond (req: IncomingMessage, res: ServerResponse, seen: Seen): void {
  const status = /^\/status\/(\d{3})/.exec(req.url ?? '')?.[1]
  res.statusCode = status === undefined ? 200 : Number(status)
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify(seen))
}

/** Start the echo upstream. `/slow/<ms>` waits before answering; `/status/<code>` answers that code. */
export async function startEchoUpstream (): Promise<EchoUpstream> {
  const state = { seen: [] } as unknown as EchoUpstream
  state.server = createServer((req, res) => {
    const hash = createHash('sha256')
    let bytes = 0
    req.on('data', (chunk: Buffer) => { bytes += chunk.length; hash.update(chunk) })
    req.on('end', () => {
      const seen: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes: bytes, bodySha256: hash.digest('hex'), trailers: req.trailers }
      state.seen.push(seen)
      const slow = /^\/slow\/(\d+)/.exec(req.url ?? '')?.[1]
      if (slow !== undefined) setTimeout(() => { respond(req, res, seen) }, Number(slow))
      else respond(req, res, seen)
    })
  })
  state.url = await listen(state.server)
  state.port = Number(new URL(state.url).port)
  return state
}

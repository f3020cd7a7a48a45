/**
 * Real servers for the egress side. Every token comes from the real dev issuer (src/dev/issuer.ts):
 * either straight from it, as NAIS_TOKEN_ENDPOINT, or through a front that records, holds or fails
 * token requests as a test says. The target API verifies the Bearer token with jose against the dev
 * issuer's JWKS (issuer, scope and, when told, audience) and can be told to start rejecting. Plus a
 * tiny CONNECT proxy standing in for the on-premises webproxy.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { loadDevKey, type DevKey } from '../../src/dev/dev-key.js'
import { startDevIssuer, type IssueEvent } from '../../src/dev/issuer.js'
import { close, listen, type RequestSeen } from './servers.js'

/** Whose tokens a target accepts: the dev issuer's `iss` and where its keys are published. */
export interface Trust {
  issuer: string
  jwksUri: string
}

/** The dev issuer, running, with every token it handed out (never the token itself). */
export interface DevTokenIssuer extends Trust {
  /** its NAIS_TOKEN_ENDPOINT-shaped endpoint, `/api/v1/token` */
  tokenEndpoint: string
  issued: IssueEvent[]
  close: () => Promise<void>
}

let sharedKey: Promise<DevKey> | undefined

/** One dev key per test process: generating an RSA key costs more than a test should. */
async function loadSharedKey (): Promise<DevKey> {
  sharedKey ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'portvakt-egress-'))
    try {
      return await loadDevKey(dir)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })()
  return await sharedKey
}

/** Start the real dev issuer on 127.0.0.1, port 0. */
export async function startDevTokenIssuer (): Promise<DevTokenIssuer> {
  const issued: IssueEvent[] = []
  const issuer = await startDevIssuer({ host: '127.0.0.1', port: 0, key: await loadSharedKey(), onIssue: (event) => { issued.push(event) } })
  return { issuer: issuer.issuer, jwksUri: issuer.jwksUri, tokenEndpoint: `http://127.0.0.1:${issuer.port}/api/v1/token`, issued, close: issuer.close }
}

/** One token request as the front received it. */
export interface TokenRequest {
  contentType: string | undefined
  body: Record<string, unknown>
  /** the trace context it came with (only when tracing is on) */
  traceparent?: string
}

/** A front over the dev issuer whose answers, hold and hit count tests control. */
export interface TokenEndpoint extends Trust {
  url: string
  server: Server
  requests: TokenRequest[]
  /** `expires_in` of the tokens it asks the dev issuer for */
  expiresIn: number
  /** answer this error instead of a token while set */
  failure: { status: number, error?: string, error_description?: string, raw?: string } | undefined
  /** while set, answers wait for this promise */
  hold: Promise<void> | undefined
  /** stop the front and the dev issuer behind it */
  close: () => Promise<void>
}

/** Start a steerable token endpoint; tokens are the dev issuer's, cached by it unless skip_cache. */
export async function startTokenEndpoint (): Promise<TokenEndpoint> {
  const devIssuer = await startDevTokenIssuer()
  const state = { requests: [], expiresIn: 120, failure: undefined, hold: undefined, issuer: devIssuer.issuer, jwksUri: devIssuer.jwksUri } as unknown as TokenEndpoint
  state.server = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => { text += c.toString() })
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(text) as Record<string, unknown>
        const traceparent = req.headers.traceparent
        const traced = typeof traceparent === 'string' ? { traceparent } : {}
        state.requests.push({ contentType: req.headers['content-type'], body, ...traced })
        await state.hold
        res.setHeader('content-type', 'application/json')
        const failure = state.failure
        if (failure !== undefined) {
          res.statusCode = failure.status
          res.end(failure.raw ?? JSON.stringify({ error: failure.error, error_description: failure.error_description }))
          return
        }
        // expires_in is one of the dev issuer's own request fields; the rest goes as the client sent it.
        const answer = await fetch(devIssuer.tokenEndpoint, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, expires_in: state.expiresIn }) })
        res.statusCode = answer.status
        res.end(await answer.text())
      })()
    })
  })
  state.url = `${await listen(state.server)}/api/v1/token`
  state.close = async () => {
    await close(state.server)
    await devIssuer.close()
  }
  return state
}

/** What the target saw of one request, and how it answered. */
export interface TargetSeen extends RequestSeen {
  status: number
  jti: string | undefined
}

/** What a target demands of a token. */
export interface TargetOptions extends Trust {
  scope: string
  /** the `aud` it must carry; unchecked when unset */
  audience?: string
}

/** A target API that demands a valid token holding `scope` (and `audience`, when set). */
export interface Target {
  url: string
  server: Server
  seen: TargetSeen[]
  /** TCP connections it has accepted, to tell a reused keep-alive connection from a new one */
  connections: number
  /** refuse every token seen so far (their rights "changed"); later tokens pass */
  revokeSeen: () => void
  /** the reject switch: refuse every token while true */
  rejectAll: boolean
  /** the size of the body of its 401s (default: a short JSON error) */
  refusalBytes: number | undefined
}

/** Start a target. `/echo...` streams the request body back; anything else answers JSON about the
 * request. A missing, invalid, revoked or under-scoped token gets a 401 with RFC 6750's challenge. */
export async function startTarget (options: TargetOptions): Promise<Target> {
  const keys = createRemoteJWKSet(new URL(options.jwksUri))
  const revoked = new Set<string>()
  const state = { seen: [], connections: 0, rejectAll: false, refusalBytes: undefined } as unknown as Target
  state.revokeSeen = () => { for (const s of state.seen) if (s.jti !== undefined) revoked.add(s.jti) }
  state.server = createServer((req, res) => {
    void (async () => {
      const auth = req.headers.authorization ?? ''
      let jti: string | undefined
      let ok = false
      try {
        const { payload } = await jwtVerify(auth.replace(/^Bearer /, ''), keys, { issuer: options.issuer, audience: options.audience, algorithms: ['RS256'] })
        jti = payload.jti
        ok = String(payload.scope).split(' ').includes(options.scope) && !revoked.has(String(jti)) && !state.rejectAll
      } catch { ok = false }
      const hash = createHash('sha256')
      let bytes = 0
      const seen: TargetSeen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, status: ok ? 200 : 401, jti, bodyBytes: 0, bodySha256: '' }
      state.seen.push(seen)
      if (!ok) {
        req.resume()
        const body = state.refusalBytes === undefined ? '{"error":"invalid_token"}' : Buffer.alloc(state.refusalBytes, 'x')
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json', 'content-length': String(body.length) })
        res.end(body)
        return
      }
      if (req.url?.startsWith('/v1/echo') === true) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', connection: 'keep-alive, x-hop', 'x-hop': 'only for the next hop', 'keep-alive': 'timeout=5' })
        req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c) })
        req.on('end', () => { seen.bodyBytes = bytes; seen.bodySha256 = hash.digest('hex') })
        req.pipe(res)
        return
      }
      req.on('data', (c: Buffer) => { bytes += c.length; hash.update(c) })
      req.on('end', () => {
        seen.bodyBytes = bytes
        seen.bodySha256 = hash.digest('hex')
        res.writeHead(200, { 'content-type': 'application/json', 'x-target': 'yes' })
        res.end(JSON.stringify({ method: seen.method, url: seen.url, headers: seen.headers, bodyBytes: bytes, bodySha256: seen.bodySha256 }))
      })
    })()
  })
  state.server.on('connection', () => { state.connections++ })
  // Long enough that a keep-alive connection is never dropped between two steps of a test.
  state.server.keepAliveTimeout = 120_000
  state.url = await listen(state.server)
  return state
}

/** A forward proxy that only tunnels (HTTP CONNECT), counting the tunnels it opened. */
export interface TunnelProxy {
  url: string
  server: Server
  tunnels: string[]
  /** end every tunnel and stop listening */
  close: () => Promise<void>
}

/** Start a CONNECT proxy on 127.0.0.1, like the webproxy undici's ProxyAgent tunnels through. */
export async function startTunnelProxy (): Promise<TunnelProxy> {
  const state = { tunnels: [] } as unknown as TunnelProxy
  const sockets = new Set<Socket>()
  state.server = createServer((_req, res) => { res.statusCode = 405; res.end() })
  state.server.on('connect', (req, client: Socket, head: Buffer) => {
    state.tunnels.push(req.url ?? '')
    const [host, port] = (req.url ?? '').split(':')
    const upstream = connect(Number(port), host ?? '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(client)
      client.pipe(upstream)
    })
    for (const s of [client, upstream]) { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => { client.destroy(); upstream.destroy() }) }
  })
  state.close = async () => {
    for (const s of sockets) s.destroy()
    state.server.closeAllConnections()
    await new Promise<void>((resolve) => state.server.close(() => { resolve() }))
  }
  state.url = await listen(state.server)
  return state
}

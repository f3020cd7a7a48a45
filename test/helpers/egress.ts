/**
 * Real servers for the egress side: a token endpoint speaking NAIS_TOKEN_ENDPOINT's format that
 * mints real RS256 tokens (and caches them, as the platform's does, unless skip_cache), a target
 * API that verifies the Bearer token against the same key and can be told to start rejecting, and
 * a tiny CONNECT proxy standing in for the on-premises webproxy.
 */
import { createHash, randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { connect, type Socket } from 'node:net'
import { jwtVerify, SignJWT } from 'jose'
import type { SigningKey } from './keys.js'
import { listen } from './servers.js'
import { TEST_ISSUER } from './tokens.js'

/** One token request as the endpoint received it. */
export interface TokenRequest {
  contentType: string | undefined
  body: Record<string, unknown>
}

/** A token endpoint whose answers, hold and hit count tests control. */
export interface TokenEndpoint {
  url: string
  server: Server
  requests: TokenRequest[]
  /** `expires_in` of the tokens it mints */
  expiresIn: number
  /** answer this error instead of a token while set */
  failure: { status: number, error?: string, error_description?: string, raw?: string } | undefined
  /** while set, answers wait for this promise */
  hold: Promise<void> | undefined
}

/** Start a token endpoint signing with `key`. */
export async function startTokenEndpoint (key: SigningKey): Promise<TokenEndpoint> {
  const state = { requests: [], expiresIn: 120, failure: undefined, hold: undefined } as unknown as TokenEndpoint
  const cache = new Map<string, string>()
  state.server = createServer((req, res) => {
    let text = ''
    req.on('data', (c: Buffer) => { text += c.toString() })
    req.on('end', () => {
      void (async () => {
        const body = JSON.parse(text) as Record<string, unknown>
        state.requests.push({ contentType: req.headers['content-type'], body })
        await state.hold
        res.setHeader('content-type', 'application/json')
        const failure = state.failure
        if (failure !== undefined) {
          res.statusCode = failure.status
          res.end(failure.raw ?? JSON.stringify({ error: failure.error, error_description: failure.error_description }))
          return
        }
        const key2 = `${String(body.target)}|${String(body.resource)}`
        let token = body.skip_cache === true ? undefined : cache.get(key2)
        if (token === undefined) {
          const now = Math.floor(Date.now() / 1000)
          const claims: Record<string, unknown> = { scope: body.target, client_id: 'egress-test', jti: randomUUID() }
          if (typeof body.resource === 'string') claims.aud = body.resource
          token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid })
            .setIssuer(TEST_ISSUER).setIssuedAt(now).setExpirationTime(now + state.expiresIn).sign(key.privateKey)
          cache.set(key2, token)
        }
        res.end(JSON.stringify({ access_token: token, expires_in: state.expiresIn, token_type: 'Bearer' }))
      })()
    })
  })
  state.url = `${await listen(state.server)}/api/v1/token`
  return state
}

/** What the target saw of one request. */
export interface TargetSeen {
  method: string
  url: string
  headers: Record<string, string | string[] | undefined>
  status: number
  jti: string | undefined
  bodyBytes: number
  bodySha256: string
}

/** A target API that demands a valid token holding `scope`. */
export interface Target {
  url: string
  server: Server
  seen: TargetSeen[]
  /** refuse every token seen so far (their rights "changed"); later tokens pass */
  revokeSeen: () => void
  /** refuse every token while true */
  rejectAll: boolean
}

/**
 * Start a target. `/echo...` streams the request body back; anything else answers JSON about the
 * request. A missing, invalid, revoked or under-scoped token gets a 401 with RFC 6750's challenge.
 */
export async function startTarget (key: SigningKey, scope: string): Promise<Target> {
  const revoked = new Set<string>()
  const state = { seen: [], rejectAll: false } as unknown as Target
  state.revokeSeen = () => { for (const s of state.seen) if (s.jti !== undefined) revoked.add(s.jti) }
  state.server = createServer((req, res) => {
    void (async () => {
      const auth = req.headers.authorization ?? ''
      let jti: string | undefined
      let ok = false
      try {
        const { payload } = await jwtVerify(auth.replace(/^Bearer /, ''), key.publicKey, { issuer: TEST_ISSUER, algorithms: ['RS256'] })
        jti = payload.jti
        ok = String(payload.scope).split(' ').includes(scope) && !revoked.has(String(jti)) && !state.rejectAll
      } catch { ok = false }
      const hash = createHash('sha256')
      let bytes = 0
      const seen: TargetSeen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, status: ok ? 200 : 401, jti, bodyBytes: 0, bodySha256: '' }
      state.seen.push(seen)
      if (!ok) {
        req.resume()
        res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"', 'content-type': 'application/json' })
        res.end('{"error":"invalid_token"}')
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

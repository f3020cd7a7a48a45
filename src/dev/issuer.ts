/**
 * A local Maskinporten issuer for curl testing: RFC 8414 metadata, the public keys at `/jwk`,
 * and a token endpoint speaking the NAIS token endpoint's request format, with its per-(target,
 * resource, authorization_details) cache and `skip_cache`. Never for a cluster: main.ts refuses `dev` under NAIS_CLUSTER_NAME.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { DevKey } from './dev-key.js'
import { mintDevToken, type MintedToken } from './mint.js'
import { parseTokenRequest, type TokenRequest } from './token-request.js'

/** Largest token request body read; a real one is under 200 bytes. */
const MAX_BODY_BYTES = 64 * 1024
/** A cached token is handed out again only while it has at least this many seconds left. */
const MIN_REMAINING_SEC = 5

/** What the issuer reports for each token it hands out, for the dev log (never the token itself). */
export interface IssueEvent {
  scope: string
  orgno: string
  audience: string | undefined
  /** a delegated token's supplier */
  supplier: string | undefined
  /** the customer organisation of the token's system user */
  systemUserOrg: string | undefined
  cached: boolean
  expiresIn: number
}

/** Where and how the dev issuer runs. */
export interface DevIssuerOptions {
  host: string
  /** 0 picks a free port */
  port: number
  key: DevKey
  onIssue?: (event: IssueEvent) => void
  /** epoch seconds; tests may move time */
  now?: () => number
}

/** A running dev issuer. */
export interface DevIssuer {
  /** the `iss` of its tokens, with the trailing slash Maskinporten writes */
  issuer: string
  jwksUri: string
  tokenEndpoint: string
  metadataUrl: string
  port: number
  close: () => Promise<void>
}

function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

async function readBody (req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  // Read to the end even when too large, so the client gets its 400 rather than a reset connection.
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size <= MAX_BODY_BYTES) chunks.push(chunk)
  }
  return size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')
}

function cacheKey (request: TokenRequest): string {
  // The real endpoint caches per (target, resource, authorization_details); the dev-only fields change
  // the token, so they key it too.
  return JSON.stringify([request.target, request.resource ?? null, request.authorization_details?.org ?? null, request.consumer_orgno,
    request.expires_in, request.supplier ?? null, request.system_id ?? null, request.systemuser_id ?? null])
}

/** Start the dev issuer; resolves once it listens. */
export async function startDevIssuer (options: DevIssuerOptions): Promise<DevIssuer> {
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  const cache = new Map<string, MintedToken>()
  const urls = { base: '', issuer: '' }

  async function issue (request: TokenRequest): Promise<{ minted: MintedToken, cached: boolean }> {
    const key = cacheKey(request)
    const hit = cache.get(key)
    if (!request.skip_cache && hit !== undefined && hit.exp - now() >= MIN_REMAINING_SEC) return { minted: hit, cached: true }
    for (const [k, v] of cache) if (v.exp <= now()) cache.delete(k)
    const minted = await mintDevToken(options.key, urls.issuer, request, now())
    cache.set(key, minted)
    return { minted, cached: false }
  }

  async function handleToken (req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'invalid_request', error_description: 'use POST' }, { allow: 'POST' })
      return
    }
    const body = await readBody(req)
    if (body === undefined) {
      sendJson(res, 400, { error: 'invalid_request', error_description: `the body is larger than ${MAX_BODY_BYTES} bytes` })
      return
    }
    const parsed = parseTokenRequest(req.headers['content-type'], body)
    if (!parsed.ok) {
      sendJson(res, 400, parsed.error)
      return
    }
    const { minted, cached } = await issue(parsed.request)
    const expiresIn = minted.exp - now()
    const { request } = parsed
    options.onIssue?.({ scope: request.target.join(' '), orgno: request.consumer_orgno, audience: request.resource, supplier: request.supplier, systemUserOrg: request.authorization_details?.org, cached, expiresIn })
    // RFC 6749 §5.1: token responses are never cached by intermediaries.
    sendJson(res, 200, { access_token: minted.token, expires_in: expiresIn, token_type: 'Bearer' }, { 'cache-control': 'no-store' })
  }

  function route (req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    const path = (req.url ?? '/').split('?')[0]
    switch (path) {
      case '/.well-known/oauth-authorization-server':
        return void sendJson(res, 200, {
          issuer: urls.issuer,
          token_endpoint: `${urls.base}/token`,
          jwks_uri: `${urls.base}/jwk`,
          token_endpoint_auth_methods_supported: ['private_key_jwt'],
          grant_types_supported: ['urn:ietf:params:oauth:grant-type:jwt-bearer']
        })
      case '/jwk':
        return void sendJson(res, 200, { keys: [options.key.publicJwk] })
      // `/api/v1/token` is where NAIS_TOKEN_ENDPOINT points in a pod, so a consumer app can use this issuer as is.
      case '/token':
      case '/api/v1/token':
        return handleToken(req, res)
      default:
        return void sendJson(res, 404, { error: 'not_found', error_description: 'try /.well-known/oauth-authorization-server, /jwk or POST /token' })
    }
  }

  const server: Server = createServer((req, res) => {
    route(req, res)?.catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', error_description: (err as Error).message })
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  urls.base = `http://${host}:${port}`
  urls.issuer = `${urls.base}/`
  return {
    issuer: urls.issuer,
    jwksUri: `${urls.base}/jwk`,
    tokenEndpoint: `${urls.base}/token`,
    metadataUrl: `${urls.base}/.well-known/oauth-authorization-server`,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

/**
 * A local stand-in for Altinn's platform: the Maskinporten token exchange
 * (`GET /authentication/api/v1/exchange/maskinporten`, the Altinn JWT as the plain body) and the PDP
 * (`POST /authorization/api/v1/authorize`, XACML JSON answered in Altinn's camelCase format), from a
 * grants file. It checks what Altinn checks: a Maskinporten token from the trusted issuer at the
 * exchange, its own token with the PDP scope and (when it has one) the subscription key at the PDP.
 * Tests steer it (`answer`, `exchange`) to every answer Altinn can give; never for a cluster.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, generateKeyPair, jwtVerify, SignJWT, type CryptoKey, type JWTPayload } from 'jose'
import { answerOf, levelObligations, resultOf } from './altinn-answers.js'
import type { DevGrant } from './altinn-grants.js'

/** What a test tells the stand-in to answer instead: a status, a body, a delay. */
export interface CannedAnswer {
  status?: number
  body?: string
  headers?: Record<string, string>
  delayMs?: number
}

/** One request as the stand-in received it. */
export interface SeenRequest {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** Where and how the stand-in runs. */
export interface DevPdpOptions {
  host: string
  port: number
  /** the Maskinporten issuer whose tokens the exchange takes */
  maskinporten: { issuer: string, jwksUri: string }
  /** the grants in force, read at every question (so an edited file counts at once) */
  grants: () => Promise<readonly DevGrant[]>
  /** when set, the PDP answers 401 without this Ocp-Apim-Subscription-Key */
  subscriptionKey?: string
  /** how long exchanged tokens live, in seconds (Altinn's default: 30 minutes) */
  tokenLifetimeSec?: number
}

/** A running stand-in. */
export interface DevPdp {
  url: string
  port: number
  seen: SeenRequest[]
  /** answer the PDP's questions with this, while set */
  answer: ((body: string) => CannedAnswer) | undefined
  /** answer the exchange with this, while set */
  exchange: (() => CannedAnswer) | undefined
  /** how long exchanged tokens live, in seconds */
  tokenLifetimeSec: number
  close: () => Promise<void>
}

const PDP_SCOPE = /(^| )altinn:authorization\/authorize(\.admin)?( |$)/

function attribute (category: unknown, id: string): string | undefined {
  const list = (category as Array<{ Attribute?: Array<{ AttributeId?: string, Value?: string }> }> | undefined)?.[0]?.Attribute ?? []
  return list.find((a) => a.AttributeId === id)?.Value
}

/** The grants' decision on a request body in Altinn's documented (PascalCase) form. */
export function decideFromGrants (body: string, grants: readonly DevGrant[]): string {
  let request: Record<string, unknown>
  try {
    request = (JSON.parse(body) as { Request: Record<string, unknown> }).Request
  } catch {
    return answerOf(resultOf('Indeterminate', [], 'urn:oasis:names:tc:xacml:1.0:status:syntax-error'))
  }
  const systemUser = attribute(request.AccessSubject, 'urn:altinn:systemuser:uuid')
  const action = attribute(request.Action, 'urn:oasis:names:tc:xacml:1.0:action:action-id')
  const resource = attribute(request.Resource, 'urn:altinn:resource')
  const org = attribute(request.Resource, 'urn:altinn:organization:identifier-no')
  const ofResource = grants.filter((g) => g.resource === resource)
  // Altinn answers NotApplicable where no policy speaks of the resource at all.
  if (ofResource.length === 0) return answerOf(resultOf('NotApplicable'))
  const grant = ofResource.find((g) => g.systemUserId === systemUser && g.org === org && action !== undefined && g.actions.has(action))
  return grant === undefined ? answerOf(resultOf('Deny')) : answerOf(resultOf('Permit', levelObligations(grant.authLevel)))
}

async function readBody (req: IncomingMessage): Promise<string> {
  let text = ''
  for await (const chunk of req as AsyncIterable<Buffer>) text += chunk.toString('utf8')
  return text
}

function bearer (req: IncomingMessage): string {
  const header = req.headers.authorization ?? ''
  return header.startsWith('Bearer ') ? header.slice(7) : ''
}

/** Start the stand-in; resolves once it listens. */
export async function startDevPdp (options: DevPdpOptions): Promise<DevPdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256')
  const maskinportenKeys = createRemoteJWKSet(new URL(options.maskinporten.jwksUri))
  const state = { seen: [] as SeenRequest[], answer: undefined, exchange: undefined, tokenLifetimeSec: options.tokenLifetimeSec ?? 1800 } as Pick<DevPdp, 'seen' | 'answer' | 'exchange' | 'tokenLifetimeSec'>
  const issuer = { url: '' }

  const send = (res: ServerResponse, status: number, body: string, type = 'application/json', headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, ...headers })
    res.end(body)
  }

  async function exchange (req: IncomingMessage, res: ServerResponse): Promise<void> {
    let payload: JWTPayload
    try {
      payload = (await jwtVerify(bearer(req), maskinportenKeys, { issuer: options.maskinporten.issuer })).payload
    } catch {
      send(res, 401, '', 'text/plain')
      return
    }
    const consumer = (payload.consumer as { ID?: string } | undefined)?.ID?.replace(/^0192:/, '')
    const now = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({ scope: payload.scope, 'urn:altinn:orgNumber': consumer, 'urn:altinn:authlevel': 3, 'urn:altinn:authenticatemethod': 'maskinporten' })
      .setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer.url).setIssuedAt(now).setExpirationTime(now + state.tokenLifetimeSec).sign(privateKey as CryptoKey)
    send(res, 200, token, 'text/plain; charset=utf-8')
  }

  async function authorize (req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    if (options.subscriptionKey !== undefined && req.headers['ocp-apim-subscription-key'] !== options.subscriptionKey) {
      send(res, 401, JSON.stringify({ statusCode: 401, message: 'Access denied due to missing subscription key.' }))
      return
    }
    let scope: unknown
    try {
      scope = (await jwtVerify(bearer(req), publicKey, { issuer: issuer.url })).payload.scope
    } catch {
      send(res, 401, '')
      return
    }
    if (typeof scope !== 'string' || !PDP_SCOPE.test(scope)) {
      send(res, 403, '')
      return
    }
    send(res, 200, decideFromGrants(body, await options.grants()))
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    const body = await readBody(req)
    state.seen.push({ path, headers: req.headers, body })
    const isExchange = req.method === 'GET' && path === '/authentication/api/v1/exchange/maskinporten'
    const isAuthorize = req.method === 'POST' && path === '/authorization/api/v1/authorize'
    const canned = isExchange ? state.exchange?.() : isAuthorize ? state.answer?.(body) : undefined
    if (canned !== undefined) {
      if (canned.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, canned.delayMs))
      send(res, canned.status ?? 200, canned.body ?? '', isExchange ? 'text/plain' : 'application/json', canned.headers)
      return
    }
    if (isExchange) return await exchange(req, res)
    if (isAuthorize) return await authorize(req, res, body)
    send(res, 404, JSON.stringify({ error: 'try GET /authentication/api/v1/exchange/maskinporten or POST /authorization/api/v1/authorize' }))
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, JSON.stringify({ error: (err as Error).message }))
      else res.destroy()
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  const url = `http://${options.host}:${port}`
  issuer.url = `${url}/authentication/api/v1/openid/`
  return Object.assign(state, {
    url,
    port,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  })
}

/**
 * The Altinn token portvakt calls the PDP with: a Maskinporten token for the PDP scope from
 * NAIS_TOKEN_ENDPOINT (the egress side's token client, egress/token-client.ts), exchanged at
 * `GET {base}/authentication/api/v1/exchange/maskinporten` for an Altinn JWT, which comes back as
 * the plain body (Altinn/altinn-authentication, AuthenticationController.cs: `Ok(serializedToken)`).
 * Kept until its own `exp` minus a margin, one exchange in flight however many requests wait.
 */
import { decodeJwt } from 'jose'
import { isCompactJws } from '../auth/compact-jws.js'
import type { TokenClient } from '../egress/token-client.js'
import { altinnUnavailable, describeFetchFailure } from './unavailable.js'
import { BodyTooLarge, readCapped } from '../config/read-capped.js'

/** How the exchange is reached. */
export interface AltinnTokenOptions {
  exchangeUrl: string
  /** the Maskinporten scope the PDP takes (PORTVAKT_ALTINN_SCOPE) */
  scope: string
  maskinporten: TokenClient
  fetch: typeof fetch
  timeoutMs: number
  /** stop using a token this long before it expires (default 60 s) */
  marginMs?: number
  now?: () => number
}

/** Counters for tests and metrics. */
export interface ExchangeStats {
  exchanges: { ok: number, error: number }
}

// Altinn's tokens live 30 minutes by default (JwtValidityMinutes); a minute's margin is plenty.
const DEFAULT_MARGIN_MS = 60_000
// A JWT is a few kilobytes; an answer much larger is not one.
const MAX_TOKEN_BYTES = 64 * 1024

/** Fetches, caches and single-flights the exchanged Altinn token. */
export class AltinnTokenSource {
  private cached: { token: string, expiresAt: number } | undefined
  private flight: Promise<string> | undefined
  private readonly counters: ExchangeStats = { exchanges: { ok: 0, error: 0 } }
  private readonly now: () => number

  constructor (private readonly options: AltinnTokenOptions) {
    this.now = options.now ?? Date.now
  }

  /** The Altinn token; throws the 503 refusal when it cannot be had. */
  async getToken (): Promise<string> {
    const cached = this.cached
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.token
    if (this.flight === undefined) {
      const flight = this.exchange().finally(() => { if (this.flight === flight) this.flight = undefined })
      this.flight = flight
    }
    return await this.flight
  }

  /** Forget `token` after the PDP refused it (401), so the next request exchanges anew. */
  dropToken (token: string): void {
    if (this.cached?.token === token) this.cached = undefined
  }

  /** Counters since start. */
  stats (): ExchangeStats {
    return { exchanges: { ...this.counters.exchanges } }
  }

  private async exchange (): Promise<string> {
    try {
      const token = await this.fetchToken()
      this.counters.exchanges.ok++
      return token
    } catch (err) {
      this.counters.exchanges.error++
      throw err
    }
  }

  private async fetchToken (): Promise<string> {
    let maskinporten: string
    try {
      maskinporten = await this.options.maskinporten.getToken({ target: this.options.scope, resource: undefined })
    } catch (err) {
      throw altinnUnavailable(`no Maskinporten token for ${this.options.scope} from NAIS_TOKEN_ENDPOINT: ${(err as Error).message}`)
    }
    let body: string
    let status: number
    try {
      // No Accept header, as NAV's client sends it: the token comes back as text, not a JSON string.
      const response = await this.options.fetch(this.options.exchangeUrl, {
        headers: { authorization: `Bearer ${maskinporten}` },
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
      status = response.status
      body = await readCapped(response, MAX_TOKEN_BYTES, 'the exchange\'s answer').catch((err: unknown) => { if (err instanceof BodyTooLarge) return ''; throw err })
    } catch (err) {
      throw altinnUnavailable(`the Altinn token exchange failed (${describeFetchFailure(err)})`)
    }
    if (status === 401) {
      // The next exchange takes a fresh token (skip_cache), at most once per refresh interval.
      await this.options.maskinporten.refreshToken({ target: this.options.scope, resource: undefined }, maskinporten).catch(() => undefined)
      throw altinnUnavailable('the Altinn token exchange answered 401: it refused our Maskinporten token (the scope, or the environment: tt02 against test, prod against prod)')
    }
    if (status < 200 || status > 299) throw altinnUnavailable(`the Altinn token exchange answered ${status}`)
    return this.keep(body)
  }

  private keep (body: string): string {
    // Strip surrounding quotes defensively: ASP.NET may write the string as a JSON literal.
    const token = body.trim().replace(/^"(.*)"$/s, '$1')
    let exp: unknown
    try {
      exp = isCompactJws(token) ? decodeJwt(token).exp : undefined
    } catch {}
    if (typeof exp !== 'number') throw altinnUnavailable('the Altinn token exchange answered 2xx without a JWT that has an exp')
    this.cached = { token, expiresAt: exp * 1000 - (this.options.marginMs ?? DEFAULT_MARGIN_MS) }
    return token
  }
}

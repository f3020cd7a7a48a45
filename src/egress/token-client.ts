/**
 * Maskinporten tokens for the egress side, from NAIS_TOKEN_ENDPOINT
 * (https://docs.nais.io/auth/maskinporten/how-to/consume): one
 * POST per (target, resource), cached until `expires_in` minus a margin, one fetch in flight per key
 * however many requests wait for it. Failures are thrown as data and never cached.
 */
import { formatDuration } from '../config/duration.js'
import { describeFetchFailure } from '../config/fetch-failure.js'
import { GateError } from '../http/errors.js'
import { readCapped } from '../config/read-capped.js'

// A token response is a few KB (a JWT and its fields); more is no token response.
const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024

/** What a token is asked for: the space-joined scopes and the optional audience. */
export interface TokenSpec {
  target: string
  resource: string | undefined
}

/** How the client reaches the token endpoint; `fetch` is a parameter so the lead can pass a proxy-aware one. */
export interface TokenClientOptions {
  endpoint: string
  fetch: typeof fetch
  timeoutMs: number
  /** stop using a token this long before it expires (default 20 s) */
  marginMs?: number
  /** at most one skip_cache fetch per (target, resource) this often (default 10 s), so a target that
   * refuses every token cannot make us hammer Maskinporten */
  refreshIntervalMs?: number
  /** the clock, in ms; a parameter so expiry is tested without waiting */
  now?: () => number
}

/** Counters for metrics: token fetches by result, and requests served from the cache. */
export interface TokenStats {
  fetches: { ok: number, error: number }
  cacheHits: number
  /** refused tokens not refreshed because one was refreshed within the refresh interval */
  refreshesSkipped: number
}

/** The token endpoint refused or failed; carries its OAuth `error` and `error_description`. */
export class TokenEndpointError extends GateError {
  readonly error: string
  readonly errorDescription: string | undefined

  constructor (error: string, errorDescription: string | undefined, cause?: unknown) {
    super('PORTVAKT_ERR_TOKEN_ENDPOINT', `no token from NAIS_TOKEN_ENDPOINT: ${error}`, { oauth: { error, description: errorDescription }, cause })
    this.error = error
    this.errorDescription = errorDescription
  }
}

interface Cached {
  token: string
  expiresAt: number
  /** which fetch produced it, so an older fetch finishing late never replaces a newer token */
  seq: number
}

/** Default safety margin: the token must still be valid when the target checks it, seconds later. */
export const DEFAULT_MARGIN_MS = 20_000

/** Default refresh interval: a fresh token refused again within this time means a config problem, not a rights change. */
export const DEFAULT_REFRESH_INTERVAL_MS = 10_000

function keyOf (spec: TokenSpec): string {
  return `${spec.target}\n${spec.resource ?? ''}`
}


/** Fetches, caches and single-flights tokens per (target, resource). */
export class TokenClient {
  private readonly cache = new Map<string, Cached>()
  private readonly flights = new Map<string, Promise<Cached>>()
  private readonly freshFlights = new Map<string, Promise<Cached>>()
  private readonly lastRefresh = new Map<string, number>()
  private readonly counters: TokenStats = { fetches: { ok: 0, error: 0 }, cacheHits: 0, refreshesSkipped: 0 }
  private seq = 0
  private readonly now: () => number
  private readonly marginMs: number
  private readonly refreshIntervalMs: number

  constructor (private readonly options: TokenClientOptions) {
    this.now = options.now ?? Date.now
    this.marginMs = options.marginMs ?? DEFAULT_MARGIN_MS
    this.refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS
  }

  /**
   * A replacement for `rejected`, which the target refused: the cached token if another request
   * already replaced it, else a fresh one (`skip_cache: true`); undefined when a fresh one was
   * fetched within the refresh interval and refused too (the caller then passes the 401 on).
   */
  async refreshToken (spec: TokenSpec, rejected: string): Promise<string | undefined> {
    const key = keyOf(spec)
    const cached = this.cache.get(key)
    const last = this.lastRefresh.get(key)
    const replaced = cached !== undefined && cached.token !== rejected && cached.expiresAt > this.now()
    if (!replaced && !this.freshFlights.has(key) && last !== undefined && this.now() - last < this.refreshIntervalMs) {
      this.counters.refreshesSkipped++
      return undefined
    }
    return await this.getToken(spec, rejected)
  }

  /**
   * A token for `spec`. Pass the token the target just refused as `rejected` to get a fresh one
   * (`skip_cache: true`), unless another request already replaced it.
   */
  async getToken (spec: TokenSpec, rejected?: string): Promise<string> {
    const key = keyOf(spec)
    const cached = this.cache.get(key)
    if (cached !== undefined && cached.expiresAt > this.now() && cached.token !== rejected) {
      this.counters.cacheHits++
      return cached.token
    }
    // A fresh fetch under way answers everyone: the token it replaces was refused.
    const fresh = this.freshFlights.get(key)
    if (fresh !== undefined) return (await fresh).token
    const skipCache = rejected !== undefined
    const flights = skipCache ? this.freshFlights : this.flights
    let flight = flights.get(key)
    if (flight === undefined) {
      const started = this.fetchToken(spec, skipCache, key)
      flight = started.finally(() => { if (flights.get(key) === flight) flights.delete(key) })
      flights.set(key, flight)
    }
    return (await flight).token
  }

  /** Counters since start, for the metrics endpoint. */
  stats (): TokenStats {
    return { ...this.counters, fetches: { ...this.counters.fetches } }
  }

  private async fetchToken (spec: TokenSpec, skipCache: boolean, key: string): Promise<Cached> {
    const seq = ++this.seq
    if (skipCache) this.lastRefresh.set(key, this.now())
    try {
      const { token, expiresInSec } = await this.post(spec, skipCache)
      const entry = { token, expiresAt: this.now() + expiresInSec * 1000 - this.marginMs, seq }
      const current = this.cache.get(key)
      if (current === undefined || current.seq < seq) this.cache.set(key, entry)
      this.counters.fetches.ok++
      return entry
    } catch (err) {
      this.counters.fetches.error++
      throw err
    }
  }

  private async post (spec: TokenSpec, skipCache: boolean): Promise<{ token: string, expiresInSec: number }> {
    const body: Record<string, unknown> = { identity_provider: 'maskinporten', target: spec.target }
    if (spec.resource !== undefined) body.resource = spec.resource
    if (skipCache) body.skip_cache = true
    let response: Response
    try {
      response = await this.options.fetch(this.options.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(body),
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs)
      })
    } catch (err) {
      throw new TokenEndpointError('token_endpoint_unreachable', `NAIS_TOKEN_ENDPOINT could not be reached: ${(err as Error).name === 'TimeoutError' ? `no answer within ${formatDuration(this.options.timeoutMs)} (PORTVAKT_EGRESS_TIMEOUT)` : describeFetchFailure(err, this.options.endpoint).message}`, err)
    }
    const json = await readCapped(response, MAX_TOKEN_RESPONSE_BYTES, 'the token response').then((text) => JSON.parse(text) as unknown).catch(() => undefined) as Record<string, unknown> | undefined
    if (!response.ok) {
      const error = typeof json?.error === 'string' ? json.error : `http_${response.status}`
      const description = typeof json?.error_description === 'string' ? json.error_description : undefined
      throw new TokenEndpointError(error, description)
    }
    const token = json?.access_token
    const expiresIn = json?.expires_in
    if (typeof token !== 'string' || token === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
      throw new TokenEndpointError('invalid_token_response', 'the token endpoint answered 2xx without access_token and a positive expires_in')
    }
    return { token, expiresInSec: expiresIn }
  }
}

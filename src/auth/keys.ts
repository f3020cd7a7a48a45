/**
 * The signing keys, fetched from the JWKS endpoint and kept in memory.
 *
 * Why not jose's `createRemoteJWKSet` alone: it refetches on every call once its cache is stale and
 * throws while the endpoint is down, so an outage at the issuer would turn every request into a
 * fetch and a failure. Here jose still does the key work (`createLocalJWKSet`: kid/alg/kty/use
 * selection, import, caching); this wrapper adds what jose lacks: keep serving the last good keys
 * through an outage (up to `staleMaxMs`), refresh on a schedule with back-off, fail fast with 503
 * before the first fetch, and count the unknown-`kid` cooldown from the last *attempt*, so a flood
 * of random `kid`s costs at most one fetch per cooldown even while the endpoint is failing.
 */
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose'
import { GateError } from './errors.js'

/** Largest JWKS document we read; a real one is a few KB. */
export const MAX_JWKS_BYTES = 1024 * 1024

/** What the key store reports after each fetch, for logs and metrics. */
export type FetchResult = { ok: true, keys: number, trigger: FetchTrigger } | { ok: false, error: Error, trigger: FetchTrigger }
/** Why a fetch happened. */
export type FetchTrigger = 'start' | 'schedule' | 'unknown_kid' | 'retry'

/** How the key store fetches and how long it trusts what it got. */
export interface KeyStoreOptions {
  jwksUri: string
  timeoutMs: number
  cooldownMs: number
  maxAgeMs: number
  staleMaxMs: number
  fetch?: typeof fetch
  onFetch?: (result: FetchResult) => void
  now?: () => number
}

/** A point-in-time view of the keys, for readiness and metrics. */
export interface KeyStatus {
  /** usable keys are in hand */
  ready: boolean
  /** ms since the keys in use were fetched; undefined before the first fetch */
  ageMs: number | undefined
  /** the last refresh failed and older keys are being served */
  stale: boolean
  lastError: string | undefined
}

type LocalSet = ReturnType<typeof createLocalJWKSet>

async function readCapped (response: Response, limit: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > limit) throw new Error(`the JWKS response is larger than ${limit} bytes`)
  const reader = response.body?.getReader()
  if (reader === undefined) return ''
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel()
      throw new Error(`the JWKS response is larger than ${limit} bytes`)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** Fetch and parse a JWKS document: 200 only, no redirects, size-capped, with a timeout. */
export async function fetchJwks (uri: string, timeoutMs: number, fetchImpl: typeof fetch = fetch): Promise<LocalSet> {
  const response = await fetchImpl(uri, {
    redirect: 'error',
    signal: AbortSignal.timeout(timeoutMs),
    headers: { accept: 'application/json, application/jwk-set+json' }
  })
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new Error(`the JWKS endpoint answered ${response.status}`)
  }
  const text = await readCapped(response, MAX_JWKS_BYTES)
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('the JWKS response is not JSON')
  }
  return createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0])
}

/** Holds the signing keys; see the file comment for why it wraps jose. */
export class KeyStore {
  private readonly opts: Required<Omit<KeyStoreOptions, 'onFetch'>> & Pick<KeyStoreOptions, 'onFetch'>
  private local: LocalSet | undefined
  private fetchedAt: number | undefined
  private lastAttempt = Number.NEGATIVE_INFINITY
  private lastError: Error | undefined
  private pending: Promise<void> | undefined
  private timer: NodeJS.Timeout | undefined
  private backoffMs = 0
  private firstKeys: Promise<void>
  private resolveFirst!: () => void

  constructor (options: KeyStoreOptions) {
    this.opts = { fetch: globalThis.fetch, now: Date.now, ...options }
    this.firstKeys = new Promise((resolve) => { this.resolveFirst = resolve })
  }

  /** jose's key resolver, for `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const local = this.usable()
    try {
      return await local(header, token)
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err
      // A fetch already under way is joined (a rotated key may be in it); otherwise at most one
      // fetch per cooldown, counted from the last attempt, so a flood of random kids costs one fetch.
      if (this.pending === undefined && this.opts.now() - this.lastAttempt < this.opts.cooldownMs) throw err
      await this.refresh('unknown_kid').catch(() => undefined)
      return await this.usable()(header, token)
    }
  }

  private usable (): LocalSet {
    const { local, fetchedAt } = this
    if (local === undefined || fetchedAt === undefined) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are not available yet; try again shortly')
    }
    if (this.opts.now() - fetchedAt > this.opts.staleMaxMs) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are too old and cannot be refreshed; try again shortly')
    }
    return local
  }

  /** Fetch the keys now; concurrent callers share one fetch. */
  refresh (trigger: FetchTrigger = 'schedule'): Promise<void> {
    if (this.pending !== undefined) return this.pending
    this.lastAttempt = this.opts.now()
    const current = fetchJwks(this.opts.jwksUri, this.opts.timeoutMs, this.opts.fetch).then((local) => {
      this.local = local
      this.fetchedAt = this.opts.now()
      this.lastError = undefined
      this.resolveFirst()
      this.opts.onFetch?.({ ok: true, keys: local.jwks()?.keys.length ?? 0, trigger })
    }, (err: unknown) => {
      this.lastError = err instanceof Error ? err : new Error(String(err))
      this.opts.onFetch?.({ ok: false, error: this.lastError, trigger })
      throw this.lastError
    }).finally(() => {
      if (this.pending === current) this.pending = undefined
    })
    this.pending = current
    return current
  }

  /** Start fetching: at once, then every `maxAgeMs`, retrying failures with back-off (1 s → 30 s). */
  start (): void {
    this.schedule(0, 'start')
  }

  private schedule (delayMs: number, trigger: FetchTrigger): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.refresh(trigger).then(() => {
        this.backoffMs = 0
        this.schedule(this.opts.maxAgeMs, 'schedule')
      }, () => {
        this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 1000), 30_000)
        this.schedule(this.backoffMs, trigger === 'start' ? 'start' : 'retry')
      })
    }, delayMs)
    this.timer.unref()
  }

  /** Stop the schedule (shutdown, tests). */
  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Resolves once the first keys are in hand. */
  whenReady (): Promise<void> {
    return this.firstKeys
  }

  /** Readiness and freshness, for probes and metrics. */
  status (): KeyStatus {
    const ageMs = this.fetchedAt === undefined ? undefined : this.opts.now() - this.fetchedAt
    const ready = ageMs !== undefined && ageMs <= this.opts.staleMaxMs
    return { ready, ageMs, stale: ready && this.lastError !== undefined, lastError: this.lastError?.message }
  }
}

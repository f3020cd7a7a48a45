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
 *
 * A 200 whose set holds no usable signing key (`{"keys":[]}`, only `oct` or `use: enc` keys) counts
 * as a failed fetch, not as new keys: taking it would silently turn every token into a 401
 * unknown_kid while readiness and metrics still said fine. The last good keys keep serving and the
 * failure is reported like an outage.
 */
import { createLocalJWKSet, type JWTVerifyGetKey } from 'jose'
import { GateError } from '../http/errors.js'

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
  /** first retry delay after a failed scheduled fetch; doubles per failure (default 1 s) */
  retryBaseMs?: number
  /** the longest retry delay (default 30 s) */
  retryMaxMs?: number
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

/** The key type each asymmetric JWS algorithm needs (RFC 7518 §3.1, RFC 8037, jose's table). */
const SIGNATURE_KTY: Readonly<Record<string, string>> = {
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA', PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
  ES256: 'EC', ES384: 'EC', ES512: 'EC', EdDSA: 'OKP', Ed25519: 'OKP',
  'ML-DSA-44': 'AKP', 'ML-DSA-65': 'AKP', 'ML-DSA-87': 'AKP'
}

/**
 * Whether jose could ever pick this JWK to verify a signature: an asymmetric key type, `use` sig or
 * unset, `key_ops` with verify or unset, and an `alg` (if any) that signs with that key type. The
 * same conditions as jose's own key selection (`isUsableJWK` in jwks/local.ts), so a set that fails
 * them for every key would refuse every token.
 */
function isSigningKey (jwk: Record<string, unknown>): boolean {
  const { kty, use, key_ops: ops, alg } = jwk
  if (typeof kty !== 'string' || !Object.values(SIGNATURE_KTY).includes(kty)) return false
  if (use !== undefined && use !== 'sig') return false
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return false
  return alg === undefined ? kty !== 'AKP' : SIGNATURE_KTY[String(alg)] === kty
}

/** Refuse a set that could verify nothing, so it never replaces keys that can (see the file comment). */
function requireSigningKey (local: LocalSet): LocalSet {
  const keys = (local.jwks()?.keys ?? []) as unknown as Array<Record<string, unknown>>
  if (keys.some(isSigningKey)) return local
  throw new Error(keys.length === 0
    ? 'the JWKS has no usable signing key: it lists no keys'
    : `the JWKS has no usable signing key: none of its ${keys.length} keys is a public signature key (kty RSA, EC or OKP; use "sig" or unset; key_ops with "verify" or unset)`)
}

/**
 * Fetch and parse a JWKS document: 200 only, no redirects, size-capped, within `timeoutMs` (for the
 * answer and its body), with at least one usable signing key. `signal` cancels it (the store's stop).
 */
export async function fetchJwks (uri: string, timeoutMs: number, fetchImpl: typeof fetch = fetch, signal?: AbortSignal): Promise<LocalSet> {
  const timeout = AbortSignal.timeout(timeoutMs)
  let text: string
  try {
    const response = await fetchImpl(uri, {
      redirect: 'error',
      signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
      headers: { accept: 'application/json, application/jwk-set+json' }
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new Error(`the JWKS endpoint answered ${response.status}`)
    }
    text = await readCapped(response, MAX_JWKS_BYTES)
  } catch (err) {
    // The abort's own message ("This operation was aborted") would not tell an operator what happened.
    if (timeout.aborted) throw new Error(`the JWKS endpoint did not answer within ${timeoutMs} ms (PORTVAKT_JWKS_TIMEOUT)`)
    throw err
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('the JWKS response is not JSON')
  }
  return requireSigningKey(createLocalJWKSet(json as Parameters<typeof createLocalJWKSet>[0]))
}

/** The next retry delay after a failure: `baseMs` first, then doubling, never above `maxMs`. */
export function nextRetryDelay (previousMs: number, baseMs = 1_000, maxMs = 30_000): number {
  return Math.min(Math.max(previousMs * 2, baseMs), maxMs)
}

function stoppedError (): Error {
  return new Error('the key store is stopped')
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
  private stopped = false
  /** counts the key sets taken (see `version`) */
  private taken = 0
  /** aborts the fetch under way when the store stops */
  private readonly halt = new AbortController()
  private firstKeys: Promise<void>
  private resolveFirst!: () => void

  constructor (options: KeyStoreOptions) {
    this.opts = { fetch: globalThis.fetch, now: Date.now, retryBaseMs: 1_000, retryMaxMs: 30_000, ...options }
    this.firstKeys = new Promise((resolve) => { this.resolveFirst = resolve })
  }

  /** jose's key resolver, for `jwtVerify`. */
  readonly getKey: JWTVerifyGetKey = async (header, token) => {
    const local = this.currentSet()
    try {
      return await local(header, token)
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err
      // A fetch already under way is joined (a rotated key may be in it); otherwise at most one
      // fetch per cooldown, counted from the last attempt, so a flood of random kids costs one fetch.
      if (this.pending === undefined && this.opts.now() - this.lastAttempt < this.opts.cooldownMs) throw err
      await this.refresh('unknown_kid').catch(() => undefined)
      return await this.currentSet()(header, token)
    }
  }

  /** Changes whenever a fetched key set replaces the one in use (the verifier's fast path forgets keys). */
  readonly version = (): number => this.taken

  /** Whether `getKey` would look a key up now rather than refuse (no keys yet, or too old). */
  readonly usable = (): boolean => this.fetchedAt !== undefined && this.opts.now() - this.fetchedAt <= this.opts.staleMaxMs

  private currentSet (): LocalSet {
    const { local, fetchedAt } = this
    if (local === undefined || fetchedAt === undefined) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are not available yet; try again shortly')
    }
    if (this.opts.now() - fetchedAt > this.opts.staleMaxMs) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are too old and cannot be refreshed; try again shortly')
    }
    return local
  }

  /** Fetch the keys now; concurrent callers share one fetch. Rejects once the store is stopped. */
  refresh (trigger: FetchTrigger = 'schedule'): Promise<void> {
    if (this.stopped) return Promise.reject(stoppedError())
    if (this.pending !== undefined) return this.pending
    this.lastAttempt = this.opts.now()
    const current = fetchJwks(this.opts.jwksUri, this.opts.timeoutMs, this.opts.fetch, this.halt.signal).then((local) => {
      // A fetch that ends after stop() changes and reports nothing: the store is done.
      if (this.stopped) throw stoppedError()
      this.local = local
      this.taken++
      this.fetchedAt = this.opts.now()
      this.lastError = undefined
      this.resolveFirst()
      this.opts.onFetch?.({ ok: true, keys: local.jwks()?.keys.length ?? 0, trigger })
    }, (err: unknown) => {
      if (this.stopped) throw stoppedError()
      this.lastError = err instanceof Error ? err : new Error(String(err))
      this.opts.onFetch?.({ ok: false, error: this.lastError, trigger })
      throw this.lastError
    }).finally(() => {
      if (this.pending === current) this.pending = undefined
    })
    this.pending = current
    return current
  }

  /** Start fetching: at once, then every `maxAgeMs`, retrying failures with back-off (`nextRetryDelay`). */
  start (): void {
    this.schedule(0, 'start')
  }

  private schedule (delayMs: number, trigger: FetchTrigger): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.refresh(trigger).then(() => {
        this.backoffMs = 0
        this.schedule(this.opts.maxAgeMs, 'schedule')
      }, () => {
        this.backoffMs = nextRetryDelay(this.backoffMs, this.opts.retryBaseMs, this.opts.retryMaxMs)
        this.schedule(this.backoffMs, trigger === 'start' ? 'start' : 'retry')
      })
    }, delayMs)
    this.timer.unref()
  }

  /**
   * Stop for good (shutdown, tests): cancel the fetch under way and the schedule; no fetch, timer or
   * report after this. The keys in hand still verify tokens while in-flight requests drain.
   */
  stop (): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.timer = undefined
    this.halt.abort(stoppedError())
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

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
 * A fetched set with no key for the policy's algorithms is a failed fetch (jwks.ts says why): the
 * last good keys keep serving and the failure is reported like an outage. A fetched set that selects
 * the same key for every token header as the one in use changes nothing downstream: the version
 * stays, and what was verified before (the token cache, the fast path's keys) still counts. One that
 * differs tells the listeners which headers changed, in the same tick as it is taken (key-set.ts).
 * When it fetches on its own (the schedule, its back-off): key-schedule.ts.
 */
import type { JWTVerifyGetKey } from 'jose'
import type { OutboundProxy } from '../config/env.js'
import { GateError } from '../http/errors.js'
import { fetchJwks } from './jwks.js'
import { compareKeySets, refuseUnselected, type KeyFetch, type KeySet, type LocalKeySet } from './key-set.js'
import { RefreshSchedule, type FetchTrigger, type RefreshScheduleOptions } from './key-schedule.js'

/** What the key store reports after each fetch, for logs and metrics. */
export type FetchResult = { ok: true, keys: number, trigger: FetchTrigger, fetched: KeyFetch } | { ok: false, error: Error, trigger: FetchTrigger }

/** How the key store fetches and how long it trusts what it got; the retry delays are its schedule's. */
export interface KeyStoreOptions extends Partial<Pick<RefreshScheduleOptions, 'retryBaseMs' | 'retryMaxMs'>> {
  jwksUri: string
  /** the policy's algorithms: a set without a key for any of them is refused */
  algorithms: readonly string[]
  timeoutMs: number
  cooldownMs: number
  maxAgeMs: number
  staleMaxMs: number
  fetch?: typeof fetch
  /** the outbound proxy, named when it is why a fetch failed */
  proxy?: OutboundProxy | undefined
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

function stoppedError (): Error {
  return new Error('the key store is stopped')
}

/** Holds the signing keys; see the file comment for why it wraps jose. */
export class KeyStore {
  private readonly opts: Required<Omit<KeyStoreOptions, 'onFetch' | 'proxy'>> & Pick<KeyStoreOptions, 'onFetch' | 'proxy'>
  private current: KeySet | undefined
  private fetchedAt: number | undefined
  private lastAttempt = Number.NEGATIVE_INFINITY
  private lastError: Error | undefined
  private pending: Promise<void> | undefined
  private readonly schedule: RefreshSchedule
  private stopped = false
  /** counts the key sets taken that changed a selection (see `version`) */
  private taken = 0
  private readonly listeners: Array<(changed: ReadonlySet<string>) => void> = []
  /** aborts the fetch under way when the store stops */
  private readonly halt = new AbortController()
  private firstKeys: Promise<void>
  private resolveFirst!: () => void

  constructor (options: KeyStoreOptions) {
    this.opts = { fetch: globalThis.fetch, now: Date.now, retryBaseMs: 1_000, retryMaxMs: 30_000, ...options }
    this.firstKeys = new Promise((resolve) => { this.resolveFirst = resolve })
    const { maxAgeMs, retryBaseMs, retryMaxMs } = this.opts
    this.schedule = new RefreshSchedule({ refresh: async (trigger) => { await this.refresh(trigger) }, maxAgeMs, retryBaseMs, retryMaxMs })
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
      if (this.coolingDown()) throw refuseUnselected(this.current, header.kid, err)
      await this.refresh('unknown_kid').catch(() => undefined)
      return await this.currentSet()(header, token).catch((again: unknown) => { throw refuseUnselected(this.current, header.kid, again) })
    }
  }

  /**
   * A signature that does not verify under a known kid: the issuer may have replaced the key under
   * the same kid (a reissued key, a restored backup). Fetch once, under the same cooldown as an
   * unknown kid (so a flood of forged signatures costs one fetch per cooldown too); resolves true
   * when the set taken selects another key for some header, so the token is worth one more check.
   */
  readonly recheck = async (): Promise<boolean> => {
    if (this.coolingDown()) return false
    const before = this.taken
    await this.refresh('bad_signature').catch(() => undefined)
    return this.taken !== before
  }

  /** Changes whenever a fetched key set selects another key for some token header (see the file comment). */
  readonly version = (): number => this.taken

  /** Call `listener` with the changed key names whenever a key set that changes a selection is taken. */
  readonly onChange = (listener: (changed: ReadonlySet<string>) => void): void => { this.listeners.push(listener) }

  /** Whether `getKey` would look a key up now rather than refuse (no keys yet, or too old). */
  readonly usable = (): boolean => this.fetchedAt !== undefined && this.opts.now() - this.fetchedAt <= this.opts.staleMaxMs

  /** No fetch under way to join, and the last attempt is less than a cooldown ago. */
  private coolingDown (): boolean {
    return this.pending === undefined && this.opts.now() - this.lastAttempt < this.opts.cooldownMs
  }

  private currentSet (): LocalKeySet {
    const { current, fetchedAt } = this
    if (current === undefined || fetchedAt === undefined) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are not available yet; try again shortly')
    }
    if (this.opts.now() - fetchedAt > this.opts.staleMaxMs) {
      throw new GateError('PORTVAKT_ERR_KEYS_UNAVAILABLE', 'the signing keys are too old and cannot be refreshed; try again shortly')
    }
    return current.local
  }

  /** Take a fetched set: the version moves on and the listeners hear of it only if a selection changed. */
  private take (next: KeySet): KeyFetch {
    const fetched = compareKeySets(this.current, next)
    this.current = next
    if (fetched.outcome === 'changed') {
      this.taken++
      for (const listener of this.listeners) listener(fetched.changed)
    }
    return fetched
  }

  /** Fetch the keys now; concurrent callers share one fetch. Rejects once the store is stopped. */
  refresh (trigger: FetchTrigger = 'schedule'): Promise<void> {
    if (this.stopped) return Promise.reject(stoppedError())
    if (this.pending !== undefined) return this.pending
    this.lastAttempt = this.opts.now()
    const options = { timeoutMs: this.opts.timeoutMs, algorithms: this.opts.algorithms, fetch: this.opts.fetch, proxy: this.opts.proxy, signal: this.halt.signal, previous: this.current }
    const current = fetchJwks(this.opts.jwksUri, options).then((set) => {
      // A fetch that ends after stop() changes and reports nothing: the store is done.
      if (this.stopped) throw stoppedError()
      const fetched = this.take(set)
      this.fetchedAt = this.opts.now()
      this.lastError = undefined
      this.resolveFirst()
      this.opts.onFetch?.({ ok: true, keys: set.keys, trigger, fetched })
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

  /** Start fetching: at once, then every `maxAgeMs`, retrying failures with back-off (key-schedule.ts). */
  start (): void {
    this.schedule.start()
  }

  /**
   * Stop for good (shutdown, tests): cancel the fetch under way and the schedule; no fetch, timer or
   * report after this. The keys in hand still verify tokens while in-flight requests drain.
   */
  stop (): void {
    this.stopped = true
    this.schedule.stop()
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

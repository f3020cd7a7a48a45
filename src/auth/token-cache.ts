/**
 * A cache of verified tokens, so a consumer reusing its token (as Maskinporten clients do for the
 * token's lifetime) costs a hash and a map lookup instead of an RS256 verification.
 *
 * What it caches is only the result of the signature + issuer + time checks: the claims. Per-route
 * audience, scope and consumer checks still run on every request (gate/decide.ts → authorize). Failures are
 * never cached, so the cache can only skip work the full check already passed. An entry is a miss
 * from the moment the policy's time rules would refuse the token (policy.ts, `refuseAtMs`), so the
 * clock moving on is never ignored. Each entry remembers the key that verified it (its `keyName`),
 * and goes when a new key set selects another key for that name, or none (key-set.ts); entries of
 * the keys that stay are kept, so a refresh that changes nothing costs nothing.
 * Keys are SHA-256 digests: a heap dump holds no usable token, and every entry has the same key size.
 */
import { hash } from 'node:crypto'
import { refuseAtMs, type TokenPolicy } from './policy.js'
import { claimsOf, type Claims, type KeyedVerifier, type KeySetView, type TokenVerifier, type Verified } from './verify.js'

/** Bounds for the cache, and the policy whose time rules say when an entry runs out (the verifier's). */
export interface TokenCacheOptions {
  /** most entries held; 0 turns the cache off */
  maxEntries: number
  /** most bytes held (an estimate per entry: key, claims and map overhead) */
  maxBytes: number
  policy: TokenPolicy
  now?: () => number
}

/** Counters for metrics: hits and misses since start, and what is held now. */
export interface TokenCacheStats {
  hits: number
  misses: number
  evictions: number
  entries: number
  bytes: number
}

interface Entry {
  claims: Claims
  /** the name of the key that verified it (keyName) */
  keyName: string
  /** ms since the epoch from which the full check would refuse this token */
  refuseAtMs: number
  bytes: number
}

// Map slot, digest string, entry object and the frozen claims object with its Set: about 600 B with
// short claims (an estimate, rounded up); the claim strings are counted on top.
const ENTRY_OVERHEAD_BYTES = 640

function estimateBytes (claims: Claims): number {
  let text = claims.scope.length * 2 + (claims.clientId?.length ?? 0) + (claims.orgno?.length ?? 0)
  for (const a of claims.aud) text += a.length
  // A delegation or a system user: the strings, and their own small objects (~100 B each).
  if (claims.supplier !== undefined) text += 50 + claims.supplier.length + (claims.delegationSource?.length ?? 0)
  const user = claims.systemUser
  if (user !== undefined) text += 50 + user.id.length + user.org.length + (user.systemId?.length ?? 0)
  return ENTRY_OVERHEAD_BYTES + text * 2
}

/** Hash a token into its cache key (the one-shot `crypto.hash`, cheaper than a `createHash` object per token). */
export function digestToken (token: string): string {
  return hash('sha256', token, 'base64')
}

/** A bounded, least-recently-used map from token digest to verified claims. */
export class TokenCache {
  private readonly entries = new Map<string, Entry>()
  private readonly opts: Required<TokenCacheOptions>
  private bytes = 0
  private hits = 0
  private misses = 0
  private evictions = 0

  constructor (options: TokenCacheOptions) {
    this.opts = { now: Date.now, ...options }
  }

  /** Whether the cache holds anything at all (maxEntries > 0). */
  get enabled (): boolean {
    return this.opts.maxEntries > 0 && this.opts.maxBytes > 0
  }

  /** The claims of a token verified before and still within its time limits, else undefined. */
  get (key: string): Claims | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) {
      this.misses++
      return undefined
    }
    this.entries.delete(key)
    if (this.opts.now() >= entry.refuseAtMs) {
      // The token has run out since it was cached: the full check would refuse it now.
      this.bytes -= entry.bytes
      this.misses++
      return undefined
    }
    // Re-inserting moves the entry to the young end of the Map's insertion order (LRU).
    this.entries.set(key, entry)
    this.hits++
    return entry.claims
  }

  /** Remember claims that the full check just accepted with the key named `keyName`; evicts the least recently used as needed. */
  set (key: string, claims: Claims, keyName: string): void {
    if (!this.enabled) return
    const refuseAt = refuseAtMs(this.opts.policy, claims.exp, claims.iat)
    if (this.opts.now() >= refuseAt) return
    const bytes = estimateBytes(claims)
    if (bytes > this.opts.maxBytes) return
    const old = this.entries.get(key)
    if (old !== undefined) {
      this.entries.delete(key)
      this.bytes -= old.bytes
    }
    while (this.entries.size >= this.opts.maxEntries || this.bytes + bytes > this.opts.maxBytes) {
      const oldest = this.entries.entries().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest[0])
      this.bytes -= oldest[1].bytes
      this.evictions++
    }
    this.entries.set(key, { claims, keyName, refuseAtMs: refuseAt, bytes })
    this.bytes += bytes
  }

  /** Forget the tokens verified with the keys `names` name (a new key set withdrew or changed them). */
  forget (names: ReadonlySet<string>): void {
    if (names.size === 0) return
    for (const [key, entry] of this.entries) {
      if (!names.has(entry.keyName)) continue
      this.entries.delete(key)
      this.bytes -= entry.bytes
    }
  }

  /** Hit and miss counts and current size, for metrics. */
  stats (): TokenCacheStats {
    return { hits: this.hits, misses: this.misses, evictions: this.evictions, entries: this.entries.size, bytes: this.bytes }
  }
}

/** A key source that never changes and is always usable (a verifier without a key store). */
const FIXED_KEYS: KeySetView = Object.freeze({ version: () => 0, usable: () => true, onChange: () => {} })

/**
 * Wrap a verifier with the cache: a hit returns the claims at once and skips verification; a miss
 * verifies and caches only success. `keys.usable` is asked on every hit, so once the key store would
 * answer 503 (keys too old) cached tokens stop passing too and the full check decides. A new key set
 * drops the entries of the keys it changed, before any token is checked with it (`keys.onChange`).
 * `keys.version` is read before and after a verification: when a key set that changed a selection
 * landed in between, the answer is not cached, since it may rest on a key the new set withdrew.
 */
export function cacheVerifier (verify: KeyedVerifier, cache: TokenCache, keys: KeySetView = FIXED_KEYS): TokenVerifier {
  if (!cache.enabled) return (token) => claimsOf(verify(token))
  keys.onChange((changed) => { cache.forget(changed) })
  const remember = (key: string, verified: Verified, version: number): Claims => {
    if (keys.version() === version) cache.set(key, verified.claims, verified.key)
    return verified.claims
  }
  // A refusal (thrown or rejected) propagates before set(): a failed token is never remembered.
  const verifyAndRemember = (key: string, token: string): Claims | Promise<Claims> => {
    const version = keys.version()
    const verified = verify(token)
    return verified instanceof Promise ? verified.then((v) => remember(key, v, version)) : remember(key, verified, version)
  }
  return (token) => {
    const key = digestToken(token)
    const cached = keys.usable() ? cache.get(key) : undefined
    return cached ?? verifyAndRemember(key, token)
  }
}

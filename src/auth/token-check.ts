/**
 * The token check as the gateway runs it, built from one policy: the key store (keys.ts), the
 * verifier (jose and the fast path, verify.ts) and the verified-token cache in front of it
 * (token-cache.ts). A new key set that withdraws or changes a key drops what that key verified, in
 * the cache and the fast path alike (key-set.ts); a refresh that changes nothing keeps it all.
 */
import type { OutboundProxy } from '../config/env.js'
import type { FetchResult } from './keys.js'
import { KeyStore } from './keys.js'
import type { TokenPolicy } from './policy.js'
import { TokenCache, cacheVerifier } from './token-cache.js'
import { createKeyedVerifier, type TokenVerifier } from './verify.js'

// 10,000 entries of ordinary claims take ~7 MB; this caps odd ones (long scope lists) too.
const TOKEN_CACHE_MAX_BYTES = 16 * 1024 * 1024

/** Where the keys are and how the store fetches them, and how many verified tokens to remember. */
export interface TokenCheckOptions {
  policy: TokenPolicy
  jwksUri: string
  jwks: { timeoutMs: number, cooldownMs: number, maxAgeMs: number, staleMaxMs: number }
  /** verified tokens remembered; 0 turns the cache off */
  cacheSize: number
  fetch: typeof fetch
  /** the outbound proxy, named when it is why a key fetch failed */
  proxy?: OutboundProxy
  /** told of every key fetch (after the cache has dropped what changed keys verified) */
  onFetch: (result: FetchResult, keys: KeyStore) => void
}

/** The parts of a running token check. */
export interface TokenCheck {
  keys: KeyStore
  tokenCache: TokenCache
  verify: TokenVerifier
}

/** Build the token check; its key store is not started yet (`keys.start()`). */
export function createTokenCheck (options: TokenCheckOptions): TokenCheck {
  const { policy } = options
  const tokenCache = new TokenCache({ maxEntries: options.cacheSize, maxBytes: TOKEN_CACHE_MAX_BYTES, policy })
  const keys: KeyStore = new KeyStore({
    jwksUri: options.jwksUri,
    algorithms: policy.algorithms,
    ...options.jwks,
    fetch: options.fetch,
    proxy: options.proxy,
    onFetch: (result) => { options.onFetch(result, keys) }
  })
  const verify = cacheVerifier(createKeyedVerifier(policy, keys.getKey, { keys }), tokenCache, keys)
  return { keys, tokenCache, verify }
}

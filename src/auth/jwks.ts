/**
 * One JWKS fetch: 200 only, no redirects, size-capped, within a timeout (for the answer and its body),
 * then vetted and loaded (key-set.ts) into a key set that must verify at least one of the policy's
 * algorithms. A 200 whose set holds none (`{"keys":[]}`, only `oct` or `use: enc` keys, only keys of
 * another type or too weak) is a failed fetch, not new keys: taking it would silently turn every
 * token into a 401 unknown_kid while readiness and metrics still said fine (keys.ts keeps the last
 * good keys instead).
 */
import type { OutboundProxy } from '../config/env.js'
import { formatDuration } from '../config/duration.js'
import { describeFetchFailure, FetchFailure } from '../config/fetch-failure.js'
import { loadKeySet, type KeySet } from './key-set.js'
import { BodyTooLarge, readCapped } from '../config/read-capped.js'

/** Largest JWKS document we read; a real one is a few KB. */
export const MAX_JWKS_BYTES = 1024 * 1024

/** How one fetch is made. */
export interface JwksFetchOptions {
  timeoutMs: number
  /** the policy's algorithms: the set must hold a key that verifies one of them */
  algorithms: readonly string[]
  fetch?: typeof fetch
  /** cancels the fetch (the key store's stop) */
  signal?: AbortSignal
  /** the set in use: a document that reads the same is answered with it, unvetted */
  previous?: KeySet
  /** the outbound proxy, named when it is why a fetch failed */
  proxy?: OutboundProxy | undefined
}

/** Fetch and parse the JWKS at `uri` (see the file comment for what is refused). */
export async function fetchJwks (uri: string, options: JwksFetchOptions): Promise<KeySet> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  // The abort's own message ("This operation was aborted") and undici's "fetch failed" would not
  // tell an operator what happened: the URL, and the cause by its code (config/fetch-failure.ts).
  const failure = (err: unknown): unknown => {
    if (timeout.aborted) return new FetchFailure(uri, `no answer within ${formatDuration(options.timeoutMs)} (PORTVAKT_JWKS_TIMEOUT)`, 'timeout', { cause: err })
    return options.signal?.aborted === true ? err : describeFetchFailure(err, uri, options.proxy)
  }
  let response: Response
  try {
    response = await (options.fetch ?? fetch)(uri, {
      redirect: 'error',
      signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      headers: { accept: 'application/json, application/jwk-set+json' }
    })
  } catch (err) {
    throw failure(err)
  }
  if (response.status !== 200) {
    await response.body?.cancel()
    throw new FetchFailure(uri, `answered ${response.status}, not 200`, 'other')
  }
  let text: string
  try {
    text = await readCapped(response, MAX_JWKS_BYTES, 'the JWKS response')
  } catch (err) {
    throw err instanceof BodyTooLarge ? err : failure(err)
  }
  if (options.previous?.text === text) return options.previous
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error(`the JWKS response from ${uri} is not JSON`)
  }
  return await loadKeySet(json, options.algorithms, text)
}

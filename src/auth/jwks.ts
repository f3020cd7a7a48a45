/**
 * One JWKS fetch: 200 only, no redirects, size-capped, within a timeout (for the answer and its body),
 * then vetted and loaded (key-set.ts) into a key set that must verify at least one of the policy's
 * algorithms. A 200 whose set holds none (`{"keys":[]}`, only `oct` or `use: enc` keys, only keys of
 * another type or too weak) is a failed fetch, not new keys: taking it would silently turn every
 * token into a 401 unknown_kid while readiness and metrics still said fine (keys.ts keeps the last
 * good keys instead).
 */
import { loadKeySet, type KeySet } from './key-set.js'

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
}

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

/** Fetch and parse the JWKS at `uri` (see the file comment for what is refused). */
export async function fetchJwks (uri: string, options: JwksFetchOptions): Promise<KeySet> {
  const timeout = AbortSignal.timeout(options.timeoutMs)
  let text: string
  try {
    const response = await (options.fetch ?? fetch)(uri, {
      redirect: 'error',
      signal: options.signal === undefined ? timeout : AbortSignal.any([timeout, options.signal]),
      headers: { accept: 'application/json, application/jwk-set+json' }
    })
    if (response.status !== 200) {
      await response.body?.cancel()
      throw new Error(`the JWKS endpoint answered ${response.status}`)
    }
    text = await readCapped(response, MAX_JWKS_BYTES)
  } catch (err) {
    // The abort's own message ("This operation was aborted") would not tell an operator what happened.
    if (timeout.aborted) throw new Error(`the JWKS endpoint did not answer within ${options.timeoutMs} ms (PORTVAKT_JWKS_TIMEOUT)`)
    throw err
  }
  if (options.previous?.text === text) return options.previous
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new Error('the JWKS response is not JSON')
  }
  return await loadKeySet(json, options.algorithms, text)
}

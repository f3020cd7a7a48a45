/**
 * A key set as the verifier uses it: the vetted keys (key-vetting.ts) in jose's local key set, and
 * which key jose selects for each token header it could verify, by RFC 7638 thumbprint. Two fetched
 * sets that select the same key for every header give every token the same answer, so what was
 * verified with the one (the verified-token cache, the fast path's keys) still holds with the other;
 * when they differ, exactly the headers whose key changed or went are named (`changedNames`).
 */
import { calculateJwkThumbprint, createLocalJWKSet } from 'jose'
import { vetKeys, type LeftOutKey } from './key-vetting.js'
import { invalidToken } from './refusals.js'

export type { LeftOutKey } from './key-vetting.js'

/** jose's key set: its resolver for `jwtVerify`, and the document it holds. */
export type LocalKeySet = ReturnType<typeof createLocalJWKSet>

/** One fetched, vetted key set. */
export interface KeySet {
  readonly local: LocalKeySet
  /** keyName(alg, kid) → thumbprint of the one key jose selects for a token with that header */
  readonly selection: ReadonlyMap<string, string>
  /** keys in use */
  readonly keys: number
  readonly leftOut: readonly LeftOutKey[]
  /** the kids of keys left out (and of none in use), for the refusal of a token that names one */
  readonly leftOutKids: ReadonlySet<string>
  /** the document as fetched: the same text again is the same set, with no work */
  readonly text: string
}

/** The key source as the verifier sees it (KeyStore has it all). */
export interface KeySetView {
  /** changes whenever a key set that selects another key for some token header replaces the one in use */
  version: () => number
  /** false while the key source would refuse every token (no keys yet, or too old) */
  usable: () => boolean
  /**
   * `listener` is told, synchronously as a new set is taken and before any token is checked with it,
   * the key names (`keyName`) whose selected key changed or went: what was verified under them no longer holds.
   */
  onChange: (listener: (changed: ReadonlySet<string>) => void) => void
  /** after a signature that does not verify: refetch if the cooldown allows; true when another key set was taken (keys.ts) */
  recheck?: () => Promise<boolean>
}

/** The name a token header goes by for key selection: jose selects by `alg` and `kid` alone. */
export function keyName (alg: string, kid: string | undefined): string {
  return kid === undefined ? alg : `${alg}\u0000${kid}`
}

/** For every header jose could verify with `local`: the thumbprint of the key it selects. */
async function selectionOf (local: LocalKeySet, algorithms: readonly string[]): Promise<Map<string, string>> {
  const kids = new Set<string | undefined>([undefined])
  for (const jwk of local.jwks()?.keys ?? []) if (typeof jwk.kid === 'string') kids.add(jwk.kid)
  const selection = new Map<string, string>()
  for (const alg of algorithms) {
    for (const kid of kids) {
      // Throws when no key or more than one fits (a token without kid and several keys): no selection.
      const key = await local({ alg, kid }).catch(() => undefined)
      if (key !== undefined) selection.set(keyName(alg, kid), await calculateJwkThumbprint(key))
    }
  }
  return selection
}

/** One line for a left-out key, for logs and errors. */
export function describeLeftOut (left: LeftOutKey): string {
  return `${left.kid === undefined ? `key ${left.index}` : `kid ${JSON.stringify(left.kid)}`}: ${left.reason}`
}

/**
 * Vet and load a parsed JWKS document (`text` is what was fetched). Throws when it is no key set, or
 * when no token the policy accepts could be verified with what is left: such a set never replaces
 * keys that can (keys.ts keeps the last good ones).
 */
export async function loadKeySet (document: unknown, algorithms: readonly string[], text: string): Promise<KeySet> {
  const members = (document as { keys?: unknown } | null)?.keys
  if (typeof document !== 'object' || document === null || !Array.isArray(members)) throw new Error('the JWKS is not a key set: a JSON object with a "keys" list')
  const { keys, leftOut } = await vetKeys(members, algorithms)
  const local = createLocalJWKSet({ keys: [...keys] })
  const selection = await selectionOf(local, algorithms)
  if (selection.size === 0) {
    throw new Error(members.length === 0
      ? 'the JWKS has no usable signing key: it lists no keys'
      : `the JWKS has no usable signing key: none of its ${members.length} keys can verify ${algorithms.join(', ')}${leftOut.length === 0 ? '' : `; left out: ${leftOut.map(describeLeftOut).join('; ')}`}`)
  }
  const kept = new Set(keys.map((k) => k.kid))
  const leftOutKids = new Set(leftOut.map((l) => l.kid).filter((kid): kid is string => typeof kid === 'string' && !kept.has(kid)))
  return Object.freeze({ local, selection, keys: keys.length, leftOut, leftOutKids, text })
}

/** The key names whose selected key differs between two sets (changed, gone or new). */
export function changedNames (before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): Set<string> {
  const changed = new Set<string>()
  for (const [name, thumbprint] of before) if (after.get(name) !== thumbprint) changed.add(name)
  for (const name of after.keys()) if (!before.has(name)) changed.add(name)
  return changed
}

/**
 * What a fetched set is to the one in use: `same` (the same document), `unchanged` (another document
 * that selects the same keys), or `changed`, with the names whose key changed; and its keys left out.
 */
export interface KeyFetch {
  readonly outcome: 'same' | 'unchanged' | 'changed'
  readonly changed: ReadonlySet<string>
  readonly leftOut: readonly LeftOutKey[]
}

/** Compare a fetched set with the one in use (none before the first). */
export function compareKeySets (current: KeySet | undefined, next: KeySet): KeyFetch {
  const changed = next === current ? new Set<string>() : changedNames(current?.selection ?? new Map(), next.selection)
  const outcome = next === current ? 'same' : current !== undefined && changed.size === 0 ? 'unchanged' : 'changed'
  return { outcome, changed, leftOut: next.leftOut }
}

/** jose found no key for a token: one naming a kid the vetting left out gets a refusal of its own. */
export function refuseUnselected (set: KeySet | undefined, kid: unknown, err: unknown): unknown {
  if (typeof kid !== 'string' || set?.leftOutKids.has(kid) !== true) return err
  return invalidToken('unusable_key', 'the token names a key the issuer publishes but portvakt does not verify tokens with (the log of the key fetch says why)', err)
}

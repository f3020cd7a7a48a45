/**
 * Which keys of a fetched JWKS are used, and which are left out and why. A key is kept only when jose
 * would verify with it for at least one of the policy's algorithms, and would neither fail nor throw
 * for any other one it selects it for: so no key in use can turn a token into a 500 at request time.
 * jose itself is asked (a probe verification per algorithm, below), so its rules (selection by
 * kty/crv/alg/use/key_ops/ext, import, the 2048-bit RSA minimum of
 * https://github.com/panva/jose/blob/main/src/lib/jws_algorithms.ts) have no second copy here. Checked
 * before jose sees a key: private or secret key material (the key is public now: left out, loudly),
 * base64url that is not strict (Node's decoder would quietly read other key material), RSA parameters
 * RFC 8017 §3.1 forbids (e = 1 lets anyone forge), and a `kid` that is not a string. After: two
 * different keys under one `kid` that jose would both pick for a token (RFC 7517 §4.5).
 */
import { calculateJwkThumbprint, compactVerify, createLocalJWKSet, type JWK } from 'jose'

/** A member of the JWKS that is not used, with the reason the log gives. */
export interface LeftOutKey {
  /** the key's `kid` as published (any JSON value), or undefined */
  readonly kid: unknown
  /** its position in `keys` */
  readonly index: number
  readonly reason: string
  /** it publishes private or secret key material: whoever read the JWKS can sign with it */
  readonly secret: boolean
}

/** What the vetting keeps and leaves out. */
export interface VettedKeys {
  readonly keys: readonly JWK[]
  readonly leftOut: readonly LeftOutKey[]
}

// RFC 7518 §6.2.2, §6.3.2, §6.4: members that only a private or secret key has; RFC 7517 §7
// forbids publishing them. AKP's `priv` (draft-ietf-cose-dilithium) likewise.
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'] as const
// The base64url members jose reads of a public key (RFC 7518 §6.2.1, §6.3.1; RFC 8037 §2).
const KEY_MATERIAL = ['n', 'e', 'x', 'y'] as const
// Unpadded base64url (RFC 7515 §2); a length that leaves 1 modulo 4 encodes no whole byte.
const BASE64URL = /^[A-Za-z0-9_-]+$/

function isJsonObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function toBigInt (base64url: string): bigint {
  return BigInt('0x0' + Buffer.from(base64url, 'base64url').toString('hex'))
}

/** Why a key must not reach jose at all, or undefined. */
function refuseBeforeJose (jwk: Record<string, unknown>): { reason: string, secret: boolean } | undefined {
  const secrets = SECRET_MEMBERS.filter((member) => Object.hasOwn(jwk, member))
  if (secrets.length > 0) return { reason: `it holds private or secret key material (${secrets.join(', ')}): anyone who read the JWKS can sign tokens with it; rotate this key at the issuer`, secret: true }
  if (jwk.kid !== undefined && typeof jwk.kid !== 'string') return { reason: 'its kid is not a string (RFC 7517 §4.5)', secret: false }
  for (const member of KEY_MATERIAL) {
    const value = jwk[member]
    if (value !== undefined && (typeof value !== 'string' || !BASE64URL.test(value) || value.length % 4 === 1)) {
      return { reason: `its ${member} is not unpadded base64url (RFC 7518 §6)`, secret: false }
    }
  }
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && typeof jwk.e === 'string') {
    const n = toBigInt(jwk.n)
    const e = toBigInt(jwk.e)
    // RFC 8017 §3.1: n is a product of odd primes, 3 <= e <= n - 1 and e is odd.
    if (n % 2n === 0n || e < 3n || e >= n || e % 2n === 0n) return { reason: 'its RSA parameters are not a valid public key (RFC 8017 §3.1: n odd, e odd and 3 <= e < n)', secret: false }
  }
  return undefined
}

const PROBE_PAYLOAD = Buffer.from('{}').toString('base64url')

/**
 * Ask jose what it does with `jwk` for a token signed with `alg`: a verification of a token with a
 * wrong signature, through the same selection, import and key checks a real token takes. Answers
 * 'usable' (jose checked the signature and said no), 'not selected' (jose would not pick this key
 * for `alg`), or the message of whatever else jose threw: what a real token would have met.
 */
async function probe (jwk: JWK, alg: string): Promise<string> {
  const token = `${Buffer.from(JSON.stringify({ alg })).toString('base64url')}.${PROBE_PAYLOAD}.AA`
  try {
    await compactVerify(token, createLocalJWKSet({ keys: [jwk] }), { algorithms: [alg] })
    return 'verified a probe' // a signature of one zero byte never verifies
  } catch (err) {
    const { code, cause, message } = err as { code?: unknown, cause?: { message?: string }, message?: string }
    if (code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' && cause === undefined) return 'usable'
    if (code === 'ERR_JWKS_NO_MATCHING_KEY') return 'not selected'
    return cause?.message ?? message ?? String(err)
  }
}

/** What the log says of a key that no algorithm selects: the members jose selects by. */
function describeUnselected (jwk: Record<string, unknown>, algorithms: readonly string[]): string {
  const members = ['kty', 'crv', 'alg', 'use', 'key_ops', 'ext'].filter((m) => jwk[m] !== undefined).map((m) => `${m} ${JSON.stringify(jwk[m])}`)
  return `jose would not verify ${algorithms.join(', ')} with it (${members.length === 0 ? 'no kty' : members.join(', ')}): not a public signing key for those algorithms`
}

interface Candidate { jwk: JWK, index: number, algorithms: ReadonlySet<string> }

/** Check one member of `keys`: the algorithms jose would verify with it, or why it is left out. */
async function vetOne (member: unknown, index: number, algorithms: readonly string[]): Promise<Candidate | LeftOutKey> {
  if (!isJsonObject(member)) return { kid: undefined, index, reason: 'it is not a JSON object', secret: false }
  const refused = refuseBeforeJose(member)
  if (refused !== undefined) return { kid: member.kid, index, ...refused }
  const jwk = member as JWK
  const usable = new Set<string>()
  for (const alg of algorithms) {
    const answer = await probe(jwk, alg)
    if (answer === 'usable') usable.add(alg)
    else if (answer !== 'not selected') return { kid: jwk.kid, index, reason: `jose refuses it for ${alg}: ${answer}`, secret: false }
  }
  if (usable.size === 0) return { kid: jwk.kid, index, reason: describeUnselected(member, algorithms), secret: false }
  return { jwk, index, algorithms: usable }
}

function overlaps (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const alg of a) if (b.has(alg)) return true
  return false
}

/**
 * Keys sharing a `kid` that jose would both select for one algorithm: a token naming that kid could
 * be checked with either. The same key listed twice keeps its first entry; different keys are all
 * left out. Keys of different types under one kid (RFC 7517 §4.5 allows it) never collide.
 */
async function leaveOutAmbiguous (candidates: readonly Candidate[]): Promise<{ kept: Candidate[], leftOut: LeftOutKey[] }> {
  const kept: Candidate[] = []
  const leftOut: LeftOutKey[] = []
  const thumbprints = new Map<Candidate, string>()
  for (const c of candidates) thumbprints.set(c, await calculateJwkThumbprint(c.jwk))
  for (const c of candidates) {
    const rivals = candidates.filter((o) => o !== c && o.jwk.kid === c.jwk.kid && c.jwk.kid !== undefined && overlaps(o.algorithms, c.algorithms))
    if (rivals.length === 0) {
      kept.push(c)
    } else if (rivals.some((o) => thumbprints.get(o) !== thumbprints.get(c))) {
      leftOut.push({ kid: c.jwk.kid, index: c.index, reason: `its kid is also published for ${rivals.length === 1 ? 'another key' : `${rivals.length} other keys`}: a token naming it could be checked with either (RFC 7517 §4.5)`, secret: false })
    } else if (rivals.every((o) => o.index > c.index)) {
      kept.push(c)
    } else {
      leftOut.push({ kid: c.jwk.kid, index: c.index, reason: 'the same key is listed earlier in the JWKS', secret: false })
    }
  }
  return { kept, leftOut }
}

/** Vet the members of a JWKS document's `keys` for the policy's algorithms. */
export async function vetKeys (members: readonly unknown[], algorithms: readonly string[]): Promise<VettedKeys> {
  const candidates: Candidate[] = []
  const leftOut: LeftOutKey[] = []
  for (const [index, member] of members.entries()) {
    const result = await vetOne(member, index, algorithms)
    if ('reason' in result) leftOut.push(result)
    else candidates.push(result)
  }
  const { kept, leftOut: ambiguous } = await leaveOutAmbiguous(candidates)
  return {
    keys: kept.map((c) => c.jwk),
    leftOut: [...leftOut, ...ambiguous].sort((a, b) => a.index - b.index)
  }
}

/**
 * Fuzz: the verifier's fast path (node:crypto, once jose has verified a token with the key) gives the
 * answer jose gives, for any token: the same claims, or the same refusal (code, reason and message).
 * Tokens are built from real keys (RSA for RS/PS, an EC key, an RSA key the JWKS does not publish)
 * with headers, claims and signatures that are right, wrong, missing or of the wrong type, and
 * raw parts that are no JSON object, not UTF-8 or no base64url. One fixed clock for both paths.
 * Then the cases that must take the fast path (answered at once, not as a promise) and the ones that
 * must not: keys not usable, an algorithm it does not check, a key not yet seen, a key remembered
 * while the set changed. Across key-set changes: token-keysets.test.ts.
 */
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import { createLocalJWKSet, type JWK } from 'jose'
import t, { type Test } from 'tap'
import { GateError } from '../../src/http/errors.js'
import { createPolicy } from '../../src/auth/policy.js'
import { createTokenVerifier, type Claims, type KeySetView, type TokenVerifier } from '../../src/auth/verify.js'
import { fuzzRuns } from '../helpers/fuzz.js'

const ISSUER = 'https://test.maskinporten.no/'
const POLICY = createPolicy({ issuer: ISSUER, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256'], clockToleranceSec: 5, maxTokenLifetimeSec: 680 })
const NOW_SEC = 1_800_000_000
const now = (): number => NOW_SEC * 1000 + 500

interface Signer { kid: string, key: KeyObject, jwk: JWK }

function rsa (kid: string, alg: string): Signer {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { kid, key: privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' } }
}

const A = rsa('a', 'RS256')
const B = rsa('b', 'RS384')
const P = rsa('p', 'PS256')
const R5 = rsa('r5', 'RS512')
const P3 = rsa('p3', 'PS384')
const P5 = rsa('p5', 'PS512')
// Not published: signs with kid "a", as a forger would.
const FORGER = rsa('a', 'RS256')
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const E: Signer = { kid: 'e', key: ec.privateKey, jwk: { ...ec.publicKey.export({ format: 'jwk' }), kid: 'e', alg: 'ES256', use: 'sig' } }
const getKey = createLocalJWKSet({ keys: [A.jwk, B.jwk, P.jwk, R5.jwk, P3.jwk, P5.jwk, E.jwk] })

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64url')

/** Sign `input` as `alg` says when the key can, else as the key's own algorithm (a mismatch). */
function signature (signer: Signer, alg: unknown, input: string): string {
  const data = Buffer.from(input)
  if (signer === E) return b64(sign('sha256', data, { key: E.key, dsaEncoding: 'ieee-p1363' }))
  const hash = typeof alg === 'string' && alg.endsWith('384') ? 'sha384' : typeof alg === 'string' && alg.endsWith('512') ? 'sha512' : 'sha256'
  const pss = typeof alg === 'string' && alg.startsWith('PS')
  return b64(sign(hash, data, { key: signer.key, padding: pss ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }))
}

const GOOD = { iss: ISSUER, iat: NOW_SEC - 10, exp: NOW_SEC + 110, scope: 'nav:test:read', client_id: 'c-1', consumer: { ID: '0192:123456789' } }
const DELETE = Symbol('delete')
const around = (base: number, deltas: number[]): unknown[] => [...deltas.map((d) => base + d), '1800000000', null, true, [NOW_SEC], NOW_SEC + 0.5, DELETE]

/** Values a field takes when it is changed: edge values, wrong types, or gone. */
const HEADER_CHANGES: Record<string, unknown[]> = {
  alg: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'EdDSA', 'HS256', 'none', 'rs256', '', 7, null, DELETE],
  kid: ['a', 'b', 'p', 'r5', 'p3', 'p5', 'e', 'zz', '', 7, null, DELETE],
  typ: ['JWT', 'at+jwt', 5],
  crit: [['b64'], [], 'b64', ['exp'], null],
  b64: [true, false, 'no']
}
const CLAIM_CHANGES: Record<string, unknown[]> = {
  iss: ['https://test.maskinporten.no', 'https://evil.example/', 5, null, DELETE],
  exp: around(NOW_SEC, [-700, -6, -5, -4, 0, 1, 120, 700]),
  iat: around(NOW_SEC, [-700, -686, -685, -684, -680, -120, -1, 0, 5, 6, 60]),
  nbf: around(NOW_SEC, [-10, 0, 5, 6, 60]),
  scope: ['a b  c', 'a\nb', 5, '', DELETE, 'nav:b\u00e6r.read', 'a\u0100b', 'a\u0085b'],
  client_id: ['bad\rid', 9, DELETE, 'c\u00f8', 'c\u0100', 'c\ud83d\ude00', 'c\ud800', 'c\u009b'],
  consumer: [{ ID: '0192:12' }, 'x', null, DELETE],
  aud: ['https://api.example', ['a', 'b'], ['a', 3], 4],
  // several required claims gone at once: which one is named first
  '-': [['iss', 'exp'], ['iat', 'exp'], ['iss', 'iat', 'exp']]
}
const change = (table: Record<string, unknown[]>): fc.Arbitrary<[string, unknown]> =>
  fc.constantFrom(...Object.keys(table)).chain((field) => fc.constantFrom(...(table[field] ?? [])).map((value): [string, unknown] => [field, value]))

function changed (base: Record<string, unknown>, changes: Array<[string, unknown]>): Record<string, unknown> {
  const out = { ...base }
  for (const [field, value] of changes) {
    if (field === '-') for (const gone of value as string[]) delete out[gone]
    else if (value === DELETE) delete out[field]
    else out[field] = value
  }
  return out
}

/** Raw parts, signed as they are: text that is no JSON object, bytes that are not UTF-8, JSON that
 * parsers read differently (duplicate names, `__proto__`, a BOM, numbers out of range). */
const good = (fields: string): string => `{"iss":"${ISSUER}","iat":${NOW_SEC - 10},${fields},"scope":"nav:test:read"}`
const notJson = ['[]', 'null', '"text"', '42', 'not json', '{"alg":"RS256"']
const NOT_UTF8 = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])
const rawPart = (texts: string[]): fc.Arbitrary<string | undefined> => fc.oneof(
  { weight: 20, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constantFrom(...texts, ...notJson).map((text) => b64(text)) },
  { weight: 1, arbitrary: fc.constant(b64(NOT_UTF8)) }
)
const rawHeader = rawPart(['{"alg":"RS256","kid":"zz","kid":"a"}', '{"alg":"HS256","alg":"RS256","kid":"a"}', '{"__proto__":{"crit":["x"]},"alg":"RS256","kid":"a"}',
  '\ufeff{"alg":"RS256","kid":"a"}', ' {"alg":"RS256","kid":"a"} ', '{"alg":"RS256","kid":"a","kid":7}'])
const rawClaims = rawPart([good(`"exp":${NOW_SEC + 100}`), `\ufeff${good(`"exp":${NOW_SEC + 100}`)}`, good('"exp":1e400'), good('"exp":-1e400'), good('"exp":1e21'),
  good(`"exp":${NOW_SEC + 100},"iat":-0`), good(`"exp":${NOW_SEC + 100},"iat":1e-400`), good(`"exp":${NOW_SEC + 100},"nbf":1e400`),
  good(`"exp":${NOW_SEC + 100},"iss":"https://evil.example/"`), `{"iss":"https://evil.example/","iss":"${ISSUER}","iat":${NOW_SEC},"exp":${NOW_SEC + 100}}`,
  `{"__proto__":{"exp":${NOW_SEC + 100}},"iss":"${ISSUER}","iat":${NOW_SEC}}`, good(`"exp":${NOW_SEC + 100}.5`), good(`"exp":${2 ** 53 + 1}`)])

const mangle = fc.oneof({ weight: 12, arbitrary: fc.constant('none') }, { weight: 1, arbitrary: fc.constantFrom('flip', 'cut4', 'cut1', 'add4', 'empty') })
function mangled (sig: string, how: string): string {
  switch (how) {
    case 'flip': return sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11)
    case 'cut4': return sig.slice(0, -4)
    case 'cut1': return sig.slice(0, -1)
    case 'add4': return sig + 'AAAA'
    case 'empty': return ''
    default: return sig
  }
}

// Signer, the alg its JWK is published for, and its kid; FORGER's key is not published.
const SIGNED_AS: Array<[Signer, string]> = [[A, 'RS256'], [A, 'RS256'], [A, 'RS256'], [B, 'RS384'], [P, 'PS256'], [R5, 'RS512'], [P3, 'PS384'], [P5, 'PS512'], [E, 'ES256'], [FORGER, 'RS256']]

const tokenArb = fc.record({
  signedAs: fc.constantFrom(...SIGNED_AS),
  headerChanges: fc.array(change(HEADER_CHANGES), { maxLength: 1 }),
  claimChanges: fc.array(change(CLAIM_CHANGES), { maxLength: 2 }),
  rawHeader,
  rawClaims,
  how: mangle
}).map(({ signedAs: [signer, alg], headerChanges, claimChanges, rawHeader, rawClaims, how }) => {
  const head = changed({ alg, kid: signer.kid }, headerChanges)
  const input = `${rawHeader ?? b64(JSON.stringify(head))}.${rawClaims ?? b64(JSON.stringify(changed(GOOD, claimChanges)))}`
  return `${input}.${mangled(signature(signer, head.alg, input), how)}`
})

type Outcome = { claims: unknown } | { code: string, reason: string | undefined, message: string }

function describe (claims: Claims): unknown {
  return { ...claims, scopes: [...claims.scopes] }
}

/** Run a verifier; `sync` tells whether it answered at once (the fast path) or with a promise. */
async function outcome (verify: TokenVerifier, token: string): Promise<{ outcome: Outcome, sync: boolean }> {
  let sync = true
  try {
    const result = verify(token)
    sync = !(result instanceof Promise)
    return { outcome: { claims: describe(await result) }, sync }
  } catch (err) {
    if (!(err instanceof GateError)) throw err
    return { outcome: { code: err.code, reason: err.reason, message: err.message }, sync }
  }
}

/** A key source that never changes (the JWKS above). */
const FIXED_KEYS: KeySetView = { version: () => 1, usable: () => true, onChange: () => {} }

/** A fast verifier that has seen one good token for each key it may check, and a jose-only one. */
async function verifiers (view: KeySetView = FIXED_KEYS): Promise<{ fast: TokenVerifier, jose: TokenVerifier }> {
  const fast = createTokenVerifier(POLICY, getKey, { keys: view, now })
  const good = { iss: ISSUER, iat: NOW_SEC - 10, exp: NOW_SEC + 110, scope: 'nav:test:read' }
  for (const [signer, alg] of [[A, 'RS256'], [B, 'RS384'], [P, 'PS256'], [R5, 'RS512'], [P3, 'PS384'], [P5, 'PS512'], [E, 'ES256']] as const) {
    const input = `${b64(JSON.stringify({ alg, kid: signer.kid }))}.${b64(JSON.stringify(good))}`
    await fast(`${input}.${signature(signer, alg, input)}`)
  }
  return { fast, jose: createTokenVerifier(POLICY, getKey, { now }) }
}

function token (signer: Signer, alg: string, claimsSet: Record<string, unknown>, kid: string | undefined = signer.kid): string {
  const input = `${b64(JSON.stringify({ alg, kid }))}.${b64(JSON.stringify(claimsSet))}`
  return `${input}.${signature(signer, alg, input)}`
}

/** Assert `run` throws a GateError with `reason` at once (not a rejected promise). */
function refusedAtOnce (t: Test, run: () => unknown, reason: string, message: string): void {
  try {
    run()
    t.fail(`${message}: no error thrown`)
  } catch (err) {
    t.equal((err as GateError).reason, reason, message)
  }
}

t.test('the fast path and jose give the same answer for any token', async (t) => {
  const { fast, jose } = await verifiers()
  let fastAnswers = 0
  let accepted = 0
  let runs = 0
  await fc.assert(fc.asyncProperty(tokenArb, async (tok) => {
    const [a, b] = [await outcome(fast, tok), await outcome(jose, tok)]
    runs++
    if (a.sync) fastAnswers++
    if ('claims' in a.outcome) accepted++
    if (!isDeepStrictEqual(a.outcome, b.outcome)) throw new Error(`fast path ${JSON.stringify(a.outcome)} but jose ${JSON.stringify(b.outcome)}`)
  }), { numRuns: fuzzRuns(1500) })
  // The property must have exercised both paths and both answers, not only refusals by jose.
  t.ok(fastAnswers > runs / 4, `${fastAnswers} of ${runs} answered by the fast path`)
  t.ok(accepted > runs / 50, `${accepted} of ${runs} accepted`)
})

t.test('a token signed with a key jose has verified is answered at once, allowed or refused', async (t) => {
  const { fast } = await verifiers()
  const claims = fast(token(A, 'RS256', GOOD))
  t.notOk(claims instanceof Promise, 'claims, not a promise')
  t.equal((claims as Claims).orgno, '123456789')
  t.equal((fast(token(P, 'PS256', GOOD)) as Claims).clientId, 'c-1', 'PS256 too')
  refusedAtOnce(t, () => fast(token(FORGER, 'RS256', GOOD)), 'bad_signature', 'a forged signature')
  refusedAtOnce(t, () => fast(token(A, 'RS256', { ...GOOD, exp: NOW_SEC - 5 })), 'expired', 'exp at now - tolerance')
  refusedAtOnce(t, () => fast(token(A, 'RS256', { ...GOOD, iat: NOW_SEC + 6 })), 'iat_in_future', 'iat beyond the tolerance')
  refusedAtOnce(t, () => fast(token(A, 'RS256', { ...GOOD, iss: 'https://test.maskinporten.no' })), 'wrong_issuer', 'iss without the trailing slash')
})

t.test('jose decides what the fast path does not check', async (t) => {
  const { fast } = await verifiers()
  t.ok(fast(token(E, 'ES256', GOOD)) instanceof Promise, 'an EC key: jose')
  const critical = `${b64(JSON.stringify({ alg: 'RS256', kid: 'a', crit: ['b64'], b64: true }))}.${b64(JSON.stringify(GOOD))}`
  const answer = fast(`${critical}.${signature(A, 'RS256', critical)}`)
  t.ok(answer instanceof Promise, 'a crit header: jose')
  t.same(describe(await answer), describe((await fast(token(A, 'RS256', GOOD))) as Claims), 'and jose accepts it (b64 true)')
  // RS256 with key b (published for RS384): jose finds no key, the fast path has none remembered.
  const other = fast(token(B, 'RS256', GOOD))
  t.ok(other instanceof Promise, 'a key not yet seen for this alg: jose')
  await t.rejects(other as Promise<Claims>, { message: /key the issuer does not publish/ })
})

t.test('remembered keys are not used while keys are not usable, nor remembered when the set changed during jose\'s check', async (t) => {
  let version = 1
  let usable = true
  const { fast } = await verifiers({ version: () => version, usable: () => usable, onChange: () => {} })
  t.notOk(fast(token(A, 'RS256', GOOD)) instanceof Promise, 'remembered')
  usable = false
  t.ok(fast(token(A, 'RS256', GOOD)) instanceof Promise, 'keys too old: jose (and the key source) decide')
  usable = true
  t.notOk(fast(token(A, 'RS256', GOOD)) instanceof Promise, 'usable again: the fast path answers')
  // A key set that changes while jose verifies: the key is not remembered (it may be from the old set).
  const changing = createTokenVerifier(POLICY, async (header, tok) => { version++; return await getKey(header, tok) }, { keys: { version: () => version, usable: () => true, onChange: () => {} }, now })
  await changing(token(A, 'RS256', GOOD))
  t.ok(changing(token(A, 'RS256', GOOD)) instanceof Promise, 'not remembered')
})

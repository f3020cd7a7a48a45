/**
 * Keys jose (or node:crypto) would refuse, fail on or must never use, published in a real JWKS over
 * HTTP beside a good key: each is left out when the set is loaded, with a log line naming its kid and
 * why, and a token that names it is a 401 (never the 500 some of them were at request time); the
 * good key keeps working and the upstream sees nothing of the refused tokens. A set with nothing
 * usable left is a failed fetch: the last good keys keep serving.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import type { JWK } from 'jose'
import t from 'tap'
import { build } from '../helpers/build.js'
import { scrape, valueOf } from '../helpers/metrics.js'
import { ask, assertDenied, b64url, CHALLENGE, resetSeen, signingInput, validClaims } from '../helpers/attack.js'

const PATH = '/api/v1/arbeidsforhold/1'

interface Pair { privateKey: KeyObject, jwk: JWK }

function rsa (bits: number): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits })
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }) }
}
function ec (namedCurve: string): Pair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve })
  return { privateKey, jwk: publicKey.export({ format: 'jwk' }) }
}

/** A token with `header`, signed by `key` as RS256 or (an EC key) ES256, as node:crypto does it. */
function signed (key: KeyObject, header: Record<string, unknown>): string {
  const input = signingInput(header, validClaims())
  const ecKey = key.asymmetricKeyType === 'ec'
  return `${input}.${b64url(sign('sha256', Buffer.from(input), ecKey ? { key, dsaEncoding: 'ieee-p1363' } : key))}`
}

/** RS256 with e = 1 is no signature at all: the PKCS#1 v1.5 encoding of the hash verifies (RFC 8017 §9.2). */
function forgedForExponentOne (modulusBytes: number, header: Record<string, unknown>): string {
  const input = signingInput(header, validClaims())
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), createHash('sha256').update(input).digest()])
  const encoded = Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(modulusBytes - digestInfo.length - 3, 0xff), Buffer.from([0]), digestInfo])
  return `${input}.${b64url(encoded)}`
}

const good = rsa(2048)
const small = rsa(1024)
const p256 = ec('P-256')
const k1 = ec('secp256k1')
const rsaPrivate = good.privateKey.export({ format: 'jwk' }) as Record<string, unknown>
const ecPrivate = p256.privateKey.export({ format: 'jwk' }) as Record<string, unknown>

interface Variant {
  what: string
  jwk: Record<string, unknown>
  /** the token that names it (signed with its private half where there is one) */
  token: string
  /** the reason in the log line */
  why: RegExp
  /** logged as an error (private or secret key material), not a warning */
  secret?: boolean
  /** the refusal's reason when not unusable_key */
  reason?: string
}

const kidded = (kid: string, jwk: Record<string, unknown>): Record<string, unknown> => ({ ...jwk, kid })
const rs = (kid: string, key = good.privateKey): string => signed(key, { alg: 'RS256', kid })
const es = (kid: string, key: KeyObject): string => signed(key, { alg: 'ES256', kid })

const VARIANTS: Variant[] = [
  { what: 'an RSA key of 1024 bits', jwk: kidded('small', { ...small.jwk, alg: 'RS256', use: 'sig' }), token: rs('small', small.privateKey), why: /RS256 requires key modulusLength to be 2048 bits or larger/ },
  { what: 'an RSA key of 1024 bits without alg', jwk: kidded('small', small.jwk), token: rs('small', small.privateKey), why: /2048 bits/ },
  { what: 'an RSA key of 2047 bits', jwk: kidded('odd', rsa(2047).jwk), token: rs('odd'), why: /2048 bits/ },
  { what: 'an EC key on a curve jose does not support (secp256k1)', jwk: kidded('k1', k1.jwk), token: es('k1', k1.privateKey), why: /would not verify RS256, ES256 with it \(kty "EC", crv "secp256k1"\)/ },
  { what: 'a P-256 key published for ES384', jwk: kidded('e384', { ...p256.jwk, alg: 'ES384' }), token: es('e384', p256.privateKey), why: /alg "ES384"/ },
  { what: 'an RSA key published for ES256', jwk: kidded('rsa-es', { ...good.jwk, alg: 'ES256' }), token: rs('rsa-es'), why: /kty "RSA", alg "ES256"/ },
  { what: 'an EC point that is not on the curve', jwk: kidded('offcurve', { ...p256.jwk, y: p256.jwk.x }), token: es('offcurve', p256.privateKey), why: /jose refuses it for ES256: Invalid/ },
  { what: 'an EC x of the wrong length', jwk: kidded('short-x', { ...p256.jwk, x: (p256.jwk.x as string).slice(4) }), token: es('short-x', p256.privateKey), why: /jose refuses it for ES256/ },
  { what: 'an n that is not base64url (!)', jwk: kidded('bang', { ...good.jwk, n: `${(good.jwk.n as string).slice(0, -2)}!!` }), token: rs('bang'), why: /its n is not unpadded base64url/ },
  { what: 'an n in base64 with + and /', jwk: kidded('plus', { ...good.jwk, n: Buffer.from(good.jwk.n as string, 'base64url').toString('base64').replace(/=+$/, '') }), token: rs('plus'), why: /its n is not unpadded base64url/ },
  { what: 'an n with padding', jwk: kidded('padded', { ...good.jwk, n: `${good.jwk.n as string}==` }), token: rs('padded'), why: /its n is not unpadded base64url/ },
  { what: 'an e that is a number', jwk: kidded('e-number', { ...good.jwk, e: 65537 }), token: rs('e-number'), why: /its e is not unpadded base64url/ },
  { what: 'an empty e', jwk: kidded('e-empty', { ...good.jwk, e: '' }), token: rs('e-empty'), why: /its e is not unpadded base64url/ },
  { what: 'e = 1, with which anyone can sign', jwk: kidded('e-one', { ...good.jwk, e: 'AQ' }), token: forgedForExponentOne(256, { alg: 'RS256', kid: 'e-one' }), why: /RFC 8017 §3\.1/ },
  { what: 'an even e', jwk: kidded('e-even', { ...good.jwk, e: 'AQAA' }), token: rs('e-even'), why: /RFC 8017 §3\.1/ },
  { what: 'an RSA private key', jwk: kidded('private', rsaPrivate), token: rs('private'), why: /private or secret key material \(d, p, q, dp, dq, qi\)/, secret: true },
  { what: 'an RSA key with one prime factor', jwk: kidded('factor', { ...good.jwk, p: rsaPrivate.p }), token: rs('factor'), why: /key material \(p\)/, secret: true },
  { what: 'an EC private key', jwk: kidded('ec-private', ecPrivate), token: es('ec-private', p256.privateKey), why: /key material \(d\)/, secret: true },
  { what: 'an oct key', jwk: { kty: 'oct', k: b64url('a shared secret of thirty-two bytes'), kid: 'oct' }, token: rs('oct'), why: /key material \(k\)/, secret: true },
  { what: 'an unknown kty', jwk: kidded('xyz', { ...good.jwk, kty: 'XYZ' }), token: rs('xyz'), why: /kty "XYZ"/ },
  { what: 'no kty', jwk: { kid: 'no-kty', n: good.jwk.n, e: good.jwk.e }, token: rs('no-kty'), why: /no kty/ },
  { what: 'key_ops that include sign', jwk: kidded('ops', { ...good.jwk, key_ops: ['verify', 'sign'] }), token: rs('ops'), why: /jose refuses it for RS256: Unsupported key usage/ },
  { what: 'an ext that is not a boolean', jwk: kidded('ext', { ...good.jwk, ext: 'yes' }), token: rs('ext'), why: /ext "yes"/ },
  { what: 'a kid that is not a string', jwk: { ...good.jwk, kid: 7 }, token: signed(good.privateKey, { alg: 'RS256', kid: 7 }), why: /its kid is not a string/, reason: 'unknown_kid' }
]

t.test('keys jose would refuse are left out at load, with a line saying why; their tokens are 401s', async (t) => {
  const h = await build(t, { env: { PORTVAKT_ALGORITHMS: 'RS256,ES256' } })
  for (const v of VARIANTS) {
    const logged = h.logs().length
    h.jwks.keys = [h.key.jwk, v.jwk as JWK]
    await h.gateway.keys.refresh('schedule')
    resetSeen(h)
    const answer = await ask(h.url + PATH, { headers: { authorization: `Bearer ${v.token}` } })
    t.test(v.what, async (t) => {
      assertDenied(t, h, answer, { status: 401, code: 'PORTVAKT_ERR_TOKEN_INVALID', challenge: CHALLENGE.invalidToken, reason: v.reason ?? 'unusable_key', secrets: [v.token] })
      const lines = h.logs().slice(logged)
      const leftOut = lines.filter((l) => l.index === 1)
      t.equal(leftOut.length, 1, 'one line for the key left out')
      t.equal(leftOut[0]?.kid, v.jwk.kid, 'naming its kid')
      t.match(leftOut[0]?.reason, v.why, 'and why')
      t.equal(leftOut[0]?.level, v.secret === true ? 50 : 40, v.secret === true ? 'an error: the key is public now' : 'a warning')
      t.notOk(lines.some((l) => l.level === 50 && l.msg !== leftOut[0]?.msg), 'no error at request time')
    })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint()}` } })).status, 200, `${v.what}: the good key keeps working`)
  }
  const samples = await scrape(h.adminUrl)
  t.equal(valueOf(samples, 'portvakt_jwks_keys'), 1, 'one key in use')
  t.equal(valueOf(samples, 'portvakt_jwks_keys_left_out'), 1, 'one left out')
  t.equal(valueOf(samples, 'portvakt_token_rejections_total', { reason: 'unusable_key' }), VARIANTS.filter((v) => v.reason === undefined).length, 'the refusals are counted by their reason')
})

t.test('members that are not objects are left out, and the rest of the set is used', async (t) => {
  const h = await build(t)
  h.jwks.keys = ['a string', 42, null, [], h.key.jwk] as unknown as JWK[]
  await h.gateway.keys.refresh('schedule')
  t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint()}` } })).status, 200)
  const lines = h.logs().filter((l) => l.reason === 'it is not a JSON object')
  t.same(lines.map((l) => l.index), [0, 1, 2, 3])
})

t.test('a set whose keys are all left out is a failed fetch, and the last good keys keep serving', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  for (const v of [VARIANTS[0], VARIANTS[15]] as Variant[]) {
    h.jwks.keys = [v.jwk as JWK]
    await t.rejects(h.gateway.keys.refresh('schedule'), { message: new RegExp(`no usable signing key: none of its 1 keys can verify RS256; left out: kid "${v.jwk.kid as string}": `) })
    t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${token}` } })).status, 200, `${v.what} alone: the last good key serves`)
  }
  t.equal(h.gateway.keys.status().stale, true)
})

t.test('one kid for keys jose would not confuse is kept: the same key listed twice, or keys of different types', async (t) => {
  const h = await build(t, { env: { PORTVAKT_ALGORITHMS: 'RS256,ES256' } })
  h.jwks.keys = [h.key.jwk, { ...h.key.jwk, use: undefined }, { ...p256.jwk, kid: h.key.kid }] as JWK[]
  await h.gateway.keys.refresh('schedule')
  t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${await h.mint()}` } })).status, 200, 'the RSA key under the shared kid')
  t.equal((await ask(h.url + PATH, { headers: { authorization: `Bearer ${es(h.key.kid, p256.privateKey)}` } })).status, 200, 'the EC key under the same kid')
  const lines = h.logs().filter((l) => l.msg === 'signing key left out of the JWKS in use')
  t.same(lines.map((l) => [l.index, l.reason]), [[1, 'the same key is listed earlier in the JWKS']], 'only the second copy is left out')
  t.equal(valueOf(await scrape(h.adminUrl), 'portvakt_jwks_keys'), 2)
})

/**
 * Fuzz: bearer parsing. For any Authorization value and raw header list, extractBearer
 * returns one b64token no longer than the cap, or refuses with one of its three codes: never
 * another error, never a token that was not in the header.
 */
import fc from 'fast-check'
import t from 'tap'
import { extractBearer, MAX_TOKEN_LENGTH } from '../../src/auth/bearer.js'
import { GateError } from '../../src/http/errors.js'
import { fuzzRuns } from '../helpers/fuzz.js'

const CODES = new Set(['PORTVAKT_ERR_TOKEN_MISSING', 'PORTVAKT_ERR_BAD_REQUEST', 'PORTVAKT_ERR_TOKEN_INVALID'])
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/

const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Bearer:', 'Bearerx', '', 'Token', 'DPoP')
const gap = fc.constantFrom(' ', '  ', '\t', '', '\u00a0', ',', ' , ')
const tokenish = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', '+', '/', '='), minLength: 1, maxLength: 40 }),
  fc.string({ maxLength: 40 }),
  fc.constant('a'.repeat(MAX_TOKEN_LENGTH)), fc.constant('a'.repeat(MAX_TOKEN_LENGTH + 1))
)
const headerValue = fc.oneof(
  fc.tuple(scheme, gap, tokenish, fc.constantFrom('', ' ', '  ', ', Bearer x', '\t')).map(([s, g, tok, tail]) => s + g + tok + tail),
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 3 })
)

t.test('extractBearer returns one capped b64token or refuses with its own codes', async (t) => {
  const seen = { accepted: 0, refused: new Set<string>() }
  fc.assert(fc.property(fc.option(headerValue, { nil: undefined }), fc.nat({ max: 3 }), (value, copies) => {
    const rawHeaders: string[] = []
    for (let i = 0; i < copies; i++) rawHeaders.push(i % 2 === 0 ? 'Authorization' : 'authorization', String(value))
    try {
      const token = extractBearer({ authorization: value }, rawHeaders)
      if (!B64TOKEN.test(token)) throw new Error(`not a b64token: ${JSON.stringify(token)}`)
      if (token.length > MAX_TOKEN_LENGTH) throw new Error('over the cap')
      const joined = Array.isArray(value) ? value.join(',') : String(value)
      if (!joined.includes(token)) throw new Error('a token that was not in the header')
      if (copies > 1) throw new Error('two Authorization headers accepted')
      seen.accepted++
    } catch (err) {
      if (!(err instanceof GateError) || !CODES.has(err.code)) throw err
      seen.refused.add(err.code)
    }
  }), { numRuns: fuzzRuns(5000) })
  // The property must have seen both answers, and every refusal code, not only one kind of input.
  t.ok(seen.accepted > 0, `${seen.accepted} accepted`)
  t.same([...seen.refused].sort(), [...CODES].sort(), 'each of the three refusal codes came up')
})

t.test('a well-formed "Bearer <b64token>" always yields exactly that token', async (t) => {
  const token = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '_', '.', '~', '+', '/'), minLength: 1, maxLength: 200 })
  let checked = 0
  fc.assert(fc.property(fc.constantFrom('Bearer', 'bearer', 'BEARER'), token, (s, tok) => {
    if (extractBearer({ authorization: `${s} ${tok}` }, ['Authorization', `${s} ${tok}`]) !== tok) throw new Error('token changed')
    checked++
  }), { numRuns: fuzzRuns(2000) })
  t.equal(checked, fuzzRuns(2000), 'every generated header yielded its token')
})

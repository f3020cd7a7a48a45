/**
 * Fuzz: the claim parser for delegated and system-user tokens (src/auth/party-claims.ts) against a
 * reference model written apart from it, as zod schemas of the documented shapes. On payloads grown
 * from those shapes and their near misses (other authorities, orgnos a digit off or in other digits,
 * `id` against `ID`, prototype keys, entry types in other letter cases, lists of 0, 1, 2 or many) and
 * from arbitrary JSON: the parser throws nothing but the 401 refusal (bad_delegation,
 * bad_system_user), and it admits a payload exactly when the model does, with the model's values.
 */
import { isDeepStrictEqual } from 'node:util'
import fc from 'fast-check'
import t from 'tap'
import { z } from 'zod'
import { readPartyClaims, type PartyClaims } from '../../src/auth/party-claims.js'
import { GateError } from '../../src/http/errors.js'
import { fuzzRuns } from '../helpers/fuzz.js'

// ---- The reference model: the documented shapes, declared.

const AUTHORITY = 'iso6523-actorid-upis'
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
// Checked on the value as it came, before zod copies it (a copy would turn __proto__ into a prototype).
const PlainObject = z.custom<Record<string, unknown>>((value) => typeof value === 'object' && value !== null && !Array.isArray(value) &&
  Object.keys(value).every((key) => !PROTOTYPE_KEYS.has(key)))
const Safe = z.string().min(1).max(255).regex(/^[ -~\u00a0-\u00ff]+$/)

const OrgModel = PlainObject.pipe(z.looseObject({ authority: z.literal(AUTHORITY), ID: z.unknown().optional(), id: z.unknown().optional() }))
  .refine((o) => o.ID === undefined || o.id === undefined || o.ID === o.id)
  .transform((o) => o.ID ?? o.id)
  .pipe(z.string().regex(/^0192:[0-9]{9}$/).transform((id) => id.slice(5)))

const EntryModel = PlainObject.pipe(z.looseObject({ type: z.string() }))
const SystemUserModel = z.looseObject({
  type: z.literal('urn:altinn:systemuser'),
  systemuser_org: OrgModel,
  systemuser_id: z.tuple([Safe]),
  system_id: Safe.optional()
}).transform((e) => ({ id: e.systemuser_id[0], org: e.systemuser_org, systemId: e.system_id }))

const DetailsModel = z.array(EntryModel).max(16)
  .refine((entries) => entries.every((e) => e.type === 'urn:altinn:systemuser' || e.type.toLowerCase() !== 'urn:altinn:systemuser'))
  .refine((entries) => entries.filter((e) => e.type === 'urn:altinn:systemuser').length <= 1)
  .transform((entries) => entries.find((e) => e.type === 'urn:altinn:systemuser'))
  .pipe(z.union([z.undefined(), SystemUserModel]))

/** What the model makes of a payload: the party claims, or undefined for a refused token. */
function model (payload: Record<string, unknown>): PartyClaims | undefined {
  const has = (key: string): boolean => Object.hasOwn(payload, key)
  const source = has('delegation_source') ? payload.delegation_source : undefined
  if (source !== undefined && (typeof source !== 'string' || source === '')) return undefined
  if (!has('supplier') && source !== undefined) return undefined
  const supplier = has('supplier') ? OrgModel.safeParse(payload.supplier) : { success: true as const, data: undefined }
  const details = has('authorization_details') ? DetailsModel.safeParse(payload.authorization_details) : { success: true as const, data: undefined }
  if (!supplier.success || !details.success) return undefined
  return { supplier: supplier.data, delegationSource: supplier.data === undefined ? undefined : source as string | undefined, systemUser: details.data }
}

// ---- Payloads: the documented shapes, their near misses, and noise.

/** An object with these own entries; `__proto__` becomes an own key, as JSON.parse makes it. */
const objectOf = (entries: Array<[string, unknown]>): Record<string, unknown> => JSON.parse(JSON.stringify(Object.fromEntries(entries.filter(([, v]) => v !== undefined))))

const orgnoText = fc.constantFrom('0192:991825827', '0192:314168267', '0192:99182582', '0192:9918258270', '0193:991825827', '991825827', '0192:99182582a',
  ' 0192:991825827', '0192:991825827\n', '0192:\uff19\uff19\uff11\uff18\uff12\uff15\uff18\uff12\uff17', '0192:', '')
const idValue = fc.oneof({ weight: 6, arbitrary: orgnoText }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }, { weight: 2, arbitrary: fc.constant(undefined) })
const extraKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'name', 'ID ', 'Id', 'authority2')
const validOrgno = fc.constantFrom('0192:991825827', '0192:314168267', '0192:910753614')
const validOrg = fc.tuple(validOrgno, fc.constantFrom('ID', 'id', 'both')).map(([id, key]) => objectOf([['authority', AUTHORITY], ...(key === 'both' ? [['ID', id], ['id', id]] : [[key, id]]) as Array<[string, unknown]>]))
const mutatedOrg = fc.record({
  authority: fc.constantFrom(AUTHORITY, AUTHORITY, AUTHORITY, 'ISO6523-ACTORID-UPIS', 'iso6523-actorid-upis ', undefined),
  ID: idValue,
  id: idValue,
  extra: fc.option(fc.tuple(extraKey, fc.jsonValue({ maxDepth: 1 })), { nil: undefined })
}).map(({ authority, ID, id, extra }) => objectOf([['authority', authority], ['ID', ID], ['id', id], ...(extra === undefined ? [] : [extra])]))
const orgArb = fc.oneof({ weight: 6, arbitrary: validOrg }, { weight: 6, arbitrary: mutatedOrg }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) })

const safeText = fc.oneof(fc.constantFrom('ebe4a681-0a8c-429e-a36f-8f9ca942b59f', '991825827_smartcloud', 'matrix_test', 'lønn', '', 'x'.repeat(255), 'x'.repeat(256)), fc.string({ maxLength: 6 }), fc.string({ unit: 'binary', maxLength: 4 }))
const typeArb = fc.constantFrom('urn:altinn:systemuser', 'urn:altinn:systemuser', 'urn:altinn:systemuser', 'URN:ALTINN:SYSTEMUSER', 'urn:Altinn:systemuser', 'urn:altinn:consent', 'urn:altinn:systemuser:v2', 'urn:altinn:systemuser ')
const validText = fc.constantFrom('ebe4a681-0a8c-429e-a36f-8f9ca942b59f', '991825827_smartcloud', 'matrix_test', 'lønn')
const validEntry = fc.record({
  systemuser_org: validOrg,
  systemuser_id: fc.array(validText, { minLength: 1, maxLength: 1 }),
  system_id: fc.option(validText, { nil: undefined })
}).map((fields) => objectOf([['type', 'urn:altinn:systemuser'], ...Object.entries(fields)]))
const mutatedEntry = fc.record({
  type: fc.oneof({ weight: 9, arbitrary: typeArb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 0 }) }),
  systemuser_org: fc.option(orgArb, { nil: undefined, freq: 6 }),
  systemuser_id: fc.oneof({ weight: 6, arbitrary: fc.array(safeText, { minLength: 1, maxLength: 1 }) }, { weight: 2, arbitrary: fc.array(safeText, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }),
  system_id: fc.option(fc.oneof(safeText, fc.jsonValue({ maxDepth: 0 })), { nil: undefined }),
  extra: fc.option(fc.tuple(extraKey, fc.jsonValue({ maxDepth: 1 })), { nil: undefined, freq: 6 })
}).map(({ extra, ...fields }) => objectOf([...Object.entries(fields), ...(extra === undefined ? [] : [extra])]))
const consentEntry = fc.constant({ type: 'urn:altinn:consent', id: 'd5a1c7b2', to: { authority: AUTHORITY, ID: '0192:910753614' } })
const entryArb = fc.oneof({ weight: 6, arbitrary: validEntry }, { weight: 2, arbitrary: consentEntry }, { weight: 6, arbitrary: mutatedEntry }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) })
const detailsArb = fc.oneof(
  { weight: 8, arbitrary: fc.array(entryArb, { maxLength: 3 }) },
  // Around the bound: consent entries, and now and then one system user among them.
  { weight: 1, arbitrary: fc.tuple(fc.array(consentEntry, { minLength: 14, maxLength: 17 }), fc.option(validEntry, { nil: undefined })).map(([many, one]) => one === undefined ? many : [...many, one]) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }
)

const payloadArb = fc.record({
  supplier: fc.option(orgArb, { nil: undefined }),
  delegation_source: fc.option(fc.oneof({ weight: 6, arbitrary: fc.constantFrom('https://tt02.altinn.no/', 'https://www.altinn.no', '') }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 0 }) }), { nil: undefined, freq: 2 }),
  authorization_details: fc.option(detailsArb, { nil: undefined })
}).map((fields) => ({ iss: 'https://test.maskinporten.no/', scope: 'nav:a:b', ...objectOf(Object.entries(fields)) }))

t.test('the parser refuses only with its 401 reasons, and admits exactly what the model admits, as the model reads it', async (t) => {
  let admitted = 0
  let systemUsers = 0
  let delegated = 0
  fc.assert(fc.property(payloadArb, (payload) => {
    let parsed: PartyClaims | undefined
    try {
      parsed = readPartyClaims(payload)
    } catch (err) {
      if (!(err instanceof GateError) || err.code !== 'PORTVAKT_ERR_TOKEN_INVALID' || (err.reason !== 'bad_delegation' && err.reason !== 'bad_system_user')) throw err
    }
    const expected = model(payload)
    if (parsed === undefined) return expected === undefined
    admitted++
    if (parsed.systemUser !== undefined) systemUsers++
    if (parsed.supplier !== undefined) delegated++
    return isDeepStrictEqual({ ...parsed, systemUser: parsed.systemUser === undefined ? undefined : { ...parsed.systemUser } }, expected)
  }), { numRuns: fuzzRuns(4000) })
  // The generator must reach the interesting cases, or the property proves little.
  t.ok(admitted > 100, `${admitted} payloads admitted`)
  t.ok(systemUsers > 50, `${systemUsers} with a system user`)
  t.ok(delegated > 50, `${delegated} delegated`)
})

/**
 * The claim parser for delegated and system-user tokens (src/auth/party-claims.ts) on the shapes
 * Digdir and Altinn document, and on every malformed variant of them: a present claim is read whole
 * or the token is refused (bad_delegation, bad_system_user), never half-read, never a crash.
 */
import t from 'tap'
import { readPartyClaims } from '../src/auth/party-claims.js'
import { GateError } from '../src/http/errors.js'
import { CONSENT_ENTRY, CUSTOMER, delegatedClaims, org, SUPPLIER, SYSTEM_ID, SYSTEM_USER_ID, SYSTEM_USER_ORG, systemUserClaims, systemUserEntry, VENDOR } from './helpers/party-claims.js'

const PLAIN = { iss: 'https://test.maskinporten.no/', scope: 'nav:arbeid:a.read', consumer: org(VENDOR), iat: 1, exp: 2 }

// A case's name for the TAP stream: JSON with every non-ASCII character escaped (a raw U+2028 ends a TAP line).
function label (value: unknown): string {
  return (JSON.stringify(value) ?? 'missing').replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

function refusal (payload: Record<string, unknown>): { reason: string | undefined, message: string } | undefined {
  try {
    readPartyClaims(payload)
    return undefined
  } catch (err) {
    if (!(err instanceof GateError)) throw err
    return { reason: err.code === 'PORTVAKT_ERR_TOKEN_INVALID' ? err.reason : `code ${err.code}`, message: err.message }
  }
}

// Organisation values that are not `{authority: "iso6523-actorid-upis", ID: "0192:<9 ASCII digits>"}`.
const BAD_ORGS: ReadonlyArray<readonly [string, unknown]> = [
  ['a bare string', '0192:991825827'],
  ['null', null],
  ['a list', [org(SUPPLIER)]],
  ['a number', 991825827],
  ['no authority', { ID: '0192:991825827' }],
  ['another authority', { authority: 'iso6523-actorid-upis-x', ID: '0192:991825827' }],
  ['the authority in upper case', { authority: 'ISO6523-ACTORID-UPIS', ID: '0192:991825827' }],
  ['the authority with a space', { authority: 'iso6523-actorid-upis ', ID: '0192:991825827' }],
  ['no ID', { authority: 'iso6523-actorid-upis' }],
  ['a bare orgno', { authority: 'iso6523-actorid-upis', ID: '991825827' }],
  ['another scheme', { authority: 'iso6523-actorid-upis', ID: '0193:991825827' }],
  ['8 digits', { authority: 'iso6523-actorid-upis', ID: '0192:99182582' }],
  ['10 digits', { authority: 'iso6523-actorid-upis', ID: '0192:9918258270' }],
  ['a letter', { authority: 'iso6523-actorid-upis', ID: '0192:99182582a' }],
  ['a leading space', { authority: 'iso6523-actorid-upis', ID: ' 0192:991825827' }],
  ['a trailing newline', { authority: 'iso6523-actorid-upis', ID: '0192:991825827\n' }],
  ['CR/LF and a header', { authority: 'iso6523-actorid-upis', ID: '0192:991825827\r\nX-Maskinporten-Consumer: 1' }],
  ['full-width digits', { authority: 'iso6523-actorid-upis', ID: '0192:\uff19\uff19\uff11\uff18\uff12\uff15\uff18\uff12\uff17' }],
  ['Arabic-Indic digits', { authority: 'iso6523-actorid-upis', ID: '0192:\u0669\u0669\u0661\u0668\u0662\u0665\u0668\u0662\u0667' }],
  ['an ID that is a number', { authority: 'iso6523-actorid-upis', ID: 991825827 }],
  ['an ID that is a list', { authority: 'iso6523-actorid-upis', ID: ['0192:991825827'] }],
  ['ID and id that differ', { authority: 'iso6523-actorid-upis', ID: '0192:991825827', id: '0192:123456789' }],
  ['ID and an id that is no string', { authority: 'iso6523-actorid-upis', ID: '0192:991825827', id: 1 }],
  ['a __proto__ key', JSON.parse('{"authority":"iso6523-actorid-upis","ID":"0192:991825827","__proto__":{"ID":"0192:123456789"}}')],
  ['an ID only in __proto__', JSON.parse('{"authority":"iso6523-actorid-upis","__proto__":{"ID":"0192:991825827"}}')],
  ['a constructor key', { authority: 'iso6523-actorid-upis', ID: '0192:991825827', constructor: { prototype: {} } }],
  ['a prototype key', { authority: 'iso6523-actorid-upis', ID: '0192:991825827', prototype: 1 }]
]

t.test('a plain token has no supplier and no system user', async (t) => {
  t.same(readPartyClaims(PLAIN), { supplier: undefined, delegationSource: undefined, systemUser: undefined })
  t.same(readPartyClaims({ ...PLAIN, authorization_details: [] }), { supplier: undefined, delegationSource: undefined, systemUser: undefined }, 'an empty list holds none')
})

t.test('reads Digdir\'s delegated token: the supplier\'s orgno and the delegation source as it came', async (t) => {
  t.same(readPartyClaims({ ...PLAIN, ...delegatedClaims() }), { supplier: SUPPLIER, delegationSource: 'https://tt02.altinn.no/', systemUser: undefined })
  // Issue 19 writes the production source without its slash; it is taken as it comes either way.
  t.equal(readPartyClaims({ ...PLAIN, ...delegatedClaims(), delegation_source: 'https://www.altinn.no' }).delegationSource, 'https://www.altinn.no')
  t.equal(readPartyClaims({ ...PLAIN, supplier: org(SUPPLIER) }).supplier, SUPPLIER, 'a supplier without a source is still delegated')
  t.equal(readPartyClaims({ ...PLAIN, supplier: { ...org(SUPPLIER), name: 'Leverandør AS' } }).supplier, SUPPLIER, 'other keys of the organisation are left alone')
})

t.test('reads Altinn\'s system-user token: systemuser_id, the customer from systemuser_org (id or ID), system_id', async (t) => {
  const expected = { id: SYSTEM_USER_ID, org: SYSTEM_USER_ORG, systemId: SYSTEM_ID }
  t.same(readPartyClaims({ ...PLAIN, ...systemUserClaims() }).systemUser, expected, 'lower-case id, as Altinn\'s tokens spell it')
  t.same(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ systemuser_org: org(SYSTEM_USER_ORG, 'ID') })) }).systemUser, expected, 'upper-case ID, as the grant spells it')
  t.same(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ systemuser_org: { ...org(SYSTEM_USER_ORG), id: `0192:${SYSTEM_USER_ORG}` } })) }).systemUser, expected, 'both, agreeing')
  t.same(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ system_id: 'matrix_test' })) }).systemUser?.systemId, 'matrix_test', 'a system_id need not start with an orgno')
  t.same(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ system_id: undefined })) }).systemUser, { ...expected, systemId: undefined }, 'no system_id')
})

t.test('a consent entry beside the system user is passed over; alone it is no system user', async (t) => {
  const both = readPartyClaims({ ...PLAIN, authorization_details: [CONSENT_ENTRY, systemUserEntry()] })
  t.equal(both.systemUser?.org, SYSTEM_USER_ORG)
  t.equal(readPartyClaims({ ...PLAIN, authorization_details: [CONSENT_ENTRY] }).systemUser, undefined)
})

t.test('a supplier and a system user in one token are both read (Altinn\'s maskinporten.dev example)', async (t) => {
  const read = readPartyClaims({ ...PLAIN, ...delegatedClaims(), ...systemUserClaims() })
  t.equal(read.supplier, SUPPLIER)
  t.equal(read.systemUser?.id, SYSTEM_USER_ID)
  t.ok(Object.isFrozen(read) && Object.isFrozen(read.systemUser), 'frozen')
})

t.test('a malformed supplier refuses the token as bad_delegation', async (t) => {
  for (const [name, value] of BAD_ORGS) t.match(refusal({ ...PLAIN, ...delegatedClaims(), supplier: value }), { reason: 'bad_delegation', message: /^the token's supplier/ }, name)
})

t.test('a delegation_source that is no string, empty, or without a supplier refuses the token as bad_delegation', async (t) => {
  for (const source of [42, null, '', ['https://tt02.altinn.no/'], { iss: 'x' }, true]) {
    t.match(refusal({ ...PLAIN, ...delegatedClaims(), delegation_source: source }), { reason: 'bad_delegation', message: /delegation_source must be a non-empty string/ }, label(source))
  }
  t.match(refusal({ ...PLAIN, delegation_source: 'https://tt02.altinn.no/' }), { reason: 'bad_delegation', message: /delegation_source comes without a supplier/ })
})

t.test('a malformed systemuser_org refuses the token as bad_system_user', async (t) => {
  for (const [name, value] of BAD_ORGS) {
    t.match(refusal({ ...PLAIN, ...systemUserClaims(systemUserEntry({ systemuser_org: value })) }), { reason: 'bad_system_user', message: /systemuser_org/ }, name)
  }
  const without = systemUserEntry()
  delete without.systemuser_org
  t.match(refusal({ ...PLAIN, ...systemUserClaims(without) }), { reason: 'bad_system_user' }, 'no systemuser_org')
  // The 2024 pilot's keys, without underscores, are obsolete: such an entry has no systemuser_org.
  t.match(refusal({ ...PLAIN, ...systemUserClaims({ type: 'urn:altinn:systemuser', systemuserorg: org(SYSTEM_USER_ORG), systemuserid: [SYSTEM_USER_ID] }) }), { reason: 'bad_system_user' }, 'the obsolete keys')
})

t.test('a systemuser_id that is not a list of exactly one non-empty header-safe string refuses the token', async (t) => {
  const ids: unknown[] = [undefined, SYSTEM_USER_ID, ['a'.repeat(256)], [], [SYSTEM_USER_ID, SYSTEM_USER_ID], [SYSTEM_USER_ID, 'a545ca29-7fb8-4810-a2f2-0be171cb2a26'], [1], [null], [''], [[SYSTEM_USER_ID]], [{ id: SYSTEM_USER_ID }], ['a\r\nX-Injected: 1'], ['\u0100'], ['\u0085'], [SYSTEM_USER_ID + '\u0000'], { 0: SYSTEM_USER_ID, length: 1 }]
  for (const id of ids) t.match(refusal({ ...PLAIN, ...systemUserClaims(systemUserEntry({ systemuser_id: id })) }), { reason: 'bad_system_user', message: /systemuser_id/ }, label(id))
})

t.test('a system_id that is not a non-empty header-safe string refuses the token', async (t) => {
  for (const id of [42, null, '', 'x'.repeat(256), ['x'], { a: 1 }, 'lonn\r\nX-Injected: 1', 'l\u00f8nn\u2028', '\u0000']) {
    t.match(refusal({ ...PLAIN, ...systemUserClaims(systemUserEntry({ system_id: id })) }), { reason: 'bad_system_user', message: /system_id/ }, label(id))
  }
  t.equal(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ system_id: '991825827_lønn' })) }).systemUser?.systemId, '991825827_lønn', 'Latin-1 is header-safe')
  t.equal(readPartyClaims({ ...PLAIN, ...systemUserClaims(systemUserEntry({ system_id: 'x'.repeat(255) })) }).systemUser?.systemId?.length, 255, '255 characters are enough')
})

t.test('authorization_details that is not a short list of typed objects refuses the token as bad_system_user', async (t) => {
  const cases: ReadonlyArray<readonly [string, unknown, RegExp]> = [
    ['an object', systemUserEntry(), /must be a list/],
    ['a JSON string', JSON.stringify([systemUserEntry()]), /must be a list/],
    ['null', null, /must be a list/],
    ['a number', 1, /must be a list/],
    ['17 entries', Array.from({ length: 17 }, () => CONSENT_ENTRY), /more than 16 entries/],
    ['a huge list', Array.from({ length: 4000 }, () => 0), /more than 16 entries/],
    ['an entry that is null', [null], /entry must be an object/],
    ['an entry that is a string', ['urn:altinn:systemuser'], /entry must be an object/],
    ['an entry that is a list', [[systemUserEntry()]], /entry must be an object/],
    ['an entry without type', [{ systemuser_org: org(SYSTEM_USER_ORG) }], /no type string/],
    ['a type that is no string', [{ ...systemUserEntry(), type: ['urn:altinn:systemuser'] }], /no type string/],
    ['the type in upper case', [{ ...systemUserEntry(), type: 'URN:ALTINN:SYSTEMUSER' }], /is not spelt urn:altinn:systemuser/],
    ['the type in mixed case', [{ ...systemUserEntry(), type: 'urn:Altinn:systemuser' }], /is not spelt/],
    ['two system-user entries', [systemUserEntry(), systemUserEntry({ systemuser_org: org('222222222', 'id') })], /more than one urn:altinn:systemuser entry/],
    ['two identical system-user entries', [systemUserEntry(), systemUserEntry()], /more than one/],
    ['a __proto__ key in an entry', [JSON.parse(`{"__proto__":{"type":"x"},${JSON.stringify(systemUserEntry()).slice(1)}`)], /__proto__ key/],
    ['a __proto__ key in a consent entry', [JSON.parse('{"type":"urn:altinn:consent","__proto__":{"type":"urn:altinn:systemuser"}}')], /__proto__ key/],
    ['a constructor key in an entry', [{ ...systemUserEntry(), constructor: 1 }], /constructor key/],
    ['a type only in __proto__', [JSON.parse('{"__proto__":{"type":"urn:altinn:systemuser"}}')], /__proto__ key/]
  ]
  for (const [name, details, message] of cases) t.match(refusal({ ...PLAIN, authorization_details: details }), { reason: 'bad_system_user', message }, name)
})

t.test('an entry of another type is never read for its system-user keys', async (t) => {
  const lookalike = { ...systemUserEntry(), type: 'urn:altinn:systemuser:v2' }
  t.equal(readPartyClaims({ ...PLAIN, authorization_details: [lookalike] }).systemUser, undefined)
})

t.test('a malformed claim is refused whatever else the token holds: the customer and consumer stay as they were', async (t) => {
  t.match(refusal({ ...PLAIN, ...delegatedClaims(SUPPLIER, CUSTOMER), ...systemUserClaims(systemUserEntry({ systemuser_id: [] })) }), { reason: 'bad_system_user' })
  t.match(refusal({ ...PLAIN, ...delegatedClaims(), supplier: { authority: 'iso6523-actorid-upis', ID: '0192:1' }, ...systemUserClaims() }), { reason: 'bad_delegation' })
})

/**
 * Whom a token speaks for besides its `consumer`: the `supplier` of an Altinn API delegation, and the
 * system user of an `authorization_details` entry (RFC 9396) of type `urn:altinn:systemuser`, in the
 * shapes Digdir and Altinn document (docs/delegation.md). Read strictly and whole: a claim that is
 * present but not exactly such a shape refuses the token (401 `bad_delegation`, `bad_system_user`)
 * on every route, so no route ever decides on half of it. A token with neither costs two reads.
 */
import { isHeaderSafe } from './header-safe.js'
import { invalidToken } from './refusals.js'

/** A customer organisation's Altinn system user, as its token carries it. */
export interface SystemUser {
  /** `systemuser_id[0]`: what Altinn's PDP authorises (`urn:altinn:systemuser:uuid`) */
  readonly id: string
  /** the customer's orgno, from `systemuser_org` ("0192:<orgno>"): the organisation that created the system user */
  readonly org: string
  /** `system_id`, the vendor's system (e.g. `991825827_smartcloud`), when the token names one */
  readonly systemId: string | undefined
}

/** What party-claims reads from a payload. */
export interface PartyClaims {
  /** the supplier's orgno, when the token is delegated */
  readonly supplier: string | undefined
  readonly delegationSource: string | undefined
  readonly systemUser: SystemUser | undefined
}

// An organisation as Maskinporten writes one: ISO 6523 scheme 0192 (the Norwegian organisation number).
const ORG_AUTHORITY = 'iso6523-actorid-upis'
const ORG_ID = /^0192:(\d{9})$/
const SYSTEM_USER_TYPE = 'urn:altinn:systemuser'
// A real token carries one or two entries (a system user, a consent); the bound keeps an odd one cheap.
const MAX_DETAILS = 16
// Each id becomes a header beside Authorization: real ones are a UUID and `<orgno>_<name>`.
const MAX_TEXT = 255
// JSON.parse makes these ordinary keys, but code that copies or merges the object would not.
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype']

const NONE: PartyClaims = Object.freeze({ supplier: undefined, delegationSource: undefined, systemUser: undefined })

type Refuse = (message: string) => never

const refuseDelegation: Refuse = (message) => { throw invalidToken('bad_delegation', `the token's ${message}`) }
const refuseSystemUser: Refuse = (message) => { throw invalidToken('bad_system_user', `the token's ${message}`) }

function isObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The object's own value for `key` (never one from a prototype). */
function own (value: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(value, key) ? value[key] : undefined
}

function readObject (value: unknown, what: string, shape: string, refuse: Refuse): Record<string, unknown> {
  if (!isObject(value)) refuse(`${what} must be an object ${shape}`)
  const key = PROTOTYPE_KEYS.find((k) => Object.hasOwn(value, k))
  if (key !== undefined) refuse(`${what} has a ${key} key`)
  return value
}

/**
 * The orgno of `{authority: "iso6523-actorid-upis", ID: "0192:<9 digits>"}`. Altinn's documented
 * tokens spell the key `id` in `systemuser_org` and the grant `ID`: either is read, and both only
 * when they agree. Other keys are left alone (the claim may grow); the scheme and number are not.
 */
function readOrganisation (value: unknown, what: string, refuse: Refuse): string {
  const org = readObject(value, what, '{authority, ID}', refuse)
  if (own(org, 'authority') !== ORG_AUTHORITY) refuse(`${what}.authority must be "${ORG_AUTHORITY}"`)
  const upper = own(org, 'ID')
  const lower = own(org, 'id')
  if (upper !== undefined && lower !== undefined && upper !== lower) refuse(`${what} has both ID and id, and they differ`)
  const id = upper ?? lower
  const orgno = typeof id === 'string' ? ORG_ID.exec(id)?.[1] : undefined
  if (orgno === undefined) refuse(`${what}.ID must be "0192:" and a 9-digit organisation number`)
  return orgno
}

/** A string portvakt copies into a header: non-empty, short and header-safe. */
function readText (value: unknown, what: string, refuse: Refuse): string {
  if (typeof value !== 'string' || value === '') refuse(`${what} must be a non-empty string`)
  if (value.length > MAX_TEXT) refuse(`${what} is longer than ${MAX_TEXT} characters`)
  if (!isHeaderSafe(value)) refuse(`${what} holds a character that cannot be sent in a header (a control character, or one above U+00FF)`)
  return value
}

function readSystemUserEntry (entry: Record<string, unknown>): SystemUser {
  const what = `${SYSTEM_USER_TYPE} entry`
  const org = readOrganisation(own(entry, 'systemuser_org'), `${what}'s systemuser_org`, refuseSystemUser)
  // A list in the documented shape, of which Altinn's own PEP reads only the first; one, or the token is refused.
  const ids = own(entry, 'systemuser_id')
  if (!Array.isArray(ids) || ids.length !== 1) refuseSystemUser(`${what}'s systemuser_id must be a list of exactly one id`)
  const id = readText(ids[0], `${what}'s systemuser_id`, refuseSystemUser)
  const systemId = own(entry, 'system_id')
  return Object.freeze({ id, org, systemId: systemId === undefined ? undefined : readText(systemId, `${what}'s system_id`, refuseSystemUser) })
}

/** The one system user of `authorization_details`, if it has one; other entry types are passed over. */
function readSystemUser (details: unknown): SystemUser | undefined {
  if (details === undefined) return undefined
  if (!Array.isArray(details)) refuseSystemUser('authorization_details must be a list (RFC 9396 §2)')
  if (details.length > MAX_DETAILS) refuseSystemUser(`authorization_details has more than ${MAX_DETAILS} entries`)
  let found: SystemUser | undefined
  for (const item of details) {
    const entry = readObject(item, 'authorization_details entry', '{type, ...}', refuseSystemUser)
    const type = own(entry, 'type')
    if (typeof type !== 'string') refuseSystemUser('authorization_details entry has no type string (RFC 9396 §2)')
    if (type !== SYSTEM_USER_TYPE) {
      // Spelt otherwise, it would pass for "no system user" on a route that forbids one.
      if (type.toLowerCase() === SYSTEM_USER_TYPE) refuseSystemUser(`authorization_details type ${type} is not spelt ${SYSTEM_USER_TYPE}`)
      continue
    }
    if (found !== undefined) refuseSystemUser(`authorization_details has more than one ${SYSTEM_USER_TYPE} entry`)
    found = readSystemUserEntry(entry)
  }
  return found
}

function readDelegation (payload: Record<string, unknown>): Pick<PartyClaims, 'supplier' | 'delegationSource'> {
  const supplier = own(payload, 'supplier')
  const source = own(payload, 'delegation_source')
  if (source !== undefined && (typeof source !== 'string' || source === '')) refuseDelegation('delegation_source must be a non-empty string')
  // A delegation signal never goes unread: a source without a supplier is no plain token either.
  if (supplier === undefined) {
    if (source !== undefined) refuseDelegation('delegation_source comes without a supplier')
    return { supplier: undefined, delegationSource: undefined }
  }
  return { supplier: readOrganisation(supplier, 'supplier', refuseDelegation), delegationSource: source as string | undefined }
}

/**
 * Read `supplier`, `delegation_source` and `authorization_details` from a verified payload; throws
 * the refusal (a GateError, 401) for any of them present but malformed, and nothing else.
 */
export function readPartyClaims (payload: Record<string, unknown>): PartyClaims {
  if (!Object.hasOwn(payload, 'supplier') && !Object.hasOwn(payload, 'delegation_source') && !Object.hasOwn(payload, 'authorization_details')) return NONE
  const delegation = readDelegation(payload)
  const systemUser = readSystemUser(own(payload, 'authorization_details'))
  return Object.freeze({ ...delegation, systemUser })
}

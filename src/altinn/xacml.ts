/**
 * The PDP's language: the XACML JSON request Altinn documents for a system user (PascalCase, one
 * subject, one action, one resource per call), and its answer read as a verdict. Altinn's docs write
 * `Response`/`Decision`, its TT02 answers and NAV's fixtures `response`/`decision`, so keys are read
 * without regard to case; a key given twice in one object, in any case, makes the answer unreadable, never a guess.
 * https://docs.altinn.studio/authorization/what-do-you-get/pdp/ ; docs/altinn.md
 */
import { AmbiguousKey, assertNoRepeatedKeys, isObject, pick } from './json-keys.js'
import { judgeObligations, type ObligationVerdict } from './obligations.js'

/** What one PDP call asks: may this system user do this action on this resource for this organisation? */
export interface Question {
  /** `systemuser_id[0]`, sent as `urn:altinn:systemuser:uuid` */
  readonly systemUserId: string
  readonly resource: string
  readonly action: string
  /** the system user's organisation: nine digits, without `0192:` */
  readonly org: string
}

/** What the PDP's answer means for the request. */
export type Verdict =
  | { readonly decision: 'Permit', readonly obligations: ObligationVerdict }
  | { readonly decision: 'Deny' | 'NotApplicable' | 'Indeterminate', readonly status: string | undefined }
  | { readonly decision: 'unreadable' | 'not_one_result', readonly why: string }

const STRING = 'http://www.w3.org/2001/XMLSchema#string'

/** The request body Altinn's guide for API providers shows, for one question. */
export function buildRequest (q: Question): string {
  return JSON.stringify({
    Request: {
      ReturnPolicyIdList: true,
      AccessSubject: [{ Attribute: [{ AttributeId: 'urn:altinn:systemuser:uuid', Value: q.systemUserId }] }],
      Action: [{ Attribute: [{ AttributeId: 'urn:oasis:names:tc:xacml:1.0:action:action-id', Value: q.action, DataType: STRING }] }],
      Resource: [{
        Attribute: [
          { AttributeId: 'urn:altinn:resource', Value: q.resource },
          { AttributeId: 'urn:altinn:organization:identifier-no', Value: q.org }
        ]
      }]
    }
  })
}

class Unreadable extends Error {
  constructor (message: string, readonly kind: 'unreadable' | 'not_one_result' = 'unreadable') { super(message) }
}

function statusOf (result: Record<string, unknown>): string | undefined {
  const status = pick(result, 'status')
  if (!isObject(status)) return undefined
  const message = pick(status, 'statusMessage')
  const code = pick(status, 'statusCode')
  const value = isObject(code) ? pick(code, 'value') : undefined
  const text = [value, message].filter((v) => typeof v === 'string' && v !== '').join(': ')
  return text === '' ? undefined : text.slice(0, 200)
}

function readResult (result: unknown): Verdict {
  if (!isObject(result)) throw new Unreadable('its result is not an object')
  const decision = pick(result, 'decision')
  switch (decision) {
    case 'Permit': return { decision, obligations: judgeObligations(pick(result, 'obligations')) }
    case 'Deny':
    case 'NotApplicable':
    case 'Indeterminate':
      return { decision, status: statusOf(result) }
    default:
      throw new Unreadable(typeof decision === 'string' ? `its decision is ${JSON.stringify(decision.slice(0, 40))}, not one of XACML's` : 'its result has no decision')
  }
}

/** Read the PDP's answer body; anything but exactly one result with a known decision is unreadable. */
export function readVerdict (body: string): Verdict {
  try {
    let json: unknown
    try {
      json = JSON.parse(body)
    } catch {
      throw new Unreadable('it is not JSON')
    }
    assertNoRepeatedKeys(body)
    if (!isObject(json)) throw new Unreadable('it is not a JSON object')
    const results = pick(json, 'response')
    if (!Array.isArray(results)) throw new Unreadable('it has no response list')
    if (results.length !== 1) throw new Unreadable(`it has ${results.length} results, where one question has one`, 'not_one_result')
    return readResult(results[0])
  } catch (err) {
    if (err instanceof Unreadable) return { decision: err.kind, why: err.message }
    if (err instanceof AmbiguousKey) return { decision: 'unreadable', why: err.message }
    throw err
  }
}

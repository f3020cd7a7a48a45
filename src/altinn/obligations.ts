/**
 * The obligations on a Permit, judged for a system user. Altinn's PDP puts authentication-level
 * obligations on ordinary Permits; its own PEP finds them by assignment `category`
 * (Altinn/altinn-authorization, src/Altinn.Common.PEP/Altinn.Common.PEP/Helpers/DecisionHelper.cs):
 * the caller's level must reach `urn:altinn:minimum-authenticationlevel`, or, for a service owner
 * (`urn:altinn:org`) only, `urn:altinn:minimum-authenticationlevel-org`. A system user signed in
 * through Maskinporten is level 3 (Altinn's token exchange sets `urn:altinn:authlevel` 3; the policy
 * guide: "Maskinporten er definert som nivå 3") and no service owner, so the org level never applies
 * to it. Anything else is an obligation portvakt cannot honour, so the Permit is refused (XACML 3.0
 * §7.18: a PEP that does not understand an obligation must not permit).
 */
import { isObject, pick } from './json-keys.js'

/** A system user's authentication level. */
export const SYSTEM_USER_LEVEL = 3

const MINIMUM_LEVEL = 'urn:altinn:minimum-authenticationlevel'
const MINIMUM_LEVEL_ORG = 'urn:altinn:minimum-authenticationlevel-org'

/** Whether a Permit's obligations are met, and if not, why. */
export type ObligationVerdict =
  | { readonly met: true }
  | { readonly met: false, readonly kind: 'level', readonly why: string }
  | { readonly met: false, readonly kind: 'unknown', readonly why: string }

const MET: ObligationVerdict = Object.freeze({ met: true })


function readLevel (value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : value
  return typeof text === 'string' && /^\d{1,2}$/.test(text) ? Number(text) : undefined
}

function unknown (why: string): ObligationVerdict {
  return { met: false, kind: 'unknown', why }
}

function judgeAssignment (assignment: unknown): ObligationVerdict {
  if (!isObject(assignment)) return unknown('an obligation\'s attributeAssignment entry is not an object')
  const category = pick(assignment, 'category')
  const level = readLevel(pick(assignment, 'value'))
  if (category !== MINIMUM_LEVEL && category !== MINIMUM_LEVEL_ORG) {
    return unknown(`the Permit carries an obligation of category ${typeof category === 'string' ? category.slice(0, 100) : '(none)'}, which portvakt does not understand`)
  }
  if (level === undefined) return unknown(`the Permit's ${category} obligation has no whole-number value`)
  if (category === MINIMUM_LEVEL && level > SYSTEM_USER_LEVEL) {
    return { met: false, kind: 'level', why: `the resource's policy asks authentication level ${level}, and a system user is level ${SYSTEM_USER_LEVEL}` }
  }
  return MET
}

/** Judge a result's `obligations` (absent or null: none), from an answer readVerdict has checked. */
export function judgeObligations (obligations: unknown): ObligationVerdict {
  if (obligations === undefined || obligations === null) return MET
  if (!Array.isArray(obligations)) return unknown('the Permit\'s obligations are not a list')
  for (const obligation of obligations) {
    if (!isObject(obligation)) return unknown('an obligation is not an object')
    const assignments = pick(obligation, 'attributeAssignment')
    if (!Array.isArray(assignments) || assignments.length === 0) return unknown('an obligation has no attributeAssignment to say what it asks')
    for (const assignment of assignments) {
      const verdict = judgeAssignment(assignment)
      if (!verdict.met) return verdict
    }
  }
  return MET
}

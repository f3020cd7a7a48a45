/**
 * A route's delegation and system-user rules (config/party-rules.ts) on verified claims: who the
 * token speaks for, besides the consumer. Each rule not met is a 403 with its own code; only routes
 * that set a rule come here (scopes.ts), so the others pay nothing.
 */
import type { PartyRules } from '../config/party-rules.js'
import { GateError, type ErrorCode } from '../http/errors.js'
import type { Claims } from './claims.js'

function refuse (code: ErrorCode, message: string, scope: string | undefined): never {
  throw new GateError(code, message, { scope })
}

/** Throw unless the claims meet the rules; `scope` goes into the challenge as for the other 403s. */
export function authorizeParties (rules: PartyRules, claims: Claims, scope: string | undefined): void {
  const { supplier, systemUser } = claims
  if (supplier === undefined) {
    if (rules.delegation === 'required') refuse('PORTVAKT_ERR_DELEGATION_REQUIRED', 'this route takes delegated tokens only (delegation: required): the token has no supplier', scope)
  } else {
    if (rules.delegation === 'forbidden') refuse('PORTVAKT_ERR_DELEGATION_FORBIDDEN', 'this route takes no delegated tokens (delegation: forbidden): call with a token of your own organisation', scope)
    if (rules.suppliers !== undefined && !rules.suppliers.has(supplier)) refuse('PORTVAKT_ERR_SUPPLIER_NOT_ALLOWED', 'this route takes delegated tokens only from the suppliers it lists (suppliers), and the token\'s supplier is not one of them', scope)
  }
  if (systemUser === undefined) {
    if (rules.systemUser === 'required') refuse('PORTVAKT_ERR_SYSTEM_USER_REQUIRED', 'this route takes Altinn system-user tokens only (systemUser: required): the token has no urn:altinn:systemuser entry in authorization_details', scope)
    return
  }
  if (rules.systemUser === 'forbidden') refuse('PORTVAKT_ERR_SYSTEM_USER_FORBIDDEN', 'this route takes no Altinn system-user tokens (systemUser: forbidden)', scope)
  if (rules.systemUserOrgs !== undefined && !rules.systemUserOrgs.has(systemUser.org)) refuse('PORTVAKT_ERR_SYSTEM_USER_ORG_NOT_ALLOWED', 'this route takes system users only of the organisations it lists (systemUserOrgs), and the token\'s systemuser_org is not one of them', scope)
  if (rules.systems !== undefined && (systemUser.systemId === undefined || !rules.systems.has(systemUser.systemId))) {
    refuse('PORTVAKT_ERR_SYSTEM_NOT_ALLOWED', systemUser.systemId === undefined
      ? 'this route takes system users only of the systems it lists (systems), and the token names no system_id'
      : 'this route takes system users only of the systems it lists (systems), and the token\'s system_id is not one of them', scope)
  }
}

/** Per-route authorisation on verified claims: audience, scopes, consumers, delegation and system user. */
import type { Route } from '../config/routes.js'
import { GateError } from '../http/errors.js'
import { authorizeParties } from './parties.js'
import type { Claims } from './verify.js'

/** Throw unless the claims satisfy the route: 401 for a wrong audience, 403 when short. */
export function authorize (route: Route, claims: Claims): void {
  if (route.audience !== undefined && !claims.aud.includes(route.audience)) {
    // The audience is no secret (a consumer asks for it with resource), and the 403 names its scopes likewise.
    throw new GateError('PORTVAKT_ERR_TOKEN_INVALID', `the token is not meant for this API: this route needs aud ${route.audience}; ask Maskinporten for a token with resource=${route.audience}`, { reason: 'wrong_audience' })
  }
  const required = route.scopes
  if (required !== undefined) {
    const held = claims.scopes
    const ok = required.mode === 'all' ? required.list.every((s) => held.has(s)) : required.list.some((s) => held.has(s))
    if (!ok) {
      const what = required.mode === 'all' ? 'all of' : 'one of'
      throw new GateError('PORTVAKT_ERR_INSUFFICIENT_SCOPE', `the token lacks the scope this route needs (${what}: ${required.list.join(' ')})`, { scope: required.list.join(' ') })
    }
  }
  if (route.consumers !== undefined && (claims.orgno === undefined || !route.consumers.has(claims.orgno))) {
    throw new GateError('PORTVAKT_ERR_CONSUMER_NOT_ALLOWED', 'this consumer organisation may not use this route', { scope: required?.list.join(' ') })
  }
  if (route.parties !== undefined) authorizeParties(route.parties, claims, required?.list.join(' '))
}

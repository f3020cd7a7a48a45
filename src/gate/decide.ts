/**
 * The gate: one straight road from request target to decision (STYLE "The shape"). It never
 * forwards anything itself; it returns the route and claims, or throws a GateError.
 */
import type { AltinnDecider, AltinnOutcome } from '../altinn/decide.js'
import { altinnUnavailable } from '../altinn/unavailable.js'
import { authorize } from '../auth/scopes.js'
import { extractBearer } from '../auth/bearer.js'
import type { Claims, TokenVerifier } from '../auth/verify.js'
import type { Route, RouteTable } from '../config/routes.js'
import { matchRoute } from './match.js'
import { checkTransferEncoding } from './framing.js'
import { checkPath } from './path.js'

/** What the gate decided for an allowed request. */
export interface Decision {
  route: Route
  /** the verified claims; undefined on a public route */
  claims: Claims | undefined
}

/** The parts of an incoming request the gate looks at. */
export interface GateRequest {
  url: string
  method: string
  headers: Record<string, string | string[] | undefined>
  rawHeaders: readonly string[]
}

/** Where the gate notes what it found before it decides, so a refusal's access line can say it. */
export interface DecisionNotes {
  route: Route | undefined
  /** the verified claims of a token the route then refused (403), or admitted */
  claims: Claims | undefined
  /** what Altinn's PDP decided on the route's `altinn` question, and whether from the cache */
  altinn: AltinnOutcome | undefined
  altinnCached: boolean | undefined
}

/**
 * Decide a request; partial decisions (the route, then the verified claims) are noted in `notes`
 * for logging. Throws a GateError at once for what needs no key (framing, path, route, missing
 * token), and answers at once when the verifier does (a cached token); only a token verified in
 * full makes it a promise.
 */
export function decide (request: GateRequest, table: RouteTable, verify: TokenVerifier, notes?: DecisionNotes, altinn?: AltinnDecider): Decision | Promise<Decision> {
  checkTransferEncoding(request.headers)
  const path = checkPath(request.url)
  const route = matchRoute(table, path, request.method)
  if (notes !== undefined) notes.route = route
  if (route.public) return { route, claims: undefined }
  const token = extractBearer(request.headers, request.rawHeaders)
  const claims = verify(token)
  if (claims instanceof Promise) return claims.then((verified) => authorizeDecision(route, request.method, verified, notes, altinn))
  return authorizeDecision(route, request.method, claims, notes, altinn)
}

function authorizeDecision (route: Route, method: string, claims: Claims, notes: DecisionNotes | undefined, altinn: AltinnDecider | undefined): Decision | Promise<Decision> {
  if (notes !== undefined) notes.claims = claims
  authorize(route, claims)
  const decision = { route, claims }
  if (route.altinn === undefined) return decision
  // A reload may bring the first altinn route to a gateway started without PORTVAKT_ALTINN_URL: closed.
  if (altinn === undefined) throw altinnUnavailable('the route asks Altinn, but PORTVAKT_ALTINN_URL is not set')
  const asked = altinn.decide(route.altinn, method, claims, notes === undefined
    ? undefined
    : (outcome, cached) => { notes.altinn = outcome; notes.altinnCached = cached })
  return asked instanceof Promise ? asked.then(() => decision) : decision
}

/**
 * HEAD follows GET. Spring, Express and Ktor (AutoHeadResponse) answer HEAD by running the GET
 * handler (RFC 9110 §9.3.2: HEAD is GET without the content), so a route that lists GET admits HEAD
 * with the same requirements, and a table that gives HEAD other requirements than the GET the app
 * would run is refused: the app would run the GET handler under HEAD's. That GET is the one on the
 * same path, or, for a route that admits HEAD without GET, the GET its path would fall to without
 * it: the deepest route above it that admits GET (`GET /api` governs `GET /api/item` until a route
 * `HEAD /api/item` takes that path, when GET there becomes a 405 but the app's GET handler still
 * runs for HEAD). Refusing is simpler to read than deciding by the stricter route, and the fix is
 * one line in the table.
 */
import { sameAltinnQuestion } from './altinn-rules.js'
import { samePartyRules } from './party-rules.js'
import type { Method, RouteInput } from './route-schema.js'
import type { Route } from './routes.js'
import type { Problem } from './schema-issues.js'

/** The paths on which some route names HEAD itself (or every method, by leaving `methods` out). */
export function pathsWithOwnHead (inputs: readonly RouteInput[]): Set<string> {
  return new Set(inputs.filter((r) => r.methods === undefined || r.methods.includes('HEAD')).map((r) => r.path))
}

/** A route's methods with HEAD after GET, unless it lists HEAD or another route on its path does. */
export function withImpliedHead (input: RouteInput, ownHead: ReadonlySet<string>): readonly Method[] | undefined {
  if (input.methods === undefined || !input.methods.includes('GET') || ownHead.has(input.path)) return input.methods
  return input.methods.flatMap((m): Method[] => m === 'GET' ? ['GET', 'HEAD'] : [m])
}

function sortedKey (list: Iterable<string> | undefined): string {
  return list === undefined ? '-' : [...list].sort().join(' ')
}

/** Whether a GET route `a` and a HEAD route `b` ask the same of a request: public, scopes (as sets), audience, consumers, delegation and system-user rules, Altinn's question. */
export function sameRequirements (a: Route, b: Route): boolean {
  return a.public === b.public &&
    a.scopes?.mode === b.scopes?.mode &&
    sortedKey(a.scopes?.list) === sortedKey(b.scopes?.list) &&
    a.audience === b.audience &&
    sortedKey(a.consumers) === sortedKey(b.consumers) &&
    samePartyRules(a.parties, b.parties) &&
    sameAltinnQuestion(a.altinn, b.altinn)
}

/** Whether `prefix` is `path` or one of its ancestors, on whole segments. */
export function isAncestorOrSelf (prefix: string, path: string): boolean {
  return prefix === path || prefix === '/' || path.startsWith(`${prefix}/`)
}

/** The GET the app runs for HEAD on `head`'s path: on the same path, else the deepest route above it that admits GET. */
function governingGet (routes: readonly Route[], head: Route): Route | undefined {
  const same = routes.find((r) => r.path === head.path && r.methods.includes('GET'))
  if (same !== undefined) return same
  let deepest: Route | undefined
  for (const r of routes) {
    if (r.methods.includes('GET') && isAncestorOrSelf(r.path, head.path) && (deepest === undefined || r.path.length > deepest.path.length)) deepest = r
  }
  return deepest
}

/** A problem for each route whose HEAD asks other than the GET the app would run for it, at the HEAD route's line. */
export function checkHeadRequirements (routes: readonly Route[], file: string): Problem[] {
  const problems: Problem[] = []
  for (const head of routes) {
    if (!head.methods.includes('HEAD')) continue
    const get = governingGet(routes, head)
    if (get === undefined || get === head || sameRequirements(get, head)) continue
    const above = get.path === head.path ? '' : ` (the route GET ${head.path} falls to without this one)`
    problems.push({
      line: head.line,
      text: `${file}:${head.line}: HEAD ${head.path} asks other scopes, audience, consumers, delegation and system-user rules or Altinn action than GET ${get.path} at line ${get.line}${above}, but the app answers HEAD with its GET handler (RFC 9110 §9.3.2): remove HEAD here (GET admits it with GET's requirements), or give this route the same requirements as GET`
    })
  }
  return problems
}

/**
 * HEAD follows GET. Spring, Express and Ktor (AutoHeadResponse) answer HEAD by running the GET
 * handler (RFC 9110 §9.3.2: HEAD is GET without the content), so a route that lists GET admits HEAD
 * with the same requirements, and a table that gives HEAD other requirements than GET on the same
 * path is refused: the app would run the GET handler under HEAD's.
 */
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

/** Whether two routes ask the same of a request: public, scopes (as sets), audience, consumers, delegation and system-user rules. */
export function sameRequirements (a: Route, b: Route): boolean {
  return a.public === b.public &&
    a.scopes?.mode === b.scopes?.mode &&
    sortedKey(a.scopes?.list) === sortedKey(b.scopes?.list) &&
    a.audience === b.audience &&
    sortedKey(a.consumers) === sortedKey(b.consumers) &&
    samePartyRules(a.parties, b.parties)
}

/** A problem for each route whose HEAD asks other than the GET on its path, at the HEAD route's line. */
export function checkHeadRequirements (routes: readonly Route[], file: string): Problem[] {
  const problems: Problem[] = []
  for (const head of routes) {
    if (!head.methods.includes('HEAD')) continue
    const get = routes.find((r) => r.path === head.path && r.methods.includes('GET'))
    if (get === undefined || get === head || sameRequirements(get, head)) continue
    problems.push({
      line: head.line,
      text: `${file}:${head.line}: HEAD ${head.path} asks other scopes, audience, consumers or delegation and system-user rules than GET ${head.path} at line ${get.line}, but the app answers HEAD with its GET handler (RFC 9110 §9.3.2): remove HEAD here (GET admits it with GET's requirements), or give this route the same requirements as GET`
    })
  }
  return problems
}

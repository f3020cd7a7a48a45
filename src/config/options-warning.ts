/**
 * OPTIONS asking less than the other methods on a path: a CORS preflight carries no token, so a
 * public OPTIONS route is common, but Express's `app.all` and `app.use`, Koa middleware and Ktor's
 * `route { handle {} }` run the same handler for OPTIONS as for the methods the path guards (Spring
 * MVC does not: a mapping without methods leaves a non-preflight OPTIONS to its default handler).
 * So `check` and the start line warn: such an app runs that handler under OPTIONS's weaker terms.
 * A warning, not a refusal: the table is right for an app that answers OPTIONS itself.
 */
import { isAncestorOrSelf, sameRequirements } from './implied-head.js'
import type { Route } from './routes.js'

/** The routes whose terms the app's handler on `options.path` is meant to have: other methods on the path, else the deepest route above it. */
function guarding (routes: readonly Route[], options: Route): Route[] {
  const others = routes.filter((r) => r !== options && r.path === options.path)
  if (others.length > 0) return others
  const above = routes.filter((r) => r !== options && isAncestorOrSelf(r.path, options.path))
  const depth = Math.max(-1, ...above.map((r) => r.path.length))
  return above.filter((r) => r.path.length === depth)
}

/** A warning for each route that admits OPTIONS with other terms than the rest of its path. */
export function describeWeakOptions (routes: readonly Route[], file: string): string[] {
  const warnings: string[] = []
  for (const route of routes) {
    if (!route.methods.includes('OPTIONS') || route.methods.length > 1) continue
    const other = guarding(routes, route).find((r) => !sameRequirements(r, route))
    if (other === undefined) continue
    warnings.push(`${file}:${route.line}: OPTIONS ${route.path} asks other scopes, audience or consumers than ${other.id} at line ${other.line}; an app whose handler takes every method there (Express app.all or app.use, Koa middleware, Ktor handle) runs it for OPTIONS under these terms: let the app answer only preflights there, or give OPTIONS the same requirements`)
  }
  return warnings
}

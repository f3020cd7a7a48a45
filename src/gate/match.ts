/** Route matching: the longest path prefix on whole segments, then the method. */
import { GateError } from '../http/errors.js'
import type { Route, RouteTable } from '../config/routes.js'

/** Find the route for a decoded path and method; throws 404 (no prefix) or 405 (no method). */
export function matchRoute (table: RouteTable, path: string, method: string): Route {
  let candidate = path
  for (;;) {
    const entry = table.byPath.get(candidate)
    if (entry !== undefined) {
      const route = entry.byMethod.get(method)
      if (route === undefined) throw new GateError('PORTVAKT_ERR_METHOD_NOT_ALLOWED', `${method} is not routed for this path`, { allow: entry.allow })
      return route
    }
    if (candidate === '/') break
    const cut = candidate.lastIndexOf('/')
    candidate = cut <= 0 ? '/' : candidate.slice(0, cut)
  }
  throw new GateError('PORTVAKT_ERR_NOT_FOUND', 'no route matches this path')
}

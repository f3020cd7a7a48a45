/** Route matching: the longest path prefix on whole segments (in any letter case, one route only), then the method. */
import { GateError } from '../http/errors.js'
import type { Route, RouteTable } from '../config/routes.js'
import { checkLetterCase } from './letter-case.js'
import { headOf, longestPrefix } from './prefix.js'

/** Find the route for a decoded path and method; throws 400 (letter case), 404 (no prefix) or 405 (no method). */
export function matchRoute (table: RouteTable, path: string, method: string): Route {
  // Segments past the deepest route can't change the match, exact or folded: both walks skip them.
  const head = headOf(path, table.depth)
  const entry = longestPrefix(table.byPath, head)
  checkLetterCase(table, head, entry)
  if (entry === undefined) throw new GateError('PORTVAKT_ERR_NOT_FOUND', 'no route matches this path')
  const route = entry.byMethod.get(method)
  if (route === undefined) throw new GateError('PORTVAKT_ERR_METHOD_NOT_ALLOWED', `${method} is not routed for this path`, { allow: entry.allow })
  return route
}

/**
 * Letter case: the route we authorise must be the route an app that ignores case would choose.
 * Express (by default) and ASP.NET Core route without regard to case, so with routes `/api` (read)
 * and `/api/admin` (admin), `/api/ADMIN` is `/api` to an exact match and the admin handler to the
 * app. A request is refused (400) when the path entry its folded spelling selects is not the one its
 * exact spelling selects; deciding "by the stricter route" instead is not defined when the two ask
 * for different scopes, and a refusal can't be turned into access. Exactly spelled requests, and
 * requests whose other spelling changes nothing (`/api/Other` under `/api`), pass.
 */
import { foldCase, mayFold } from '../config/case-fold.js'
import type { PathEntry, RouteTable } from '../config/routes.js'
import { GateError } from '../http/errors.js'
import { longestPrefix } from './prefix.js'

/** Throw PORTVAKT_ERR_BAD_PATH unless folding `path` selects exactly `entry` (the exact match of `path`, if any). */
export function checkLetterCase (table: RouteTable, path: string, entry: PathEntry | undefined): void {
  // Lower-case ASCII against a lower-case table: the folded walk is the exact one.
  if (table.foldStable && !mayFold(path)) return
  const folded = longestPrefix(table.byFold, foldCase(path))
  if (folded === undefined || (folded.length === 1 && folded[0] === entry)) return
  if (folded.length === 1) {
    throw new GateError('PORTVAKT_ERR_BAD_PATH', `the path's letter case differs from the route ${folded[0]?.path ?? ''}; send it as written in the route table`)
  }
  throw new GateError('PORTVAKT_ERR_BAD_PATH', `the routes ${folded.map((e) => e.path).join(' and ')} differ only by letter case, and an app that ignores case could serve this path from any of them; the route table must name them apart`)
}

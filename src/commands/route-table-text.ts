/**
 * The compiled route table as `portvakt check` prints it: aligned columns, one row per route (the
 * delegation, system-user and Altinn columns only where the table uses them), then the egress targets.
 */
import type { AltinnRule } from '../config/altinn-rules.js'
import type { Route, RouteTable } from '../config/routes.js'
import { METHODS } from '../config/route-schema.js'

/** A route's scopes as the SCOPES column shows them. */
function describeScopes (route: Route): string {
  if (route.public) return 'public (no token)'
  if (route.scopes === undefined) return ''
  return route.scopes.mode === 'any' ? `any of: ${route.scopes.list.join(', ')}` : route.scopes.list.join(', ')
}

function formatColumns (rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => row[i]?.length ?? 0))) ?? []
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n') + '\n'
}

// A rule and its lists: `required (suppliers: 111111111)`; `-` on a route that keeps the defaults.
function describeRule (rule: string | undefined, lists: ReadonlyArray<readonly [string, ReadonlySet<string> | undefined]>): string {
  if (rule === undefined) return '-'
  const listed = lists.filter(([, set]) => set !== undefined).map(([name, set]) => `${name}: ${[...set ?? []].join(',')}`)
  return listed.length === 0 ? rule : `${rule} (${listed.join('; ')})`
}

// `kravogbetaling: GET,HEAD=read POST=write`; `-` on a route that does not ask Altinn.
function describeAltinn (rule: AltinnRule | undefined): string {
  if (rule === undefined) return '-'
  const byAction = new Map<string, string[]>()
  for (const [method, action] of rule.actions) byAction.set(action, [...(byAction.get(action) ?? []), method])
  return `${rule.resource}: ${[...byAction].map(([action, methods]) => `${methods.join(',')}=${action}`).join(' ')}`
}

/** Render the compiled table as aligned columns: the routes, then the egress targets when there are any. */
export function formatRouteTable (table: RouteTable): string {
  // The delegation and system-user columns only for a table that sets such rules.
  const parties = table.routes.some((r) => r.parties !== undefined)
  // And the Altinn column only for a table with altinn routes.
  const altinn = table.routes.some((r) => r.altinn !== undefined)
  const routes = [['LINE', 'PATH', 'METHODS', 'SCOPES', 'AUDIENCE', 'CONSUMERS', ...(parties ? ['DELEGATION', 'SYSTEM USER'] : []), ...(altinn ? ['ALTINN'] : [])]]
  for (const r of table.routes) {
    const methods = r.methods.length === METHODS.length ? '*' : r.methods.join(',')
    const row = [String(r.line), r.path, methods, describeScopes(r), r.audience ?? '-', r.consumers === undefined ? '-' : [...r.consumers].join(',')]
    if (parties) {
      const p = r.parties
      row.push(describeRule(p?.delegation, [['suppliers', p?.suppliers]]), describeRule(p?.systemUser, [['orgs', p?.systemUserOrgs], ['systems', p?.systems]]))
    }
    if (altinn) row.push(describeAltinn(r.altinn))
    routes.push(row)
  }
  if (table.egress.length === 0) return formatColumns(routes)
  // The scopes as the token request's `target` carries them: space-joined.
  const egress = [['LINE', 'EGRESS', 'URL', 'SCOPES', 'RESOURCE'], ...table.egress.map((e) => [String(e.line), e.name, e.url, e.target, e.resource ?? '-'])]
  return (table.routes.length === 0 ? '' : formatColumns(routes) + '\n') + formatColumns(egress)
}

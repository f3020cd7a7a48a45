/**
 * `portvakt check`: validate a route table without starting anything, print it compiled, and
 * optionally cross-check it against the NAIS manifest: the scopes the routes need against what it
 * exposes, the scopes egress requests against what it consumes (the typos that would otherwise
 * surface as 403s, or as a token endpoint refusing, in production).
 */
import { ConfigError } from '../config/errors.js'
import type { AltinnRule } from '../config/altinn-rules.js'
import { loadRoutes, type Route, type RouteTable } from '../config/routes.js'
import { METHODS } from '../config/route-schema.js'
import { loadManifestScopes, type ConsumedScope, type ExposedScope, type ManifestScopes } from './manifest.js'

/** What `check` found: the text to print and whether the table is usable. */
export interface CheckReport {
  ok: boolean
  /** the compiled table, when it compiled */
  table: string | undefined
  errors: readonly string[]
  warnings: readonly string[]
}

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

// Levenshtein distance, for "did you mean"; scopes are short, so the quadratic table is fine.
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) row.push(Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)))
    prev = row
  }
  return prev[b.length] ?? 0
}

function suggest (scope: string, known: ReadonlyArray<{ scope: string }>): string {
  const best = known.map((e) => ({ scope: e.scope, d: distance(scope, e.scope) })).sort((x, y) => x.d - y.d)[0]
  return best !== undefined && best.d <= Math.max(2, Math.floor(scope.length / 5)) ? `; did you mean ${best.scope}?` : ''
}

/** Compare the routes' scopes with what the manifest exposes: missing or disabled is an error, unused a warning. */
export function crossCheck (table: RouteTable, exposed: readonly ExposedScope[], manifest: string): { errors: string[], warnings: string[] } {
  const errors: string[] = []
  const used = new Set<string>()
  const byScope = new Map(exposed.map((e) => [e.scope, e]))
  for (const route of table.routes) {
    for (const scope of route.scopes?.list ?? []) {
      used.add(scope)
      const entry = byScope.get(scope)
      const where = `${table.source}:${route.line}: ${route.id} needs ${scope}`
      if (entry === undefined) errors.push(`${where}, which ${manifest} does not expose (spec.maskinporten.scopes.exposes)${suggest(scope, exposed)}`)
      else if (!entry.enabled) errors.push(`${where}, which ${manifest}:${entry.line} exposes without enabled: true, so no consumer can get it`)
    }
  }
  const warnings = exposed.filter((e) => !used.has(e.scope))
    .map((e) => `${manifest}:${e.line}: ${e.scope} is exposed but no route needs it; a token with only this scope reaches nothing`)
  warnings.push(...checkConsumers(table, byScope, manifest), ...checkDelegable(table, byScope, manifest))
  return { errors, warnings }
}

/**
 * Maskinporten issues a delegated token only for scopes registered with a delegation source
 * (Digdir, "Delegering i Maskinporten"; the NAIS field `delegationSource`: "Default is empty, which
 * means no delegation is allowed"), so `delegation: required` on a route whose scopes have none
 * admits no token at all. Nothing else about delegation or system users is held to the manifest:
 * the scope is granted to the `consumer` (the customer of a delegation, the vendor of a system
 * user), which `checkConsumers` covers, and suppliers and system-user customers need no grant.
 */
function checkDelegable (table: RouteTable, byScope: ReadonlyMap<string, ExposedScope>, manifest: string): string[] {
  return table.routes.flatMap((route) => {
    if (route.parties?.delegation !== 'required' || route.scopes === undefined) return []
    const exposed = route.scopes.list.map((s) => byScope.get(s)).filter((e) => e !== undefined)
    const closed = exposed.filter((e) => e.delegationSource === undefined)
    const unreachable = route.scopes.mode === 'any' ? exposed.length > 0 && closed.length === exposed.length : closed.length > 0
    if (!unreachable) return []
    const which = closed.map((e) => `${e.scope} (line ${e.line})`).join(' and ')
    return [`${table.source}:${route.line}: ${route.id} has delegation: required, but ${manifest} exposes ${which} without delegationSource, so Maskinporten issues no delegated token for ${route.scopes.mode === 'any' || closed.length > 1 ? 'them' : 'it'} and no token reaches this route`]
  })
}

// A route's consumer can only get a token for it if the manifest grants that orgno a scope the route accepts.
function checkConsumers (table: RouteTable, byScope: ReadonlyMap<string, ExposedScope>, manifest: string): string[] {
  const warnings: string[] = []
  for (const route of table.routes) {
    const scopes = route.scopes?.list ?? []
    for (const orgno of route.consumers ?? []) {
      const granted = scopes.filter((s) => byScope.get(s)?.consumers.has(orgno) === true)
      const enough = route.scopes?.mode === 'any' ? granted.length > 0 : granted.length === scopes.length
      if (!enough) warnings.push(`${table.source}:${route.line}: ${route.id} admits consumer ${orgno}, but ${manifest} does not grant it ${route.scopes?.mode === 'any' ? 'any of ' : ''}${scopes.join(', ')} (exposes[].consumers), so it cannot get a token for this route`)
    }
  }
  return warnings
}

/**
 * Compare the egress targets' scopes with what the manifest consumes: the token endpoint refuses a
 * scope the app does not consume, so that is an error; a consumed scope no target requests is a
 * warning. A table without egress says nothing about consumes: the app may fetch its own tokens.
 */
export function crossCheckEgress (table: RouteTable, consumed: readonly ConsumedScope[], manifest: string): { errors: string[], warnings: string[] } {
  if (table.egress.length === 0) return { errors: [], warnings: [] }
  const known = new Set(consumed.map((c) => c.scope))
  const requested = new Set(table.egress.flatMap((e) => e.scopes))
  const errors = table.egress.flatMap((e) => e.scopes.filter((scope) => !known.has(scope)).map((scope) =>
    `${table.source}:${e.line}: egress ${e.name} requests ${scope}, which ${manifest} does not consume (spec.maskinporten.scopes.consumes), so the token endpoint would refuse it${suggest(scope, consumed)}`))
  const warnings = consumed.filter((c) => !requested.has(c.scope)).map((c) => `${manifest}:${c.line}: ${c.scope} is consumed but no egress target requests it`)
  return { errors, warnings }
}

function crossCheckManifest (table: RouteTable, scopes: ManifestScopes, manifest: string): { errors: string[], warnings: string[] } {
  const needsExposes = table.routes.some((r) => r.scopes !== undefined)
  const routes = scopes.exposed === undefined
    ? { errors: needsExposes ? [`${manifest}: no spec.maskinporten.scopes.exposes; is this the NAIS manifest of the API portvakt guards?`] : [], warnings: [] }
    : crossCheck(table, scopes.exposed, manifest)
  const egress = crossCheckEgress(table, scopes.consumed ?? [], manifest)
  return { errors: [...routes.errors, ...egress.errors], warnings: [...routes.warnings, ...egress.warnings] }
}

/** Check `routesFile` (and `manifestFile` when given); never throws for problems in either file. */
export async function checkRoutes (routesFile: string, manifestFile?: string): Promise<CheckReport> {
  let table: RouteTable
  try {
    table = await loadRoutes(routesFile)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, table: undefined, errors: err.problems, warnings: [] }
  }
  const text = formatRouteTable(table)
  // The table's own warnings (paths that differ only by letter case) come first.
  if (manifestFile === undefined) return { ok: true, table: text, errors: [], warnings: table.warnings }
  let scopes: ManifestScopes
  try {
    scopes = await loadManifestScopes(manifestFile)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, table: text, errors: err.problems, warnings: table.warnings }
  }
  const { errors, warnings } = crossCheckManifest(table, scopes, manifestFile)
  return { ok: errors.length === 0, table: text, errors, warnings: [...table.warnings, ...warnings] }
}

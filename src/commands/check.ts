/**
 * `portvakt check`: validate a route table without starting anything, print it compiled, and
 * optionally cross-check it against the NAIS manifest: the scopes the routes need against what it
 * exposes, the scopes egress requests against what it consumes (the typos that would otherwise
 * surface as 403s, or as a token endpoint refusing, in production).
 */
import { ConfigError } from '../config/errors.js'
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

/** Render the compiled table as aligned columns: the routes, then the egress targets when there are any. */
export function formatRouteTable (table: RouteTable): string {
  const routes = [['LINE', 'PATH', 'METHODS', 'SCOPES', 'AUDIENCE', 'CONSUMERS']]
  for (const r of table.routes) {
    const methods = r.methods.length === METHODS.length ? '*' : r.methods.join(',')
    routes.push([String(r.line), r.path, methods, describeScopes(r), r.audience ?? '-', r.consumers === undefined ? '-' : [...r.consumers].join(',')])
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
  warnings.push(...checkConsumers(table, byScope, manifest))
  return { errors, warnings }
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

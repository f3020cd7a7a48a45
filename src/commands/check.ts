/**
 * `portvakt check`: validate a route table without starting anything, print it compiled
 * (route-table-text.ts), and optionally cross-check it against the NAIS manifest: the scopes the
 * routes need against what it exposes, the scopes egress requests against what it consumes (the
 * typos that would otherwise surface as 403s, or as a token endpoint refusing, in production).
 */
import { ConfigError } from '../config/errors.js'
import { UnreadableFileError } from '../config/file-error.js'
import { loadRoutes, type RouteTable } from '../config/routes.js'
import { closestName, didYouMean } from '../config/suggest.js'
import { loadManifestScopes, type ConsumedScope, type ExposedScope, type ManifestScopes } from './manifest.js'
import { formatRouteTable } from './route-table-text.js'

/** What `check` found: the text to print and whether the table is usable. */
export interface CheckReport {
  ok: boolean
  /** the compiled table, when it compiled */
  table: string | undefined
  errors: readonly string[]
  warnings: readonly string[]
  /** a file could not be read at all: its one line says everything, with no count after it */
  unreadable: boolean
}

/** Where a scope is needed or requested, as `file:line` places, for the manifest's side of a near miss. */
type Needs = Map<string, string[]>

function addNeed (needs: Needs, scope: string, place: string): void {
  needs.set(scope, [...(needs.get(scope) ?? []), place])
}

/**
 * A scope one file names and the other does not, with a near miss on the other side. The near miss
 * no entry of the table uses is the typo (`arbeidsforhold.raed` exposed, `.read` needed): it is
 * reported at the manifest's line, to be fixed there; one the table also uses elsewhere is not,
 * and the route's own line is blamed, suggesting the manifest's spelling.
 */
function findNearMisses (missing: Needs, listed: ReadonlyArray<{ scope: string }>, used: ReadonlySet<string>): Map<string, { scope: string, places: string[] }> {
  const pairs = new Map<string, { scope: string, places: string[] }>()
  for (const [scope, places] of missing) {
    const near = closestName(scope, listed.map((e) => e.scope).filter((s) => !used.has(s) && !pairs.has(s)))
    if (near !== undefined) pairs.set(near, { scope, places })
  }
  return pairs
}

/** Compare the routes' scopes with what the manifest exposes: missing or disabled is an error, unused a warning. */
export function crossCheck (table: RouteTable, exposed: readonly ExposedScope[], manifest: string): { errors: string[], warnings: string[] } {
  const used = new Set(table.routes.flatMap((r) => r.scopes?.list ?? []))
  const byScope = new Map(exposed.map((e) => [e.scope, e]))
  const missing: Needs = new Map()
  const errors: string[] = []
  for (const route of table.routes) {
    for (const scope of route.scopes?.list ?? []) {
      const entry = byScope.get(scope)
      if (entry === undefined) addNeed(missing, scope, `${table.source}:${route.line}`)
      else if (!entry.enabled) errors.push(`${table.source}:${route.line}: ${route.id} needs ${scope}, which ${manifest}:${entry.line} exposes without enabled: true, so no consumer can get it`)
    }
  }
  const pairs = findNearMisses(missing, exposed, used)
  const paired = new Set([...pairs.values()].map((p) => p.scope))
  for (const route of table.routes) {
    for (const scope of route.scopes?.list ?? []) {
      if (!missing.has(scope) || paired.has(scope)) continue
      errors.push(`${table.source}:${route.line}: ${route.id} needs ${scope}, which ${manifest} does not expose (spec.maskinporten.scopes.exposes)${didYouMean(scope, exposed.map((e) => e.scope), (s) => `${s} (${manifest}:${byScope.get(s)?.line ?? 1})`)}`)
    }
  }
  for (const [near, { scope, places }] of pairs) errors.push(`${manifest}:${byScope.get(near)?.line ?? 1}: exposes ${near}; did you mean ${scope} (needed by ${places.join(', ')})?`)
  const warnings = exposed.filter((e) => !used.has(e.scope) && !pairs.has(e.scope))
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
  const lines = new Map(consumed.map((c) => [c.scope, c.line]))
  const requested = new Set(table.egress.flatMap((e) => e.scopes))
  const missing: Needs = new Map()
  for (const e of table.egress) for (const scope of e.scopes) if (!lines.has(scope)) addNeed(missing, scope, `egress ${e.name}, ${table.source}:${e.line}`)
  const pairs = findNearMisses(missing, consumed, requested)
  const paired = new Set([...pairs.values()].map((p) => p.scope))
  const errors = table.egress.flatMap((e) => e.scopes.filter((scope) => missing.has(scope) && !paired.has(scope)).map((scope) =>
    `${table.source}:${e.line}: egress ${e.name} requests ${scope}, which ${manifest} does not consume (spec.maskinporten.scopes.consumes), so the token endpoint would refuse it${didYouMean(scope, lines.keys(), (s) => `${s} (${manifest}:${lines.get(s) ?? 1})`)}`))
  for (const [near, { scope, places }] of pairs) errors.push(`${manifest}:${lines.get(near) ?? 1}: consumes ${near}; did you mean ${scope} (requested by ${places.join('; ')})?`)
  const warnings = consumed.filter((c) => !requested.has(c.scope) && !pairs.has(c.scope)).map((c) => `${manifest}:${c.line}: ${c.scope} is consumed but no egress target requests it`)
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

/**
 * Check `routesFile` (and `manifestFile` when given); never throws for problems in either file.
 * `fix` says how to name another route file when this one cannot be read, as the user named it.
 */
export async function checkRoutes (routesFile: string, manifestFile?: string, fix = 'check the path'): Promise<CheckReport> {
  let table: RouteTable
  try {
    table = await loadRoutes(routesFile, fix)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, table: undefined, errors: err.problems, warnings: [], unreadable: err instanceof UnreadableFileError }
  }
  const text = formatRouteTable(table)
  // The table's own warnings (paths that differ only by letter case) come first.
  if (manifestFile === undefined) return { ok: true, table: text, errors: [], warnings: table.warnings, unreadable: false }
  let scopes: ManifestScopes
  try {
    scopes = await loadManifestScopes(manifestFile)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    return { ok: false, table: text, errors: err.problems, warnings: table.warnings, unreadable: err instanceof UnreadableFileError }
  }
  const { errors, warnings } = crossCheckManifest(table, scopes, manifestFile)
  return { ok: errors.length === 0, table: text, errors, warnings: [...table.warnings, ...warnings], unreadable: false }
}

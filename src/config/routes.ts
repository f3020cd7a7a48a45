/**
 * The route table: YAML → checked → compiled into a lookup that answers "which route governs
 * this path and method?" in a few map lookups. Every problem is reported at once, with its line.
 */
import { readFile } from 'node:fs/promises'
import { ConfigError } from './errors.js'
import type { z } from 'zod'
import { describeFileError, UnreadableFileError } from './file-error.js'
import { issueText } from './issue-text.js'
import { describePlace, describeSchemaIssues, type Problem } from './schema-issues.js'
import { parseLocatedYaml, type LocatedYaml } from './yaml-lines.js'
import { describeCaseCollisions, foldCase, indexByFold } from './case-fold.js'
import { checkHeadRequirements, pathsWithOwnHead, withImpliedHead } from './implied-head.js'
import type { AltinnRule } from './altinn-rules.js'
import { describeWeakOptions } from './options-warning.js'
import type { PartyRules } from './party-rules.js'
import { checkRoute, compileRoute } from './route-compile.js'
import { EgressEntrySchema, RouteEntrySchema, RouteTableSchema, type EgressInput, type Method } from './route-schema.js'

export { expandScope } from './route-compile.js'

/** A route ready for the gate. */
export interface Route {
  /** a short stable label for logs and metrics: `GET,HEAD /api/v1/x` */
  readonly id: string
  readonly path: string
  readonly methods: readonly Method[]
  readonly public: boolean
  /** required scopes: all of them, or any one of them */
  readonly scopes: { readonly mode: 'all' | 'any', readonly list: readonly string[] } | undefined
  readonly audience: string | undefined
  readonly consumers: ReadonlySet<string> | undefined
  /** delegation and system-user rules (party-rules.ts); undefined when the route keeps the defaults */
  readonly parties: PartyRules | undefined
  /** what Altinn's PDP is asked before the request goes on (altinn-rules.ts); undefined for most routes */
  readonly altinn: AltinnRule | undefined
  /** the line of the route in its file */
  readonly line: number
}

/** Routes sharing one path prefix, by method. */
export interface PathEntry {
  /** the prefix, as written in the table */
  readonly path: string
  /** the line of its first route */
  readonly line: number
  readonly byMethod: ReadonlyMap<string, Route>
  /** the Allow header for a 405 on this path */
  readonly allow: string
}

/** An API the app calls through the egress listener. */
export interface EgressTarget {
  readonly name: string
  /** where `/<name>/<rest>` goes: `<url>/<rest>`, kept without a trailing slash */
  readonly url: string
  readonly scopes: readonly string[]
  /** the token request's `target`: the scopes, space-joined */
  readonly target: string
  /** the token request's `resource`, for an audience-restricted token */
  readonly resource: string | undefined
  /** the line of the entry in its file */
  readonly line: number
}

/** The compiled table. */
export interface RouteTable {
  readonly routes: readonly Route[]
  readonly byPath: ReadonlyMap<string, PathEntry>
  /** the path entries by folded path (case-fold.ts); more than one where paths differ only by case */
  readonly byFold: ReadonlyMap<string, readonly PathEntry[]>
  /** true when every path is its own fold (lower case), so a lower-case ASCII request needs no folded lookup */
  readonly foldStable: boolean
  /** the most segments any route path has: no longer prefix of a request can match */
  readonly depth: number
  /** what `check` warns about and the start line logs: paths that differ only by letter case */
  readonly warnings: readonly string[]
  /** egress targets, in file order; empty when the file has none */
  readonly egress: readonly EgressTarget[]
  readonly egressByName: ReadonlyMap<string, EgressTarget>
  readonly source: string
}

function compileEgress (input: EgressInput, line: number): EgressTarget {
  const url = new URL(input.url)
  const base = url.href.endsWith('/') ? url.href.slice(0, -1) : url.href
  return Object.freeze({
    name: input.name,
    url: base,
    scopes: Object.freeze([...input.scopes]),
    target: input.scopes.join(' '),
    resource: input.resource,
    line
  })
}

// The entries of `key` that are well-formed on their own, with their index; the schema reports the rest.
function wellFormed<T> (document: Record<string, unknown>, key: string, schema: z.ZodType<T>): Array<{ input: T, index: number }> {
  const list = document[key]
  if (!Array.isArray(list)) return []
  return list.flatMap((item: unknown, index) => {
    const parsed = schema.safeParse(item)
    return parsed.success ? [{ input: parsed.data, index }] : []
  })
}

function compileEgressList (document: Record<string, unknown>, yaml: LocatedYaml, file: string, problems: Problem[]): Map<string, EgressTarget> {
  const byName = new Map<string, EgressTarget>()
  for (const { input, index } of wellFormed(document, 'egress', EgressEntrySchema)) {
    const target = compileEgress(input, yaml.lineOf(['egress', index]))
    const other = byName.get(target.name)
    if (other !== undefined) problems.push({ line: target.line, text: `${file}:${target.line}: ${describePlace(['egress', index], document)}: the name is already used at line ${other.line}; names must be unique` })
    else byName.set(target.name, target)
  }
  return byName
}

function compileRouteList (document: Record<string, unknown>, yaml: LocatedYaml, file: string, problems: Problem[]): { routes: Route[], byPath: Map<string, Map<string, Route>> } {
  // A bad top-level audience is reported by the schema; the routes are still checked, without it.
  const audience = RouteTableSchema.shape.audience.safeParse(document.audience)
  const routes: Route[] = []
  const byPath = new Map<string, Map<string, Route>>()
  const inputs = wellFormed(document, 'routes', RouteEntrySchema)
  const ownHead = pathsWithOwnHead(inputs.map((i) => i.input))
  for (const { input, index } of inputs) {
    const line = yaml.lineOf(['routes', index])
    const where = `${file}:${line}: ${describePlace(['routes', index], document)}`
    const listed = withImpliedHead(input, ownHead)
    problems.push(...checkRoute(input, listed, where).map((text) => ({ line, text })))
    const route = compileRoute(input, listed, audience.success ? audience.data : undefined, line)
    const methods = byPath.get(route.path) ?? new Map<string, Route>()
    for (const method of route.methods) {
      const other = methods.get(method)
      if (other !== undefined) problems.push({ line, text: `${where}: ${method} ${route.path} is already routed at line ${other.line}; merge the two or split their methods` })
      else methods.set(method, route)
    }
    byPath.set(route.path, methods)
    routes.push(route)
  }
  problems.push(...checkHeadRequirements(routes, file))
  return { routes, byPath }
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * Parse and compile a route table; throws ConfigError listing every problem with its line, in file
 * order. The schema and the checks across entries (duplicates, public with scopes, ...) both run,
 * the latter on every entry well-formed enough to check, so one run shows everything to fix.
 */
export function parseRoutes (text: string, file: string): RouteTable {
  const yaml = parseLocatedYaml(text, file)
  if (yaml.syntaxProblems.length > 0) throw new ConfigError(`${file} is not valid YAML`, yaml.syntaxProblems)
  const document = yaml.value ?? {}
  const parsed = RouteTableSchema.safeParse(document, { error: issueText })
  const problems: Problem[] = parsed.success ? [] : describeSchemaIssues(parsed.error.issues, yaml, file, RouteTableSchema)
  if (!isRecord(document)) throw new ConfigError(`${file} has problems`, problems.map((p) => p.text))
  if (document.routes === undefined && document.egress === undefined) {
    problems.push({ line: 1, text: `${file}:1: routes: list at least one route (or, for a pod that only calls APIs, at least one egress target)` })
  }
  const egressByName = compileEgressList(document, yaml, file, problems)
  const { routes, byPath } = compileRouteList(document, yaml, file, problems)
  // Array.prototype.sort is stable: problems on one line keep the order they were found in.
  if (problems.length > 0) throw new ConfigError(`${file} has problems`, problems.sort((a, b) => a.line - b.line).map((p) => p.text))
  const entries = new Map<string, PathEntry>()
  for (const [path, methods] of byPath) {
    const line = routes.find((r) => r.path === path)?.line ?? 1
    entries.set(path, Object.freeze({ path, line, byMethod: methods, allow: [...methods.keys()].join(', ') }))
  }
  const byFold = indexByFold(entries.values())
  return Object.freeze({
    routes: Object.freeze(routes),
    byPath: entries,
    byFold,
    foldStable: [...entries.keys()].every((path) => foldCase(path) === path),
    depth: Math.max(0, ...[...entries.keys()].map((path) => path === '/' ? 0 : path.split('/').length - 1)),
    warnings: Object.freeze([...describeCaseCollisions(byFold, file), ...describeWeakOptions(routes, file)]),
    egress: Object.freeze([...egressByName.values()]),
    egressByName,
    source: file
  })
}

/**
 * Read and compile the route table at `file`. `fix` says how to name another file, as the user
 * gave this one: the variable to set for `serve` (the default), the path typed for `check`.
 */
export async function loadRoutes (file: string, fix = 'set PORTVAKT_ROUTES to your routes.yaml'): Promise<RouteTable> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new UnreadableFileError(`cannot read the route table ${file}`, [`${file}: ${describeFileError(err)}; ${fix}`])
  }
  return parseRoutes(text, file)
}

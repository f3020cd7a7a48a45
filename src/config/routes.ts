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
import { EgressEntrySchema, METHODS, RouteEntrySchema, RouteTableSchema, type EgressInput, type Method, type RouteInput, type ScopeInput } from './route-schema.js'

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
  /** the line of the route in its file */
  readonly line: number
}

/** Routes sharing one path prefix, by method. */
export interface PathEntry {
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
  /** egress targets, in file order; empty when the file has none */
  readonly egress: readonly EgressTarget[]
  readonly egressByName: ReadonlyMap<string, EgressTarget>
  readonly source: string
}

/** Expand a scope by the NAIS rule: `nav:<product><sep><name>`, sep `/` iff name has `/`, else `:`. */
export function expandScope (scope: ScopeInput): string {
  if (typeof scope === 'string') return scope
  const separator = scope.separator ?? (scope.name.includes('/') ? '/' : ':')
  return `nav:${scope.product}${separator}${scope.name}`
}

function compileRoute (input: RouteInput, defaultAudience: string | null | undefined, line: number): Route {
  const methods = input.methods ?? METHODS
  const scopes = input.scopes === undefined
    ? undefined
    : Array.isArray(input.scopes)
      ? { mode: 'all' as const, list: Object.freeze(input.scopes.map(expandScope)) }
      : { mode: 'any' as const, list: Object.freeze(input.scopes.anyOf.map(expandScope)) }
  const audience = input.audience === undefined ? defaultAudience : input.audience
  const label = input.methods === undefined ? '*' : methods.join(',')
  return Object.freeze({
    id: `${label} ${input.path}`,
    path: input.path,
    methods: Object.freeze([...methods]),
    public: input.public === true,
    scopes: scopes === undefined ? undefined : Object.freeze(scopes),
    audience: input.public === true ? undefined : audience ?? undefined,
    consumers: input.consumers === undefined ? undefined : new Set(input.consumers),
    line
  })
}

function checkRoute (input: RouteInput, where: string): string[] {
  const problems: string[] = []
  if (input.public === true && input.scopes !== undefined) problems.push(`${where}: a route is either public: true or has scopes, not both`)
  if (input.public !== true && input.scopes === undefined) problems.push(`${where}: say which scopes the route needs (scopes: [...]), or mark it public: true`)
  if (input.public === true && (input.consumers !== undefined || (input.audience !== undefined && input.audience !== null))) {
    problems.push(`${where}: a public route takes no token, so consumers and audience mean nothing there; remove them`)
  }
  return problems
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
  for (const { input, index } of wellFormed(document, 'routes', RouteEntrySchema)) {
    const line = yaml.lineOf(['routes', index])
    const where = `${file}:${line}: ${describePlace(['routes', index], document)}`
    problems.push(...checkRoute(input, where).map((text) => ({ line, text })))
    const route = compileRoute(input, audience.success ? audience.data : undefined, line)
    const methods = byPath.get(route.path) ?? new Map<string, Route>()
    for (const method of route.methods) {
      const other = methods.get(method)
      if (other !== undefined) problems.push({ line, text: `${where}: ${method} ${route.path} is already routed at line ${other.line}; merge the two or split their methods` })
      else methods.set(method, route)
    }
    byPath.set(route.path, methods)
    routes.push(route)
  }
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
    entries.set(path, Object.freeze({ byMethod: methods, allow: [...methods.keys()].join(', ') }))
  }
  return Object.freeze({ routes: Object.freeze(routes), byPath: entries, egress: Object.freeze([...egressByName.values()]), egressByName, source: file })
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

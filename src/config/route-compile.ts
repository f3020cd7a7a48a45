/** One route entry, checked and compiled on its own: scopes expanded, methods and id settled. */
import { METHODS, type Method, type RouteInput, type ScopeInput } from './route-schema.js'
import { checkAltinn, compileAltinn } from './altinn-rules.js'
import { checkParties, compileParties } from './party-rules.js'
import type { Route } from './routes.js'

/** Expand a scope by the NAIS rule: `nav:<product><sep><name>`, sep `/` iff name has `/`, else `:`. */
export function expandScope (scope: ScopeInput): string {
  if (typeof scope === 'string') return scope
  const separator = scope.separator ?? (scope.name.includes('/') ? '/' : ':')
  return `nav:${scope.product}${separator}${scope.name}`
}

/** Compile one entry; `listed` is its methods with HEAD implied (implied-head.ts), undefined for all. */
export function compileRoute (input: RouteInput, listed: readonly Method[] | undefined, defaultAudience: string | null | undefined, line: number): Route {
  const methods = listed ?? METHODS
  const scopes = input.scopes === undefined
    ? undefined
    : Array.isArray(input.scopes)
      ? { mode: 'all' as const, list: Object.freeze(input.scopes.map(expandScope)) }
      : { mode: 'any' as const, list: Object.freeze(input.scopes.anyOf.map(expandScope)) }
  const audience = input.audience === undefined ? defaultAudience : input.audience
  const label = listed === undefined ? '*' : methods.join(',')
  return Object.freeze({
    id: `${label} ${input.path}`,
    path: input.path,
    methods: Object.freeze([...methods]),
    public: input.public === true,
    scopes: scopes === undefined ? undefined : Object.freeze(scopes),
    audience: input.public === true ? undefined : audience ?? undefined,
    consumers: input.consumers === undefined ? undefined : new Set(input.consumers),
    parties: input.public === true ? undefined : compileParties(input),
    altinn: input.public === true ? undefined : compileAltinn(input.altinn, methods),
    line
  })
}

/** The problems of one entry on its own, each prefixed with `where`; `listed` as for compileRoute. */
export function checkRoute (input: RouteInput, listed: readonly Method[] | undefined, where: string): string[] {
  const problems: string[] = []
  if (input.public === true && input.scopes !== undefined) problems.push(`${where}: a route is either public: true or has scopes, not both`)
  if (input.public !== true && input.scopes === undefined) problems.push(`${where}: say which scopes the route needs (scopes: [...]), or mark it public: true`)
  if (input.public === true && (input.consumers !== undefined || (input.audience !== undefined && input.audience !== null))) {
    problems.push(`${where}: a public route takes no token, so consumers and audience mean nothing there; remove them`)
  }
  problems.push(...checkParties(input, where), ...checkAltinn(input, listed ?? METHODS, where))
  return problems
}

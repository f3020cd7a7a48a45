/**
 * zod's issues on the route table → problems a user can act on: each with its line, the route it
 * belongs to, and for a value YAML typed differently from what was meant (`123456789` is a number,
 * `yes` a string), the quoting that fixes it.
 */
import type { z } from 'zod'
import type { LocatedYaml } from './yaml-lines.js'

/** A problem and the line it is on, so the whole list can be given in file order. */
export interface Problem {
  line: number
  text: string
}

type Issue = z.core.$ZodIssue

// What a string value is called in a message, by its key; other keys are named as they are.
const NOUNS: Readonly<Record<string, string>> = { consumers: 'an org number', suppliers: 'an org number', systemUserOrgs: 'an org number', systems: 'a system id', product: 'product', name: 'name' }

/** `routes.2.scopes` plus the route's path when it has one, as the checks across routes name it. */
function describePath (path: readonly PropertyKey[], document: unknown): string {
  const dotted = path.map(String).join('.') || '(top level)'
  if (path[0] !== 'routes' || typeof path[1] !== 'number') return dotted
  const routes = (document as { routes?: unknown }).routes
  const route: unknown = Array.isArray(routes) ? routes[path[1]] : undefined
  const routePath = typeof route === 'object' && route !== null ? (route as { path?: unknown }).path : undefined
  return typeof routePath === 'string' ? `${dotted} (${routePath})` : dotted
}

/**
 * The message for a scalar YAML typed otherwise than the schema wants, or undefined if that is not
 * the problem. An unquoted `123456789` is a number and `012345678` even loses its 0, so the fix
 * quotes the text as written, not the number YAML made of it.
 */
function describeYamlTyping (issue: Issue, path: readonly PropertyKey[], yaml: LocatedYaml): string | undefined {
  if (issue.code !== 'invalid_type') return undefined
  const scalar = yaml.scalarAt(path)
  if (scalar === undefined) return undefined
  const last = path.at(-1)
  const inList = typeof last === 'number'
  const key = String(inList ? path.at(-2) : last)
  if (issue.expected === 'string' && (typeof scalar.value === 'number' || typeof scalar.value === 'boolean')) {
    const fix = inList ? `${key}: ["${scalar.source}"]` : `${key}: "${scalar.source}"`
    const noun = NOUNS[key] ?? key
    return `${noun} must be a quoted string; unquoted, YAML reads ${scalar.source} as a ${typeof scalar.value}. Write ${fix}`
  }
  if (issue.expected === 'boolean' && typeof scalar.value === 'string') {
    return `${key} is true or false, unquoted; YAML reads ${scalar.source} as a string (yes, no, on and off are not booleans in YAML 1.2). Write ${key}: true`
  }
  return undefined
}

/**
 * The typing problems anywhere inside `issue`, with their full paths. A union (a scope is a string
 * or {product, name}) reports only "none of the forms fit"; its branches say why, and a mistyped
 * value in one of them is the one fix worth naming.
 */
function findYamlTyping (issue: Issue, base: readonly PropertyKey[], yaml: LocatedYaml): Array<{ path: PropertyKey[], message: string }> {
  const path = [...base, ...issue.path]
  if (issue.code === 'invalid_union') return issue.errors.flat().flatMap((inner) => findYamlTyping(inner, path, yaml))
  const message = describeYamlTyping(issue, path, yaml)
  return message === undefined ? [] : [{ path, message }]
}

/** Each schema issue as a problem with its line; a mistyped scalar as its quoting fix. */
export function describeSchemaIssues (issues: readonly Issue[], yaml: LocatedYaml, file: string): Problem[] {
  const document = yaml.value ?? {}
  return issues.flatMap((issue) => {
    const where = describePath(issue.path, document)
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const line = yaml.lineOf(issue.path, key)
        return { line, text: `${file}:${line}: ${where}: unknown key "${key}" (check its spelling)` }
      })
    }
    const typing = findYamlTyping(issue, [], yaml)
    if (typing.length > 0) {
      return typing.map(({ path, message }) => {
        const line = yaml.lineOf(path)
        return { line, text: `${file}:${line}: ${describePath(path, document)}: ${message}` }
      })
    }
    const line = yaml.lineOf(issue.path)
    return [{ line, text: `${file}:${line}: ${where}: ${issue.message}` }]
  })
}

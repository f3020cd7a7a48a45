/**
 * zod's issues on the route table → problems a user can act on: each with its line and its place
 * counted as people count (`route 7 (/api), methods`), an unknown key with the known key it most
 * likely stands for, and for a value YAML typed differently from what was meant (`123456789` is a
 * number, `yes` a string), the quoting that fixes it. The texts themselves come from our schemas
 * or, where they give none, from issue-text.ts: nothing of zod's own wording.
 */
import type { z } from 'zod'
import { describeValue } from './issue-text.js'
import { knownKeysAt } from './schema-keys.js'
import { closestName } from './suggest.js'
import type { LocatedYaml } from './yaml-lines.js'

/** A problem and the line it is on, so the whole list can be given in file order. */
export interface Problem {
  line: number
  text: string
}

type Issue = z.core.$ZodIssue

// What a string value is called in a message, by its key; other keys are named as they are.
const NOUNS: Readonly<Record<string, string>> = { consumers: 'an org number', suppliers: 'an org number', systemUserOrgs: 'an org number', systems: 'a system id', product: 'product', name: 'name' }

// The entries of these lists are named by number and by the key people recognise them by.
const ENTRY_NAMES: Readonly<Record<string, { noun: string, key: string }>> = { routes: { noun: 'route', key: 'path' }, egress: { noun: 'egress', key: 'name' } }

function valueAt (document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document
  for (const segment of path) value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[segment] : undefined
  return value
}

/**
 * A place in the document as people name it, counting from 1: `route 3 (/api), scopes, item 2`,
 * `egress 1 (skatt), url`; the top of the file is `the file`.
 */
export function describePlace (path: readonly PropertyKey[], document: unknown): string {
  const parts: string[] = []
  path.forEach((segment, i) => {
    if (typeof segment !== 'number') {
      if (!(typeof path[i + 1] === 'number' && i === 0 && ENTRY_NAMES[String(segment)] !== undefined)) parts.push(String(segment))
      return
    }
    const entry = i === 1 ? ENTRY_NAMES[String(path[0])] : undefined
    if (entry === undefined) {
      parts.push(`item ${segment + 1}`)
      return
    }
    const name = valueAt(document, [...path.slice(0, 2), entry.key])
    parts.push(`${entry.noun} ${segment + 1}${typeof name === 'string' ? ` (${name})` : ''}`)
  })
  return parts.length === 0 ? 'the file' : parts.join(', ')
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

/** An issue with its full path from the document's top. */
interface Located {
  path: PropertyKey[]
  issue: Issue
}

/**
 * A union (a scope is a string or {product, name}; scopes a list or {anyOf}) reports only "none of
 * the forms fit". When the value has the shape of exactly one form (a map, where only one form is
 * a map), that form's own issues say what is wrong, an unknown key among them; else the union's.
 */
function flatten (issue: Issue, base: readonly PropertyKey[], document: unknown, schema: z.ZodType): Located[] {
  const path = [...base, ...issue.path]
  if (issue.code !== 'invalid_union') return [{ path, issue }]
  const value = valueAt(document, path)
  const given = typeof value === 'object' && value !== null ? Object.keys(value).length : 0
  const known = knownKeysAt(schema, path)
  // A map none of whose keys the form knows, even misspelt, is not that form: it is another one.
  const strange = (inner: Issue): boolean => inner.code === 'unrecognized_keys' && inner.keys.length === given && inner.keys.every((key) => closestName(key, known) === undefined)
  const fits = (form: readonly Issue[]): boolean => !form.some((inner) => inner.path.length === 0 && (inner.code === 'invalid_type' || strange(inner)))
  const fitting = issue.errors.filter(fits)
  if (fitting.length === 1) return (fitting[0] ?? []).flatMap((inner) => flatten(inner, path, document, schema))
  return [{ path, issue }]
}

/** The typing problems anywhere inside `issue` (a union's forms included), with their full paths. */
function findYamlTyping (issue: Issue, base: readonly PropertyKey[], yaml: LocatedYaml): Array<{ path: PropertyKey[], message: string }> {
  const path = [...base, ...issue.path]
  if (issue.code === 'invalid_union') return issue.errors.flat().flatMap((inner) => findYamlTyping(inner, path, yaml))
  const message = describeYamlTyping(issue, path, yaml)
  return message === undefined ? [] : [{ path, message }]
}

/** Each schema issue as a problem with its line; an unknown key with the key it likely means; a mistyped scalar as its quoting fix. */
export function describeSchemaIssues (issues: readonly Issue[], yaml: LocatedYaml, file: string, schema: z.ZodType): Problem[] {
  const document = yaml.value ?? {}
  const located = issues.flatMap((issue) => flatten(issue, [], document, schema))
  // A key given under a misspelt name is also "missing": the suggestion says all there is to say.
  const suggested = new Set<string>()
  const problems: Problem[] = []
  const at = (path: readonly PropertyKey[], text: string, key?: string): void => {
    const line = yaml.lineOf(path, key)
    problems.push({ line, text: `${file}:${line}: ${describePlace(path, document)}: ${text}` })
  }
  for (const { path, issue } of located) {
    if (issue.code !== 'unrecognized_keys') continue
    const known = knownKeysAt(schema, path)
    for (const key of issue.keys) {
      const name = closestName(key, known.filter((k) => valueAt(document, [...path, k]) === undefined))
      if (name !== undefined) suggested.add(JSON.stringify([...path, name]))
      at(path, `unknown key "${key}"; ${name === undefined ? `the keys here are ${known.join(', ')}` : `did you mean ${name}?`}`, key)
    }
  }
  for (const { path, issue } of located) {
    if (issue.code === 'unrecognized_keys' || suggested.has(JSON.stringify(path))) continue
    const typing = findYamlTyping({ ...issue, path: [] } as Issue, path, yaml)
    if (typing.length > 0) for (const { path: where, message } of typing) at(where, message)
    else if (path.length === 0 && issue.code === 'invalid_type') at(path, `a route table is a map, not ${describeValue(document)}: routes: (and egress:) at the top, the routes listed under it`)
    else at(path, issue.message)
  }
  return problems
}

/**
 * A route's rules for delegated and system-user tokens: `delegation` and `suppliers` read a token's
 * `supplier`, `systemUser`, `systemUserOrgs` and `systems` its Altinn system user (auth/party-claims.ts).
 * The schema's fields (spread into the route entry's), their checks across fields, and the compiled
 * form the gate reads (auth/parties.ts): undefined when a route keeps every default, so such a route
 * pays nothing for them.
 */
import { z } from 'zod'
import { didYouMean } from './suggest.js'

/** Organisation numbers, as `consumers`, `suppliers` and `systemUserOrgs` list them. */
export const Orgnos = z.array(z.string().regex(/^\d{9}$/, 'an orgno is 9 digits, in quotes: "123456789"')).min(1, 'list at least one orgno, or leave the key out')

/** What a route says of tokens that carry a supplier, or a system user. */
export const PARTY_RULES = ['allowed', 'forbidden', 'required'] as const
/** One of PARTY_RULES. */
export type PartyRule = typeof PARTY_RULES[number]

// A misspelt rule (`requird`) gets the one it likely means, as every enum of the route table does.
const Rule = (key: string) => z.enum(PARTY_RULES, {
  error: (issue) => `${key} is allowed (the default), forbidden or required${typeof issue.input === 'string' ? didYouMean(issue.input, PARTY_RULES) : ''}`
}).optional()

/** The route entry's fields for delegation and system users; these names are the interface. */
export const PARTY_FIELDS = {
  delegation: Rule('delegation'),
  suppliers: Orgnos.optional(),
  systemUser: Rule('systemUser'),
  systemUserOrgs: Orgnos.optional(),
  systems: z.array(z.string().min(1, 'a system id is a non-empty string, e.g. "991825827_lonn"')).min(1, 'list at least one system id, or leave the key out').optional()
}

/** The fields as written. */
export type PartyInput = { [K in keyof typeof PARTY_FIELDS]?: z.output<typeof PARTY_FIELDS[K]> }

/** A route's compiled rules; a list is undefined when the route sets none. */
export interface PartyRules {
  readonly delegation: PartyRule
  readonly suppliers: ReadonlySet<string> | undefined
  readonly systemUser: PartyRule
  readonly systemUserOrgs: ReadonlySet<string> | undefined
  readonly systems: ReadonlySet<string> | undefined
}

const toSet = (list: readonly string[] | undefined): ReadonlySet<string> | undefined => list === undefined ? undefined : new Set(list)

/** The compiled rules, or undefined when the route asks nothing beyond the defaults. */
export function compileParties (input: PartyInput): PartyRules | undefined {
  const delegation = input.delegation ?? 'allowed'
  const systemUser = input.systemUser ?? 'allowed'
  if (delegation === 'allowed' && systemUser === 'allowed' && input.suppliers === undefined && input.systemUserOrgs === undefined && input.systems === undefined) return undefined
  return Object.freeze({
    delegation,
    suppliers: toSet(input.suppliers),
    systemUser,
    systemUserOrgs: toSet(input.systemUserOrgs),
    systems: toSet(input.systems)
  })
}

/** The problems of one entry's fields together, each prefixed with `where`. */
export function checkParties (input: PartyInput & { public?: boolean | undefined }, where: string): string[] {
  const set = (Object.keys(PARTY_FIELDS) as Array<keyof PartyInput>).filter((key) => input[key] !== undefined)
  if (input.public === true) {
    const named = set.length < 2 ? set.join('') : `${set.slice(0, -1).join(', ')} and ${set.at(-1) ?? ''}`
    return set.length === 0 ? [] : [`${where}: a public route takes no token, so ${named} mean${set.length === 1 ? 's' : ''} nothing there; remove ${set.length === 1 ? 'it' : 'them'}`]
  }
  const problems: string[] = []
  const contradiction = (rule: 'delegation' | 'systemUser', lists: ReadonlyArray<keyof PartyInput>, what: string): void => {
    const listed = lists.filter((key) => input[key] !== undefined)
    if (input[rule] === 'forbidden' && listed.length > 0) {
      problems.push(`${where}: ${rule}: forbidden refuses every ${what}, so ${listed.join(' and ')} can never match; remove ${listed.length === 1 ? 'it' : 'them'}, or allow ${rule === 'delegation' ? 'delegated tokens' : 'system users'}`)
    }
  }
  contradiction('delegation', ['suppliers'], 'delegated token')
  contradiction('systemUser', ['systemUserOrgs', 'systems'], 'token with a system user')
  return problems
}

function sameSet (a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.size === b.size && [...a].every((v) => b.has(v))
}

/** Whether two routes' rules admit the same tokens (implied-head.ts: HEAD asks what GET asks). */
export function samePartyRules (a: PartyRules | undefined, b: PartyRules | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.delegation === b.delegation && a.systemUser === b.systemUser &&
    sameSet(a.suppliers, b.suppliers) && sameSet(a.systemUserOrgs, b.systemUserOrgs) && sameSet(a.systems, b.systems)
}

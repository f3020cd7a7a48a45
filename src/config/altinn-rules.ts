/**
 * A route's `altinn` field: which Altinn resource the PDP is asked about, and which action each
 * method is (docs/altinn.md). Its checks across fields, and the compiled form the gate reads
 * (altinn/gate.ts): undefined when the route has no `altinn`, so such a route pays nothing for it.
 */
import type { AltinnInput, Method, RouteInput } from './route-schema.js'

/** A route's compiled Altinn rule. */
export interface AltinnRule {
  /** the resource-registry id, sent as `urn:altinn:resource` */
  readonly resource: string
  /** the action (`urn:oasis:names:tc:xacml:1.0:action:action-id`) for each method the route admits */
  readonly actions: ReadonlyMap<string, string>
}

/** The rule for a route admitting `methods`, or undefined when it has no `altinn`. */
export function compileAltinn (input: AltinnInput | undefined, methods: readonly Method[]): AltinnRule | undefined {
  if (input === undefined) return undefined
  const { action } = input
  const actions = new Map<string, string>()
  for (const method of methods) {
    const named = typeof action === 'string' ? action : action[method]
    if (named !== undefined) actions.set(method, named)
  }
  return Object.freeze({ resource: input.resource, actions })
}

/** The problems of one entry's `altinn` with its other fields; `admitted` is its methods with HEAD implied. */
export function checkAltinn (input: RouteInput, admitted: readonly Method[], where: string): string[] {
  const altinn = input.altinn
  if (altinn === undefined) return []
  if (input.public === true) return [`${where}: a public route takes no token, so altinn means nothing there; remove it`]
  const problems: string[] = []
  if (input.systemUser !== 'required') {
    problems.push(`${where}: altinn asks Altinn what the token's system user may do, so the route needs systemUser: required (now ${input.systemUser ?? 'allowed, the default'})`)
  }
  if (typeof altinn.action !== 'string') {
    const named = Object.keys(altinn.action)
    const missing = admitted.filter((m) => !named.includes(m))
    const extra = named.filter((m) => !admitted.includes(m as Method))
    if (missing.length > 0) {
      const head = missing.includes('HEAD') && admitted.includes('GET') && input.methods !== undefined && !input.methods.includes('HEAD') ? ' (HEAD because GET admits it: the app answers HEAD with its GET handler)' : ''
      problems.push(`${where}: altinn.action names no action for ${missing.join(', ')}, which the route admits${head}; name one for each, or write one action for all`)
    }
    if (extra.length > 0) problems.push(`${where}: altinn.action names ${extra.join(', ')}, which the route does not admit; remove ${extra.length === 1 ? 'it' : 'them'} or add ${extra.length === 1 ? 'it' : 'them'} to methods`)
  }
  return problems
}

/** Whether a HEAD route asks Altinn what the GET route on its path asks for GET (implied-head.ts). */
export function sameAltinnQuestion (get: AltinnRule | undefined, head: AltinnRule | undefined): boolean {
  if (get === undefined || head === undefined) return get === head
  return get.resource === head.resource && get.actions.get('GET') === head.actions.get('HEAD')
}

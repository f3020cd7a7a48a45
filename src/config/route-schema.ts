/**
 * The route table's schema: the one definition of what `routes.yaml` may hold. Types are derived
 * from it (STYLE §2). Objects are strict, so a misspelt key is an error, not a silently open route.
 */
import { z } from 'zod'
import { isLoopbackUrl } from './loopback.js'
import { Orgnos, PARTY_FIELDS } from './party-rules.js'

/** Methods a route may name; the proxy forwards exactly these (TRACE and CONNECT never). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const
/** One of the methods a route may name. */
export type Method = typeof METHODS[number]

// A scope as Maskinporten writes it: `<prefix>:<subscope>`, printable ASCII with no spaces.
const SCOPE_PATTERN = /^[a-z0-9æøå]+:[\x21-\x7eæøå]+$/i
// The NAIS manifest's own patterns for `product` and `name` (liberator CRD, scopes.exposes[]).
const PRODUCT_PATTERN = /^[a-z0-9]+$/
const NAME_PATTERN = /^([a-zæøå0-9]+\/?)+(:[a-zæøå0-9]+)*[a-zæøå0-9]+(\.[a-zæøå0-9]+)*$/

const ScopeString = z.string().regex(SCOPE_PATTERN, 'a scope is "<prefix>:<subscope>" with no spaces, e.g. nav:arbeid:arbeidsforhold.read')

const ManifestScope = z.strictObject({
  product: z.string().regex(PRODUCT_PATTERN, 'product is lower-case letters and digits, e.g. arbeid'),
  name: z.string().regex(NAME_PATTERN, 'name follows the NAIS manifest pattern, e.g. some.scope.read or skjema/innsending.write'),
  separator: z.enum(['/', ':', '.']).optional()
})

const ScopeItem = z.union([ScopeString, ManifestScope], { error: 'a scope is a string like nav:arbeid:foo.read or {product, name, separator?}' })
const ScopeList = z.array(ScopeItem).min(1, 'list at least one scope, or write public: true')

const Scopes = z.union([
  ScopeList,
  z.strictObject({ anyOf: ScopeList })
], { error: 'scopes is a list (all required) or { anyOf: [...] } (at least one)' })

const Audience = z.url({ protocol: /^https?$/, error: 'an audience is an absolute http(s) URI, e.g. https://arbeid.api.nav.no' })

const RoutePath = z.string()
  .regex(/^\//, 'a path starts with /')
  .refine((p) => p === '/' || !p.endsWith('/'), 'write the prefix without a trailing slash (/api matches /api/ too)')
  .refine((p) => !/\/\/|\/\.\.?(\/|$)|[?#%;\\\s]/.test(p), 'a path has no //, dot segments, ?, #, %, ;, \\ or spaces')

// Said here, on the repeated item: the check across routes would call it "already routed" at its own line.
function reportRepeatedMethods (methods: readonly string[], ctx: z.RefinementCtx): void {
  methods.forEach((method, index) => {
    if (methods.indexOf(method) !== index) ctx.addIssue({ code: 'custom', path: [index], message: `${method} is listed twice in this route; list each method once` })
  })
}

// An Altinn resource-registry identifier: real ones hold `-` and `_` (ske-krav-og-betalinger,
// nav_sykepenger_inntektsmelding-nedlasting), though Studio's guide names only a-z and digits.
const ALTINN_RESOURCE_PATTERN = /^[a-z0-9][a-z0-9_-]*$/
// Actions are free strings of each resource's policy (read, write, access, ...); printable ASCII,
// as they go into the PDP request and the access line.
const AltinnAction = z.string().regex(/^[\x21-\x7e]{1,100}$/, 'an action is a non-empty word of the resource\'s policy, e.g. read, write or access')

/** A route's Altinn authorisation: the resource the PDP is asked about, and the action for each method. */
const AltinnRule = z.strictObject({
  resource: z.string({ error: 'resource is the resource-registry identifier, e.g. kravogbetaling' }).regex(ALTINN_RESOURCE_PATTERN, 'resource is the resource-registry identifier: lower-case letters, digits, - and _, e.g. kravogbetaling'),
  action: z.union([
    AltinnAction,
    // An object of the methods (not a record), so a misspelt method gets the schema's did-you-mean.
    z.strictObject(Object.fromEntries(METHODS.map((m) => [m, AltinnAction.optional()])) as Record<Method, z.ZodOptional<typeof AltinnAction>>)
      .refine((map) => Object.values(map).some((a) => a !== undefined), 'name an action for each method the route admits, e.g. { GET: read, HEAD: read }')
  ], { error: `action is one action (read) or one per method ({ GET: read, HEAD: read, POST: write }), methods of ${METHODS.join(', ')}` })
})

/** One entry of `routes`, checked on its own so one bad entry does not hide the others' problems. */
export const RouteEntrySchema = z.strictObject({
  path: RoutePath,
  methods: z.array(z.enum(METHODS))
    .min(1, 'list at least one method, or leave methods out for all')
    .superRefine(reportRepeatedMethods)
    .optional(),
  scopes: Scopes.optional(),
  audience: Audience.nullable().optional(),
  consumers: Orgnos.optional(),
  public: z.boolean().optional(),
  ...PARTY_FIELDS,
  altinn: AltinnRule.optional()
})

// An egress name is one URL path segment the app calls: http://127.0.0.1:8083/<name>/... 
const EGRESS_NAME_PATTERN = /^[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?$/

// zod runs every check even after z.url() failed, so this one must cope with a non-URL.
function isBareUrl (url: URL): boolean {
  return url.search === '' && url.hash === '' && url.username === '' && url.password === ''
}

// The rule the JWKS URL follows (env-checks.ts): plain http only to this machine. Every call carries a
// Maskinporten token, which anyone on the path could replay against the target until it expires.
function isCleartextAcrossNetwork (href: string): boolean {
  return new URL(href).protocol === 'http:' && !isLoopbackUrl(href)
}

const EgressUrl = z.url({ protocol: /^https?$/, error: 'url is an absolute http(s) URL, e.g. https://api.skatteetaten.no/v1' })
  .refine((u) => !URL.canParse(u) || isBareUrl(new URL(u)), 'url takes no query, fragment or credentials; the app sends the query')
  .refine((u) => !URL.canParse(u) || !isCleartextAcrossNetwork(u), 'plain http to a host that is not loopback; use https:// (the request carries a Maskinporten token)')

/** One entry of `egress`, checked on its own like a route. */
export const EgressEntrySchema = z.strictObject({
  name: z.string().regex(EGRESS_NAME_PATTERN, 'name is lower-case letters, digits, ., _ or - (one path segment), e.g. skatt'),
  url: EgressUrl,
  scopes: z.array(ScopeString).min(1, 'list at least one scope to request'),
  resource: z.url({ protocol: /^https?$/, error: 'resource is an absolute http(s) URI, e.g. https://api.skatteetaten.no' }).optional()
})

/** The whole route table document: `routes` (the gate) and/or `egress` (the APIs the app calls). */
export const RouteTableSchema = z.strictObject({
  audience: Audience.nullable().optional(),
  // Optional only when egress is listed: a pod that only consumes APIs still runs the gate, closed.
  routes: z.array(RouteEntrySchema).min(1, 'list at least one route').optional(),
  egress: z.array(EgressEntrySchema).min(1, 'list at least one egress target, or leave egress out').optional()
})

/** A route as written in the YAML file. */
export type RouteInput = z.output<typeof RouteEntrySchema>
/** A route's `altinn` field as written. */
export type AltinnInput = z.output<typeof AltinnRule>
/** A scope as written: full string or manifest form. */
export type ScopeInput = z.output<typeof ScopeItem>
/** An egress target as written. */
export type EgressInput = z.output<typeof EgressEntrySchema>
/** The route table as written. */
export type RouteTableInput = z.output<typeof RouteTableSchema>

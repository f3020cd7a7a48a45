/**
 * The route table's schema: the one definition of what `routes.yaml` may hold. Types are derived
 * from it (STYLE §2). Objects are strict, so a misspelt key is an error, not a silently open route.
 */
import { z } from 'zod'

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

const Route = z.strictObject({
  path: RoutePath,
  methods: z.array(z.enum(METHODS, { error: `a method is one of ${METHODS.join(', ')}` })).min(1, 'list at least one method, or leave methods out for all').optional(),
  scopes: Scopes.optional(),
  audience: Audience.nullable().optional(),
  consumers: z.array(z.string().regex(/^\d{9}$/, 'an orgno is 9 digits, in quotes: "123456789"')).min(1).optional(),
  public: z.boolean().optional()
})

/** The whole route table document. */
export const RouteTableSchema = z.strictObject({
  audience: Audience.nullable().optional(),
  routes: z.array(Route).min(1, 'list at least one route')
})

/** A route as written in the YAML file. */
export type RouteInput = z.output<typeof Route>
/** A scope as written: full string or manifest form. */
export type ScopeInput = z.output<typeof ScopeItem>
/** The route table as written. */
export type RouteTableInput = z.output<typeof RouteTableSchema>

/**
 * The dev token endpoint's input: the NAIS token endpoint's request format (https://docs.nais.io/auth/maskinporten/how-to/consume),
 * JSON or form-encoded, with its `authorization_details` (system-grant.ts), plus dev-only fields.
 * One zod schema (STYLE §2); the type is derived.
 */
import { z } from 'zod'
import { issueText } from '../config/issue-text.js'
import { AuthorizationDetails, SYSTEM_USER_FIELDS } from './system-grant.js'

/** The consumer orgno in dev tokens unless `consumer_orgno` says otherwise (a made-up test orgno). */
export const DEV_ORGNO = '123456789'
/** Maskinporten's default access-token lifetime, in seconds. */
export const DEFAULT_EXPIRES_IN = 120
/** The longest lifetime the dev issuer mints; longer tokens would only hide lifetime checks. */
export const MAX_EXPIRES_IN = 3600

/** An RFC 6749 §5.2 error answer, with 400. */
export interface TokenError {
  error: 'invalid_request' | 'invalid_scope' | 'invalid_target'
  error_description: string
}

// Form bodies carry everything as text, so booleans and numbers are accepted as text too.
const FlexBoolean = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
const FlexInt = z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)])
// Its message names no field: the issuer puts the field in front, `portvakt token` the flag typed.
const Orgno: z.ZodType<string, unknown> = z.union([z.string(), z.number().transform(String)]).pipe(z.string().regex(/^\d{9}$/, 'an orgno is 9 digits, e.g. 123456789'))

const TokenRequestSchema = z.object({
  identity_provider: z.literal('maskinporten', { error: 'identity_provider must be "maskinporten" (the dev issuer is Maskinporten only)' }),
  target: z.string({ error: 'target is required: the space-separated scopes the token should hold' })
    .transform((text) => [...new Set(text.split(/\s+/).filter((s) => s !== ''))])
    .refine((scopes) => scopes.length > 0, 'target is empty; give at least one scope, e.g. nav:arbeid:arbeidsforhold.read')
    .refine((scopes) => scopes.every((s) => /^[^\s\x00-\x1f\x7f:]+:[^\s\x00-\x1f\x7f]+$/.test(s)), 'every scope is "<prefix>:<subscope>", e.g. nav:arbeid:arbeidsforhold.read'),
  // The messages below name no field: the issuer puts the field in front, `portvakt token` the flag typed.
  resource: z.string().refine((r) => URL.canParse(r), 'an absolute URI, e.g. https://arbeid.api.nav.no').optional(),
  skip_cache: FlexBoolean.default(false),
  consumer_orgno: Orgno.default(DEV_ORGNO),
  expires_in: FlexInt.pipe(z.number().int().min(1, 'at least 1 second').max(MAX_EXPIRES_IN, `at most ${MAX_EXPIRES_IN} seconds`)).default(DEFAULT_EXPIRES_IN),
  // Dev-only: a delegated token (Maskinporten's grant names the customer in consumer_org; the NAIS
  // endpoint has no such field, so here the supplier is named and consumer_orgno is the customer).
  supplier: Orgno.optional(),
  authorization_details: AuthorizationDetails.optional(),
  ...SYSTEM_USER_FIELDS,
  consumer_org: z.undefined({ error: 'the NAIS token endpoint has no consumer_org field (it would hand out a plain token); for a delegated dev token send supplier, and consumer_orgno for the customer' }).optional()
}).superRefine((request, ctx) => {
  if (request.authorization_details !== undefined) return
  for (const field of ['system_id', 'systemuser_id'] as const) {
    if (request[field] !== undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${field} belongs to a system user: send authorization_details with a urn:altinn:systemuser entry too` })
  }
})

/** Each field's problems in a request, by field name; empty when the request is fine. */
export function findFieldProblems (input: Record<string, unknown>): Array<{ field: string, message: string }> {
  const parsed = TokenRequestSchema.safeParse(input, { error: issueText })
  return parsed.success ? [] : parsed.error.issues.map((i) => ({ field: String(i.path[0] ?? ''), message: i.message }))
}

/** A checked token request. */
export type TokenRequest = z.output<typeof TokenRequestSchema>

const ERROR_BY_FIELD: Record<string, TokenError['error']> = { target: 'invalid_scope', resource: 'invalid_target' }

/** Parse a request body by its Content-Type; returns the request or an RFC 6749 error. */
export function parseTokenRequest (contentType: string | undefined, body: string): { ok: true, request: TokenRequest } | { ok: false, error: TokenError } {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase()
  let input: unknown
  if (type === 'application/json') {
    try {
      input = JSON.parse(body)
    } catch {
      return { ok: false, error: { error: 'invalid_request', error_description: 'the body is not valid JSON' } }
    }
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      return { ok: false, error: { error: 'invalid_request', error_description: 'the body must be a JSON object' } }
    }
  } else if (type === 'application/x-www-form-urlencoded') {
    input = Object.fromEntries(new URLSearchParams(body))
  } else {
    return { ok: false, error: { error: 'invalid_request', error_description: 'Content-Type must be application/json or application/x-www-form-urlencoded' } }
  }
  const parsed = TokenRequestSchema.safeParse(input, { error: issueText })
  if (parsed.success) return { ok: true, request: parsed.data }
  // A present but unusable target or resource has its own RFC code; anything else is invalid_request.
  const field = String(parsed.error.issues[0]?.path[0] ?? '')
  const present = (input as Record<string, unknown>)[field] !== undefined
  const description = parsed.error.issues.map((i) => i.path.length > 0 && !i.message.includes(String(i.path[0])) ? `${String(i.path[0])}: ${i.message}` : i.message).join('; ')
  return { ok: false, error: { error: (present ? ERROR_BY_FIELD[field] : undefined) ?? 'invalid_request', error_description: description } }
}

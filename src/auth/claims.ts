/**
 * The claims portvakt acts on, read from a verified payload: checked for type and safe to put in a
 * header or a log line. The claim rules that are not time rules (those are the policy's, policy.ts)
 * live here; whom else a token speaks for (a delegation's supplier, an Altinn system user) is read
 * beside it, in party-claims.ts.
 */
import type { JWTPayload } from 'jose'
import { isHeaderSafe } from './header-safe.js'
import { readPartyClaims, type SystemUser } from './party-claims.js'
import { livesTooLong, type TokenPolicy } from './policy.js'
import { invalidToken } from './refusals.js'

/** The claims portvakt acts on. */
export interface Claims {
  /** the raw `scope` string, space-separated */
  readonly scope: string
  readonly scopes: ReadonlySet<string>
  readonly clientId: string | undefined
  /** the orgno from `consumer.ID` ("0192:<orgno>"), when it has that form */
  readonly orgno: string | undefined
  readonly aud: readonly string[]
  readonly exp: number
  readonly iat: number
  /** a delegated token's supplier, the orgno from `supplier.ID` (party-claims.ts) */
  readonly supplier: string | undefined
  /** a delegated token's `delegation_source`, as it came (an issuer URL, not checked) */
  readonly delegationSource: string | undefined
  /** the Altinn system user of the token's `urn:altinn:systemuser` entry (party-claims.ts) */
  readonly systemUser: SystemUser | undefined
}

/**
 * A claim portvakt copies into a request header: a string of header-safe characters, or absent.
 * Throws the refusal (bad_claim, naming the claim) otherwise. Every claim that becomes a header goes
 * through here or, for the supplier and system user, through the same check (header-safe.ts), so none
 * can make the token a 502 or a second header.
 */
export function readHeaderClaim (name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw invalidToken('bad_claim', `the token's ${name} claim must be a string`)
  if (!isHeaderSafe(value)) throw invalidToken('bad_claim', `the token's ${name} claim holds a character that cannot be sent in a header (a control character, or one above U+00FF)`)
  return value
}

/** Read the claims of a payload whose signature, issuer and times are checked; throws a refusal. */
export function readClaims (payload: JWTPayload, policy: TokenPolicy): Claims {
  const { consumer, aud } = payload as Record<string, unknown>
  const exp = payload.exp as number
  const iat = payload.iat as number
  if (livesTooLong(policy, exp, iat)) throw invalidToken('lifetime_too_long', 'the token lives longer than this API allows')
  const scope = readHeaderClaim('scope', payload.scope)
  const clientId = readHeaderClaim('client_id', payload.client_id)
  let audience: readonly string[] = []
  if (typeof aud === 'string') audience = [aud]
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audience = aud
  else if (aud !== undefined) throw invalidToken('bad_claim', 'the token\'s aud claim must be a string or a list of strings')
  const id = typeof consumer === 'object' && consumer !== null ? (consumer as Record<string, unknown>).ID : undefined
  // Nine ASCII digits or no consumer at all: always header-safe (\d is ASCII only without the u flag).
  const orgno = typeof id === 'string' ? /^0192:(\d{9})$/.exec(id)?.[1] : undefined
  // RFC 6749 §3.3: scopes are separated by spaces (0x20) only; tabs or NBSP are part of a scope.
  const scopes = new Set((scope ?? '').split(' ').filter((s) => s !== ''))
  const { supplier, delegationSource, systemUser } = readPartyClaims(payload)
  return Object.freeze({ scope: scope ?? '', scopes, clientId, orgno, aud: audience, exp, iat, supplier, delegationSource, systemUser })
}

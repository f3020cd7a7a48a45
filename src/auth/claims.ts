/**
 * The claims portvakt acts on, read from a verified payload: checked for type and safe to put in a
 * header or a log line. The claim rules that are not time rules (those are the policy's, policy.ts)
 * live here, so a new claim (delegation, Altinn system users) has one place to go.
 */
import type { JWTPayload } from 'jose'
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
}

// Printable text without control characters: claims we copy into headers or logs must not hold CR/LF.
const SAFE_TEXT = /^[^\x00-\x1f\x7f]*$/

/** Read the claims of a payload whose signature, issuer and times are checked; throws a refusal. */
export function readClaims (payload: JWTPayload, policy: TokenPolicy): Claims {
  const { scope, client_id: clientId, consumer, aud } = payload as Record<string, unknown>
  const exp = payload.exp as number
  const iat = payload.iat as number
  if (livesTooLong(policy, exp, iat)) throw invalidToken('lifetime_too_long', 'the token lives longer than this API allows')
  if (scope !== undefined && (typeof scope !== 'string' || !SAFE_TEXT.test(scope))) throw invalidToken('bad_claim', 'the token\'s scope claim must be a space-separated string')
  if (clientId !== undefined && (typeof clientId !== 'string' || !SAFE_TEXT.test(clientId))) throw invalidToken('bad_claim', 'the token\'s client_id claim must be a string')
  let audience: readonly string[] = []
  if (typeof aud === 'string') audience = [aud]
  else if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) audience = aud
  else if (aud !== undefined) throw invalidToken('bad_claim', 'the token\'s aud claim must be a string or a list of strings')
  const id = typeof consumer === 'object' && consumer !== null ? (consumer as Record<string, unknown>).ID : undefined
  const orgno = typeof id === 'string' ? /^0192:(\d{9})$/.exec(id)?.[1] : undefined
  // RFC 6749 §3.3: scopes are separated by spaces (0x20) only; tabs or NBSP are part of a scope.
  const scopes = new Set((scope ?? '').split(' ').filter((s) => s !== ''))
  return Object.freeze({ scope: scope ?? '', scopes, clientId, orgno, aud: audience, exp, iat })
}

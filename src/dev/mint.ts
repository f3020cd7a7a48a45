/**
 * Minting dev tokens shaped exactly like Maskinporten access tokens (claims as Digdir documents them):
 * plain, delegated (`supplier`, `delegation_source`) and with an Altinn system user
 * (`authorization_details`), as in docs/delegation.md.
 */
import { createHash, randomBytes } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import type { DevKey } from './dev-key.js'
import type { TokenRequest } from './token-request.js'

/** A minted token with its expiry (epoch seconds). */
export interface MintedToken {
  token: string
  exp: number
}

/** A stable, UUID-shaped client_id per consumer orgno, as a real Maskinporten client has. */
export function deriveClientId (orgno: string): string {
  const hex = createHash('sha256').update(`portvakt-dev:${orgno}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** Where delegations come from in Maskinporten's test environment (VER2/test, coupled to Altinn TT02). */
export const DEV_DELEGATION_SOURCE = 'https://tt02.altinn.no/'

// A fixed namespace for the dev issuer's name-based UUIDs (any UUID will do; this one is random).
const SYSTEM_USER_NAMESPACE = Buffer.from('6f1c1e2a9d3b4c5e8f7a0b1c2d3e4f50', 'hex')

/**
 * A name-based UUID (RFC 9562 §5.5, version 5: SHA-1 of namespace and name), so a system user keeps
 * its id for one organisation and system across runs, as a real one does. Six lines of node:crypto
 * rather than the `uuid` package: this is the dev issuer's only use, and it keeps the runtime free of it.
 */
export function nameBasedUuid (namespace: Buffer, name: string): string {
  const bytes = createHash('sha1').update(namespace).update(name, 'utf8').digest().subarray(0, 16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** The dev system user's id: the same for the same customer organisation and system. */
export function deriveSystemUserId (org: string, systemId: string): string {
  return nameBasedUuid(SYSTEM_USER_NAMESPACE, `${org}:${systemId}`)
}

/** The system id a dev token names when the request gives none: `<vendor orgno>_dev`, in the usual shape. */
export function defaultSystemId (vendor: string): string {
  return `${vendor}_dev`
}

function organisation (orgno: string, key: 'ID' | 'id' = 'ID'): Record<string, string> {
  return { authority: 'iso6523-actorid-upis', [key]: `0192:${orgno}` }
}

// The claims beside `consumer`: a delegation's supplier and source; a system user in the shape
// Altinn documents for tokens (lower-case `id` in `systemuser_org`, `systemuser_id` a list).
function partyClaims (request: TokenRequest): JWTPayload {
  const claims: JWTPayload = {}
  if (request.supplier !== undefined) {
    claims.supplier = organisation(request.supplier)
    claims.delegation_source = DEV_DELEGATION_SOURCE
  }
  const grant = request.authorization_details
  if (grant !== undefined) {
    const systemId = request.system_id ?? defaultSystemId(request.consumer_orgno)
    claims.authorization_details = [{
      type: 'urn:altinn:systemuser',
      systemuser_org: organisation(grant.org, 'id'),
      systemuser_id: [request.systemuser_id ?? deriveSystemUserId(grant.org, systemId)],
      system_id: systemId
    }]
  }
  return claims
}

/** Sign a token for `request`: header {kid, alg: RS256} and no `typ`, `aud` only when `resource` is given. */
export async function mintDevToken (key: DevKey, issuer: string, request: TokenRequest, nowSec: number): Promise<MintedToken> {
  const exp = nowSec + request.expires_in
  const claims: JWTPayload = {
    ...(request.resource === undefined ? {} : { aud: request.resource }),
    scope: request.target.join(' '),
    iss: issuer,
    client_amr: 'private_key_jwt',
    token_type: 'Bearer',
    exp,
    iat: nowSec,
    // The client is the caller's: the supplier's for a delegated token, else the consumer's (for a
    // system user, the vendor's).
    client_id: deriveClientId(request.supplier ?? request.consumer_orgno),
    jti: randomBytes(32).toString('base64url'),
    ...partyClaims(request),
    consumer: organisation(request.consumer_orgno)
  }
  const token = await new SignJWT(claims).setProtectedHeader({ kid: key.kid, alg: 'RS256' }).sign(key.privateKey)
  return { token, exp }
}

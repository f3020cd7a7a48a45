/** Minting dev tokens shaped exactly like Maskinporten access tokens (claims as Digdir documents them). */
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
    client_id: deriveClientId(request.consumer_orgno),
    jti: randomBytes(32).toString('base64url'),
    consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${request.consumer_orgno}` }
  }
  const token = await new SignJWT(claims).setProtectedHeader({ kid: key.kid, alg: 'RS256' }).sign(key.privateKey)
  return { token, exp }
}

/** A token factory shaped like real Maskinporten access tokens, with overridable defaults. */
import { randomUUID } from 'node:crypto'
import { SignJWT, type JWTPayload } from 'jose'
import type { SigningKey } from './keys.js'

/** The issuer our tests trust, with its trailing slash as Maskinporten writes it. */
export const TEST_ISSUER = 'https://test.maskinporten.no/'
/** The consumer orgno in default tokens. */
export const TEST_ORGNO = '123456789'

/** Options for one token: claims to set (undefined removes a default), header fields, key. */
export interface MintOptions {
  claims?: Record<string, unknown>
  header?: Record<string, unknown>
  key?: SigningKey
  /** seconds from now for `iat` (default 0) and lifetime (default 120) */
  iatOffset?: number
  lifetime?: number
}

/** Build a function that mints tokens signed by `defaultKey`. */
export function tokenFactory (defaultKey: SigningKey) {
  return async function mint (options: MintOptions = {}): Promise<string> {
    const key = options.key ?? defaultKey
    const now = Math.floor(Date.now() / 1000)
    const iat = now + (options.iatOffset ?? 0)
    const claims: Record<string, unknown> = {
      iss: TEST_ISSUER,
      scope: 'nav:arbeid:arbeidsforhold.read',
      client_id: '0b2a3b4c-5d6e-7f80-9a1b-2c3d4e5f6a7b',
      client_amr: 'private_key_jwt',
      consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${TEST_ORGNO}` },
      token_type: 'Bearer',
      iat,
      exp: iat + (options.lifetime ?? 120),
      jti: randomUUID(),
      ...options.claims
    }
    for (const [name, value] of Object.entries(claims)) if (value === undefined) Reflect.deleteProperty(claims, name)
    const header = { alg: 'RS256', kid: key.kid, ...options.header }
    return await new SignJWT(claims as JWTPayload).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
  }
}

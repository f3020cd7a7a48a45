/** Real RSA key pairs and their public JWKs, as an issuer would publish them. */
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose'

/** A signing key with its published public JWK. */
export interface SigningKey {
  kid: string
  privateKey: CryptoKey
  publicKey: CryptoKey
  jwk: JWK
}

let counter = 0

/** Make a fresh RS256 key pair with a unique kid. */
export async function makeKey (kid = `test-key-${++counter}`): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }
  return { kid, privateKey, publicKey, jwk }
}

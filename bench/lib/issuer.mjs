// A stand-in Maskinporten for the bench: one RS256 key, its JWKS over HTTP on loopback, the public
// key as PEM (for HAProxy's jwt_verify) and pre-minted tokens shaped like real ones.
import { createServer } from 'node:http'
import { randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, exportSPKI, generateKeyPair } from 'jose'

export const ISSUER = 'https://test.maskinporten.no/'
export const SCOPE = 'nav:bench:read'

/** Make the key, serve its JWKS on `port`; returns what the bench needs. */
export async function startIssuer (port) {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench-1', alg: 'RS256', use: 'sig' }
  const body = JSON.stringify({ keys: [jwk] })
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    res.end(body)
  })
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve))
  return {
    jwksUri: `http://127.0.0.1:${port}/jwks`,
    publicPem: await exportSPKI(publicKey),
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve) }),
    /** `count` distinct tokens valid for `lifetimeSec` from now */
    mint: async (count, lifetimeSec) => {
      const iat = Math.floor(Date.now() / 1000)
      const sign = (i) => new SignJWT({
        scope: SCOPE,
        client_id: randomUUID(),
        client_amr: 'private_key_jwt',
        consumer: { authority: 'iso6523-actorid-upis', ID: `0192:${String(100000000 + i)}` },
        token_type: 'Bearer',
        jti: randomUUID()
      }).setProtectedHeader({ alg: 'RS256', kid: 'bench-1' }).setIssuer(ISSUER).setIssuedAt(iat).setExpirationTime(iat + lifetimeSec).sign(privateKey)
      const tokens = []
      // WebCrypto signs on the thread pool: batches use every core.
      for (let i = 0; i < count; i += 64) {
        tokens.push(...await Promise.all(Array.from({ length: Math.min(64, count - i) }, (_, k) => sign(i + k))))
      }
      return tokens
    }
  }
}

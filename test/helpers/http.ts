/** Small HTTP helpers for tests: a call with an optional token, and raw crafted tokens. */
import { exportSPKI, SignJWT } from 'jose'
import type { SigningKey } from './keys.js'

/** A response read whole: status, headers and parsed JSON body (or text). */
export interface Answer {
  status: number
  headers: Headers
  body: Record<string, unknown>
  text: string
}

/** Call `url` with an optional bearer token and extra headers. */
export async function call (url: string, options: { token?: string, method?: string, headers?: Record<string, string>, body?: string } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const res = await fetch(url, { method: options.method ?? 'GET', headers, body: options.body })
  const text = await res.text()
  let body: Record<string, unknown> = {}
  try { body = JSON.parse(text) as Record<string, unknown> } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body, text }
}

function b64 (value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/** An unsigned token (`alg` given, `none` by default) with an empty signature. */
export function unsignedToken (claims: Record<string, unknown>, alg = 'none', kid?: string): string {
  return `${b64({ alg, kid })}.${b64(claims)}.`
}

/** A token signed HS256 with the RSA public key's PEM as the HMAC secret (the classic key-confusion attack). */
export async function hmacWithPublicKey (claims: Record<string, unknown>, key: SigningKey): Promise<string> {
  const pem = await exportSPKI(key.publicKey)
  return await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: key.kid }).sign(new TextEncoder().encode(pem))
}

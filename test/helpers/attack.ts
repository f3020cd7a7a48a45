/**
 * Tools for the attack suite: raw sockets for request targets and framing that fetch
 * would normalise away, hand-built JWS for headers and claims jose would refuse to sign, and one
 * assertion for "denied, challenged, nothing forwarded, no token in the logs".
 */
import { createHmac, createSign, KeyObject } from 'node:crypto'
import { request } from 'node:http'
import { connect } from 'node:net'
import type { Test } from 'tap'
import type { Harness } from './build.js'
import type { SigningKey } from './keys.js'

/** One HTTP response as read off the wire (or from fetch). */
export interface Answer {
  /** 0 when the connection closed without a status line */
  status: number
  headers: Record<string, string>
  body: string
  /** everything the server wrote, for "no second response" checks */
  raw: string
}

/**
 * Write `text` to the harness's port as-is and read until the server closes (10 s safety net), or
 * with `firstResponse` until one whole response is in (for requests that keep the connection open).
 */
export async function sendRaw (url: string, text: string | Buffer, options: { firstResponse?: boolean } = {}): Promise<Answer> {
  const { hostname, port } = new URL(url)
  return await new Promise((resolve) => {
    const socket = connect(Number(port), hostname)
    const chunks: Buffer[] = []
    const finish = (): void => { resolve(parseAnswer(Buffer.concat(chunks).toString('latin1'))) }
    socket.setTimeout(10_000, () => { socket.destroy() })
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk)
      if (options.firstResponse === true && isComplete(Buffer.concat(chunks).toString('latin1'))) socket.destroy()
    })
    socket.on('error', () => { /* a reset is an answer too: status 0 or what came before it */ })
    socket.on('close', finish)
    socket.write(text)
  })
}

function isComplete (raw: string): boolean {
  const end = raw.indexOf('\r\n\r\n')
  if (end === -1) return false
  const length = /\r\ncontent-length: *(\d+)/i.exec(raw.slice(0, end))?.[1]
  if (length !== undefined) return raw.length - end - 4 >= Number(length)
  return raw.endsWith('0\r\n\r\n')
}

/** Split a raw HTTP/1.1 response into status, headers (lower-case names) and body (de-chunked). */
export function parseAnswer (raw: string): Answer {
  const end = raw.indexOf('\r\n\r\n')
  const head = end === -1 ? raw : raw.slice(0, end)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = end === -1 ? '' : raw.slice(end + 4)
  if (headers['transfer-encoding'] === 'chunked') body = unchunk(body)
  return { status, headers, body, raw }
}

function unchunk (text: string): string {
  let out = ''
  let rest = text
  for (;;) {
    const eol = rest.indexOf('\r\n')
    if (eol === -1) return out
    const size = parseInt(rest.slice(0, eol), 16)
    if (!(size > 0)) return out
    out += rest.slice(eol + 2, eol + 2 + size)
    rest = rest.slice(eol + 2 + size + 2)
  }
}

/** A GET request as raw text, with `Connection: close` so the read ends. */
export function rawGet (target: string, headers: Record<string, string> = {}, method = 'GET'): string {
  const lines = [`${method} ${target} HTTP/1.1`, 'Host: portvakt.test', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), 'Connection: close']
  return lines.join('\r\n') + '\r\n\r\n'
}

/** fetch, read the body as text, return the same shape as `sendRaw`. */
export async function ask (url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init)
  const body = await res.text()
  return { status: res.status, headers: Object.fromEntries(res.headers), body, raw: body }
}

/** A GET through node:http with headers as a flat name/value list (repeats and odd bytes kept). */
export async function askRawHeaders (url: string, rawHeaders: string[]): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    // With a flat header list node:http adds no Host, and a request without one is a 400.
    const req = request(url, { headers: ['host', new URL(url).host, ...rawHeaders] }, (res) => {
      let body = ''
      res.on('data', (chunk: Buffer) => { body += chunk.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body, raw: body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/** base64url of a string or bytes. */
export function b64url (data: string | Buffer): string {
  return Buffer.from(data).toString('base64url')
}

/** The encoded `header.payload` of a JWS from raw JSON text (or values to stringify). */
export function signingInput (header: unknown, payload: unknown): string {
  const text = (v: unknown): string => typeof v === 'string' ? v : JSON.stringify(v)
  return `${b64url(text(header))}.${b64url(text(payload))}`
}

/** Sign header and payload exactly as given (raw JSON text allowed) with RSA-SHA256. */
export function signRs256 (key: SigningKey, header: unknown, payload: unknown): string {
  const input = signingInput(header, payload)
  const signature = createSign('RSA-SHA256').update(input).sign(KeyObject.from(key.privateKey))
  return `${input}.${b64url(signature)}`
}

/** Sign with HMAC-SHA<bits> keyed by `secret` (the classic RS→HS key-confusion forgery). */
export function signHmac (bits: 256 | 384 | 512, secret: string | Buffer, header: unknown, payload: unknown): string {
  const input = signingInput(header, payload)
  return `${input}.${b64url(createHmac(`sha${bits}`, secret).update(input).digest())}`
}

/** Claims of a valid Maskinporten access token, for hand-built tokens. */
export function validClaims (overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000)
  return {
    iss: 'https://test.maskinporten.no/',
    scope: 'nav:arbeid:arbeidsforhold.read',
    client_id: 'attacker-client',
    consumer: { authority: 'iso6523-actorid-upis', ID: '0192:123456789' },
    iat: now,
    exp: now + 120,
    jti: `jti-${now}-${Math.random()}`,
    ...overrides
  }
}

/** What a denial must look like. */
export interface Denial {
  status: number
  code?: string
  /** a pattern the WWW-Authenticate header must match, or null for "no challenge" */
  challenge?: RegExp | null
  /** the token reason in the body */
  reason?: string
  /** a pattern the body's message must match */
  message?: RegExp
  /** strings that must never appear in a log line (tokens) */
  secrets?: readonly string[]
}

/** Assert a denial: status, code, challenge, the upstream saw nothing, no secret in the logs. */
export function assertDenied (t: Test, h: Harness, answer: Answer, denial: Denial): void {
  t.equal(answer.status, denial.status, 'status')
  if (denial.code !== undefined || denial.reason !== undefined || denial.message !== undefined) {
    const body = JSON.parse(answer.body) as { code?: string, reason?: string, message?: string }
    if (denial.code !== undefined) t.equal(body.code, denial.code, 'error code')
    if (denial.reason !== undefined) t.equal(body.reason, denial.reason, 'token reason')
    if (denial.message !== undefined) t.match(body.message, denial.message, 'message')
  }
  if (denial.challenge === null) t.notOk(answer.headers['www-authenticate'], 'no challenge')
  else if (denial.challenge !== undefined) t.match(answer.headers['www-authenticate'], denial.challenge, 'challenge')
  t.same(h.upstream.seen.map((s) => s.url), [], 'the upstream saw nothing')
  assertNoSecretLogged(t, h, denial.secrets ?? [])
}

/** Every log line is one JSON object, and none holds a secret (or its signature part). */
export function assertNoSecretLogged (t: Test, h: Harness, secrets: readonly string[]): void {
  const text = h.logText()
  const lines = text.split('\n').filter((line) => line !== '')
  t.ok(lines.every((line) => { try { return typeof JSON.parse(line) === 'object' } catch { return false } }), 'each log line is one JSON object')
  for (const secret of secrets) {
    t.notOk(text.includes(secret), 'no log line holds the token')
    const signature = secret.split('.').at(-1) ?? ''
    if (signature.length >= 16) t.notOk(text.includes(signature), 'no log line holds the token signature')
  }
}

/** The standard challenges (RFC 6750 §3). */
export const CHALLENGE = Object.freeze({
  bare: /^Bearer realm="portvakt"$/,
  invalidToken: /^Bearer realm="portvakt", error="invalid_token"/,
  invalidRequest: /^Bearer realm="portvakt", error="invalid_request"/,
  insufficientScope: /^Bearer realm="portvakt", error="insufficient_scope"/
})

/** Forget what the upstream saw, so each attack starts clean on a shared harness. */
export function resetSeen (h: Harness): void {
  h.upstream.seen.length = 0
}

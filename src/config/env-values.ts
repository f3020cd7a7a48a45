/**
 * The kinds of value the environment holds, as zod schemas that turn text into what settings keep:
 * durations, ports, booleans, URLs, algorithm lists. Each names what is wrong in words a user can act on.
 */
import { z } from 'zod'
import { foldHeaderName, headerFamily } from './dropped-headers.js'
import { formatDuration, parseDuration, unitOf } from './duration.js'
import { closestName } from './suggest.js'

/** Ports the NAIS platform's own sidecars use in every pod; we must never listen on them. */
export const RESERVED_PORTS: readonly number[] = [7164, 7165, 7564, 7565, 7566]

/** Signing algorithms we accept a token with: asymmetric only, never `none` or HS*. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

/**
 * A duration (`500ms`, `5s`, `10m`, `24h`; a bare number is seconds) in ms, between `min` and `max`.
 * Out of range, the message shows the text as given and the range in its unit: a user who wrote
 * seconds reads seconds.
 */
export function duration (fallback: string, min: number, max: number) {
  return z.string().default(fallback).transform((text, ctx) => {
    const ms = parseDuration(text)
    const unit = unitOf(text)
    if (ms === undefined || unit === undefined) {
      const negative = /^\s*-/.test(text) ? ' (it cannot be negative)' : ''
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a duration${negative}; write e.g. 500ms, 5s, 10m or 24h` })
      return z.NEVER
    }
    if (ms < min || ms > max) {
      const bare = unit === '' ? ' (a bare number is seconds)' : ''
      ctx.addIssue({ code: 'custom', message: `${text.trim()} is out of range${bare}; write ${formatDuration(min, unit)} to ${formatDuration(max, unit)}` })
      return z.NEVER
    }
    return ms
  })
}

function toWholeNumber (min: number, max: number, what: string) {
  return (text: string, ctx: z.RefinementCtx): number => {
    const n = Number(text)
    if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a whole number of ${what} from ${min} to ${max}` })
      return z.NEVER
    }
    return n
  }
}

/** A whole number between `min` and `max`; `what` names the unit in the message. */
export function wholeNumber (fallback: string, min: number, max: number, what: string) {
  return z.string().default(fallback).transform(toWholeNumber(min, max, what))
}

/** The same, with no default: undefined when unset. */
export function optionalWholeNumber (min: number, max: number, what: string) {
  return z.string().transform(toWholeNumber(min, max, what)).optional()
}

// nginx's size suffixes (k, m: binary), and the IEC names.
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2 }

/** A size in bytes (`65536`, `64KiB`, `64k`, `1MiB`), between `min` and `max`. */
export function size (fallback: string, min: number, max: number) {
  return z.string().default(fallback).transform((text, ctx) => {
    const match = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(text)
    const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()]
    if (match === null || unit === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a size; write e.g. 65536, 64KiB or 1MiB` })
      return z.NEVER
    }
    const bytes = Number(match[1]) * unit
    if (bytes < min || bytes > max) {
      // The range in the unit the value was written in, as for durations.
      const written = (n: number): string => `${Math.round(n / unit * 1000) / 1000}${match[2] ?? ''}`
      ctx.addIssue({ code: 'custom', message: `${text.trim()} is out of range; write ${written(min)} to ${written(max)}${unit === 1 ? ' (bytes)' : ''}` })
      return z.NEVER
    }
    return bytes
  })
}

/** A TCP port, never one the NAIS platform reserves. */
export function port (fallback: string) {
  return z.string().default(fallback).transform((text, ctx) => {
    const n = Number(text)
    if (!/^\d+$/.test(text) || n < 0 || n > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${text}" is not a port number (0-65535)` })
      return z.NEVER
    }
    if (RESERVED_PORTS.includes(n)) {
      ctx.addIssue({ code: 'custom', message: `${n} is reserved by the NAIS platform (7164/7165, 7564-7566); pick another port` })
      return z.NEVER
    }
    return n
  })
}

/**
 * true or false, in any case, and nothing else: the route table's rule (YAML 1.2), so `yes` or `1`
 * means the same in both places, which is: not understood.
 */
export function boolean (fallback: 'true' | 'false') {
  return z.string().default(fallback).transform((text, ctx) => {
    const lower = text.trim().toLowerCase()
    if (lower === 'true') return true
    if (lower === 'false') return false
    ctx.addIssue({ code: 'custom', message: `"${text}" is not true or false; write true or false (yes, no, on, off, 1 and 0 are refused, as in the route table)` })
    return z.NEVER
  })
}

/** An absolute http(s) URL, normalised. */
export const httpUrl = z.string().transform((text, ctx) => {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an absolute URL` })
    return z.NEVER
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    ctx.addIssue({ code: 'custom', message: `"${text}" must be an http(s) URL` })
    return z.NEVER
  }
  return url.href
})

/** A comma-separated list of asymmetric signing algorithms (RS256 by default). */
export const algorithms = z.string().default('RS256').transform((text, ctx) => {
  const list = text.split(',').map((a) => a.trim()).filter((a) => a !== '')
  const allowed: readonly string[] = ASYMMETRIC_ALGORITHMS
  const bad = list.filter((a) => !allowed.includes(a))
  if (list.length === 0 || bad.length > 0) {
    const close = bad.map((a) => closestName(a, allowed)).filter((a) => a !== undefined)
    const suggestions = close.length === 0 ? '' : `; did you mean ${close.join(', ')}?`
    ctx.addIssue({ code: 'custom', message: `${bad.length > 0 ? `unsupported ${bad.join(', ')}` : 'empty'}; use a comma-separated list of ${allowed.join(', ')} (never none or HS*)${suggestions}` })
    return z.NEVER
  }
  return list
})

// RFC 9110 §5.6.2: a field name is a token.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/** Why one PORTVAKT_PASS_HEADERS entry can't be let through, or undefined when it can. */
function passRefusal (raw: string): string | undefined {
  if (!TOKEN.test(raw)) return `"${raw}" is not a header name`
  if (raw.includes('*')) return `"${raw}": name whole headers; a prefix can't be let through`
  const family = headerFamily(foldHeaderName(raw))
  if (family === undefined) return `${raw} reaches the app anyway (it is not dropped); list only names from docs/security.md#identity-headers-of-other-gateways`
  if (family === 'ours') return `${raw} is portvakt's own (X-Maskinporten-*): no client may ever set it`
  if (family === 'forwarding') return `${raw} is a forwarding or method-override header: portvakt always drops it (it sets X-Forwarded-For, -Proto and -Host itself, or passes on the proxy in front's with PORTVAKT_TRUSTED_HOPS)`
  return undefined
}

/**
 * Other gateways' headers to let through, comma-separated, checked folded (`SSL_Client_Cert` is
 * ssl-client-cert) and kept in lower case as written: the proxy in front sets and replaces one
 * spelling, so only that one passes, and a client's other spellings of it stay dropped. None by default.
 */
export const passHeaders = z.string().default('').transform((text, ctx) => {
  const names = text.split(',').map((n) => n.trim()).filter((n) => n !== '')
  const problems = names.map(passRefusal).filter((p) => p !== undefined)
  for (const message of problems) ctx.addIssue({ code: 'custom', message })
  return problems.length > 0 ? z.NEVER : Object.freeze([...new Set(names.map((n) => n.toLowerCase()))])
})

/** The log lines' shapes (observe/log.ts): `nais` (logstash-logback-encoder's field names) or `pino` (pino's own). */
export const LOG_FORMATS = ['nais', 'pino'] as const
/** One of LOG_FORMATS. */
export type LogFormat = typeof LOG_FORMATS[number]

/** PORTVAKT_LOG_FORMAT: the log lines' shape, nais by default. */
export const logFormat = z.enum(LOG_FORMATS, { error: `write ${LOG_FORMATS.join(' or ')}` }).default('nais')

/** The most hops PORTVAKT_TRUSTED_HOPS takes: a longer chain of proxies in front of a pod is a mistake. */
export const MAX_TRUSTED_HOPS = 10

/** PORTVAKT_TRUSTED_HOPS: how many proxies in front to trust (proxy/forwarded-for.ts), 0 to 10, 0 by default. */
export const trustedHops = z.string().default('0').transform((text, ctx) => {
  const n = Number(text)
  if (!/^\d{1,2}$/.test(text) || n > MAX_TRUSTED_HOPS) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not a number of proxy hops (0 to ${MAX_TRUSTED_HOPS}); on NAIS, 1 trusts the ingress` })
    return z.NEVER
  }
  return n
})

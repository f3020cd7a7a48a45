/**
 * Why an outbound fetch failed, in words an operator can act on: undici's "fetch failed" says
 * nothing, its cause's `code` says what (DNS, refused, timeout, TLS, proxy). Translated by `code`,
 * never by message (STYLE §8), following the cause chain undici builds.
 */
import type { OutboundProxy } from './env.js'

/** How a fetch failed: `network` ones are what a missing outbound access policy looks like. */
export type FetchFailureKind = 'dns' | 'refused' | 'timeout' | 'network' | 'tls' | 'proxy' | 'other'

/** A failed fetch, described (`<url>: <reason>`); `kind` lets a caller add the hint that fits. */
export class FetchFailure extends Error {
  constructor (readonly url: string, readonly reason: string, readonly kind: FetchFailureKind, options?: { cause?: unknown }) {
    super(`${url}: ${reason}`, options)
    this.name = 'FetchFailure'
  }
}

type Cause = { code?: string, hostname?: string, address?: string, port?: number, cause?: unknown }

// The innermost error with a code: undici wraps the socket's error in "fetch failed" (and sometimes once more).
function findCode (err: unknown): Cause {
  let current = err as Cause | undefined
  let found: Cause = {}
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (typeof current.code === 'string') found = current
    current = current.cause as Cause | undefined
  }
  return found
}

const TLS: Readonly<Record<string, string>> = {
  CERT_HAS_EXPIRED: 'its TLS certificate has expired',
  CERT_NOT_YET_VALID: 'its TLS certificate is not valid yet (is this machine\'s clock right?)',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'its TLS certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'its TLS certificate chain holds a self-signed certificate no CA here trusts (a TLS-inspecting proxy?)',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its TLS certificate cannot be verified (an intermediate certificate missing?)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its TLS certificate is issued by a CA this machine does not trust',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its TLS certificate is for another host name',
  ERR_SSL_WRONG_VERSION_NUMBER: 'it does not speak TLS on that port (http:// meant?)'
}

function proxyOf (url: string, proxy: OutboundProxy | undefined): URL | undefined {
  const href = url.startsWith('https:') ? proxy?.httpsProxy : proxy?.httpProxy
  return href === undefined || href === '' || !URL.canParse(href) ? undefined : new URL(href)
}

// Whether the failing socket was the proxy's: same host name, or same port on another port than the target's.
function isProxySocket (cause: Cause, proxy: URL | undefined, target: URL): boolean {
  if (proxy === undefined) return false
  const port = Number(proxy.port === '' ? (proxy.protocol === 'https:' ? 443 : 80) : proxy.port)
  if (cause.hostname !== undefined) return cause.hostname === proxy.hostname
  return cause.port === port && (cause.address === proxy.hostname || target.port !== String(port))
}

/** Describe why fetching `url` failed: its host, the cause, through which proxy. */
export function describeFetchFailure (err: unknown, url: string, proxy?: OutboundProxy): FetchFailure {
  const target = new URL(url)
  const cause = findCode(err)
  const code = cause.code ?? ''
  const via = proxyOf(url, proxy)
  const proxyName = `the proxy ${via?.host ?? ''} (${url.startsWith('https:') ? 'HTTPS_PROXY' : 'HTTP_PROXY'})`
  const fail = (text: string, kind: FetchFailureKind): FetchFailure => new FetchFailure(url, text, kind, { cause: err })
  if (isProxySocket(cause, via, target)) {
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return fail(`${proxyName} cannot be found: DNS does not resolve ${via?.hostname ?? ''} (${code})`, 'proxy')
    return fail(`${proxyName} cannot be reached (${code})`, 'proxy')
  }
  if (code === 'ENOTFOUND') return fail(`DNS does not know ${target.hostname} (ENOTFOUND); check the host name`, 'dns')
  if (code === 'EAI_AGAIN') return fail(`DNS did not answer for ${target.hostname} (EAI_AGAIN); the name server may be down or unreachable`, 'dns')
  if (code === 'ECONNREFUSED') return fail(`${target.host} refused the connection (ECONNREFUSED): nothing listens there`, 'refused')
  if (code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'ETIMEDOUT') return fail(`connecting to ${target.host} timed out (${code}): its packets are dropped on the way`, 'timeout')
  if (code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'UND_ERR_SOCKET') return fail(`the connection to ${target.host} was cut or could not be made (${code})`, 'network')
  const tls = TLS[code]
  if (tls !== undefined) return fail(`${target.host}: ${tls} (${code})`, 'tls')
  if (/^(ERR_TLS_|ERR_SSL_|CERT_)/.test(code)) return fail(`the TLS handshake with ${target.host} failed (${code})`, 'tls')
  // undici answers a refused CONNECT tunnel (a 407 among others) with UND_ERR_ABORTED, a plain-http 407 with UND_ERR_INVALID_ARG.
  if (via !== undefined && (code === 'UND_ERR_ABORTED' || code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_PRX_TLS')) {
    return fail(`${proxyName} refused to pass the request on (${code}); a proxy that wants credentials (407) takes them in the URL: http://user:password@host:port`, 'proxy')
  }
  return fail(`the request failed (${code === '' ? (err as Error | undefined)?.name ?? 'unknown error' : code})`, 'other')
}

/** The NAIS hint for a failure that looks like outbound traffic the platform does not allow. */
export function naisOutboundHint (failure: FetchFailure): string | undefined {
  if (!['dns', 'refused', 'timeout', 'network'].includes(failure.kind)) return undefined
  const host = new URL(failure.url).hostname
  return `on NAIS, outbound traffic needs spec.accessPolicy.outbound.external: [{ host: ${host} }] (on-premises: spec.webproxy: true)`
}

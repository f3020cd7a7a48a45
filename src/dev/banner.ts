/** The start-up lines of `portvakt dev`: what runs where, and a curl to paste. */
import { isIPv6 } from 'node:net'
import { DEFAULT_ISSUER_PORT } from './dev-config.js'
import type { DevRun } from './start-dev.js'

/** The line the banner starts with; scripts and tests wait for it. */
export const READY_LINE = 'portvakt dev is ready'

/**
 * The URL a user curls to reach a listener bound to `host`. A bind to every address (0.0.0.0, ::)
 * is reached on loopback: 127.0.0.1, or localhost for :: (dual stack, so either family answers).
 * An IPv6 literal goes in brackets (RFC 3986 §3.2.2), else `http://:::8080` is no URL.
 */
export function formatListenUrl (host: string, port: number): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === '0.0.0.0') return `http://127.0.0.1:${port}`
  if (!isIPv6(bare)) return `http://${host}:${port}`
  // Only 0s and colons: the unspecified address, however it is spelt.
  return /^[0:]+$/.test(bare) ? `http://localhost:${port}` : `http://[${bare}]:${port}`
}

/** Compose the banner for a running dev setup. */
export function formatBanner (run: DevRun): string {
  const proxy = formatListenUrl(run.settings.host, run.gateway.port)
  const table = run.gateway.routes.current
  const example = table.routes.find((r) => !r.public && r.scopes !== undefined && r.methods.includes('GET'))
  const portPrefix = run.issuer.port === DEFAULT_ISSUER_PORT ? '' : `PORTVAKT_DEV_ISSUER_PORT=${run.issuer.port} `
  const lines = [
    READY_LINE,
    `  proxy     ${proxy}  routes from ${table.source} (watched: edit it, the next request sees it)`,
    `  issuer    ${run.issuer.issuer}  tokens: POST ${run.issuer.tokenEndpoint}, keys: ${run.issuer.jwksUri}`,
    `  altinn    ${run.altinn.url}  PDP and token exchange, grants from ${run.grantsFile}`,
    run.demo === undefined
      ? `  upstream  ${run.settings.upstream}  (your app)`
      : `  upstream  ${run.demo.url}  (demo: echoes what your app would receive)`,
    `  key       ${run.key.file}${run.key.created ? ' (new)' : ''}`
  ]
  if (example !== undefined) {
    const scope = example.scopes?.list[0] ?? ''
    lines.push('', 'Try:', `  curl -i -H "Authorization: Bearer $(${portPrefix}npx portvakt token --scope ${scope})" ${proxy}${example.path}`)
  }
  return lines.join('\n') + '\n'
}

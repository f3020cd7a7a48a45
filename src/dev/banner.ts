/** The start-up lines of `portvakt dev`: what runs where, and a curl to paste. */
import { DEFAULT_ISSUER_PORT } from './dev-config.js'
import type { DevRun } from './start-dev.js'

/** The line the banner starts with; scripts and tests wait for it. */
export const READY_LINE = 'portvakt dev is ready'

/** Compose the banner for a running dev setup. */
export function formatBanner (run: DevRun): string {
  const proxy = `http://${run.settings.host === '0.0.0.0' ? '127.0.0.1' : run.settings.host}:${run.gateway.port}`
  const table = run.gateway.routes.current
  const example = table.routes.find((r) => !r.public && r.scopes !== undefined && r.methods.includes('GET'))
  const portPrefix = run.issuer.port === DEFAULT_ISSUER_PORT ? '' : `PORTVAKT_DEV_ISSUER_PORT=${run.issuer.port} `
  const lines = [
    READY_LINE,
    `  proxy     ${proxy}  routes from ${table.source} (watched: edit it, the next request sees it)`,
    `  issuer    ${run.issuer.issuer}  tokens: POST ${run.issuer.tokenEndpoint}, keys: ${run.issuer.jwksUri}`,
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

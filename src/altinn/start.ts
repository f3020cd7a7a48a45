/**
 * Composition of the Altinn side: settings → subscription key → Maskinporten token client (the
 * egress side's, egress/token-client.ts) → token exchange → PDP client → decider. Built when
 * PORTVAKT_ALTINN_URL is set (without it, `altinn` routes answer 503 and a warning says why; each such
 * 503 is an error line); with it, NAIS_TOKEN_ENDPOINT is required. Readiness never asks Altinn: one blip must not take every
 * route down (the affected requests answer 503 instead).
 */
import { readFile } from 'node:fs/promises'
import type { AltinnSettings, OutboundProxy } from '../config/env.js'
import { ConfigError } from '../config/errors.js'
import type { RouteTable } from '../config/routes.js'
import { TokenClient } from '../egress/token-client.js'
import { createOutboundHttp } from '../http/client.js'
import type { Logger } from '../observe/log.js'
import { AltinnTokenSource } from './altinn-token.js'
import { AltinnDecider, type AltinnOutcome } from './decide.js'
import { askPdp } from './pdp-client.js'

/** What the Altinn side is started with. */
export interface AltinnStartOptions {
  settings: AltinnSettings
  /** NAIS_TOKEN_ENDPOINT */
  tokenEndpoint: string | undefined
  proxy: OutboundProxy
  table: RouteTable
  logger: Logger
  onCall?: (outcome: AltinnOutcome, seconds: number) => void
}

/** A running Altinn side. */
export interface AltinnSide {
  decider: AltinnDecider
  tokens: AltinnTokenSource
  close: () => Promise<void>
}

const fail = (problem: string): never => { throw new ConfigError('portvakt cannot start; fix these environment variables', [problem]) }

async function readKey (settings: AltinnSettings): Promise<string | undefined> {
  const source = settings.subscriptionKey
  if (source === undefined) return undefined
  if ('value' in source) return source.value
  let text: string
  try {
    text = await readFile(source.file, 'utf8')
  } catch (err) {
    return fail(`PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: cannot read ${source.file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`)
  }
  const key = text.trim()
  if (!/^[\x21-\x7e]+$/.test(key)) fail(`PORTVAKT_ALTINN_SUBSCRIPTION_KEY_FILE: ${source.file} does not hold one key of printable ASCII`)
  return key
}

/** Build the Altinn side, or undefined when PORTVAKT_ALTINN_URL is unset and no route asks Altinn. Throws ConfigError. */
export async function startAltinn (options: AltinnStartOptions): Promise<AltinnSide | undefined> {
  const { settings, table } = options
  const asking = table.routes.filter((r) => r.altinn !== undefined)
  const { authorizeUrl, exchangeUrl } = settings
  if (authorizeUrl === undefined || exchangeUrl === undefined) {
    // Started all the same, as after a reload that brings such a route: those routes answer 503,
    // the others serve (the shipped example table has one, and a pod must not crash-loop on it).
    if (asking.length > 0) options.logger.warn({ routes: asking.map((r) => r.id), lines: asking.map((r) => r.line) }, `PORTVAKT_ALTINN_URL is not set, but ${table.source} has routes with altinn: they answer 503 until it is set to Altinn's platform URL, e.g. https://platform.tt02.altinn.no`)
    return undefined
  }
  const endpoint = options.tokenEndpoint ?? fail('NAIS_TOKEN_ENDPOINT: not set, but portvakt needs a Maskinporten token to ask Altinn\'s PDP; NAIS sets it when spec.maskinporten.enabled is true')
  const subscriptionKey = await readKey(settings)
  if (subscriptionKey === undefined && asking.length > 0) {
    options.logger.warn('routes ask Altinn, but no subscription key is set (PORTVAKT_ALTINN_SUBSCRIPTION_KEY or _FILE): Altinn\'s PDP documentation says one is required, and the PDP will answer 401 if it is')
  }
  const outbound = createOutboundHttp(options.proxy, { connections: 16, connectTimeoutMs: settings.timeoutMs, tunnelPlainHttp: true })
  const maskinporten = new TokenClient({ endpoint, fetch: outbound.fetch, timeoutMs: settings.timeoutMs })
  const tokens = new AltinnTokenSource({ exchangeUrl, scope: settings.scope, maskinporten, fetch: outbound.fetch, timeoutMs: settings.timeoutMs })
  const pdp = { authorizeUrl, tokens, fetch: outbound.fetch, timeoutMs: settings.timeoutMs, subscriptionKey }
  const decider = new AltinnDecider({ ask: async (question) => await askPdp(pdp, question), ttlMs: settings.cacheTtlMs, maxEntries: settings.cacheSize, onCall: options.onCall })
  return { decider, tokens, close: outbound.close }
}

/**
 * `portvakt dev` composed: dev key → local issuer → demo upstream → the real gateway trusting that
 * issuer, watching its route file. Takes everything as parameters; main.ts owns the process.
 */
import { loadSettings, type Settings } from '../config/env.js'
import { listenOrExplain } from '../http/listen-error.js'
import type { Logger } from '../observe/log.js'
import { startGateway, type Gateway } from '../start.js'
import { loadGrants } from './altinn-grants.js'
import { startDevPdp, type DevPdp } from './altinn-pdp.js'
import { DEV_HOST, DEV_SUBSCRIPTION_KEY, type DevConfig } from './dev-config.js'
import { loadDevKey, type DevKey } from './dev-key.js'
import { startDemoUpstream, type DemoUpstream } from './demo-upstream.js'
import { startDevIssuer, type DevIssuer } from './issuer.js'

/** A running `portvakt dev`. */
export interface DevRun {
  key: DevKey
  issuer: DevIssuer
  /** the local Altinn (token exchange and PDP), answering from the grants file */
  altinn: DevPdp
  grantsFile: string
  /** undefined when the user's own app is the upstream */
  demo: DemoUpstream | undefined
  settings: Settings
  gateway: Gateway
  close: () => Promise<void>
}

/** Start a dev listener on loopback; a port in use is a ConfigError naming `variable`, as for the gateway's own. */
async function listenOn<T> (variable: string, port: number, start: () => Promise<T>): Promise<T> {
  let started: T | undefined
  await listenOrExplain({ portVariable: variable, hostVariable: undefined, host: DEV_HOST, port }, async () => { started = await start() })
  return started as T
}

/** Start everything `portvakt dev` runs; on a failure, whatever started is closed again. */
export async function startDev (config: Omit<DevConfig, 'logFormat'>, logger: Logger): Promise<DevRun> {
  const key = await loadDevKey(config.dir)
  const closers: Array<() => Promise<void>> = []
  const closeAll = async (): Promise<void> => { for (const close of [...closers].reverse()) await close() }
  try {
    const issuer = await listenOn('PORTVAKT_DEV_ISSUER_PORT', config.issuerPort, async () => await startDevIssuer({
      host: DEV_HOST,
      port: config.issuerPort,
      key,
      onIssue: (event) => { logger.info(event, 'dev token issued') }
    }))
    closers.push(issuer.close)
    const altinn = await listenOn('PORTVAKT_DEV_ALTINN_PORT', config.altinnPort, async () => await startDevPdp({
      host: DEV_HOST,
      port: config.altinnPort,
      maskinporten: issuer,
      subscriptionKey: DEV_SUBSCRIPTION_KEY,
      // Read at every question: edit the grants, the next uncached question sees them.
      grants: async () => await loadGrants(config.grantsFile).catch((err: unknown) => {
        logger.error({ problems: (err as { problems?: unknown }).problems ?? String(err) }, 'the dev grants file has problems; the dev PDP answers 500 until it is fixed')
        throw err
      })
    }))
    closers.push(altinn.close)
    const demo = config.demoPort === undefined
      ? undefined
      : await listenOn('PORTVAKT_DEV_UPSTREAM_PORT', config.demoPort, async () => await startDemoUpstream(DEV_HOST, config.demoPort as number))
    if (demo !== undefined) closers.push(demo.close)
    const settings = loadSettings({
      ...config.gatewayEnv,
      MASKINPORTEN_ISSUER: issuer.issuer,
      MASKINPORTEN_JWKS_URI: issuer.jwksUri,
      // The local issuer is the local NAIS_TOKEN_ENDPOINT too, so egress works on a laptop.
      NAIS_TOKEN_ENDPOINT: config.gatewayEnv.NAIS_TOKEN_ENDPOINT ?? issuer.tokenEndpoint,
      PORTVAKT_ALTINN_URL: altinn.url,
      PORTVAKT_ALTINN_SUBSCRIPTION_KEY: DEV_SUBSCRIPTION_KEY,
      // Short, so an edited grant shows within seconds; the cache still shows in the access line.
      PORTVAKT_ALTINN_CACHE_TTL: config.gatewayEnv.PORTVAKT_ALTINN_CACHE_TTL ?? '5s',
      ...(demo === undefined ? {} : { PORTVAKT_UPSTREAM: demo.url })
    })
    // The gateway names its own listener's variable when a port is taken (http/listen-error.ts).
    const gateway = await startGateway(settings, logger)
    closers.push(gateway.close)
    // Edit the YAML, the next curl sees it; a bad edit is logged and the old table keeps serving.
    gateway.routes.watch()
    await gateway.keys.whenReady()
    return { key, issuer, altinn, grantsFile: config.grantsFile, demo, settings, gateway, close: closeAll }
  } catch (err) {
    await closeAll()
    throw err
  }
}

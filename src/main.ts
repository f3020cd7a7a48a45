/**
 * The only module that touches the process (STYLE §1): environment, listening, signals, exit codes.
 */
import { readFile } from 'node:fs/promises'
import { formatAnnotation, type CheckFormat } from './commands/annotations.js'
import { checkRoutes } from './commands/check.js'
import { requestDevToken, type TokenCommandOptions } from './commands/token.js'
import { ConfigError } from './config/errors.js'
import { loadSettings, SETTING_NAMES, type Settings } from './config/env.js'
import type { LogFormat } from './config/env-values.js'
import { describeUnknownVariables, findUnknownVariables } from './config/unknown-variables.js'
import { formatBanner } from './dev/banner.js'
import { DEFAULT_ISSUER_PORT, DEV_SETTING_NAMES, loadDevConfig } from './dev/dev-config.js'
import { startDev } from './dev/start-dev.js'
import { appAddress, Launcher } from './launcher/launcher.js'
import { createLogger, type Logger } from './observe/log.js'
import { createOutboundHttp, issuerClientOptions, type OutboundHttp } from './http/client.js'
import { startGateway, type Gateway } from './start.js'

/** Report a start-up failure on stderr and exit 1: config errors plainly, others with their message. */
export function failStart (err: unknown): never {
  const text = err instanceof ConfigError ? err.message : `portvakt failed to start: ${(err as Error).message ?? String(err)}`
  process.stderr.write(text + '\n')
  process.exit(1)
}

/**
 * A command's settings from the environment (a bad one ends the start) and the logger they ask for,
 * which warns once of every PORTVAKT_* variable no setting reads (known names from the schemas themselves).
 */
function loadFromEnv<C extends { logLevel: string, logFormat: LogFormat }> (load: (env: NodeJS.ProcessEnv) => C): { config: C, logger: Logger } {
  let config
  try {
    config = load(process.env)
  } catch (err) {
    failStart(err)
  }
  const logger = createLogger(config.logLevel, undefined, config.logFormat)
  const unknown = findUnknownVariables(process.env, [...SETTING_NAMES, ...DEV_SETTING_NAMES])
  if (unknown.length > 0) logger.warn({ unknownVariables: unknown }, describeUnknownVariables(unknown))
  return { config, logger }
}

/** `portvakt serve [-- app command…]`: the production entry point; with a command, launcher mode. */
export async function serve (appCommand?: readonly string[]): Promise<void> {
  const { config: settings, logger } = loadFromEnv(loadSettings)
  // Node's fetch ignores HTTP(S)_PROXY; the JWKS and well-known fetches go through this one.
  const outbound = createOutboundHttp(settings.proxy, issuerClientOptions(settings.jwks.timeoutMs))
  // The pod's listening sockets, for the check that the app is not reachable around the gate.
  const readSocketTable = async (table: 'tcp' | 'tcp6'): Promise<string> => await readFile(`/proc/net/${table}`, 'utf8')
  const gateway = await startGateway(settings, logger, outbound.fetch, readSocketTable).catch(failStart)
  const launcher = appCommand === undefined ? undefined : launchApp(settings, appCommand, logger, gateway)
  handleSignals(logger, gateway, outbound, launcher)
}

/** How long the app may take to accept connections before the log says where portvakt waits for it. */
const APP_SLOW_MS = 5_000

/** Launcher mode: start the app after the gateway is up; readiness waits until it accepts connections. */
function launchApp (settings: Settings, command: readonly string[], logger: Logger, gateway: Gateway): Launcher {
  let address
  try {
    address = appAddress(settings.upstream)
  } catch (err) {
    void gateway.close()
    failStart(err)
  }
  const launcher = Launcher.start({ command, env: process.env, ...address, stopTimeoutMs: settings.shutdown.timeoutMs })
  // No pid: the command never ran, and the exit handler (handleSignals) says why and ends portvakt.
  if (launcher.pid === undefined) return launcher
  logger.info({ command, pid: launcher.pid, port: address.port }, 'app started')
  // Processes the app abandons are re-parented to PID 1, and Node reaps only the children it started
  // (README, "PID 1 is tini"), so as PID 1 they would stay zombies until the pod ends.
  if (process.pid === 1) {
    logger.warn('portvakt runs as PID 1 and cannot reap processes the app abandons; run it under tini: ENTRYPOINT ["tini", "--", "portvakt", ...], as the Dockerfile does')
  }
  const waiting = `the app does not accept connections on ${address.host}:${address.port} yet; it must listen on $PORT (${address.port}), which portvakt sets from PORTVAKT_UPSTREAM`
  gateway.readiness.addCheck(async () => await launcher.upstreamReady() ? undefined : waiting)
  // The probe's answer is not in the log: say it there too, once, for an app that listens elsewhere.
  const slow = setTimeout(() => { logger.warn({ host: address.host, port: address.port, waitedMs: APP_SLOW_MS }, waiting) }, APP_SLOW_MS).unref()
  void launcher.waitUntilReady().then((ready) => {
    clearTimeout(slow)
    if (ready) logger.info({ port: address.port }, 'app accepts connections')
  })
  return launcher
}

/** Stop the app, then close the egress listener it may have used until its last moment; its status. */
async function stopApp (logger: Logger, gateway: Gateway, launcher: Launcher): Promise<number> {
  const exit = await launcher.stop()
  logger.info({ code: exit.code, signal: exit.signal, status: exit.status }, 'shutdown: the app has stopped')
  await gateway.closeEgress()
  return exit.status
}

function exitWith (logger: Logger, status: number): void {
  logger.flush(() => process.exit(status))
}

/**
 * SIGTERM/SIGINT: readiness off, keep serving the shutdown delay, drain in-flight requests, then stop
 * the app (launcher mode); exit with the app's status (0 without one). The app exiting on its own ends
 * portvakt with its status too, so Kubernetes restarts the pod. SIGHUP re-reads the route table.
 * In launcher mode the egress listener closes only once the app has stopped: an app finishing its
 * work on SIGTERM may still call out.
 */
function handleSignals (logger: Logger, gateway: Gateway, outbound: OutboundHttp, launcher: Launcher | undefined): void {
  let closing = false
  const stop = (signal: string): void => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    gateway.shutdown({ keepEgress: launcher !== undefined })
      .then(async () => { await outbound.close() })
      .then(async () => launcher === undefined ? 0 : await stopApp(logger, gateway, launcher))
      .then((status) => { exitWith(logger, status) }, (err: unknown) => {
        logger.error({ err }, 'shutdown failed')
        void (launcher?.stop() ?? Promise.resolve()).finally(() => { exitWith(logger, 1) })
      })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
  // The holder logs and counts the result, and keeps the old table if the new one is invalid.
  process.on('SIGHUP', () => { void gateway.routes.reload('SIGHUP') })
  void launcher?.exited.then((exit) => {
    if (closing) return
    closing = true
    if (exit.error !== undefined) logger.error({ status: exit.status, err: exit.error }, `portvakt cannot launch the app: ${exit.error}; it exits with ${exit.status}`)
    else logger.error({ code: exit.code, signal: exit.signal, status: exit.status }, 'the app exited; portvakt exits with its status')
    void gateway.close().finally(() => { exitWith(logger, exit.status) })
  })
}

/** dev's signal handling: on SIGTERM or SIGINT close everything at once (no drain: nothing depends on a dev run), flush and exit. */
function closeOnSignals (logger: Logger, close: () => Promise<void>): void {
  let closing = false
  const stop = (signal: string): void => {
    if (closing) return
    closing = true
    logger.info({ signal }, 'shutting down')
    close().then(() => { exitWith(logger, 0) }, (err: unknown) => {
      logger.error({ err }, 'shutdown failed')
      process.exit(1)
    })
  }
  process.on('SIGTERM', () => { stop('SIGTERM') })
  process.on('SIGINT', () => { stop('SIGINT') })
}

/** `portvakt dev`: local issuer, demo upstream and the gate, for curl testing; refuses in a cluster. */
export async function dev (): Promise<void> {
  const { config, logger } = loadFromEnv(loadDevConfig)
  const run = await startDev(config, logger).catch(failStart)
  // The banner goes to stderr so stdout stays pure JSON logs (`portvakt dev | jq` works).
  process.stderr.write(formatBanner(run))
  closeOnSignals(logger, run.close)
}

/** `portvakt token`: print one bare token from the running dev issuer, and nothing else on stdout. */
export async function token (options: Omit<TokenCommandOptions, 'issuerUrl'>): Promise<void> {
  const port = process.env.PORTVAKT_DEV_ISSUER_PORT || String(DEFAULT_ISSUER_PORT)
  try {
    process.stdout.write(await requestDevToken({ ...options, issuerUrl: `http://127.0.0.1:${port}` }) + '\n')
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    process.exitCode = 1
  }
}

/**
 * `portvakt check`: the compiled table on stdout, problems on stderr (as GitHub annotations on
 * stdout with `--format github`); exit 1 when there is any error.
 */
export async function check (routesFile: string | undefined, manifestFile: string | undefined, format: CheckFormat = 'text'): Promise<void> {
  // Empty counts as unset, as in loadSettings. A file that can't be read is named as the user named it.
  const fromEnv = process.env.PORTVAKT_ROUTES || undefined
  const file = routesFile ?? fromEnv ?? 'config/routes.yaml'
  const fix = routesFile !== undefined
    ? 'check the path'
    : fromEnv !== undefined ? 'PORTVAKT_ROUTES names it; check the path' : 'name your route table: portvakt check <routes.yaml>, or set PORTVAKT_ROUTES'
  const report = await checkRoutes(file, manifestFile, fix)
  if (report.table !== undefined) process.stdout.write(report.table)
  const files = manifestFile === undefined ? [file] : [file, manifestFile]
  const say = (level: 'error' | 'warning', problem: string): boolean => format === 'github'
    ? process.stdout.write(formatAnnotation(level, problem, files))
    : process.stderr.write(`${level}: ${problem}\n`)
  for (const warning of report.warnings) say('warning', warning)
  for (const error of report.errors) say('error', error)
  const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`
  if (report.ok) {
    const exposed = manifestFile === undefined ? '' : `, and ${manifestFile} exposes every route scope and consumes every egress scope`
    const warned = report.warnings.length === 0 ? '' : ` (${plural(report.warnings.length, 'warning')})`
    process.stdout.write(`${file}: valid${exposed}${warned}\n`)
  } else if (!report.unreadable) {
    process.stderr.write(`${manifestFile === undefined ? file : `${file} and ${manifestFile}`}: ${plural(report.errors.length, 'problem')}\n`)
  }
  process.exitCode = report.ok ? 0 : 1
}

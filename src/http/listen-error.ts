/**
 * A listener that cannot open its port → a ConfigError naming the setting to change (STYLE §3).
 * Node's own message ("listen EADDRINUSE: address already in use 127.0.0.1:8080") names no setting,
 * and portvakt has three listeners. The wording follows `portvakt dev`'s (dev/start-dev.ts). Translated by `code`, never by message (STYLE §8).
 */
import { ConfigError } from '../config/errors.js'

/** Which listener, and the variables that set its address. */
export interface ListenerSetting {
  /** e.g. PORTVAKT_PORT */
  portVariable: string
  /** e.g. PORTVAKT_HOST; undefined for a listener whose host is fixed (egress: 127.0.0.1) */
  hostVariable: string | undefined
  host: string
  port: number
}

/** The problem line for a listen error with a known code; undefined for any other error. */
export function describeListenError (err: unknown, where: ListenerSetting): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const { portVariable, hostVariable, host, port } = where
  if (code === 'EADDRINUSE') {
    return `${portVariable}: port ${port} on ${host} is already in use by another process; stop what holds it or set ${portVariable} to a free port`
  }
  if (code === 'EACCES') {
    return `${portVariable}: port ${port} needs privileges this process does not have (ports below 1024 do); set ${portVariable} to 1024 or above`
  }
  if (code === 'EADDRNOTAVAIL' && hostVariable !== undefined) {
    return `${hostVariable}: ${host} is not an address of this machine; set ${hostVariable} to one of its addresses, or 0.0.0.0 for all`
  }
  return undefined
}

/** Run `listen`; a port in use (or otherwise refused) is rethrown as a ConfigError naming its variable. */
export async function listenOrExplain (where: ListenerSetting, listen: () => Promise<unknown>): Promise<void> {
  try {
    await listen()
  } catch (err) {
    const problem = describeListenError(err, where)
    if (problem === undefined) throw err
    throw new ConfigError('portvakt cannot start; fix these environment variables', [problem])
  }
}

/** Run every step, even after one failed, so all of them are tried; the problems of those that threw a ConfigError, in order. Any other error is rethrown at once. */
export async function collectProblems (steps: ReadonlyArray<() => Promise<void>>): Promise<string[]> {
  const problems: string[] = []
  for (const step of steps) {
    try {
      await step()
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      problems.push(...err.problems)
    }
  }
  return problems
}

/**
 * Argument parsing for `serve`, `dev`, `token` and `check` (their help texts: help.ts). Pure: it
 * returns what to do and what to print, and cli.ts does it, so every branch is testable without a
 * process.
 */
import type { ParseArgsConfig } from 'node:util'
import { didYouMean } from '../config/suggest.js'
import { CHECK_FORMATS, type CheckFormat } from './annotations.js'
import { readOptions } from './options.js'
import { checkTokenOptions, type TokenCommandOptions } from './token.js'
import { describeVersion } from '../version.js'
import { PARTY_OPTIONS, readPartyFlags } from './token-flags.js'
import { COMMAND_HELP, GENERAL_HELP, type Command } from './help.js'

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help', text: string }
  | { kind: 'version' }
  | { kind: 'usage', message: string, help: string }
  | { kind: 'serve', app: string[] | undefined }
  | { kind: 'dev' }
  | { kind: 'token', options: Omit<TokenCommandOptions, 'issuerUrl'> }
  | { kind: 'check', routesFile: string | undefined, manifestFile: string | undefined, format: CheckFormat }

const OPTIONS: Record<Exclude<Command, 'serve'>, ParseArgsConfig['options']> = {
  dev: {},
  token: {
    scope: { type: 'string', multiple: true },
    audience: { type: 'string' },
    orgno: { type: 'string' },
    expires: { type: 'string' },
    fresh: { type: 'boolean' },
    ...PARTY_OPTIONS
  },
  check: { manifest: { type: 'string' }, format: { type: 'string' } }
}

/** Whether `command` is one of portvakt's commands. */
export function isCommand (command: string): command is Command {
  return Object.hasOwn(COMMAND_HELP, command)
}

/**
 * `serve`: nothing, `--help`/`-h`, or `--` and the app command (launcher mode). Not parseArgs:
 * everything after `--` is the app's, its options included. A usage error shows the general help:
 * serve is the default command, and someone who wrote `serve --port` may be after any of them.
 */
function parseServe (args: readonly string[]): Invocation {
  const help = GENERAL_HELP
  if (args.length === 0) return { kind: 'serve', app: undefined }
  if (args.length === 1 && (args[0] === '--help' || args[0] === '-h')) return { kind: 'help', text: COMMAND_HELP.serve }
  if (args[0] === '--' && args.length > 1) return { kind: 'serve', app: args.slice(1) }
  if (args[0] === '--') return { kind: 'usage', message: 'name the app to launch: portvakt serve -- <app command…>', help }
  return { kind: 'usage', message: 'serve takes no options (portvakt serve --help); to launch your app write: portvakt serve -- <app command…>', help }
}

/** Parse the whole command line (process.argv without node and the script); no command is `serve`. */
export function parseArgv (argv: readonly string[]): Invocation {
  const [command = 'serve', ...rest] = argv
  if (isCommand(command)) return parseCommand(command, rest)
  if (command === '--help' || command === '-h' || command === 'help') return { kind: 'help', text: GENERAL_HELP }
  if ((command === '--version' || command === '-v') && rest.length === 0) return { kind: 'version' }
  return { kind: 'usage', message: `unknown command "${command}"${didYouMean(command, Object.keys(COMMAND_HELP))}`, help: GENERAL_HELP }
}

/**
 * What the CLI prints and exits with for help or the version (0) or a usage error (2); undefined for
 * a command to run. `nodeVersion`: the runtime's, this one unless told.
 */
export function answerOf (call: Invocation, nodeVersion: string = process.version): { stdout: string, stderr: string, exitCode: 0 | 2 } | undefined {
  if (call.kind === 'help') return { stdout: call.text, stderr: '', exitCode: 0 }
  if (call.kind === 'version') return { stdout: `${describeVersion(nodeVersion)}\n`, stderr: '', exitCode: 0 }
  if (call.kind === 'usage') return { stdout: '', stderr: `portvakt: ${call.message}\n\n${call.help}`, exitCode: 2 }
  return undefined
}

/** Parse the arguments after `command`. */
export function parseCommand (command: Command, args: string[]): Invocation {
  if (command === 'serve') return parseServe(args)
  const help = COMMAND_HELP[command]
  const parsed = readOptions(args, { ...OPTIONS[command], help: { type: 'boolean', short: 'h' } }, command === 'check')
  if (!parsed.ok) return { kind: 'usage', message: parsed.problem, help }
  const { values } = parsed
  if (values.help === true) return { kind: 'help', text: help }
  if (command === 'dev') return { kind: 'dev' }
  if (command === 'check') {
    if (parsed.positionals.length > 1) return { kind: 'usage', message: 'check takes one route file', help }
    const format = (values.format ?? 'text') as CheckFormat
    if (!CHECK_FORMATS.includes(format)) return { kind: 'usage', message: `--format is ${CHECK_FORMATS.join(' or ')}`, help }
    return { kind: 'check', routesFile: parsed.positionals[0], manifestFile: values.manifest as string | undefined, format }
  }
  const expires = values.expires as string | undefined
  if (expires !== undefined && !/^\d+$/.test(expires)) return { kind: 'usage', message: '--expires is a number of seconds', help }
  const scopes = ((values.scope ?? []) as string[]).flatMap((s) => s.split(/\s+/)).filter((s) => s !== '')
  if (scopes.length === 0) return { kind: 'usage', message: 'give at least one --scope, e.g. --scope nav:arbeid:arbeidsforhold.read', help }
  const parties = readPartyFlags(values)
  if ('message' in parties) return { kind: 'usage', message: parties.message, help }
  const options = {
    scopes,
    audience: values.audience as string | undefined,
    orgno: values.orgno as string | undefined,
    expiresIn: expires === undefined ? undefined : Number(expires),
    fresh: values.fresh === true,
    ...parties.flags
  }
  const problem = checkTokenOptions(options)
  return problem === undefined ? { kind: 'token', options } : { kind: 'usage', message: problem, help }
}

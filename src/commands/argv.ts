/**
 * Argument parsing and per-command help for `serve`, `dev`, `token` and `check`. Pure: it
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

/** The commands parsed here: all of them. */
export type Command = 'serve' | 'dev' | 'token' | 'check'

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help', text: string }
  | { kind: 'version' }
  | { kind: 'usage', message: string, help: string }
  | { kind: 'serve', app: string[] | undefined }
  | { kind: 'dev' }
  | { kind: 'token', options: Omit<TokenCommandOptions, 'issuerUrl'> }
  | { kind: 'check', routesFile: string | undefined, manifestFile: string | undefined, format: CheckFormat }

/** `portvakt --help`: the commands, and the settings most runs need. */
export const GENERAL_HELP = `portvakt: a Maskinporten auth gate in front of your API

Usage: portvakt <command> [options]      (portvakt <command> --help for more)

Commands:
  serve                      run the gate (default)
  serve -- <app command…>    launcher mode: start the app with PORT set, front it, stop it with portvakt
  dev                        run the gate with a local Maskinporten issuer and a demo upstream, for curl testing
  token                      print a token from the running dev issuer
  check                      validate a route table (and cross-check it with a NAIS manifest)
  --help                     show this help
  --version, -v              print portvakt's version and the Node it runs on

Environment (serve): see the README's settings table; the main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI, MASKINPORTEN_WELL_KNOWN_URL
  PORTVAKT_ROUTES (config/routes.yaml), PORTVAKT_UPSTREAM (http://127.0.0.1:8081), PORTVAKT_PORT (8080)
  PORTVAKT_ADMIN_PORT (8079): /isalive, /isready, /metrics
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)

Signals (serve): SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the route table
`

/** `portvakt <command> --help` for each command. */
export const COMMAND_HELP: Record<Command, string> = {
  serve: `Usage: portvakt serve                      run the gate (also: portvakt with no command)
       portvakt serve -- <app command…>   launcher mode: start the app with PORT set, front it, stop it with portvakt

Takes no options: everything is set in the environment (the README's settings table). The main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI  the issuer to trust (NAIS sets them), or
  MASKINPORTEN_WELL_KNOWN_URL                 to discover both
  PORTVAKT_ROUTES      config/routes.yaml      the route table
  PORTVAKT_UPSTREAM    http://127.0.0.1:8081   the app (its origin only)
  PORTVAKT_PORT        8080                    the gate's port
  PORTVAKT_ADMIN_PORT  8079                    /isalive, /isready, /metrics
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)

Signals: SIGTERM/SIGINT drain and exit 0 (launcher mode: the app's status); SIGHUP reloads the route table.
Exit 1 with every problem named when the settings or the route table are wrong; 2 on a bad option.
`,
  dev: `Usage: portvakt dev   (npm run dev)

Starts, in one process, on loopback:
  a local Maskinporten issuer  http://127.0.0.1:$PORTVAKT_DEV_ISSUER_PORT/ (metadata, /jwk, POST /token)
  a local Altinn               http://127.0.0.1:$PORTVAKT_DEV_ALTINN_PORT/ (token exchange, PDP from the grants file)
  a demo upstream              echoes method, path, query and the identity headers it receives
  the gate                     trusting that issuer only, watching the route file for edits
Refuses to start when NAIS_CLUSTER_NAME is set: dev tokens are signed with a key on local disk.

Environment:
  PORTVAKT_DEV_ISSUER_PORT    8090                 the dev issuer's port
  PORTVAKT_DEV_UPSTREAM_PORT  8081                 the demo upstream's port
  PORTVAKT_DEV_ALTINN_PORT    8091                 the local Altinn's port
  PORTVAKT_DEV_ALTINN_GRANTS  config/altinn-grants.yaml  what the local PDP permits
  PORTVAKT_UPSTREAM           (the demo upstream)  your app instead of the demo
  PORTVAKT_DEV_DIR            .portvakt            where the dev signing key is kept
  PORTVAKT_ROUTES             config/routes.yaml   the route table
  PORTVAKT_PORT               8080                 the gate's port
  PORTVAKT_HOST               127.0.0.1            the gate's address
  and every other PORTVAKT_* setting of serve; MASKINPORTEN_* and PORTVAKT_ALTINN_URL are ignored
`,
  token: `Usage: portvakt token --scope <scope> [--scope <scope> ...] [options]

Prints one bare token from the running dev issuer (portvakt dev) to stdout, so that
  curl -H "Authorization: Bearer $(npx portvakt token --scope nav:arbeid:arbeidsforhold.read)" localhost:8080/api/v1/arbeidsforhold

Options:
  --scope <scope>      a scope the token holds (repeat for more; space-separated also works)
  --audience <uri>     request an audience-restricted token (resource → aud)
  --orgno <orgno>      the consumer organisation (default 123456789)
  --expires <seconds>  lifetime (default 120, at most 3600)
  --fresh              skip the issuer's token cache
  --supplier <orgno>   a delegated token: this supplier calls for the consumer (--orgno, the customer)
  --systemuser-org <orgno>
                       an Altinn system-user token for this customer; the consumer (--orgno) is the vendor
  --system-id <id>     its system_id (default <orgno>_dev), e.g. 123456789_lonn
  --systemuser-id <uuid>
                       its systemuser_id (default: the same for the same customer and system)
Environment:
  PORTVAKT_DEV_ISSUER_PORT  8090  where the dev issuer listens
Exit 1 when the dev issuer is not running or refuses, or PORTVAKT_DEV_ISSUER_PORT is not a port;
2 on a bad or missing option (no --scope).
`,
  check: `Usage: portvakt check [routes.yaml] [--manifest nais.yaml] [--format github]

Validates a route table without starting anything and prints it compiled: path, methods, scopes
after expansion, audience, consumers, public, delegation and system-user rules; then the egress
targets: name, url, scopes, resource. Exit 0 when valid, 1 with every problem and its line.

Options:
  --manifest <file>  also cross-check with the NAIS manifest's spec.maskinporten.scopes:
                     a route scope not in exposes (or not enabled) is an error, an unused one a warning,
                     so is a delegation: required route on scopes without delegationSource;
                     an egress scope not in consumes is an error, a consumed one no egress uses a warning
  --format github    each problem as a GitHub Actions annotation (::error file=…,line=…::…) on stdout,
                     shown on that file and line in the run and the pull request (default: text)
Environment:
  PORTVAKT_ROUTES  config/routes.yaml  the route table when no file is given
`,
}

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

/**
 * Argument parsing and per-command help for `dev`, `token` and `check` (issue 3). Pure: it returns
 * what to do, and cli.ts does it, so every branch is testable without a process.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import type { TokenCommandOptions } from './token.js'

/** The commands parsed here. */
export type DevCommand = 'dev' | 'token' | 'check'

/** What the command line asks for. */
export type Invocation =
  | { kind: 'help', text: string }
  | { kind: 'usage', message: string, help: string }
  | { kind: 'dev' }
  | { kind: 'token', options: Omit<TokenCommandOptions, 'issuerUrl'> }
  | { kind: 'check', routesFile: string | undefined, manifestFile: string | undefined }

/** `portvakt <command> --help` for the commands this file parses. */
export const COMMAND_HELP: Record<DevCommand, string> = {
  dev: `Usage: portvakt dev   (npm run dev)

Starts, in one process, on loopback:
  a local Maskinporten issuer  http://127.0.0.1:$PORTVAKT_DEV_ISSUER_PORT/ (metadata, /jwk, POST /token)
  a demo upstream              echoes method, path, query and the identity headers it receives
  the gate                     trusting that issuer only, watching the route file for edits
Refuses to start when NAIS_CLUSTER_NAME is set: dev tokens are signed with a key on local disk.

Environment:
  PORTVAKT_DEV_ISSUER_PORT    8090                 the dev issuer's port
  PORTVAKT_DEV_UPSTREAM_PORT  8081                 the demo upstream's port
  PORTVAKT_UPSTREAM           (the demo upstream)  your app instead of the demo
  PORTVAKT_DEV_DIR            .portvakt            where the dev signing key is kept
  PORTVAKT_ROUTES             config/routes.yaml   the route table
  PORTVAKT_PORT               8080                 the gate's port
  PORTVAKT_HOST               127.0.0.1            the gate's address
  and every other PORTVAKT_* setting of serve; MASKINPORTEN_* are ignored
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
Environment:
  PORTVAKT_DEV_ISSUER_PORT  8090  where the dev issuer listens
`,
  check: `Usage: portvakt check [routes.yaml] [--manifest nais.yaml]

Validates a route table without starting anything and prints it compiled: path, methods, scopes
after expansion, audience, consumers, public. Exit 0 when valid, 1 with every problem and its line.

Options:
  --manifest <file>  also cross-check with the NAIS manifest's spec.maskinporten.scopes.exposes:
                     a route scope not exposed (or not enabled) is an error, an unused one a warning
Environment:
  PORTVAKT_ROUTES  config/routes.yaml  the route table when no file is given
`,
}

const OPTIONS: Record<DevCommand, ParseArgsConfig['options']> = {
  dev: {},
  token: {
    scope: { type: 'string', multiple: true },
    audience: { type: 'string' },
    orgno: { type: 'string' },
    expires: { type: 'string' },
    fresh: { type: 'boolean' }
  },
  check: { manifest: { type: 'string' } }
}

/** Whether `command` is one this file parses. */
export function isDevCommand (command: string): command is DevCommand {
  return Object.hasOwn(OPTIONS, command)
}

/** Parse the arguments after `command`. */
export function parseCommand (command: DevCommand, args: string[]): Invocation {
  const help = COMMAND_HELP[command]
  let parsed
  try {
    parsed = parseArgs({ args, options: { ...OPTIONS[command], help: { type: 'boolean', short: 'h' } }, allowPositionals: command === 'check', strict: true })
  } catch (err) {
    return { kind: 'usage', message: (err as Error).message, help }
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>
  if (values.help === true) return { kind: 'help', text: help }
  if (command === 'dev') return { kind: 'dev' }
  if (command === 'check') {
    if (parsed.positionals.length > 1) return { kind: 'usage', message: 'check takes one route file', help }
    return { kind: 'check', routesFile: parsed.positionals[0], manifestFile: values.manifest as string | undefined }
  }
  const expires = values.expires as string | undefined
  if (expires !== undefined && !/^\d+$/.test(expires)) return { kind: 'usage', message: '--expires is a number of seconds', help }
  return {
    kind: 'token',
    options: {
      scopes: ((values.scope ?? []) as string[]).flatMap((s) => s.split(/\s+/)).filter((s) => s !== ''),
      audience: values.audience as string | undefined,
      orgno: values.orgno as string | undefined,
      expiresIn: expires === undefined ? undefined : Number(expires),
      fresh: values.fresh === true
    }
  }
}

#!/usr/bin/env node
/** The `portvakt` command: parses argv and dispatches; process concerns live in main.ts. */
import { isDevCommand, parseCommand } from './commands/argv.js'
import { check, dev, failStart, serve, token } from './main.js'

const HELP = `portvakt: a Maskinporten auth gate in front of your API

Usage: portvakt <command> [options]      (portvakt <command> --help for more)

Commands:
  serve                      run the gate (default)
  serve -- <app command…>    launcher mode: start the app with PORT set, front it, stop it with portvakt
  dev                        run the gate with a local Maskinporten issuer and a demo upstream, for curl testing
  token                      print a token from the running dev issuer
  check                      validate a route table (and cross-check it with a NAIS manifest)
  --help                     show this help

Environment (serve): see the README's settings table; the main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI, MASKINPORTEN_WELL_KNOWN_URL
  PORTVAKT_ROUTES (config/routes.yaml), PORTVAKT_UPSTREAM (http://127.0.0.1:8081), PORTVAKT_PORT (8080)
  PORTVAKT_ADMIN_PORT (8079): /isalive, /isready, /metrics
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)

Signals (serve): SIGTERM/SIGINT drain and exit 0; SIGHUP reloads the route table
`

function usage (message: string, help = HELP): void {
  process.stderr.write(`portvakt: ${message}\n\n${help}`)
  process.exitCode = 2
}

/**
 * `serve` arguments: nothing, or `--` followed by the app command (launcher mode).
 * Returns null when they make no sense.
 */
function parseServe (args: readonly string[]): { app: string[] | undefined } | null {
  if (args.length === 0) return { app: undefined }
  if (args[0] !== '--' || args.length === 1) return null
  return { app: args.slice(1) }
}

// No top-level await anywhere here: the single executable is a CommonJS bundle (Node 20's SEA runs only CommonJS).
const [command = 'serve', ...rest] = process.argv.slice(2)
if (isDevCommand(command)) {
  const call = parseCommand(command, rest)
  if (call.kind === 'help') process.stdout.write(call.text)
  else if (call.kind === 'usage') usage(call.message, call.help)
  else if (call.kind === 'dev') dev().catch(failStart)
  else if (call.kind === 'token') token(call.options).catch(failStart)
  else check(call.routesFile, call.manifestFile).catch(failStart)
} else {
  switch (command) {
    case 'serve': {
      const parsed = parseServe(rest)
      if (parsed === null) usage('serve takes no options; to launch your app write: portvakt serve -- <app command…>')
      else serve(parsed.app).catch(failStart)
      break
    }
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(HELP)
      break
    default:
      usage(`unknown command "${command}"`)
  }
}

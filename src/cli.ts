#!/usr/bin/env node
/** The `portvakt` command: parses argv and dispatches; process concerns live in main.ts. */
import { isDevCommand, parseCommand } from './commands/argv.js'
import { check, dev, serve, token } from './main.js'

const HELP = `portvakt: a Maskinporten auth gate in front of your API

Usage: portvakt <command> [options]      (portvakt <command> --help for more)

Commands:
  serve        run the gate (default)
  dev          run the gate with a local Maskinporten issuer and a demo upstream, for curl testing
  token        print a token from the running dev issuer
  check        validate a route table (and cross-check it with a NAIS manifest)
  --help       show this help

Environment (serve): see the README's settings table; the main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI, MASKINPORTEN_WELL_KNOWN_URL
  PORTVAKT_ROUTES (config/routes.yaml), PORTVAKT_UPSTREAM (http://127.0.0.1:8081), PORTVAKT_PORT (8080)
`

const [command = 'serve', ...rest] = process.argv.slice(2)
void rest
if (isDevCommand(command)) {
  const call = parseCommand(command, rest)
  if (call.kind === 'help') process.stdout.write(call.text)
  else if (call.kind === 'usage') {
    process.stderr.write(`portvakt: ${call.message}\n\n${call.help}`)
    process.exitCode = 2
  } else if (call.kind === 'dev') await dev()
  else if (call.kind === 'token') await token(call.options)
  else await check(call.routesFile, call.manifestFile)
} else switch (command) {
  case 'serve':
    await serve()
    break
  case '--help':
  case '-h':
  case 'help':
    process.stdout.write(HELP)
    break
  default:
    process.stderr.write(`portvakt: unknown command "${command}"\n\n${HELP}`)
    process.exitCode = 2
}

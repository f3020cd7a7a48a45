#!/usr/bin/env node
/** The `portvakt` command: parses argv and dispatches; process concerns live in main.ts. */
import { serve } from './main.js'

const HELP = `portvakt: a Maskinporten auth gate in front of your API

Usage: portvakt <command> [options]

Commands:
  serve        run the gate (default)
  --help       show this help

Environment (serve): see the README's settings table; the main ones:
  MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI, MASKINPORTEN_WELL_KNOWN_URL
  PORTVAKT_ROUTES (config/routes.yaml), PORTVAKT_UPSTREAM (http://127.0.0.1:8081), PORTVAKT_PORT (8080)
  egress (when the route table lists it): NAIS_TOKEN_ENDPOINT, PORTVAKT_EGRESS_PORT (8083, on 127.0.0.1)
`

const [command = 'serve', ...rest] = process.argv.slice(2)
void rest
switch (command) {
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

#!/usr/bin/env node
/** The `portvakt` command: parses argv and dispatches; process concerns live in main.ts. */
import { GENERAL_HELP, isCommand, parseCommand } from './commands/argv.js'
import { check, dev, failStart, serve, token } from './main.js'

function usage (message: string, help: string): void {
  process.stderr.write(`portvakt: ${message}\n\n${help}`)
  process.exitCode = 2
}

// No top-level await anywhere here: the single executable is a CommonJS bundle (scripts/build-exe.mjs).
const [command = 'serve', ...rest] = process.argv.slice(2)
if (isCommand(command)) {
  const call = parseCommand(command, rest)
  if (call.kind === 'help') process.stdout.write(call.text)
  else if (call.kind === 'usage') usage(call.message, call.help)
  else if (call.kind === 'serve') serve(call.app).catch(failStart)
  else if (call.kind === 'dev') dev().catch(failStart)
  else if (call.kind === 'token') token(call.options).catch(failStart)
  else check(call.routesFile, call.manifestFile).catch(failStart)
} else if (command === '--help' || command === '-h' || command === 'help') {
  process.stdout.write(GENERAL_HELP)
} else {
  usage(`unknown command "${command}"`, GENERAL_HELP)
}

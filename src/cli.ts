#!/usr/bin/env node
/** The `portvakt` command: parses argv and dispatches; process concerns live in main.ts. */
import { answerOf, parseArgv } from './commands/argv.js'
import { check, dev, failStart, serve, token } from './main.js'

// No top-level await anywhere here: the single executable is a CommonJS bundle (scripts/build-exe.mjs).
const call = parseArgv(process.argv.slice(2))
const answer = answerOf(call, process.version)
if (answer !== undefined) {
  process.stdout.write(answer.stdout)
  process.stderr.write(answer.stderr)
  process.exitCode = answer.exitCode
} else if (call.kind === 'serve') {
  serve(call.app).catch(failStart)
} else if (call.kind === 'dev') {
  dev().catch(failStart)
} else if (call.kind === 'token') {
  token(call.options).catch(failStart)
} else if (call.kind === 'check') {
  check(call.routesFile, call.manifestFile, call.format).catch(failStart)
}

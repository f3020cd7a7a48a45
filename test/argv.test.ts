import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { answerOf, isCommand, parseArgv, parseCommand } from '../src/commands/argv.js'
import { GENERAL_HELP } from '../src/commands/help.js'

t.test('token: repeated and space-separated scopes, audience, orgno, lifetime, fresh', async (t) => {
  t.same(parseCommand('token', ['--scope', 'nav:a:b', '--scope', 'nav:c:d nav:e:f', '--audience', 'https://x.example', '--orgno', '987654321', '--expires', '30', '--fresh']), {
    kind: 'token',
    options: { scopes: ['nav:a:b', 'nav:c:d', 'nav:e:f'], audience: 'https://x.example', orgno: '987654321', expiresIn: 30, fresh: true }
  })
})

t.test('token: no --scope is a usage error (exit 2), like any other bad option', async (t) => {
  t.match(parseCommand('token', []), { kind: 'usage', message: /give at least one --scope/, help: /^Usage: portvakt token/ })
  t.match(parseCommand('token', ['--scope', ' ']), { kind: 'usage', message: /give at least one --scope/ })
})

t.test('token: a lifetime that is not a number, or an unknown option, is a usage error', async (t) => {
  t.match(parseCommand('token', ['--scope', 'nav:a:b', '--expires', 'soon']), { kind: 'usage', message: '--expires is a number of seconds' })
  t.match(parseCommand('token', ['--scopes', 'nav:a:b']), { kind: 'usage', message: 'unknown option --scopes; did you mean --scope?' })
  t.match(parseCommand('token', ['--scope', 'nav:a:b', '--suplier', '111111111']), { kind: 'usage', message: 'unknown option --suplier; did you mean --supplier?' })
  t.match(parseCommand('token', ['--scope', 'nav:a:b', '--systemuser-orgs', '222222222']), { kind: 'usage', message: 'unknown option --systemuser-orgs; did you mean --systemuser-org?' })
  t.match(parseCommand('token', ['stray']), { kind: 'usage' })
})

t.test('check: an optional route file and --manifest; two files is a usage error', async (t) => {
  t.same(parseCommand('check', []), { kind: 'check', routesFile: undefined, manifestFile: undefined, format: 'text' })
  t.same(parseCommand('check', ['r.yaml', '--manifest', 'nais.yaml']), { kind: 'check', routesFile: 'r.yaml', manifestFile: 'nais.yaml', format: 'text' })
  t.match(parseCommand('check', ['a.yaml', 'b.yaml']), { kind: 'usage', message: 'check takes one route file' })
})

t.test('check: --format is text or github; any other value is a usage error', async (t) => {
  t.match(parseCommand('check', ['--format', 'github']), { kind: 'check', format: 'github' })
  t.match(parseCommand('check', ['--format', 'text']), { kind: 'check', format: 'text' })
  t.match(parseCommand('check', ['--format', 'json']), { kind: 'usage', message: '--format is text or github' })
  t.match(parseCommand('check', ['--help']), { text: /--format github/ })
})

t.test('serve: nothing, or -- and the app command; anything else is a usage error', async (t) => {
  t.same(parseCommand('serve', []), { kind: 'serve', app: undefined })
  t.same(parseCommand('serve', ['--', 'node', 'app.js', '--help']), { kind: 'serve', app: ['node', 'app.js', '--help'] }, 'options after -- are the app\'s')
  t.match(parseCommand('serve', ['--']), { kind: 'usage', message: /portvakt serve -- <app command/ })
  t.match(parseCommand('serve', ['--port', '80']), { kind: 'usage', message: /serve takes no options \(portvakt serve --help\)/, help: /Usage: portvakt <command>/ })
  t.match(parseCommand('serve', ['--help', 'x']), { kind: 'usage' })
})

t.test('every command answers --help and -h with its own text', async (t) => {
  for (const command of ['serve', 'dev', 'token', 'check'] as const) {
    const help = parseCommand(command, ['--help'])
    t.match(help, { kind: 'help', text: new RegExp(`^Usage: portvakt ${command}`) })
    t.same(parseCommand(command, ['-h']), help)
  }
  for (const name of ['PORTVAKT_DEV_ISSUER_PORT', 'PORTVAKT_DEV_UPSTREAM_PORT', 'PORTVAKT_DEV_DIR', 'PORTVAKT_UPSTREAM', 'NAIS_CLUSTER_NAME']) {
    t.match(parseCommand('dev', ['--help']), { text: new RegExp(`\\b${name}\\b`) }, name)
  }
  t.match(parseCommand('check', ['--help']), { text: /--manifest <file>/ })
  t.same(parseCommand('dev', []), { kind: 'dev' })
})

t.test('serve\'s help names launcher mode, the main settings and the signals', async (t) => {
  const help = parseCommand('serve', ['--help'])
  for (const text of ['portvakt serve -- <app command', 'MASKINPORTEN_ISSUER', 'PORTVAKT_ROUTES', 'SIGHUP']) t.match(help, { text: new RegExp(text) }, text)
})

t.test('only the four commands are parsed, never an inherited property name', async (t) => {
  for (const command of ['serve', 'dev', 'token', 'check']) t.ok(isCommand(command), command)
  t.notOk(isCommand('toString'))
  t.notOk(isCommand('help'))
})

t.test('portvakt --help (also -h, help) lists the commands and the main environment variables, on stdout, exit 0', async (t) => {
  for (const flag of ['--help', '-h', 'help']) {
    const answer = answerOf(parseArgv([flag]))
    t.same(answer, { stdout: GENERAL_HELP, stderr: '', exitCode: 0 }, flag)
  }
  for (const command of ['serve', 'dev', 'token', 'check']) t.match(GENERAL_HELP, new RegExp(`^  ${command} `, 'm'), command)
  t.match(GENERAL_HELP, 'MASKINPORTEN_ISSUER')
})

t.test('no command at all is serve', async (t) => {
  t.same(parseArgv([]), { kind: 'serve', app: undefined })
  t.equal(answerOf(parseArgv([])), undefined, 'nothing printed: it runs')
})

t.test('an unknown command or a bad option is a usage error on stderr, exit 2', async (t) => {
  t.same(answerOf(parseArgv(['frobnicate'])), { stdout: '', stderr: `portvakt: unknown command "frobnicate"\n\n${GENERAL_HELP}`, exitCode: 2 })
  t.match(answerOf(parseArgv(['check', 'a.yaml', 'b.yaml'])), { stdout: '', stderr: /^portvakt: check takes one route file\n\nUsage: portvakt check/, exitCode: 2 })
  t.same(parseArgv(['toString']), { kind: 'usage', message: 'unknown command "toString"', help: GENERAL_HELP }, 'never an inherited property name')
})

t.test('every command answers --help and -h with its own help on stdout and exit 0, dev too (it would refuse to run in a cluster)', async (t) => {
  for (const command of ['serve', 'dev', 'token', 'check']) {
    for (const flag of ['--help', '-h']) {
      t.match(answerOf(parseArgv([command, flag])), { stdout: new RegExp(`^Usage: portvakt ${command}`), stderr: '', exitCode: 0 }, `${command} ${flag}`)
    }
  }
})

t.test('serve with an option is a usage error (exit 2) that points at serve --help and shows the general help', async (t) => {
  t.match(answerOf(parseArgv(['serve', '--port', '80'])), { stdout: '', stderr: /^portvakt: serve takes no options \(portvakt serve --help\); .*portvakt serve -- <app command…>\n\n[\s\S]*Usage: portvakt <command>/, exitCode: 2 })
})

t.test('token without --scope is a usage error (exit 2): decided from the arguments, before any issuer is asked', async (t) => {
  t.match(answerOf(parseArgv(['token'])), { stdout: '', stderr: /^portvakt: give at least one --scope/, exitCode: 2 })
})

t.test('portvakt --version (also -v) prints portvakt <version from package.json> (node <version>), exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string }
  for (const flag of ['--version', '-v']) {
    t.same(parseArgv([flag]), { kind: 'version' }, flag)
    t.same(answerOf(parseArgv([flag]), 'v26.0.0'), { stdout: `portvakt ${version} (node v26.0.0)\n`, stderr: '', exitCode: 0 }, flag)
  }
  t.match(answerOf(parseArgv(['-v'])), { stdout: `portvakt ${version} (node ${process.version})\n` }, 'the running Node unless told')
  t.match(parseArgv(['--version', 'x']), { kind: 'usage' }, 'nothing after it')
  t.match(GENERAL_HELP, /--version, -v/)
})

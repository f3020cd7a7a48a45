import t from 'tap'
import { isCommand, parseCommand } from '../src/commands/argv.js'

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
  t.match(parseCommand('token', ['--scopes', 'nav:a:b']), { kind: 'usage', message: /Unknown option '--scopes'/ })
  t.match(parseCommand('token', ['stray']), { kind: 'usage' })
})

t.test('check: an optional route file and --manifest; two files is a usage error', async (t) => {
  t.same(parseCommand('check', []), { kind: 'check', routesFile: undefined, manifestFile: undefined })
  t.same(parseCommand('check', ['r.yaml', '--manifest', 'nais.yaml']), { kind: 'check', routesFile: 'r.yaml', manifestFile: 'nais.yaml' })
  t.match(parseCommand('check', ['a.yaml', 'b.yaml']), { kind: 'usage', message: 'check takes one route file' })
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

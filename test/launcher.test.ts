/** The Launcher module on its own: readiness, stop, and how a failed start is reported. */
import t, { type Test } from 'tap'
import { ConfigError } from '../src/config/errors.js'
import { appAddress, canConnect, Launcher } from '../src/launcher/launcher.js'
import { freePort } from './helpers/cli.js'

const LISTEN = "require('node:http').createServer((q, r) => r.end('ok')).listen(Number(process.env.PORT), '127.0.0.1')"
const IDLE = 'setInterval(() => {}, 1000)'

async function launch (t: Test, script: string, stopTimeoutMs = 5000) {
  const port = await freePort()
  const launcher = Launcher.start({ command: [process.execPath, '-e', script], env: { PATH: process.env.PATH }, host: '127.0.0.1', port, stopTimeoutMs })
  t.teardown(async () => { await launcher.stop() })
  return { launcher, port }
}

t.test('appAddress takes the loopback host and port of PORTVAKT_UPSTREAM', async (t) => {
  t.same(appAddress('http://127.0.0.1:8081'), { host: '127.0.0.1', port: 8081 })
  t.same(appAddress('http://localhost:9000/'), { host: '127.0.0.1', port: 9000 })
  t.same(appAddress('http://[::1]:8081'), { host: '::1', port: 8081 })
  t.same(appAddress('http://127.0.0.1'), { host: '127.0.0.1', port: 80 })
  t.throws(() => appAddress('http://backend.team:8080'), ConfigError)
  t.throws(() => appAddress('http://127.0.0.1:7164'), { message: /reserves/ }, 'a port the platform reserves')
})

t.test('upstreamReady is true once the app accepts connections, and false after it stopped', async (t) => {
  const { launcher } = await launch(t, LISTEN)
  t.equal(await launcher.waitUntilReady(20), true)
  t.equal(await launcher.upstreamReady(), true)
  const exit = await launcher.stop()
  t.same({ code: exit.code, signal: exit.signal, status: exit.status }, { code: null, signal: 'SIGTERM', status: 143 })
  t.equal(await launcher.upstreamReady(), false)
  t.equal(launcher.exit, exit)
  t.equal(await launcher.stop(), exit, 'stopping again answers the same exit')
})

t.test('upstreamReady stays false while the app does not listen', async (t) => {
  const { launcher, port } = await launch(t, IDLE)
  t.equal(await launcher.upstreamReady(), false)
  t.equal(await canConnect('127.0.0.1', port, 500), false)
  t.equal(launcher.exit, undefined, 'the app still runs')
})

t.test('waitUntilReady answers false when the app exits before it listens', async (t) => {
  const { launcher } = await launch(t, 'process.exit(4)')
  t.equal(await launcher.waitUntilReady(20), false)
  t.equal((await launcher.exited).status, 4)
})

t.test('an app that ignores SIGTERM is killed after the stop timeout', async (t) => {
  const { launcher } = await launch(t, `process.on('SIGTERM', () => {}); ${LISTEN}`, 200)
  t.equal(await launcher.waitUntilReady(20), true)
  const exit = await launcher.stop()
  t.equal(exit.signal, 'SIGKILL')
  t.equal(exit.status, 137)
})

t.test('a command that cannot run ends with 127 when missing, 126 when not executable', async (t) => {
  const missing = Launcher.start({ command: ['/nonexistent/app'], env: {}, host: '127.0.0.1', port: 1, stopTimeoutMs: 100 })
  const exit = await missing.exited
  t.equal(exit.status, 127)
  t.equal(exit.error, '/nonexistent/app: no such command (no such file, and not found on PATH); check the command after --')
  t.equal(await missing.waitUntilReady(), false)
  const notExecutable = Launcher.start({ command: [process.cwd()], env: {}, host: '127.0.0.1', port: 1, stopTimeoutMs: 100 })
  t.equal((await notExecutable.exited).status, 126, 'a directory is not executable')
})

t.test('an empty command is a config error', async (t) => {
  t.throws(() => Launcher.start({ command: [], env: {}, host: '127.0.0.1', port: 1, stopTimeoutMs: 100 }), ConfigError)
})

/**
 * The app reachable around the gate, end to end through the built CLI, so main.ts's own reading
 * of /proc/net is what decides: launcher mode with the app on 0.0.0.0, and serve mode with an app
 * the test runs on 0.0.0.0 itself. Linux only (the check reads /proc/net).
 */
import { createServer } from 'node:net'
import { existsSync } from 'node:fs'
import t from 'tap'
import { makeKey } from './helpers/keys.js'
import { launchPortvakt, ROOT, startServe } from './helpers/cli.js'
import { pollUntil } from './helpers/poll.js'
import { close, startJwksServer } from './helpers/servers.js'
import { TEST_ISSUER } from './helpers/tokens.js'

t.setTimeout(240_000)
const linux = existsSync('/proc/net/tcp')

interface Ready { status: number, reasons: string[] }

/** /isready once the signing keys are in hand (until then they are the reason). */
async function readiness (adminUrl: string): Promise<Ready> {
  return await pollUntil(async () => {
    const res = await fetch(`${adminUrl}/isready`)
    const body = await res.json() as { reasons?: string[] }
    return { status: res.status, reasons: body.reasons ?? [] }
  }, (r) => r.status === 200 || (r.reasons.length > 0 && !r.reasons.some((reason) => /signing keys|does not accept connections/.test(reason))))
}

t.test('launcher mode: an app listening on 0.0.0.0 keeps /isready at 503 and is named in one error line', { skip: linux ? false : 'no /proc/net here' }, async (t) => {
  const { run, appPort } = await launchPortvakt(t, { env: { FIXTURE_LISTEN_HOST: '0.0.0.0', PORTVAKT_ADMIN_HOST: '127.0.0.1' } })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { adminPort: number }
  await run.waitFor('app stdout: listening')
  const adminUrl = `http://127.0.0.1:${started.adminPort}`
  const first = await readiness(adminUrl)
  t.equal(first.status, 503)
  t.match(first.reasons, [new RegExp(`^the app listens on 0\\.0\\.0\\.0:${appPort} \\(every IPv4 address\\), beyond loopback`)])
  t.equal((await readiness(adminUrl)).status, 503, 'and on the next probe')
  t.equal((await readiness(adminUrl)).status, 503, 'and the one after')
  // Log lines may come up to a second late; they are all out once portvakt has exited.
  run.child.kill('SIGTERM')
  await run.exited
  const lines = run.logs().filter((l) => l.level === 'ERROR' && String(l.message).startsWith('the app listens on'))
  t.equal(lines.length, 1, 'one error line, not one per probe')
  t.match(lines[0], { port: appPort, addresses: ['0.0.0.0'], message: /bind it to 127\.0\.0\.1/ })
})

t.test('launcher mode: the app on 127.0.0.1 is ready', { skip: linux ? false : 'no /proc/net here' }, async (t) => {
  const { run } = await launchPortvakt(t, { env: { PORTVAKT_ADMIN_HOST: '127.0.0.1' } })
  const started = JSON.parse(await run.waitFor(/"message":"portvakt started"/)) as { adminPort: number }
  t.equal((await readiness(`http://127.0.0.1:${started.adminPort}`)).status, 200)
  run.child.kill('SIGTERM')
  await run.exited
})

t.test('serve mode: an app already on 0.0.0.0 is named at start, and /isready is 503', { skip: linux ? false : 'no /proc/net here' }, async (t) => {
  const key = await makeKey()
  const jwks = await startJwksServer([key.jwk])
  t.teardown(async () => { await close(jwks.server) })
  const app = createServer()
  await new Promise<void>((resolve) => app.listen(0, '0.0.0.0', resolve))
  t.teardown(() => { app.close() })
  const port = (app.address() as { port: number }).port
  const run = await startServe(t, {
    MASKINPORTEN_ISSUER: TEST_ISSUER,
    MASKINPORTEN_JWKS_URI: `${jwks.url}/jwks`,
    PORTVAKT_ROUTES: `${ROOT}/config/routes.yaml`,
    PORTVAKT_UPSTREAM: `http://127.0.0.1:${port}`
  })
  await run.waitFor(/"message":"the app listens on 0\.0\.0\.0/)
  const ready = await readiness(run.adminUrl)
  t.equal(ready.status, 503)
  t.match(ready.reasons, [/beyond loopback/])
})

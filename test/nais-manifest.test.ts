/**
 * nais.yaml and the gateway alternative in docs/: valid against the platform's own Application
 * schema, and exposing exactly the scopes the route table requires.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { RESERVED_PORTS } from '../src/config/env.js'
import { expandScope, loadRoutes } from '../src/config/routes.js'

const ROOT = process.cwd()
const CRD = join(ROOT, '..', 'shared', 'reference', 'nais.io_applications.yaml')
const NO_CRD = existsSync(CRD) ? false : `the NAIS Application CRD is not at ${CRD} (CI has it there); schema checks skipped`
const run = promisify(execFile)

interface Exposed { name: string, product: string, separator?: '/' | ':' | '.', enabled: boolean }
interface Manifest {
  metadata: { name: string }
  spec: {
    port: number
    liveness: { path: string, port: number }
    readiness: { path: string, port: number }
    prometheus: { enabled: boolean, port: string, path: string }
    maskinporten: { enabled: boolean, scopes: { exposes: Exposed[] } }
    filesFrom: Array<{ configmap: string, mountPath: string }>
    env: Array<{ name: string, value: string }>
    terminationGracePeriodSeconds?: number
  }
}

function readManifests (file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((doc) => doc.toJS() as Manifest)
}

async function validate (...files: string[]): Promise<{ code: number, stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, [join(ROOT, 'scripts', 'validate-nais.mjs'), ...files, '--crd', CRD])
    return { code: 0, stdout }
  } catch (err) {
    const { code, stdout } = err as { code: number, stdout: string }
    return { code, stdout }
  }
}

async function listRouteScopes (): Promise<string[]> {
  const table = await loadRoutes(join(ROOT, 'config', 'routes.yaml'))
  return [...new Set(table.routes.flatMap((r) => r.scopes?.list ?? []))].sort()
}

function listExposedScopes (manifest: Manifest): string[] {
  return manifest.spec.maskinporten.scopes.exposes.filter((e) => e.enabled).map((e) => expandScope({ product: e.product, name: e.name, separator: e.separator })).sort()
}

function readEnv (manifest: Manifest, name: string): string | undefined {
  return manifest.spec.env.find((e) => e.name === name)?.value
}

t.test('nais.yaml and docs/nais-gateway.yaml validate against the NAIS Application CRD', { skip: NO_CRD }, async (t) => {
  const result = await validate('nais.yaml', 'docs/nais-gateway.yaml')
  t.equal(result.code, 0, result.stdout)
  t.match(result.stdout, 'nais.yaml: valid NAIS Application')
  t.match(result.stdout, 'docs/nais-gateway.yaml: valid NAIS Application')
})

t.test('the validator reports unknown fields, wrong types and scope names the platform refuses', { skip: NO_CRD }, async (t) => {
  const dir = t.testdir()
  const bad = join(dir, 'bad.yaml')
  writeFileSync(bad, [
    'apiVersion: nais.io/v1alpha1', 'kind: Application', 'metadata: { name: x, namespace: y }', 'spec:',
    '  image: x', '  port: "8080"', '  livenes: { path: /isalive }',
    '  maskinporten: { enabled: true, scopes: { exposes: [{ name: "Bad Name", product: arbeid, enabled: true }] } }'
  ].join('\n'))
  const result = await validate(bad)
  t.equal(result.code, 1)
  t.match(result.stdout, 'spec: must NOT have additional properties "livenes"')
  t.match(result.stdout, 'spec.port: must be integer')
  t.match(result.stdout, 'spec.maskinporten.scopes.exposes.0.name: must match pattern')
})

t.test('the validator says where the CRD should be when it is missing', async (t) => {
  const result = await run(process.execPath, [join(ROOT, 'scripts', 'validate-nais.mjs'), 'nais.yaml', '--crd', '/nonexistent/crd.yaml']).catch((err: { code: number, stderr: string }) => err)
  t.equal((result as { code: number }).code, 2)
  t.match((result as { stderr: string }).stderr, 'the NAIS Application CRD is not at /nonexistent/crd.yaml')
})

t.test('nais.yaml exposes exactly the scopes config/routes.yaml requires', async (t) => {
  const [manifest] = readManifests('nais.yaml')
  t.ok(manifest?.spec.maskinporten.enabled)
  t.same(listExposedScopes(manifest as Manifest), await listRouteScopes())
})

t.test('the gateway manifest exposes exactly the scopes config/routes.yaml requires', async (t) => {
  const [gateway, backend] = readManifests('docs/nais-gateway.yaml')
  t.same(listExposedScopes(gateway as Manifest), await listRouteScopes())
  t.equal(readEnv(gateway as Manifest, 'PORTVAKT_UPSTREAM'), `http://${backend?.metadata.name}`, 'the gateway forwards to the backend')
})

t.test('nais.yaml fronts the app with portvakt: spec.port, admin probes and metrics, routes from a ConfigMap', async (t) => {
  const [manifest] = readManifests('nais.yaml')
  const spec = (manifest as Manifest).spec
  t.equal(spec.port, 8080)
  t.same(spec.liveness, { path: '/isalive', port: 8079, initialDelay: 5 })
  t.same(spec.readiness, { path: '/isready', port: 8079, initialDelay: 5 })
  t.same(spec.prometheus, { enabled: true, port: '8079', path: '/metrics' })
  t.equal(readEnv(manifest as Manifest, 'PORTVAKT_ADMIN_PORT'), '8079')
  t.equal(readEnv(manifest as Manifest, 'PORTVAKT_UPSTREAM'), 'http://127.0.0.1:8081', 'the app is on loopback')
  const mount = spec.filesFrom[0]?.mountPath
  t.equal(readEnv(manifest as Manifest, 'PORTVAKT_ROUTES'), `${mount}/routes.yaml`, 'PORTVAKT_ROUTES points into the ConfigMap mount')
  t.ok((spec.terminationGracePeriodSeconds ?? 30) > 20, 'the grace period outlasts PORTVAKT_SHUTDOWN_TIMEOUT')
})

t.test('no manifest uses a port the NAIS platform reserves', async (t) => {
  for (const file of ['nais.yaml', 'docs/nais-gateway.yaml']) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const port of RESERVED_PORTS) t.notMatch(text, new RegExp(`\\b${port}\\b`), `${file} avoids ${port}`)
  }
})

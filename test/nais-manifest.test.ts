/**
 * nais.yaml and the gateway alternative in docs/: valid against the platform's own Application
 * schema, and exposing exactly the scopes the route table requires.
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t, { type Test } from 'tap'
import { parseAllDocuments } from 'yaml'
import { loadSettings, RESERVED_PORTS } from '../src/config/env.js'
import { expandScope, loadRoutes } from '../src/config/routes.js'

const ROOT = process.cwd()
const CRD = join(ROOT, '..', 'shared', 'reference', 'nais.io_applications.yaml')
const NO_CRD = existsSync(CRD) ? false : `the NAIS Application CRD is not at ${CRD} (CI has it there; test/README.md says how to get it); schema checks skipped`
const run = promisify(execFile)

interface Exposed { name: string, product: string, separator?: '/' | ':' | '.', enabled: boolean }
interface Resources { requests?: { cpu?: string, memory?: string }, limits?: { cpu?: string, memory?: string } }
interface AccessRule { application: string, namespace?: string }
interface Manifest {
  metadata: { name: string }
  spec: {
    image: string
    replicas?: { min: number, max: number }
    resources?: Resources
    ingresses?: string[]
    accessPolicy?: { inbound?: { rules: AccessRule[] }, outbound?: { rules?: AccessRule[] } }
    port: number
    liveness: { path: string, port: number }
    readiness: { path: string, port: number }
    prometheus: { enabled: boolean, port: string, path: string }
    maskinporten: { enabled: boolean, scopes: { exposes: Exposed[] } }
    filesFrom: Array<{ configmap: string, mountPath: string }>
    env: Array<{ name: string, value: string }>
    terminationGracePeriodSeconds?: number
    observability?: { autoInstrumentation?: { enabled: boolean, runtime?: string } }
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

/** Seconds the kubelet waits between SIGTERM and SIGKILL when the manifest does not say (Kubernetes' default). */
const DEFAULT_GRACE_SEC = 30
/** What we keep on top of portvakt's worst case: the exit itself, log flushing, a slow node. */
const GRACE_MARGIN_SEC = 5

/**
 * portvakt's worst-case shutdown under a manifest's env, with the code's own defaults for what it
 * leaves out: the delay, the drain (up to PORTVAKT_SHUTDOWN_TIMEOUT) and, in launcher mode, the
 * app's stop, which gets the same timeout again before SIGKILL (src/main.ts, src/launcher/launcher.ts).
 */
function worstShutdownSec (manifest: Manifest, launcher: boolean): number {
  const settings = loadSettings({
    // NAIS injects these with maskinporten.enabled; values here only satisfy the schema.
    MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/',
    MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk',
    ...Object.fromEntries(manifest.spec.env.map((e) => [e.name, e.value]))
  })
  const { delayMs, timeoutMs } = settings.shutdown
  return (delayMs + timeoutMs * (launcher ? 2 : 1)) / 1000
}

/** A Kubernetes memory quantity in MiB (the forms these manifests use). */
function toMiB (quantity: string | undefined): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity ?? '')
  if (match === null) return Number.NaN
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1)
}

/** Requests and limits are set, and the limit is at least the request. */
function assertResources (t: Test, resources: Resources | undefined, minRequestMiB: number): void {
  t.match(resources?.requests?.cpu, /^\d+m$/, 'a CPU request')
  t.ok(toMiB(resources?.requests?.memory) >= minRequestMiB, `a memory request of at least ${minRequestMiB} Mi`)
  t.ok(toMiB(resources?.limits?.memory) >= toMiB(resources?.requests?.memory), 'a memory limit no lower than the request')
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
    '  maskinporten: { enabled: true, scopes: { exposes: [{ name: "Bad Name", product: arbeid, enabled: true }] } }',
    '  observability: { autoInstrumentation: { enabled: "yes", runtime: node } }'
  ].join('\n'))
  const result = await validate(bad)
  t.equal(result.code, 1)
  t.match(result.stdout, 'spec: must NOT have additional properties "livenes"')
  t.match(result.stdout, 'spec.observability.autoInstrumentation.enabled: must be boolean')
  t.match(result.stdout, 'spec.observability.autoInstrumentation.runtime: must be equal to one of the allowed values')
  t.match(result.stdout, 'spec.port: must be integer')
  t.match(result.stdout, 'spec.maskinporten.scopes.exposes.0.name: must match pattern')
})

t.test('the validator says where the CRD should be when it is missing, and how to get it', async (t) => {
  for (const [args, first] of [[['--crd', '/nonexistent/crd.yaml'], 'the NAIS Application CRD is not at /nonexistent/crd.yaml'], [['--crd'], '--crd needs the CRD file after it']] as const) {
    const result = await run(process.execPath, [join(ROOT, 'scripts', 'validate-nais.mjs'), 'nais.yaml', ...args]).catch((err: { code: number, stderr: string }) => err)
    t.equal((result as { code: number }).code, 2)
    const lines = (result as { stderr: string }).stderr.split('\n')
    t.equal(lines[0], first)
    t.equal(lines[1], 'Get it, then pass --crd <file>:')
    t.match(lines[2], 'kubectl get crd applications.nais.io -o yaml > nais.io_applications.yaml')
    t.match(lines[3], 'config/crd/bases/nais.io_applications.yaml in https://github.com/nais/liberator')
  }
})

t.test('nais.yaml turns on NAIS\'s auto-instrumentation, which sets the OTEL_* variables portvakt traces with, for the app\'s JVM', async (t) => {
  const [manifest] = readManifests('nais.yaml')
  t.same((manifest as Manifest).spec.observability, { autoInstrumentation: { enabled: true, runtime: 'java' } })
  t.equal(readEnv(manifest as Manifest, 'PORTVAKT_TRUSTED_HOPS'), '1', 'and trusts the ingress in front')
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
})

t.test('nais.yaml: the grace period holds the shutdown delay, the drain and the app\'s stop, with margin', async (t) => {
  const [manifest] = readManifests('nais.yaml')
  const worst = worstShutdownSec(manifest as Manifest, true)
  t.equal(worst, 5 + 20 + 20, 'delay 5 s + drain 20 s + app stop 20 s')
  const grace = (manifest as Manifest).spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SEC
  t.ok(grace >= worst + GRACE_MARGIN_SEC, `terminationGracePeriodSeconds ${grace} ≥ ${worst} + ${GRACE_MARGIN_SEC}`)
})

t.test('docs/nais-gateway.yaml: the gateway\'s grace period holds the shutdown delay and the drain, with margin', async (t) => {
  const [gateway] = readManifests('docs/nais-gateway.yaml')
  // The gateway runs `portvakt serve` with no app behind it in the pod: no app stop to wait for.
  const worst = worstShutdownSec(gateway as Manifest, false)
  const grace = (gateway as Manifest).spec.terminationGracePeriodSeconds ?? DEFAULT_GRACE_SEC
  t.ok(grace >= worst + GRACE_MARGIN_SEC, `terminationGracePeriodSeconds ${grace} ≥ ${worst} + ${GRACE_MARGIN_SEC}`)
})

t.test('nais.yaml: image from the pipeline, resources for both processes, two replicas at least, one inbound rule', async (t) => {
  const spec = (readManifests('nais.yaml')[0] as Manifest).spec
  t.equal(spec.image, '{{ image }}', 'the image is the pipeline\'s, not a pinned tag')
  // portvakt (about 60 MiB) and the app share the container's requests and limits.
  assertResources(t, spec.resources, 256)
  t.ok((spec.replicas?.min ?? 0) >= 2, 'two replicas at least, so a rolling restart keeps one serving')
  t.ok((spec.replicas?.max ?? 0) >= (spec.replicas?.min ?? Infinity), 'max ≥ min')
  t.same(spec.accessPolicy?.inbound?.rules, [{ application: 'integrasjonsplattform', namespace: 'arbeid' }], 'in-cluster callers, named one by one')
})

t.test('docs/nais-gateway.yaml: the backend admits only the gateway and has no ingress', async (t) => {
  const [gateway, backend] = readManifests('docs/nais-gateway.yaml') as [Manifest, Manifest]
  t.equal(gateway.spec.image, '{{ portvakt_image }}')
  t.equal(backend.spec.image, '{{ backend_image }}')
  assertResources(t, gateway.spec.resources, 64)
  assertResources(t, backend.spec.resources, 64)
  for (const app of [gateway, backend]) t.ok((app.spec.replicas?.min ?? 0) >= 2, `${app.metadata.name}: two replicas at least`)
  // The X-Maskinporten-* headers the backend receives can be trusted only if portvakt is its only caller.
  t.same(backend.spec.accessPolicy?.inbound?.rules, [{ application: gateway.metadata.name }], 'the backend admits only the gateway')
  t.equal(backend.spec.ingresses, undefined, 'the backend has no ingress')
  t.same(gateway.spec.accessPolicy?.outbound?.rules, [{ application: backend.metadata.name }], 'the gateway may call the backend')
})

t.test('no manifest uses a port the NAIS platform reserves', async (t) => {
  for (const file of ['nais.yaml', 'docs/nais-gateway.yaml']) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const port of RESERVED_PORTS) t.notMatch(text, new RegExp(`\\b${port}\\b`), `${file} avoids ${port}`)
  }
})

// `npm run bench [-- --quick] [--rounds N] [--seconds S] [--targets a,b(,post)] [--extra nocache,nolog,lean,cluster2]
// [--before label=<dist dir>]… [--before-node label=<node binary>]… [--rate 1000] [--no-stream]`: every target in one run,
// rounds alternating A B C … A B C …,
// then latency at a fixed 1,000 req/s, then 1 GiB up and down through portvakt for RSS.
// Everything listens on 127.0.0.1 only, and every process started here is stopped at the end.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { startIssuer, ISSUER, SCOPE } from './lib/issuer.mjs'
import { runFixedRate, runWrk, prepareWrk } from './lib/load.mjs'
import { ensureInstalled, writeHaproxyConf, writeNginxConf } from './lib/peers.mjs'
import { cpuSeconds, freePort, rssMb, startChild, stopAll, waitForPort } from './lib/processes.mjs'
import { fixedRatios, formatTables, ratios, summarise, summariseFixed } from './lib/report.mjs'
import { measureStreaming } from './lib/stream.mjs'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    targets: { type: 'string', default: 'direct,baseline,floor,warm,cold,nginx,haproxy' },
    extra: { type: 'string', default: '' },
    before: { type: 'string', multiple: true, default: [] },
    'before-node': { type: 'string', multiple: true, default: [] },
    rate: { type: 'string', default: '1000' },
    'no-stream': { type: 'boolean', default: false }
  }
})
const quick = args.quick
// More, shorter rounds: the ratios are medians of per-round ratios (lib/report.mjs), so five pairs
// taken seconds apart say more than three taken minutes apart.
const rounds = Number(args.rounds ?? (quick ? 3 : 5))
const seconds = Number(args.seconds ?? (quick ? 2 : 6))
// wrk takes whole seconds; --quick skips the warm-up (its first round warms up) to stay under a minute.
const warmupSeconds = quick ? 0 : 3
const fixedSeconds = quick ? 2 : 4
const fixedRounds = quick ? 1 : 3
const CONNECTIONS = 50
const PATH = '/api/v1/items?page=1'
// The cold pool is twice the bench portvakt's cache size and cycled in order, so every request misses.
const CACHE_SIZE = 400
const WARM_TOKENS = 300
const COLD_TOKENS = 2 * CACHE_SIZE
const notes = []
const dir = mkdtempSync(join(tmpdir(), 'portvakt-bench-'))
const started = performance.now()
const log = (text) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(3)} s] ${text}\n`)

const LEAN_NODE_OPTIONS = '--max-semi-space-size=8'

const LABELS = {
  direct: 'direct (upstream, no proxy)',
  baseline: 'baseline: Fastify + @fastify/http-proxy, no auth',
  floor: 'Node floor: node:http + undici dispatch, nothing else',
  warm: `portvakt warm (${WARM_TOKENS} tokens reused)`,
  post: 'portvakt warm, small POST (a 157-byte JSON body)',
  cold: 'portvakt cold (a new token every request)',
  nginx: 'nginx plain proxy',
  haproxy: 'HAProxy 2.6 + jwt_verify',
  'warm-nocache': 'portvakt warm, token cache off',
  'warm-nolog': 'portvakt warm, access log off',
  'warm-lean': `portvakt warm, NODE_OPTIONS="${LEAN_NODE_OPTIONS}"`,
  'warm-cluster2': 'portvakt warm, 2 workers (node:cluster; measured only, not a supported mode)'
}
// --extra name: portvakt warm once more, with one setting changed, to measure one lever.
const EXTRAS = {
  nocache: { PORTVAKT_TOKEN_CACHE_SIZE: '0' },
  nolog: { PORTVAKT_LOG_LEVEL: 'warn' },
  // the memory-lean setting the README offers: a small young generation and an old-space limit keep RSS
  // near 100 MB under load, for more GC work per request
  lean: { NODE_OPTIONS: LEAN_NODE_OPTIONS },
  // the cluster lever (bench/servers/portvakt-cluster.mjs): CPU and RSS are summed over the workers
  cluster2: { PORTVAKT_BENCH_WORKERS: '2' }
}
const EXTRA_CLI = { cluster2: join(root, 'bench/servers/portvakt-cluster.mjs') }
// --before label=dist-dir (repeatable): the same warm load against another build, e.g. an older commit's,
// and the cold load too when cold is a target (a lever on the cold path shows in the same run).
// --before-node label=<node binary> (repeatable): that build (or, without a --before of the same label,
// this one) on another Node, and the Node floor too when floor is a target: a runtime's cost shows in
// the same run. The floor is the one beside that build (<dist dir>/../bench/servers/floor.mjs), with
// that build's node_modules.
const beforeNodes = new Map(args['before-node'].map((spec) => {
  const [label, node] = spec.split('=', 2)
  if (node === undefined) throw new Error(`--before-node ${spec}: expected label=<node binary>`)
  return [label, node]
}))
const beforeDists = new Map(args.before.map((spec) => spec.includes('=') ? spec.split('=', 2) : ['before', spec]))
const befores = [...new Set([...beforeDists.keys(), ...beforeNodes.keys()])].map((label) => {
  const node = beforeNodes.get(label) ?? process.execPath
  const nodeVersion = execFileSync(node, ['--version']).toString().trim()
  const on = beforeNodes.has(label) ? ` on Node ${nodeVersion}` : ''
  LABELS[`warm@${label}`] = `portvakt warm, ${label} build${on}`
  LABELS[`cold@${label}`] = `portvakt cold, ${label} build${on}`
  LABELS[`floor@${label}`] = `Node floor, ${label}${on}`
  LABELS[`post@${label}`] = `portvakt warm small POST, ${label} build${on}`
  return { label, name: `warm@${label}`, cold: `cold@${label}`, floor: beforeNodes.has(label) ? `floor@${label}` : undefined, distDir: beforeDists.get(label) ?? join(root, 'dist'), node, nodeVersion }
})

async function startPortvakt (name, upstreamPort, jwksUri, env = {}, cli = join(root, 'dist/cli.js'), node = process.execPath) {
  const port = await freePort()
  const adminPort = await freePort()
  const child = startChild(name, node, [cli, 'serve'], {
    logFile: join(dir, `${name}.log`),
    stdoutFifo: join(dir, `${name}.stdout`),
    env: {
      MASKINPORTEN_ISSUER: ISSUER,
      MASKINPORTEN_JWKS_URI: jwksUri,
      PORTVAKT_ROUTES: join(dir, 'routes.yaml'),
      PORTVAKT_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
      PORTVAKT_HOST: '127.0.0.1',
      PORTVAKT_PORT: String(port),
      // each portvakt its own admin port, so several can run side by side (--extra, --before)
      PORTVAKT_ADMIN_PORT: String(adminPort),
      PORTVAKT_TOKEN_CACHE_SIZE: String(CACHE_SIZE),
      PORTVAKT_LOG_LEVEL: 'info',
      ...env
    }
  })
  return { child, port }
}

async function waitUntilAnswering (port, token) {
  // Generous: on a loaded machine a Node process can take many seconds to start.
  const until = Date.now() + 60_000
  await waitForPort(port)
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}${PATH}`, { headers: { authorization: `Bearer ${token}` } }).catch(() => undefined)
    const status = res?.status
    await res?.arrayBuffer()
    if (status === 200) return
    if (Date.now() > until) throw new Error(`port ${port} answers ${status}, not 200`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function main () {
  const wanted = new Set([...args.targets.split(','), ...args.extra.split(',').filter(Boolean).map((e) => `warm-${e}`)])
  for (const b of befores) wanted.add(b.name)
  if (ensureInstalled(['wrk'], notes).length > 0) throw new Error('wrk is needed: apt-get install -y wrk')
  const peers = ['nginx', 'haproxy'].filter((p) => wanted.has(p))
  for (const skipped of ensureInstalled(peers, notes)) wanted.delete(skipped)

  log(`minting ${WARM_TOKENS} warm and ${COLD_TOKENS} cold tokens…`)
  const issuer = await startIssuer(await freePort())
  const warmTokens = await issuer.mint(WARM_TOKENS, 660)
  const coldTokens = await issuer.mint(COLD_TOKENS, 660)
  const wrk = prepareWrk(dir, { warm: warmTokens, cold: coldTokens })
  writeFileSync(join(dir, 'routes.yaml'), `routes:\n  - path: /api\n    scopes: [${SCOPE}]\n`)
  writeFileSync(join(dir, 'pubkey.pem'), issuer.publicPem)

  const upstreamPort = await freePort()
  const upstream = startChild('upstream', process.execPath, [join(root, 'bench/servers/upstream.mjs'), String(upstreamPort)], { logFile: join(dir, 'upstream.log') })
  await waitForPort(upstreamPort)

  const targets = {}
  // `post` targets send the small POST (the same process as warm, or as that build's warm).
  const add = (name, child, port, pool = 'warm') => { targets[name] = { pid: child.pid, port, pool, post: name.startsWith('post') } }
  if (wanted.has('direct')) add('direct', upstream, upstreamPort)
  if (wanted.has('baseline')) {
    const port = await freePort()
    add('baseline', startChild('baseline', process.execPath, [join(root, 'bench/servers/baseline.mjs'), String(port), `http://127.0.0.1:${upstreamPort}`], { logFile: join(dir, 'baseline.log') }), port)
  }
  if (wanted.has('floor')) {
    const port = await freePort()
    add('floor', startChild('floor', process.execPath, [join(root, 'bench/servers/floor.mjs'), String(port), `http://127.0.0.1:${upstreamPort}`], { logFile: join(dir, 'floor.log') }), port)
  }
  if (wanted.has('warm') || wanted.has('cold') || wanted.has('post')) {
    const pv = await startPortvakt('portvakt', upstreamPort, issuer.jwksUri)
    if (wanted.has('warm')) add('warm', pv.child, pv.port, 'warm')
    if (wanted.has('cold')) add('cold', pv.child, pv.port, 'cold')
    if (wanted.has('post')) add('post', pv.child, pv.port, 'warm')
  }
  for (const [extra, env] of Object.entries(EXTRAS)) {
    if (!wanted.has(`warm-${extra}`)) continue
    const pv = await startPortvakt(`portvakt-${extra}`, upstreamPort, issuer.jwksUri, env, EXTRA_CLI[extra])
    add(`warm-${extra}`, pv.child, pv.port)
  }
  for (const b of befores) {
    const pv = await startPortvakt(b.name.replace('@', '-'), upstreamPort, issuer.jwksUri, {}, join(b.distDir, 'cli.js'), b.node)
    add(b.name, pv.child, pv.port)
    if (wanted.has('cold')) add(b.cold, pv.child, pv.port, 'cold')
    if (wanted.has('post')) add(`post@${b.label}`, pv.child, pv.port, 'warm')
    if (wanted.has('floor') && b.floor !== undefined) {
      const port = await freePort()
      add(b.floor, startChild(b.floor.replace('@', '-'), b.node, [join(b.distDir, '..', 'bench/servers/floor.mjs'), String(port), `http://127.0.0.1:${upstreamPort}`], { logFile: join(dir, `${b.floor.replace('@', '-')}.log`) }), port)
    }
  }
  if (wanted.has('nginx')) {
    const port = await freePort()
    const [cmd, cmdArgs] = writeNginxConf(dir, port, upstreamPort)
    for (const sub of ['nginx-body', 'nginx-proxy', 'nginx-fastcgi', 'nginx-uwsgi', 'nginx-scgi']) mkdirSync(join(dir, sub))
    add('nginx', startChild('nginx', cmd, cmdArgs, { logFile: join(dir, 'nginx.out') }), port)
  }
  if (wanted.has('haproxy')) {
    const port = await freePort()
    const [cmd, cmdArgs] = writeHaproxyConf(dir, port, upstreamPort, { pemFile: join(dir, 'pubkey.pem'), issuer: ISSUER, scope: SCOPE })
    add('haproxy', startChild('haproxy', cmd, cmdArgs, { logFile: join(dir, 'haproxy.out') }), port)
  }
  for (const [name, t] of Object.entries(targets)) {
    await waitUntilAnswering(t.port, warmTokens[0]).catch((err) => { throw new Error(`${name}: ${err.message}`) })
  }

  const names = Object.keys(targets)
  log(`targets: ${names.join(', ')}; ${rounds} rounds of ${seconds}s, ${CONNECTIONS} connections, wrk -t1`)
  for (const name of warmupSeconds > 0 ? names : []) {
    const t = targets[name]
    await runWrk({ port: t.port, path: PATH, seconds: warmupSeconds, connections: CONNECTIONS, script: wrk.script, tokenFile: wrk.files[t.pool], bodyFile: t.post ? wrk.postBody : undefined })
  }
  const results = Object.fromEntries(names.map((n) => [n, []]))
  for (let round = 1; round <= rounds; round++) {
    for (const name of names) {
      const t = targets[name]
      const cpuBefore = cpuSeconds(t.pid)
      const r = await runWrk({ port: t.port, path: PATH, seconds, connections: CONNECTIONS, script: wrk.script, tokenFile: wrk.files[t.pool], bodyFile: t.post ? wrk.postBody : undefined })
      const run = { ...r, cpuSeconds: cpuSeconds(t.pid) - cpuBefore, rssMb: rssMb(t.pid), round }
      results[name].push(run)
      log(`round ${round} ${name.padEnd(13)} ${run.rps.toFixed(0).padStart(6)} req/s  p50 ${run.p50.toFixed(2)} ms  p99 ${run.p99.toFixed(2)} ms  cpu ${run.cpuSeconds.toFixed(2)} s  rss ${run.rssMb.toFixed(0)} MB  errors ${run.errors}`)
    }
  }

  // Latency at a fixed rate, in alternating rounds too: a single p99 on this machine moves by
  // milliseconds from one minute to the next, so `added` is taken against direct in the same round.
  // The fixed-rate client sends GETs only, so the small-POST targets have no fixed-rate rounds.
  const fixedNames = (quick ? names.filter((n) => ['direct', 'warm', 'cold'].includes(n)) : names).filter((n) => !targets[n].post)
  const fixedResults = Object.fromEntries(fixedNames.map((n) => [n, []]))
  for (let round = 1; round <= fixedRounds; round++) {
    for (const name of fixedNames) {
      const t = targets[name]
      const r = await runFixedRate({ port: t.port, path: PATH, rate: Number(args.rate), seconds: fixedSeconds, tokens: t.pool === 'cold' ? coldTokens : warmTokens })
      fixedResults[name].push(r)
      log(`round ${round} ${args.rate} req/s ${name.padEnd(13)} p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  errors ${r.errors}`)
    }
  }
  const fixed = summariseFixed(fixedResults)

  let streaming
  if (!quick && !args['no-stream'] && targets.warm !== undefined) {
    streaming = await measureStreaming({ port: targets.warm.port, pid: targets.warm.pid, token: warmTokens[0], bytes: 1024 ** 3 })
    log(`1 GiB streamed: ${JSON.stringify(streaming)}`)
  }

  const summary = summarise(results)
  const ratioMap = ratios(results)
  const table = formatTables(summary, ratioMap, fixed, LABELS, Number(args.rate), fixedRatios(fixedResults))
  const environment = { node: process.version, befores: befores.map((b) => ({ label: b.label, distDir: b.distDir, node: b.node, nodeVersion: b.nodeVersion })), cpus: cpus().length, cpuModel: cpus()[0]?.model, loadavgAtEnd: loadavg(), date: new Date().toISOString() }
  const settings = { postBodyBytes: wrk.postBodyBytes, rate: Number(args.rate), fixedRounds, fixedSeconds, quick, rounds, seconds, connections: CONNECTIONS, path: PATH, warmTokens: WARM_TOKENS, coldTokens: COLD_TOKENS, benchCacheSize: CACHE_SIZE }
  mkdirSync(join(root, 'bench/results'), { recursive: true })
  writeFileSync(join(root, 'bench/results/latest.json'), JSON.stringify({ environment, settings, summary, ratios: ratioMap, fixedRate: fixed, fixedRateRatios: fixedRatios(fixedResults), streaming, rounds: results, notes }, null, 2) + '\n')
  process.stdout.write(`\n${table}\n`)
  if (streaming !== undefined) {
    process.stdout.write(`\n1 GiB through portvakt: upload RSS +${streaming.upload.growthMb.toFixed(1)} MB (${streaming.upload.mbPerSec.toFixed(0)} MB/s), download RSS +${streaming.download.growthMb.toFixed(1)} MB (${streaming.download.mbPerSec.toFixed(0)} MB/s)\n`)
  }
  for (const note of notes) process.stdout.write(`note: ${note}\n`)
  for (const b of befores) process.stdout.write(`@${b.label}: ${b.distDir} on ${b.node} (${b.nodeVersion}); the rest on ${process.execPath} (${process.version})\n`)
  process.stdout.write(`\n${environment.cpus} CPUs (${environment.cpuModel}), load average at end ${environment.loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')}; results in bench/results/latest.json\n`)
  await issuer.close()
  log('done')
}

try {
  await main()
} finally {
  await stopAll()
  rmSync(dir, { recursive: true, force: true })
}

// A cluster lever, measured only: `portvakt serve` in N workers behind node:cluster
// (round-robin on the shared ports). Not a supported mode: each worker has its own JWKS fetcher,
// token cache, metrics and admin answers (README, "cluster / worker threads"). argv: serve.
// PORTVAKT_BENCH_WORKERS sets N (default 2).
import cluster from 'node:cluster'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

if (cluster.isPrimary) {
  const workers = Number(process.env.PORTVAKT_BENCH_WORKERS ?? 2)
  for (let i = 0; i < workers; i++) cluster.fork()
  let stopping = false
  process.on('SIGTERM', () => {
    stopping = true
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM')
  })
  cluster.on('exit', () => {
    if (!stopping) console.error('a worker died; stopping')
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(stopping ? 0 : 1)
  })
} else {
  await import(pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '../../dist/cli.js')).href)
}

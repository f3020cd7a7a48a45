// The bench's table and ratios, as markdown for the terminal and the README.

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

/** Summarise each target's rounds: medians, ranges, CPU per 10k, RSS. */
export function summarise (rounds) {
  const out = {}
  for (const [name, runs] of Object.entries(rounds)) {
    out[name] = {
      rps: median(runs.map((r) => r.rps)),
      rpsMin: Math.min(...runs.map((r) => r.rps)),
      rpsMax: Math.max(...runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      cpuPer10k: median(runs.map((r) => r.cpuSeconds / r.requests * 10_000)),
      rssMb: Math.max(...runs.map((r) => r.rssMb)),
      errors: runs.reduce((n, r) => n + r.errors, 0)
    }
  }
  return out
}

const cpuPerRequest = (run) => run.cpuSeconds / run.requests

/**
 * The quartiles of per-round ratios (nearest rank): the middle half of the rounds lay between them.
 * On this machine single rounds of the same pair range from 0.7× to 1.7×; the median alone hides that.
 */
function middleHalf (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
  return { low: at(0.25), high: at(0.75) }
}

/**
 * The ratios the issue asks for, where both sides ran: the median of the per-round ratios, with the
 * quartiles of those ratios. Targets
 * of one round ran seconds apart, so each round's ratio compares like with like; on a shared 2-core
 * VM whose speed drifts by up to 2× between minutes, a ratio of two medians would not.
 */
export function ratios (rounds) {
  const r = {}
  const ratio = (label, a, b, f = (x) => x.rps) => {
    if (!rounds[a] || !rounds[b]) return
    const perRound = rounds[a].map((run, i) => f(run) / f(rounds[b][i]))
    r[label] = { median: median(perRound), ...middleHalf(perRound) }
  }
  ratio('portvakt warm / baseline', 'warm', 'baseline')
  ratio('portvakt warm / nginx', 'warm', 'nginx')
  ratio('portvakt warm / haproxy+jwt', 'warm', 'haproxy')
  ratio('portvakt cold / baseline', 'cold', 'baseline')
  ratio('portvakt warm / cold', 'warm', 'cold')
  ratio('portvakt warm / direct', 'warm', 'direct')
  // Per CPU-second: requests one CPU-second buys, i.e. the inverse of CPU per request.
  ratio('req per CPU-s: warm / baseline', 'baseline', 'warm', cpuPerRequest)
  ratio('req per CPU-s: warm / haproxy+jwt', 'haproxy', 'warm', cpuPerRequest)
  ratio('req per CPU-s: cold / haproxy+jwt', 'haproxy', 'cold', cpuPerRequest)
  ratio('req per CPU-s: warm / nginx', 'nginx', 'warm', cpuPerRequest)
  // The Node floor (bench/servers/floor.mjs): how far any Node proxy of this design can go here.
  ratio('portvakt warm / Node floor', 'warm', 'floor')
  ratio('Node floor / nginx', 'floor', 'nginx')
  ratio('req per CPU-s: Node floor / nginx', 'nginx', 'floor', cpuPerRequest)
  ratio('req per CPU-s: Node floor / haproxy+jwt', 'haproxy', 'floor', cpuPerRequest)
  for (const extra of Object.keys(rounds).filter((k) => k.startsWith('warm-') || k.startsWith('warm@'))) ratio(`portvakt warm / ${extra}`, 'warm', extra)
  for (const before of Object.keys(rounds).filter((k) => k.startsWith('cold@'))) ratio(`portvakt cold / ${before}`, 'cold', before)
  for (const before of Object.keys(rounds).filter((k) => k.startsWith('post@'))) ratio(`portvakt small POST / ${before}`, 'post', before)
  ratio('portvakt warm GET / small POST', 'warm', 'post')
  // Against another build or Node (--before, --before-node): CPU per request and RSS too, per round.
  for (const other of Object.keys(rounds).filter((k) => k.includes('@'))) {
    const base = other.slice(0, other.indexOf('@'))
    if (base === 'floor') ratio(`Node floor / ${other}`, base, other)
    ratio(`req per CPU-s: ${base} / ${other}`, other, base, cpuPerRequest)
    if (base !== 'cold') ratio(`RSS after load: ${base} / ${other}`, base, other, (run) => run.rssMb)
  }
  return r
}

const f0 = (x) => x.toFixed(0)
const f2 = (x) => x.toFixed(2)

/**
 * Fixed-rate rounds (target → one result per round) to medians; `added` is the median over rounds of
 * the target's latency minus direct's in the same round.
 */
export function summariseFixed (rounds) {
  const out = {}
  const direct = rounds.direct
  for (const [name, runs] of Object.entries(rounds)) {
    out[name] = {
      requests: runs.reduce((n, r) => n + r.requests, 0),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      addedP50: direct === undefined ? undefined : median(runs.map((r, i) => r.p50 - direct[i].p50)),
      addedP99: direct === undefined ? undefined : median(runs.map((r, i) => r.p99 - direct[i].p99)),
      errors: runs.reduce((n, r) => n + r.errors, 0),
      rounds: runs
    }
  }
  return out
}

/**
 * At the fixed rate, each target against its other build or Node (`name@label`): the median of the
 * per-round p99 ratios, with their middle half, and the median per-round p99 difference in ms.
 */
export function fixedRatios (rounds) {
  const out = {}
  for (const other of Object.keys(rounds).filter((k) => k.includes('@'))) {
    const base = other.slice(0, other.indexOf('@'))
    if (rounds[base] === undefined) continue
    const perRound = rounds[base].map((run, i) => run.p99 / rounds[other][i].p99)
    out[`p99: ${base} / ${other}`] = { median: median(perRound), ...middleHalf(perRound), diffMs: median(rounds[base].map((run, i) => run.p99 - rounds[other][i].p99)) }
  }
  return out
}

/** Markdown tables: throughput, ratios, latency at a fixed rate. */
export function formatTables (summary, ratioMap, fixed, labels, rate, fixedRatioMap = {}) {
  const lines = ['| target | req/s median (min–max) | p50 ms | p99 ms | CPU-s / 10k req | RSS after load MB | errors |', '|---|---|---|---|---|---|---|']
  for (const [name, s] of Object.entries(summary)) {
    lines.push(`| ${labels[name] ?? name} | ${f0(s.rps)} (${f0(s.rpsMin)}–${f0(s.rpsMax)}) | ${f2(s.p50)} | ${f2(s.p99)} | ${f2(s.cpuPer10k)} | ${f0(s.rssMb)} | ${s.errors} |`)
  }
  lines.push('', '| ratio (median of per-round ratios) | value | middle half of rounds |', '|---|---|---|')
  for (const [label, value] of Object.entries(ratioMap)) lines.push(`| ${label} | ${f2(value.median)}× | ${f2(value.low)}–${f2(value.high)}× |`)
  if (Object.keys(fixed).length > 0) {
    lines.push('', `| at a fixed ${rate.toLocaleString('en')} req/s | p50 ms | p99 ms | added p50 ms | added p99 ms | errors |`, '|---|---|---|---|---|---|')
    for (const [name, x] of Object.entries(fixed)) {
      const added = name === 'direct' || x.addedP50 === undefined ? ['–', '–'] : [f2(x.addedP50), f2(x.addedP99)]
      lines.push(`| ${labels[name] ?? name} | ${f2(x.p50)} | ${f2(x.p99)} | ${added[0]} | ${added[1]} | ${x.errors} |`)
    }
  }
  if (Object.keys(fixedRatioMap).length > 0) {
    lines.push('', `| at ${rate.toLocaleString('en')} req/s (median of per-round ratios) | value | middle half of rounds | p99 difference ms |`, '|---|---|---|---|')
    for (const [label, v] of Object.entries(fixedRatioMap)) lines.push(`| ${label} | ${f2(v.median)}× | ${f2(v.low)}–${f2(v.high)}× | ${f2(v.diffMs)} |`)
  }
  return lines.join('\n')
}

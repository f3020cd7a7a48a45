// Load: wrk (C, one thread, 50 connections) for throughput, and a small open-loop client for latency
// at a fixed rate. Both send a Bearer token from a pool on every request, to every target.
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { request, Agent } from 'node:http'
import { join } from 'node:path'

const WRK_SCRIPT = `
local reqs, n, i = {}, 0, 0
init = function(args)
  -- args: token file, path, and for a POST the file holding its JSON body
  local body = nil
  if args[3] then
    local f = io.open(args[3])
    body = f:read("*a")
    f:close()
  end
  for line in io.lines(args[1]) do
    n = n + 1
    if body then
      reqs[n] = wrk.format("POST", args[2], { ["Authorization"] = "Bearer " .. line, ["Content-Type"] = "application/json" }, body)
    else
      reqs[n] = wrk.format("GET", args[2], { ["Authorization"] = "Bearer " .. line })
    end
  end
end
request = function()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"p50":%d,"p99":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\\n',
    s.requests, s.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read, e.write, e.status, e.timeout))
end
`

// The small POST's body: a JSON document of the size most API requests carry (157 bytes).
const POST_BODY = JSON.stringify({ orgnr: '123456789', periode: '2026-11', arbeidsforhold: [{ id: 'a1b2c3', type: 'ordinaertArbeidsforhold', startdato: '2024-01-01', stillingsprosent: 100 }] })

/** Write the wrk script, a token file per pool and the POST body; returns their paths. */
export function prepareWrk (dir, pools) {
  const script = join(dir, 'tokens.lua')
  writeFileSync(script, WRK_SCRIPT)
  const postBody = join(dir, 'post-body.json')
  writeFileSync(postBody, POST_BODY)
  const files = {}
  for (const [name, tokens] of Object.entries(pools)) {
    files[name] = join(dir, `tokens-${name}.txt`)
    writeFileSync(files[name], tokens.join('\n') + '\n')
  }
  return { script, files, postBody, postBodyBytes: Buffer.byteLength(POST_BODY) }
}

/** One wrk run: req/s, p50/p99 in ms, and error counts (non-2xx included); with `bodyFile`, POSTs of that body. */
export function runWrk ({ port, path, seconds, connections, script, tokenFile, bodyFile }) {
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', script, `http://127.0.0.1:${port}${path}`, '--', tokenFile, path, ...(bodyFile === undefined ? [] : [bodyFile])]
  return new Promise((resolve, reject) => {
    execFile('wrk', args, { maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return reject(err)
      const line = stdout.split('\n').find((l) => l.startsWith('WRKJSON '))
      if (line === undefined) return reject(new Error(`wrk printed no summary:\n${stdout}`))
      const r = JSON.parse(line.slice(8))
      resolve({
        requests: r.requests,
        rps: r.requests / (r.durationUs / 1e6),
        p50: r.p50 / 1000,
        p99: r.p99 / 1000,
        errors: r.connect + r.read + r.write + r.status + r.timeout
      })
    })
  })
}

function percentile (sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

/** Send `rate` requests per second for `seconds` (open loop: sends on schedule, not on answers). */
export async function runFixedRate ({ port, path, rate, seconds, tokens }) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const total = Math.round(rate * seconds)
  const latencies = []
  let sent = 0
  let done = 0
  let errors = 0
  const start = performance.now()
  await new Promise((resolve) => {
    const finish = () => { if (++done === total) resolve() }
    const fire = (i) => {
      const t0 = performance.now()
      const req = request({ host: '127.0.0.1', port, path, agent, headers: { authorization: `Bearer ${tokens[i % tokens.length]}` } }, (res) => {
        res.resume()
        res.on('end', () => {
          latencies.push(performance.now() - t0)
          if (res.statusCode !== 200) errors++
          finish()
        })
      })
      req.on('error', () => { errors++; finish() })
      req.end()
    }
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) * rate / 1000))
      while (sent < due) fire(sent++)
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
  agent.destroy()
  latencies.sort((a, b) => a - b)
  return { requests: total, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), errors }
}

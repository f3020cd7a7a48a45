// 1 GiB up and 1 GiB down through portvakt, sampling its RSS: streaming must not buffer bodies.
import { request } from 'node:http'
import { pumpBytes } from './pump.mjs'
import { rssMb } from './processes.mjs'

const CHUNK = Buffer.alloc(64 * 1024, 98)

function sampleRss (pid) {
  const start = rssMb(pid)
  let max = start
  const timer = setInterval(() => { max = Math.max(max, rssMb(pid)) }, 50)
  return () => { clearInterval(timer); return { startMb: start, maxMb: max, growthMb: max - start } }
}

function upload (port, token, bytes) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'PUT', path: '/api/upload', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(bytes) } }, (res) => {
      let text = ''
      res.on('data', (c) => { text += c })
      res.on('end', () => { resolve({ status: res.statusCode, received: JSON.parse(text).received }) })
    })
    req.on('error', reject)
    pumpBytes(req, bytes, CHUNK)
  })
}

function download (port, token, bytes) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/api/bytes/${bytes}`, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let received = 0
      res.on('data', (c) => { received += c.length })
      res.on('end', () => { resolve({ status: res.statusCode, received }) })
    })
    req.on('error', reject)
    req.end()
  })
}

/** Stream `bytes` up, then down, through the proxy on `port`; report RSS growth and throughput. */
export async function measureStreaming ({ port, pid, token, bytes }) {
  const out = {}
  for (const [name, fn] of [['upload', upload], ['download', download]]) {
    const stop = sampleRss(pid)
    const t0 = performance.now()
    const r = await fn(port, token, bytes)
    const secs = (performance.now() - t0) / 1000
    out[name] = { ...stop(), status: r.status, complete: r.received === bytes, mbPerSec: bytes / 1024 / 1024 / secs }
  }
  return out
}

/**
 * The demo upstream for `portvakt dev`: it answers every request with what the app behind portvakt
 * would see (method, path, query and the identity headers), so a curl shows the whole road.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { IDENTITY_HEADERS } from '../proxy/headers.js'

/** A running demo upstream. */
export interface DemoUpstream {
  url: string
  port: number
  close: () => Promise<void>
}

/** What the demo upstream answers: the request as the app received it. */
export interface DemoEcho {
  method: string
  path: string
  query: Record<string, string | string[]>
  identity: Record<string, string | undefined>
  /** whether the Bearer token reached the app (PORTVAKT_FORWARD_TOKEN); never the token itself */
  authorization: 'forwarded' | 'absent'
}

function readQuery (search: URLSearchParams): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {}
  for (const name of new Set(search.keys())) {
    const values = search.getAll(name)
    query[name] = values.length === 1 ? values[0] as string : values
  }
  return query
}

/** Start the demo upstream on `host:port` (0 picks a free port). */
export async function startDemoUpstream (host: string, port: number): Promise<DemoUpstream> {
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://upstream.invalid')
    const identity: Record<string, string | undefined> = {}
    for (const name of Object.values(IDENTITY_HEADERS)) {
      const value = req.headers[name]
      identity[name] = Array.isArray(value) ? value.join(', ') : value
    }
    const echo: DemoEcho = {
      method: req.method ?? '',
      path: url.pathname,
      query: readQuery(url.searchParams),
      identity,
      authorization: req.headers.authorization === undefined ? 'absent' : 'forwarded'
    }
    // Drain any body so keep-alive connections stay usable; the echo does not include it.
    req.resume()
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(echo, null, 2) + '\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => { server.off('error', reject); resolve() })
  })
  const actual = (server.address() as AddressInfo).port
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${actual}`,
    port: actual,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => { resolve() }))
    }
  }
}

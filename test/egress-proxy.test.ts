import t from 'tap'
import { Writable } from 'node:stream'
import { parseRoutes } from '../src/config/routes.js'
import { startEgress } from '../src/egress/start.js'
import { createOutboundHttp, EGRESS_CLIENT_OPTIONS } from '../src/http/client.js'
import { createLogger } from '../src/observe/log.js'
import { startTarget, startTokenEndpoint, startTunnelProxy } from './helpers/egress.js'
import { call } from './helpers/http.js'
import { close } from './helpers/servers.js'

t.test('outbound calls honour HTTPS_PROXY/HTTP_PROXY and NO_PROXY (the on-premises webproxy)', async (t) => {
  const endpoint = await startTokenEndpoint()
  const target = await startTarget({ ...endpoint, scope: 'skatt:some.scope' })
  const proxy = await startTunnelProxy()
  t.teardown(async () => { await endpoint.close(); await close(target.server); await proxy.close() })
  const table = parseRoutes(`egress:\n  - { name: skatt, url: "${target.url}/v1", scopes: [skatt:some.scope] }\n`, 'routes.yaml')
  const sink = new Writable({ write (_chunk, _enc, done) { done() } })

  async function start (no: string): Promise<NonNullable<Awaited<ReturnType<typeof startEgress>>>> {
    const egress = await startEgress({
      settings: { tokenEndpoint: endpoint.url, port: 0, timeoutMs: 5000, refreshIntervalMs: 0 },
      proxy: { httpProxy: proxy.url, httpsProxy: proxy.url, noProxy: no },
      routes: () => table,
      logger: createLogger('info', sink)
    })
    if (egress === undefined) throw new Error('egress did not start')
    t.teardown(async () => { await egress.close() })
    return egress
  }

  t.test('through the proxy: both the token fetch and the call tunnel through it', async (t) => {
    const egress = await start('')
    const res = await call(`http://127.0.0.1:${egress.port}/skatt/via-proxy`)
    t.equal(res.status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1/via-proxy')
    const targetHost = new URL(target.url).host
    const endpointHost = new URL(endpoint.url).host
    t.ok(proxy.tunnels.includes(targetHost), 'the call went through the proxy')
    t.ok(proxy.tunnels.includes(endpointHost), 'the token fetch went through the proxy')
  })

  t.test('NO_PROXY hosts are called directly', async (t) => {
    const before = proxy.tunnels.length
    const egress = await start('127.0.0.1')
    const res = await call(`http://127.0.0.1:${egress.port}/skatt/direct`)
    t.equal(res.status, 200)
    t.equal(target.seen.at(-1)?.url, '/v1/direct')
    t.equal(proxy.tunnels.length, before, 'nothing through the proxy')
  })
})

t.test('without proxy settings the dispatcher is a plain agent', async (t) => {
  const plain = createOutboundHttp({ httpProxy: '', httpsProxy: '', noProxy: '' }, EGRESS_CLIENT_OPTIONS)
  t.equal(plain.dispatcher.constructor.name, 'Agent')
  await plain.close()
  const proxied = createOutboundHttp({ httpProxy: 'http://webproxy.nais:8088', httpsProxy: '', noProxy: 'localhost' }, EGRESS_CLIENT_OPTIONS)
  t.equal(proxied.dispatcher.constructor.name, 'EnvHttpProxyAgent')
  await proxied.close()
})

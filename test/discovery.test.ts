import t from 'tap'
import { resolveIssuer } from '../src/config/discovery.js'
import { close, startJwksServer } from './helpers/servers.js'

t.test('discovers issuer and jwks_uri from the well-known metadata', async (t) => {
  const server = await startJwksServer([])
  t.teardown(async () => { await close(server.server) })
  const wellKnownUrl = `${server.url}/.well-known/oauth-authorization-server`
  t.same(await resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl }, 2000), { issuer: 'https://test.maskinporten.no/', jwksUri: `${server.url}/jwks` })
  t.same(await resolveIssuer({ issuer: 'https://test.maskinporten.no/', jwksUri: undefined, wellKnownUrl }, 2000), { issuer: 'https://test.maskinporten.no/', jwksUri: `${server.url}/jwks` }, 'an agreeing issuer is fine')
  await t.rejects(resolveIssuer({ issuer: 'https://test.maskinporten.no', jwksUri: undefined, wellKnownUrl }, 2000), { name: 'ConfigError', message: /MASKINPORTEN_ISSUER is https:\/\/test.maskinporten.no but the metadata/ })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: `${server.url}/nope` }, 2000), { name: 'ConfigError', message: /has no issuer; set MASKINPORTEN_ISSUER/ })
  await t.rejects(resolveIssuer({ issuer: undefined, jwksUri: undefined, wellKnownUrl: 'http://127.0.0.1:9/x' }, 2000), { name: 'ConfigError', message: /MASKINPORTEN_WELL_KNOWN_URL/ })
})

t.test('uses explicit settings without fetching anything', async (t) => {
  t.same(await resolveIssuer({ issuer: 'https://i/', jwksUri: 'https://i/jwk', wellKnownUrl: 'http://127.0.0.1:9/x' }, 10), { issuer: 'https://i/', jwksUri: 'https://i/jwk' })
})

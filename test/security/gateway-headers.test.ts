/**
 * Other gateways' identity headers: what Spring's pre-authentication filter, oauth2-proxy, Authelia,
 * Kong, AWS ALB, Azure App Service, Google IAP, Cloudflare Access, client-certificate forwarding and
 * the rest set for an app that trusts them. A client sending them through portvakt must not reach
 * the app with them, in any spelling, on any route; PORTVAKT_PASS_HEADERS lets named ones through
 * in one spelling only; and docs/security.md lists exactly the names the code drops.
 */
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { foldHeaderName, GATEWAY_HEADERS } from '../../src/config/dropped-headers.js'
import { build, type Harness } from '../helpers/build.js'
import { askRawHeaders, assertNoSecretLogged, resetSeen } from '../helpers/attack.js'

const FORGED = 'forged-999999999'

/** The spellings an upstream may fold into one name: as written, lower, upper, `_` and `.` for `-`. */
function spellings (name: string): string[] {
  return [...new Set([name, name.toLowerCase(), name.toUpperCase(), name.replace(/[-_]/g, '_'), name.replace(/[-_]/g, '.'), name.replace(/[-_]/g, '-')])]
}

/** A concrete header for each entry of the code's list: the name itself, or the prefix with a suffix. */
const fromList = (names: readonly string[]): string[] => names.map((n) => n.endsWith('*') ? `${n.slice(0, -1)}user` : n)

/** The names the sources give, written as each gateway writes them (independent of the code's list). */
const AS_DOCUMENTED = [
  'SM_USER', 'SM_UNIVERSALID', 'Remote-User', 'Remote-Groups', 'Remote-Email', 'Remote-Name', 'REMOTE_USER', 'X-Remote-User', 'X-Remote-Group', 'X-Remote-Extra-Scopes',
  'X-WEBAUTH-USER', 'X-WEBAUTH-ROLE', 'X-Auth-Request-User', 'X-Auth-Request-Email', 'X-Auth-Request-Groups', 'X-Auth-Request-Preferred-Username', 'X-Auth-Request-Access-Token',
  'X-User', 'X-Email', 'X-Vouch-User', 'X-Vouch-Idp-Claims-Email', 'X-authentik-username', 'X-authentik-groups', 'X-authentik-jwt', 'X-Pomerium-Jwt-Assertion', 'X-Pomerium-Claim-Email',
  'OIDC_CLAIM_sub', 'OIDC-email', 'OIDC_access_token', 'X-Consumer-ID', 'X-Consumer-Custom-ID', 'X-Consumer-Username', 'X-Consumer-Groups', 'X-Credential-Identifier', 'X-Credential-Indentifier',
  'X-Anonymous-Consumer', 'X-Authenticated-Scope', 'X-Authenticated-Userid', 'X-Authenticated-Groups', 'x-amzn-oidc-data', 'x-amzn-oidc-accesstoken', 'x-amzn-oidc-identity',
  'X-Amzn-Mtls-Clientcert', 'X-Amzn-Mtls-Clientcert-Subject', 'X-Amzn-Mtls-Clientcert-Leaf', 'X-MS-CLIENT-PRINCIPAL', 'X-MS-CLIENT-PRINCIPAL-ID', 'X-MS-CLIENT-PRINCIPAL-NAME', 'X-MS-CLIENT-PRINCIPAL-IDP',
  'X-MS-TOKEN-AAD-ACCESS-TOKEN', 'X-MS-TOKEN-AAD-ID-TOKEN', 'X-ARR-ClientCert', 'X-Client-Cert', 'MS-ASPNETCORE-CLIENTCERT', 'X-Goog-Authenticated-User-Email', 'X-Goog-Authenticated-User-Id',
  'x-goog-iap-jwt-assertion', 'X-Apigateway-Api-Userinfo', 'X-Endpoint-API-UserInfo', 'Cf-Access-Jwt-Assertion', 'Cf-Access-Authenticated-User-Email', 'Client-Cert', 'Client-Cert-Chain',
  'ssl-client-cert', 'ssl-client-verify', 'ssl-client-subject-dn', 'ssl-client-issuer-dn', 'SSL_CLIENT_CERT', 'ssl_client_escaped_cert', 'X-SSL-Client-Cert', 'X-SSL-Client-Verify', 'X-SSL-Client-DN',
  'X-SSL-Cert', 'SSL_CIPHER', 'SSL_SESSION_ID', 'SSL_CIPHER_USEKEYSIZE', 'Proxy-auth-cert', 'Proxy-ssl-id',
  'SMUSER', 'SMUSERDN', 'SMSESSION', 'SMUNIVERSALID', 'SMAUTHREASON', 'SMREALMOID', 'SMSERVERSESSIONID', 'SM_AUTHDIRNAME', 'iv-user', 'iv-user-l', 'iv-groups', 'iv-creds', 'iv-remote-address',
  'OAM_REMOTE_USER', 'OAM_IDENTITY_DOMAIN', 'Shib-Session-ID', 'Shib-Identity-Provider', 'shib-authentication-instant', 'eppn', 'persistent-id',
  'X-Auth-Username', 'X-Auth-Userid', 'X-Auth-Email', 'X-Auth-Roles', 'X-Auth-Groups', 'X-Auth-Subject', 'X-Auth-Token', 'X-Auth-Audience', 'X-Auth-ExpiresIn',
  'X-Userinfo', 'X-Access-Token', 'X-ID-Token', 'X-JWT-Assertion', 'X-AppEngine-User-Email', 'X-AppEngine-User-Id',
  'X-Client-Verify', 'X-Client-DN', 'X-Client-S-DN', 'X-Client-Cert-Chain', 'X-SSL-Client-S-DN',
  'Client-IP', 'Forwarded-For', 'X-Originating-IP', 'X-Envoy-External-Address', 'X-Envoy-Internal', 'X-Envoy-Original-Path', 'Fastly-Client-IP', 'CF-Connecting-IPv6', 'X-Azure-ClientIP',
  'X-Forwarded-User', 'X-Forwarded-Email', 'X-Forwarded-Groups', 'X-Forwarded-Preferred-Username', 'X-Forwarded-Access-Token', 'X-Forwarded-Client-Cert', 'X-Forwarded-Tls-Client-Cert', 'X-Proxied-Https'
]

/** Headers a client does send, which must still reach the app. */
const ORDINARY = { accept: 'application/json', 'user-agent': 'curl/8', 'nav-call-id': 'abc', 'x-request-id': 'r1', 'x-correlation-id': 'c1', traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-user-agent': 'app/1', 'remoteaddr': 'x', 'x-client': 'y', 'client-certificate-hint': 'z', 'x-authorization-hint': 'a', 'smtp-relay': 'b', 'ivy': 'c', 'x-client-id': 'd' }

/** The headers the app saw for the one request, less the pool's own and ours. */
function appSaw (t: Test, h: Harness): Record<string, unknown> {
  t.equal(h.upstream.seen.length, 1, 'the upstream saw one request')
  const headers: Record<string, unknown> = { ...h.upstream.seen[0]?.headers }
  for (const name of ['host', 'connection', 'authorization', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']) Reflect.deleteProperty(headers, name)
  for (const name of Object.keys(headers)) if (name.startsWith('x-maskinporten-')) Reflect.deleteProperty(headers, name)
  return headers
}

t.test('other gateways\' identity headers', async (t) => {
  const h = await build(t)
  const token = await h.mint()
  t.beforeEach(() => { resetSeen(h) })

  const sendsOnly = async (t: Test, path: string, names: readonly string[]): Promise<void> => {
    const forged = names.flatMap((name) => spellings(name).flatMap((spelt) => [spelt, FORGED]))
    const res = await askRawHeaders(h.url + path, ['authorization', `Bearer ${token}`, ...Object.entries(ORDINARY).flat(), ...forged])
    t.equal(res.status, 200, path)
    t.same(appSaw(t, h), ORDINARY, `${path}: only the ordinary headers reach the app`)
    t.notOk(JSON.stringify(h.upstream.seen).includes(FORGED), 'no forged value anywhere')
  }

  t.test('every entry on the list, in every spelling, is dropped on protected and public routes', async (t) => {
    for (const [who, names] of GATEWAY_HEADERS) {
      for (const path of ['/api/v1/arbeidsforhold/1', '/public']) {
        resetSeen(h)
        t.comment(who)
        await sendsOnly(t, path, fromList(names))
      }
    }
    assertNoSecretLogged(t, h, [token])
  })

  t.test('every name the gateways\' own documentation gives is dropped, in every spelling', async (t) => {
    for (let i = 0; i < AS_DOCUMENTED.length; i += 12) {
      for (const path of ['/api/v1/arbeidsforhold/1', '/public']) {
        resetSeen(h)
        await sendsOnly(t, path, AS_DOCUMENTED.slice(i, i + 12))
      }
    }
  })
})

t.test('PORTVAKT_PASS_HEADERS lets named gateway headers through in the spelling named, and nothing else', async (t) => {
  const h = await build(t, { env: { PORTVAKT_PASS_HEADERS: 'ssl-client-cert, X-Auth-Request-Email,SSL_CIPHER' } })
  const token = await h.mint()
  const sent = [
    'SSL-Client-Cert', 'let-through-1', 'X-Auth-Request-Email', 'let-through-2', 'SSL_CIPHER', 'let-through-3',
    // Other spellings of named ones, and names not named: still dropped.
    'ssl_client_cert', FORGED, 'ssl.client.cert', FORGED, 'x_auth_request_email', FORGED, 'ssl-cipher', FORGED,
    'ssl-client-verify', FORGED, 'X-Auth-Request-User', FORGED, 'X-Maskinporten-Consumer', FORGED, 'X-Forwarded-User', FORGED
  ]
  for (const path of ['/api/v1/arbeidsforhold/1', '/public']) {
    resetSeen(h)
    const res = await askRawHeaders(h.url + path, ['authorization', `Bearer ${token}`, ...sent])
    t.equal(res.status, 200)
    t.same(appSaw(t, h), { 'ssl-client-cert': 'let-through-1', 'x-auth-request-email': 'let-through-2', ssl_cipher: 'let-through-3' }, path)
    t.notOk(JSON.stringify(h.upstream.seen).includes(FORGED))
  }
  const started = h.logs().find((l) => l.msg === 'portvakt started') as { settings?: { passHeaders?: string[] } } | undefined
  t.same(started?.settings?.passHeaders, ['ssl-client-cert', 'x-auth-request-email', 'ssl_cipher'], 'the start line names them')
})

t.test('docs/security.md lists exactly the gateway headers the code drops', async (t) => {
  const doc = readFileSync('docs/security.md', 'utf8')
  const section = doc.slice(doc.indexOf('## Identity headers of other gateways'))
  const start = section.indexOf('| who sets it')
  const table = section.slice(start, section.indexOf('\n\n', start))
  const documented = table.split('\n').slice(2).flatMap((row) => [...(row.split('|')[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => foldHeaderName(m[1] ?? '')))
  const inCode = GATEWAY_HEADERS.flatMap(([, names]) => names)
  t.same([...new Set(documented)].sort(), [...inCode].sort(), 'the table names every entry, and only those')
  t.same(table.split('\n').slice(2).map((row) => row.split('|')[1]?.trim()), GATEWAY_HEADERS.map(([who]) => who), 'one row per source, in the code\'s order')
})

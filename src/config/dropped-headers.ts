/**
 * The client-sent headers the upstream never sees, by family, as data: the gate's hot path
 * (proxy/headers.ts) and the PORTVAKT_PASS_HEADERS check (env-values.ts) read the same lists, and
 * docs/security.md shows them (a test holds the two together). A name ending in `*` is a prefix.
 * Names are folded as an upstream may read them: lower case, `_` and `.` as `-`.
 */

/** Why a header is dropped; only `gateway` names can be let through. */
export type HeaderFamily = 'ours' | 'forwarding' | 'gateway'

/** Ours alone (STYLE §10): every X-Maskinporten-* name, not only the three we set. */
const OURS = ['x-maskinporten-*']

/**
 * What a proxy hop before us saw (address, scheme, host, URL) and method overrides. A trusted
 * ingress's X-Forwarded-For, -Proto and -Host would be the only names ever exempt from the prefix:
 * the identity-bearing X-Forwarded-* names are listed on their own so they stay dropped then too.
 */
const FORWARDING = [
  'forwarded', 'x-forwarded', 'x-forwarded-*', 'x-original-*', 'x-rewrite-url',
  'true-client-ip', 'x-real-ip', 'x-client-ip', 'x-cluster-client-ip', 'cf-connecting-ip', 'x-proxied-https',
  // The client address as CDNs, Envoy, Azure Front Door and App Engine set it, and the bare names
  // Rails' RemoteIp and much PHP code read (HTTP_CLIENT_IP).
  'client-ip', 'forwarded-for', 'x-originating-ip', 'fastly-client-ip', 'cf-connecting-ipv6', 'cf-pseudo-ipv4',
  'x-envoy-external-address', 'x-envoy-internal', 'x-envoy-original-*', 'x-azure-clientip', 'x-azure-socketip',
  'x-http-method-override', 'x-http-method', 'x-method-override',
  'x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'x-forwarded-preferred-username',
  'x-forwarded-access-token', 'x-forwarded-client-cert'
]

/**
 * Identity and client-certificate headers that other gateways set and app filters trust; who sets
 * each, with a source, is in docs/security.md ("Identity headers of other gateways").
 */
export const GATEWAY_HEADERS: ReadonlyArray<readonly [who: string, names: readonly string[]]> = [
  ['Spring Security pre-authentication, CA SiteMinder', ['sm-*', 'smuser*', 'smauth*', 'smsession*', 'smrealm*', 'smserver*', 'smuniversalid', 'smtransactionid', 'smtimetoexpire', 'smsdomain', 'smdominocn']],
  ['IBM Security Verify Access (WebSEAL)', ['iv-*']],
  ['Oracle Access Manager', ['oam-*']],
  ['Shibboleth (ShibUseHeaders)', ['shib-*', 'eppn', 'persistent-id', 'targeted-id']],
  ['Keycloak Gatekeeper, louketo-proxy, gogatekeeper', ['x-auth-*']],
  ['Authelia, Caddy and Traefik forward auth; CGI REMOTE_USER', ['remote-*']],
  ['Kubernetes request-header authentication', ['x-remote-*']],
  ['Grafana auth proxy', ['x-webauth-*']],
  ['oauth2-proxy', ['x-auth-request-*', 'x-user', 'x-email']],
  ['Vouch Proxy', ['x-vouch-*']],
  ['authentik', ['x-authentik-*']],
  ['Pomerium', ['x-pomerium-*']],
  ['mod_auth_openidc', ['oidc-*']],
  ['Kong, Apache APISIX', ['x-consumer-*', 'x-credential-*', 'x-anonymous-consumer', 'x-authenticated-*']],
  ['kong-oidc', ['x-userinfo', 'x-access-token', 'x-id-token']],
  ['WSO2 API Manager', ['x-jwt-assertion']],
  ['AWS ALB', ['x-amzn-oidc-*', 'x-amzn-mtls-clientcert', 'x-amzn-mtls-clientcert-*']],
  ['Azure App Service', ['x-ms-client-principal', 'x-ms-client-principal-*', 'x-ms-token-*', 'x-arr-clientcert']],
  ['ASP.NET Core', ['x-client-cert', 'ms-aspnetcore-clientcert']],
  ['Google IAP, API Gateway, Cloud Endpoints', ['x-goog-authenticated-user-*', 'x-goog-iap-jwt-assertion', 'x-apigateway-api-userinfo', 'x-endpoint-api-userinfo']],
  ['Google App Engine', ['x-appengine-user-*']],
  ['Cloudflare Access', ['cf-access-*']],
  ['RFC 9440', ['client-cert', 'client-cert-chain']],
  ['ingress-nginx, nginx and HAProxy conventions', ['ssl-client-*', 'x-ssl-*', 'x-client-verify', 'x-client-dn', 'x-client-s-dn', 'x-client-i-dn', 'x-client-cert-*', 'x-client-serial']],
  ['Tomcat SSLValve', ['ssl-cipher', 'ssl-session-id', 'ssl-cipher-usekeysize']],
  ['Jetty', ['proxy-auth-cert', 'proxy-ssl-id']]
]

const FAMILIES: ReadonlyArray<readonly [HeaderFamily, readonly string[]]> = [
  ['ours', OURS],
  ['forwarding', FORWARDING],
  ['gateway', GATEWAY_HEADERS.flatMap(([, names]) => names)]
]

/** A header name as an upstream might read it: lower case, with `_` or `.` standing for `-`. */
export function foldHeaderName (name: string): string {
  return name.toLowerCase().replace(/[_.]/g, '-')
}

/** A compiled list: exact names in a Set, prefixes in one anchored regular expression. */
export interface NameMatcher {
  exact: ReadonlySet<string>
  prefix: RegExp
}

/**
 * Compile a list. A Set lookup and one compiled pattern per header cost less than a loop of
 * startsWith over the prefixes, and less than one pattern for exact names and prefixes together
 * (bench/headers-micro.mjs).
 */
function compile (names: readonly string[]): NameMatcher {
  const quote = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const prefixes = names.filter((n) => n.endsWith('*')).map((n) => quote(n.slice(0, -1)))
  return { exact: new Set(names.filter((n) => !n.endsWith('*'))), prefix: new RegExp(`^(?:${prefixes.join('|')})`) }
}

/** Whether a folded name is on a compiled list. */
function matches (list: NameMatcher, folded: string): boolean {
  return list.exact.has(folded) || list.prefix.test(folded)
}

/** Every dropped name, for the hot path. */
export const DROPPED_HEADERS = compile(FAMILIES.flatMap(([, names]) => names))

const BY_FAMILY = FAMILIES.map(([family, names]) => [family, compile(names)] as const)

/** The family a folded name is dropped under, the first that matches; undefined when it is forwarded. */
export function headerFamily (folded: string): HeaderFamily | undefined {
  return BY_FAMILY.find(([, list]) => matches(list, folded))?.[0]
}

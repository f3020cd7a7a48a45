/**
 * What the start-up line (and a reload's line) says about the configuration in force (STYLE §5):
 * the settings with proxies masked, the routes and the egress targets, so "why was this a 403?" is
 * answered without a debugger. Nothing secret is in any of it.
 */
import type { Settings } from '../config/env.js'
import { describeProxyUrl } from '../config/proxy-url.js'
import type { RouteTable } from '../config/routes.js'

function describeKeySource (source: Settings['altinn']['subscriptionKey']): string | undefined {
  return source === undefined ? undefined : 'file' in source ? `file ${source.file}` : 'set'
}

/** The settings: proxies masked (host shown, credentials never) and left out when unset; the collector's headers by name only. */
export function describeSettings (settings: Settings): object {
  const { proxy, tracing } = settings
  return {
    ...settings,
    issuerSource: undefined,
    tracing: tracing === undefined ? undefined : { ...tracing, headers: Object.keys(tracing.headers) },
    // Only when Altinn is asked at all; the key itself never reaches a log, only where it comes from.
    altinn: settings.altinn.baseUrl === undefined ? undefined : { ...settings.altinn, subscriptionKey: describeKeySource(settings.altinn.subscriptionKey) },
    proxy: { httpProxy: describeProxyUrl(proxy.httpProxy), httpsProxy: describeProxyUrl(proxy.httpsProxy), noProxy: proxy.noProxy || undefined }
  }
}

const listOf = (set: ReadonlySet<string> | undefined): string[] | undefined => set === undefined ? undefined : [...set]

/** The routes: id, public, scopes (with anyOf), audience, consumers, delegation and system-user rules, the Altinn question. */
export function describeRoutes (table: RouteTable): object[] {
  return table.routes.map((r) => ({
    route: r.id,
    public: r.public || undefined,
    scopes: r.scopes === undefined ? undefined : `${r.scopes.mode === 'any' ? 'anyOf ' : ''}${r.scopes.list.join(' ')}`,
    audience: r.audience,
    consumers: listOf(r.consumers),
    ...(r.parties === undefined
      ? {}
      : { delegation: r.parties.delegation, suppliers: listOf(r.parties.suppliers), systemUser: r.parties.systemUser, systemUserOrgs: listOf(r.parties.systemUserOrgs), systems: listOf(r.parties.systems) }),
    altinn: r.altinn === undefined ? undefined : { resource: r.altinn.resource, actions: Object.fromEntries(r.altinn.actions) }
  }))
}

/** The egress targets: name, url, the token request's target and resource. */
export function describeEgress (table: RouteTable): object[] {
  return table.egress.map((e) => ({ name: e.name, url: e.url, target: e.target, resource: e.resource }))
}

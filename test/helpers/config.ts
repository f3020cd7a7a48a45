/** Route-table problems as a list, for asserting on each line-numbered message; route items to build tables from; a NAIS manifest to check them against. */
import { ConfigError } from '../../src/config/errors.js'
import { parseRoutes } from '../../src/config/routes.js'

/** The problems `parseRoutes` reports for `yaml` (named routes.yaml); empty when it compiles. */
export function problemsOf (yaml: string): readonly string[] {
  try {
    parseRoutes(yaml, 'routes.yaml')
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

/** Route-table items, two lines each (`- path:`, then `scopes:`), for tables that differ only in paths and scopes. */
export function scopedRoutes (routes: ReadonlyArray<readonly [path: string, scope: string]>): string {
  return routes.map(([path, scope]) => `  - path: ${path}\n    scopes: [${scope}]\n`).join('')
}

/** A NAIS Application manifest whose spec.maskinporten.scopes.exposes is `exposes` (YAML list items, indented 8); its first item is on line 12. */
export function naisManifest (exposes: string): string {
  return `apiVersion: nais.io/v1alpha1
kind: Application
metadata:
  name: arbeid-api
  namespace: arbeid
spec:
  image: ghcr.io/navikt/arbeid-api
  maskinporten:
    enabled: true
    scopes:
      exposes:
${exposes}`
}

/**
 * portvakt's version, for `portvakt --version`, the start-up line and the traces' service.version.
 * The single executable has it baked in at build time (scripts/build-exe.mjs defines
 * PORTVAKT_VERSION with esbuild): it has no package.json to read. Everywhere else package.json sits
 * one folder above this file (dist/ or src/), as npm installs it.
 */
import { readFileSync } from 'node:fs'

declare const PORTVAKT_VERSION: string | undefined

let version: string | undefined

/** The version in package.json (or baked into the executable). */
export function portvaktVersion (): string {
  if (version !== undefined) return version
  version = typeof PORTVAKT_VERSION === 'string'
    ? PORTVAKT_VERSION
    : (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
  return version
}

/** `portvakt --version`: `portvakt <version> (node <version>)`. */
export function describeVersion (nodeVersion: string): string {
  return `portvakt ${portvaktVersion()} (node ${nodeVersion})`
}

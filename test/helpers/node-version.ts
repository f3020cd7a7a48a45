/** The Node portvakt runs on, as package.json names it: `engines` gives the major. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

/** The parts of package.json that pin portvakt's Node. */
export interface NodePins {
  engines: { node: string }
  optionalDependencies?: Record<string, string>
  devDependencies?: Record<string, string>
  allowScripts?: Record<string, boolean>
}

/** package.json of the checkout the suite runs in. */
export function readPackageJson (root = process.cwd()): NodePins {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as NodePins
}

/** The major of `engines.node` (">=26" → "26"), which scripts/build-exe.mjs also reads. */
export function requiredNodeMajor (root = process.cwd()): string {
  const range = readPackageJson(root).engines.node
  const major = /^>=(\d+)$/.exec(range)?.[1]
  if (major === undefined) throw new Error(`package.json engines.node is "${range}", not ">=<major>"`)
  return major
}

#!/usr/bin/env node
// Check NAIS manifests against the platform's own schema: the `Application` CRD's
// spec.versions[0].schema.openAPIV3Schema.
//
//   node scripts/validate-nais.mjs nais.yaml docs/nais-gateway.yaml --crd nais.io_applications.yaml
//
// The CRD, either of (the error below says the same):
//   kubectl get crd applications.nais.io -o yaml > nais.io_applications.yaml      (the cluster's own)
//   https://github.com/nais/liberator/blob/main/config/crd/bases/nais.io_applications.yaml
// Without --crd it is read from ../shared/reference/ beside this repository, where CI keeps it.
//
// Exit 0: all valid. 1: problems, one line each with the manifest path. 2: the CRD file is missing.
// Stricter than a bare JSON Schema check in one way the API server also is: a field the schema
// does not declare is an error (kubectl's strict field validation refuses it; a looser server
// would drop it silently, which for a probe port or a scope is just as bad).
// Not checked: the CRD's CEL rules (x-kubernetes-validations), which need a CEL evaluator.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Ajv } from 'ajv'
import { parseAllDocuments } from 'yaml'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
/** Where CI has the CRD: ../shared/reference/ beside the repository. */
export const DEFAULT_CRD = join(root, '..', 'shared', 'reference', 'nais.io_applications.yaml')

/** Close every object schema that lists its properties, so unknown fields are reported. */
function closeObjects (schema) {
  if (Array.isArray(schema)) return schema.map(closeObjects)
  if (schema === null || typeof schema !== 'object') return schema
  const out = {}
  for (const [key, value] of Object.entries(schema)) {
    // OpenAPI keywords ajv does not know; the CEL rules cannot be evaluated here (see above).
    if (key === 'x-kubernetes-validations' || key === 'x-kubernetes-int-or-string' || key === 'description') continue
    out[key] = closeObjects(value)
  }
  if (out.type === 'object' && out.properties !== undefined && out.additionalProperties === undefined &&
      schema['x-kubernetes-preserve-unknown-fields'] !== true) {
    out.additionalProperties = false
  }
  delete out['x-kubernetes-preserve-unknown-fields']
  return out
}

/** Build a validator from the CRD file; returns a function from a parsed manifest to problems. */
export function loadValidator (crdFile) {
  const crd = parseAllDocuments(readFileSync(crdFile, 'utf8'))[0].toJS()
  const schema = closeObjects(crd.spec.versions[0].schema.openAPIV3Schema)
  // The CRD's patterns are Go regexps written with escapes (\: \/) that JavaScript's unicode mode refuses.
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, unicodeRegExp: false })
  const validate = ajv.compile(schema)
  return (manifest) => {
    const problems = []
    if (manifest?.apiVersion !== 'nais.io/v1alpha1' || manifest?.kind !== 'Application') {
      problems.push('(top level): apiVersion must be nais.io/v1alpha1 and kind Application')
    }
    if (!validate(manifest)) {
      for (const e of validate.errors) {
        const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.')
        const extra = e.keyword === 'additionalProperties' ? ` "${e.params.additionalProperty}" (not in the NAIS Application schema)` : ''
        problems.push(`${where}: ${e.message}${extra}`)
      }
    }
    return problems
  }
}

function main (argv) {
  const args = [...argv]
  let crdFile = DEFAULT_CRD
  const at = args.indexOf('--crd')
  if (at !== -1) {
    crdFile = args[at + 1]
    args.splice(at, 2)
  }
  if (args.length === 0) {
    process.stderr.write('usage: node scripts/validate-nais.mjs <manifest.yaml>… [--crd nais.io_applications.yaml]\n')
    return 2
  }
  if (crdFile === undefined || !existsSync(crdFile)) {
    process.stderr.write([
      crdFile === undefined ? '--crd needs the CRD file after it' : `the NAIS Application CRD is not at ${crdFile}`,
      'Get it, then pass --crd <file>:',
      '  kubectl get crd applications.nais.io -o yaml > nais.io_applications.yaml   (from a NAIS cluster)',
      '  or config/crd/bases/nais.io_applications.yaml in https://github.com/nais/liberator',
      ''
    ].join('\n'))
    return 2
  }
  const check = loadValidator(crdFile)
  let failed = false
  for (const file of args) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'))
    const problems = docs.flatMap((doc) => doc.errors.length > 0
      ? doc.errors.map((e) => `not valid YAML: ${e.message.split('\n')[0]}`)
      : check(doc.toJS()))
    if (problems.length === 0) {
      process.stdout.write(`${file}: valid NAIS Application\n`)
    } else {
      failed = true
      process.stdout.write(`${file}: ${problems.length} problem(s)\n${problems.map((p) => `  - ${p}`).join('\n')}\n`)
    }
  }
  return failed ? 1 : 0
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) process.exitCode = main(process.argv.slice(2))

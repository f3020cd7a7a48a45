/**
 * Fuzz: query parameter names. The invariant: for every query we allow, no model upstream
 * (test/helpers/query-parsers.ts: real qs, querystring, URLSearchParams, fast-querystring; PHP,
 * Rack, Tomcat and others after their sources) reads a `_method` parameter or a name with a control
 * character, and anything we refuse is refused with our 400.
 */
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import t from 'tap'
import { GateError } from '../../src/http/errors.js'
import { checkPath } from '../../src/gate/path.js'
import { ask } from '../helpers/attack.js'
import { fuzzRuns } from '../helpers/fuzz.js'
import { queryParsers } from '../helpers/query-parsers.js'

// Pieces of names: the override in its spellings, the characters parsers fold or cut at, escapes.
const NAME_PIECE = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('_method', 'method', '_METHOD', '%5Fmethod', '%5fMETHOD', '_me%74hod', '%255Fmethod', '%u005Fmethod', '%EF%BC%BFmethod', '_', '.', ' ', '+', '%20', '%2E', '%2e', '[', ']', '[]', '%5B', '%5D', '%00', '%01', '%1f', '%7f', '%2500', '%C2%85', '%E2%80%8B', '%E2%80%AE', '?', '??', '%3F', '%', '%zz', '=', ']=', '__proto__', 'constructor', 'prototype', 'x', 'a', '1') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('_', 'm', 'e', 't', 'h', 'o', 'd', 'M', '.', ' ', '+', '[', ']', '%', '5', 'F', 'f', '0', '2', 'E', 'B', 'D', 'u'), maxLength: 10 }) }
)
const NAME = fc.array(NAME_PIECE, { minLength: 1, maxLength: 4 }).map((pieces) => pieces.join(''))
const PAIR = fc.tuple(NAME, fc.option(fc.constantFrom('DELETE', 'x', '', '_method', '%00'), { nil: undefined })).map(([name, value]) => value === undefined ? name : `${name}=${value}`)
/** A raw query (without `?`): a few pairs joined by the separators parsers use, or write by mistake. */
const QUERY = fc.array(fc.tuple(PAIR, fc.constantFrom('&', '&', ';', '&amp;')), { minLength: 1, maxLength: 3 })
  .map((pairs) => pairs.map(([pair, sep], i) => (i === 0 ? '' : sep) + pair).join(''))
  // What a request line can carry: no raw spaces or controls (those never parse).
  .map((query) => query.replace(/ /g, '+'))

t.test('no query we allow is read as _method, or as a name with a control character, by any model upstream', async (t) => {
  let allowed = 0
  let refused = 0
  const seen = new Set<string>()
  fc.assert(fc.property(QUERY, (query) => {
    try {
      checkPath(`/public?${query}`)
    } catch (err) {
      if (!(err instanceof GateError) || err.code !== 'PORTVAKT_ERR_BAD_PATH') throw err
      refused++
      return
    }
    allowed++
    for (const parser of queryParsers) {
      for (const name of parser.names(query)) {
        seen.add(parser.name)
        if (name === '_method') throw new Error(`we allow ?${query}, and ${parser.name} reads it as _method`)
        if (/[\p{Cc}\p{Cf}]/u.test(name)) throw new Error(`we allow ?${query}, and ${parser.name} reads a name with a control character: ${JSON.stringify(name)}`)
      }
    }
  }), { numRuns: fuzzRuns(5000) })
  t.ok(allowed > 500 && refused > 500, `both sides exercised (allowed ${allowed}, refused ${refused})`)
  t.equal(seen.size, queryParsers.length, 'every model read names from some allowed query')
})

t.test('the models do read _method where we refuse it (they are not blind)', async (t) => {
  const cases: Record<string, string> = {
    'PHP (&)': '_method%00=DELETE',
    'PHP built-in server (php -S)': '?_method=DELETE',
    'Rack 2': '[_method]=DELETE',
    'qs (Express extended)': '%5B_method%5D=DELETE',
    'qs allowDots': '._method=DELETE',
    'Tomcat (Spring getParameter)': '%5Fmethod=DELETE',
    'classic ASP.NET (%u)': '%u005Fmethod=DELETE',
    'decoded twice': '%255Fmethod=DELETE'
  }
  for (const [name, query] of Object.entries(cases)) {
    const parser = queryParsers.find((p) => p.name === name)
    t.ok(parser?.names(query).includes('_method'), `${name} reads ?${query} as _method`)
    t.throws(() => checkPath(`/public?${query}`), { code: 'PORTVAKT_ERR_BAD_PATH' }, 'and we refuse it')
  }
})

// The php -S model against the real thing, where PHP is installed (CI machines may have none).
const php = spawnSync('php', ['--version']).status === 0
t.test('the php -S model reads names as the real PHP built-in server does', { skip: php ? false : 'php is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'portvakt-php-'))
  writeFileSync(join(dir, 'index.php'), '<?php header("content-type: application/json"); echo json_encode(array_map("strval", array_keys($_GET)));')
  const server = spawn('php', ['-S', '127.0.0.1:0', '-t', dir, join(dir, 'index.php')], { stdio: ['ignore', 'ignore', 'pipe'] })
  t.teardown(() => { server.kill() })
  let started = ''
  const port = await new Promise<string>((resolve, reject) => {
    server.stderr.on('data', (chunk: Buffer) => {
      started += chunk.toString()
      const match = /http:\/\/127\.0\.0\.1:(\d+)/.exec(started)
      if (match !== null) resolve(match[1] as string)
    })
    server.once('exit', () => { reject(new Error(`php -S exited: ${started}`)) })
  })
  const model = queryParsers.find((p) => p.name === 'PHP built-in server (php -S)')
  for (const query of ['?_method=DELETE', '??_method=DELETE', '?%20_method=DELETE', '?+_method=1', '?a.b=1&c=2', 'x=1&?_method=1', '_method%00=1', '?_method[]=1']) {
    const answer = await ask(`http://127.0.0.1:${port}/a?${query}`)
    t.same(model?.names(query), JSON.parse(answer.body), `?${query}`)
    if ((JSON.parse(answer.body) as string[]).includes('_method')) t.throws(() => checkPath(`/public?${query}`), { code: 'PORTVAKT_ERR_BAD_PATH' }, 'and we refuse it')
  }
})

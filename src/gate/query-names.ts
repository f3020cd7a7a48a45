/**
 * Query parameter names as frameworks read them. A `_method` parameter lets Laravel and Symfony
 * (query or body, on a POST), Spring's HiddenHttpMethodFilter (`getParameter`, which merges query
 * and form) and custom middleware run another method than the one we authorised, and each parser
 * turns a name into `_method` its own way. So a query is refused when any of these readings of any
 * name is `_method`, when a name holds a control, format or line-separator character (PHP cuts a
 * name at NUL: `_method%00x` is `_method` there; .NET's Trim and Python's strip drop U+0085; zero-width
 * and bidi characters make a name look like another), or when a name reaches an object's prototype. The parser
 * models are in docs/security.md; test/fuzz/query-names.test.ts holds them to real parsers.
 */
import { foldCase } from '../config/case-fold.js'
import { GateError } from '../http/errors.js'

// Decoded controls (C0, DEL, C1), format characters (zero-width, bidi, soft hyphen, BOM) and the
// line and paragraph separators: nothing a real parameter name holds, and each is cut, trimmed or
// hidden by some reader.
const CONTROL = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u
// PHP's built-in server (`php -S`, also `php artisan serve`) drops every leading `?` of the query
// before it sets QUERY_STRING (its copy of the old http_parser URL parser), so `??_method=` is `_method`.
const LEADING_QUESTION = /^\?+/
const ESCAPE = /%[0-9a-f]{2}/i
// A `%` that does not start an escape; PHP, Node's querystring and Tomcat keep it as it is.
const LONE_PERCENT = /%(?![0-9a-f]{2})/gi
// IIS and classic ASP.NET also decode `%uXXXX`.
const U_ESCAPE = /%u[0-9a-f]{4}/i

function refuse (message: string): never {
  throw new GateError('PORTVAKT_ERR_BAD_PATH', message)
}

/**
 * Percent-decode as lenient parsers do: a malformed `%` stays itself and the rest is decoded (PHP's
 * urldecode: `%5Fmethod%` is `_method%`); bytes that are not UTF-8 are taken one by one (Latin-1).
 */
function decodeLenient (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    const kept = text.replace(LONE_PERCENT, '%25')
    try {
      return decodeURIComponent(kept)
    } catch {
      return kept.replace(/%[0-9a-f]{2}/gi, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16)))
    }
  }
}

/** The spellings a raw name decodes to: once (`+` as space), with `%uXXXX`, and decoded twice. */
function decodings (raw: string): string[] {
  const plus = raw.includes('+') ? raw.replaceAll('+', ' ') : raw
  if (!plus.includes('%')) return [plus]
  const once = decodeLenient(plus)
  const out = [once]
  if (U_ESCAPE.test(plus)) out.push(decodeLenient(plus.replace(/%u([0-9a-f]{4})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))))
  if (ESCAPE.test(once)) out.push(decodeLenient(once))
  return out
}

/**
 * PHP's name (php_register_variable_ex): leading spaces dropped, ` ` and `.` before the first `[`
 * read as `_`; `name[...]` is an array called `name`; an unclosed first `[` is read as `_`.
 * https://github.com/php/php-src/blob/master/main/php_variables.c
 * With `looser`, leading spaces are read as `_` too and a leading `[` does not drop the name:
 * stricter than PHP, for parsers that copy its folding without those two rules.
 */
function readPhp (name: string, looser = false): string {
  const s = looser ? name : name.replace(/^ +/, '')
  const open = s.indexOf('[')
  const head = (open === -1 ? s : s.slice(0, open)).replace(/[ .]/g, '_')
  if (open === -1 || s.indexOf(']', open + 1) !== -1) return head
  return `${head}_${s.slice(open + 1)}`
}

/**
 * qs's top-level key (Express's `query parser: 'extended'`): the part before the first `[...]`, or
 * that segment's content when the name starts with it (`[_method]` is `_method`).
 * https://github.com/ljharb/qs/blob/main/lib/parse.js
 */
function readQs (name: string): string {
  const segment = /\[[^[\]]*\]/.exec(name)
  if (segment === null) return name
  return segment.index > 0 ? name.slice(0, segment.index) : segment[0].slice(1, -1)
}

/** Every top-level name some parser reads `name` (decoded) as. */
function readings (name: string): string[] {
  return LEADING_QUESTION.test(name) ? [...readingsOf(name), ...readingsOf(name.replace(LEADING_QUESTION, ''))] : readingsOf(name)
}

/** The readings of one spelling; `readings` adds those of the name with its leading `?`s dropped (php -S). */
function readingsOf (name: string): string[] {
  const rack3 = name.indexOf('[', 1)
  return [
    name, // Tomcat, Jetty, Undertow (Spring), URLSearchParams, Node's querystring, Go, ASP.NET Core
    name.trim(),
    readPhp(name), // Laravel, Symfony
    readPhp(name, true),
    /^[[\]]*([^[\]]+)/.exec(name)?.[1] ?? '', // Rack 2: leading brackets skipped (`]_method`)
    rack3 === -1 ? name : name.slice(0, rack3), // Rack 3: the part before a `[` past the start
    readQs(name),
    readQs(name.replace(/\.([^.[]+)/g, '[$1]')) // qs with allowDots: `._method` is `[_method]`
  ]
}

// Folded as loosely as anyone could: compatibility forms (full-width `＿ｍｅｔｈｏｄ`) and any case.
function fold (text: string): string {
  return /[^\x00-\x7f]/.test(text) ? foldCase(text.normalize('NFKC')) : text.toLowerCase()
}

// `__proto__`, or `constructor` then `prototype`, as a bracket or dot segment: a parser that lets
// them through sets the property on every object, `_method` included.
function reachesPrototype (name: string): boolean {
  const segments = name.split(/[[\].]+/)
  return segments.includes('__proto__') || (segments.includes('constructor') && segments.includes('prototype'))
}

function checkName (decoded: string): void {
  if (CONTROL.test(decoded)) refuse('a query parameter name holds a control character (C0, DEL or C1), a zero-width or bidi format character or a line separator, which some frameworks cut, trim or hide (PHP cuts at NUL); send names without them')
  const folded = fold(decoded)
  if (folded.includes('method') && readings(decoded).some((name) => fold(name) === '_method')) {
    refuse('the query holds a parameter some framework reads as _method, a method override; send the method itself')
  }
  if (decoded.includes('proto') && reachesPrototype(decoded)) refuse('a query parameter name reaches __proto__ or constructor.prototype, which some parsers set on every object; rename it')
}

function checkRawName (raw: string): void {
  if (raw !== '') for (const decoded of decodings(raw)) checkName(decoded)
}

const nameOf = (pair: string): string => pair.split('=', 1)[0] as string

/**
 * Check every parameter name of a raw query (after `?`); throws PORTVAKT_ERR_BAD_PATH. Names are
 * taken as each parser splits: at `&`; at `;` too (PHP's arg_separator.input, Rails, Rack 2, Python
 * before 3.9.2); and, as qs does, up to a `]=` before the first `=` (`a=[x]=1` is the name `a=[x]`).
 */
export function checkQueryNames (query: string): void {
  for (const pair of query.split('&')) {
    checkRawName(nameOf(pair))
    const bracketed = pair.replace(/%5D/gi, ']').replace(/%5B/gi, '[')
    const end = bracketed.indexOf(']=')
    if (end !== -1) checkRawName(bracketed.slice(0, end + 1))
    if (pair.includes(';')) for (const part of pair.split(';')) checkRawName(nameOf(part))
  }
}

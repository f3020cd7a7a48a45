/**
 * Model upstreams for query parameter names: the top-level names each stack's parser makes of a
 * raw query. Real parsers where they run here (qs as Express's extended parser and with allowDots,
 * Node's querystring, which Express 5 and method-override use, WHATWG URLSearchParams, fast-querystring
 * as Fastify uses it); PHP (php-fpm and the built-in server), Rack 2 and 3, Tomcat (Spring), classic ASP.NET and a framework that decodes
 * twice written after their sources.
 */
import { parse as parseNodeQuery } from 'node:querystring'
import fastQuerystring from 'fast-querystring'
import qs from 'qs'

/** A model upstream: its name and the top-level parameter names it reads from a raw query. */
export interface QueryParser {
  name: string
  names: (query: string) => string[]
}

/** The name part of each `&`-separated (or `sep`-separated) pair, raw. */
function rawNames (query: string, sep: RegExp): string[] {
  return query.split(sep).filter((pair) => pair !== '').map((pair) => pair.split('=', 1)[0] as string)
}

/** php_url_decode: `+` is a space, a well-formed escape a byte (read as Latin-1 here), anything else itself. */
function phpDecode (text: string): string {
  return text.replace(/\+/g, ' ').replace(/%[0-9a-f]{2}/gi, (e) => String.fromCharCode(parseInt(e.slice(1), 16)))
}

/** php_register_variable_ex (main/php_variables.c): the name a pair is registered under, if any. */
function phpName (decoded: string): string | undefined {
  const cut = decoded.indexOf('\0')
  const name = (cut === -1 ? decoded : decoded.slice(0, cut)).replace(/^ +/, '')
  const open = name.indexOf('[')
  const head = (open === -1 ? name : name.slice(0, open)).replace(/[ .]/g, '_')
  if (head === '') return undefined
  if (open === -1) return head
  // `name[...]` is an array called `name`; an unclosed first `[` is read as `_`, the rest kept.
  const rest = name.slice(open + 1)
  return rest.includes(']') ? head : `${head}_${rest}`
}

/** Rack::Utils.unescape: `+` is a space; a malformed escape makes the whole query a 400. */
function rackDecode (text: string): string {
  return decodeURIComponent(text.replace(/\+/g, ' '))
}

function rack2Name (name: string): string | undefined {
  const match = /^[[\]]*([^[\]]+)\]*/.exec(name)
  if (match === null) return undefined
  return name.slice(match[0].length) === '[' ? name : match[1]
}

function rack3Name (name: string): string | undefined {
  const start = name.indexOf('[', 1)
  const k = start === -1 ? name : name.slice(0, start)
  if (k === '') return undefined
  return start !== -1 && name.slice(start) === '[' ? name : k
}

function rack (name: string, read: (n: string) => string | undefined, sep: RegExp): QueryParser {
  return {
    name,
    names: (query) => {
      try {
        return rawNames(query, sep).map(rackDecode).map(read).filter((n): n is string => n !== undefined)
      } catch {
        return []
      }
    }
  }
}

/** Tomcat's Parameters: `&` only; a name with `%` is decoded as UTF-8, and skipped if that fails. */
function tomcatNames (query: string): string[] {
  return rawNames(query, /&/).flatMap((raw) => {
    if (!raw.includes('%')) return [raw.replace(/\+/g, ' ')]
    try {
      return [decodeURIComponent(raw.replace(/\+/g, ' '))]
    } catch {
      return []
    }
  })
}

function lenient (text: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    return phpDecode(text)
  }
}

/** Every query model upstream. */
export const queryParsers: readonly QueryParser[] = [
  { name: 'PHP (&)', names: (q) => rawNames(q, /&/).map(phpDecode).map(phpName).filter((n): n is string => n !== undefined) },
  // php -S (and `php artisan serve`) drops the query's leading `?`s before QUERY_STRING is parsed
  // (sapi/cli/php_cli_server.c, its copy of http_parser's URL parser); php-fpm and Apache keep them.
  { name: 'PHP built-in server (php -S)', names: (q) => rawNames(q.replace(/^\?+/, ''), /&/).map(phpDecode).map(phpName).filter((n): n is string => n !== undefined) },
  { name: 'PHP (arg_separator.input "&;")', names: (q) => rawNames(q, /[&;]/).map(phpDecode).map(phpName).filter((n): n is string => n !== undefined) },
  rack('Rack 2', rack2Name, /[&;] */),
  rack('Rack 3', rack3Name, /& */),
  rack('Rails (ActionDispatch, & and ;)', rack3Name, /[&;] */),
  { name: 'qs (Express extended)', names: (q) => Object.keys(qs.parse(q, { allowPrototypes: true })) },
  { name: 'qs allowDots', names: (q) => Object.keys(qs.parse(q, { allowDots: true })) },
  { name: 'qs depth 0', names: (q) => Object.keys(qs.parse(q, { depth: 0 })) },
  { name: 'Node querystring', names: (q) => Object.keys(parseNodeQuery(q)) },
  { name: 'URLSearchParams', names: (q) => [...new URLSearchParams(q).keys()] },
  { name: 'fast-querystring', names: (q) => Object.keys(fastQuerystring.parse(q) as object) },
  { name: 'Tomcat (Spring getParameter)', names: tomcatNames },
  { name: 'classic ASP.NET (%u)', names: (q) => rawNames(q, /&/).map((n) => lenient(n.replace(/\+/g, ' ').replace(/%u([0-9a-f]{4})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16))))) },
  { name: 'decoded twice', names: (q) => rawNames(q, /&/).map((n) => lenient(lenient(n.replace(/\+/g, ' ')))) }
]

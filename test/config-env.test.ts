import t from 'tap'
import { ConfigError } from '../src/config/errors.js'
import { loadSettings } from '../src/config/env.js'
import { DEFAULT_LIMITS } from '../src/http/limits.js'
import { DEFAULT_POOL } from '../src/proxy/slots.js'

const BASE = { MASKINPORTEN_ISSUER: 'https://test.maskinporten.no/', MASKINPORTEN_JWKS_URI: 'https://test.maskinporten.no/jwk' }

function problemsOf (env: Record<string, string>): readonly string[] {
  try {
    loadSettings(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('applies the documented defaults', async (t) => {
  const s = loadSettings(BASE)
  t.equal(s.routesFile, 'config/routes.yaml')
  t.equal(s.upstream, 'http://127.0.0.1:8081/')
  t.equal(s.port, 8080)
  t.equal(s.clockToleranceSec, 5)
  t.same(s.algorithms, ['RS256'])
  t.equal(s.forwardToken, true)
  t.equal(s.upstreamTimeoutMs, 30_000)
  t.equal(s.maxTokenLifetimeSec, 680)
  t.ok(Object.isFrozen(s))
})

t.test('parses durations, booleans and algorithm lists', async (t) => {
  const s = loadSettings({ ...BASE, PORTVAKT_CLOCK_TOLERANCE: '2s', PORTVAKT_UPSTREAM_TIMEOUT: '500ms', PORTVAKT_FORWARD_TOKEN: 'false', PORTVAKT_ALGORITHMS: 'RS256, PS256' })
  t.equal(s.clockToleranceSec, 2)
  t.equal(s.upstreamTimeoutMs, 500)
  t.equal(s.forwardToken, false)
  t.same(s.algorithms, ['RS256', 'PS256'])
})

t.test('names every issuer variable to set when none is set', async (t) => {
  const problems = problemsOf({})
  t.equal(problems.length, 1)
  t.match(problems[0], /MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI, or MASKINPORTEN_WELL_KNOWN_URL/)
})

t.test('names the missing half when only the issuer is set', async (t) => {
  t.match(problemsOf({ MASKINPORTEN_ISSUER: BASE.MASKINPORTEN_ISSUER }), [/MASKINPORTEN_JWKS_URI: not set/])
})

t.test('accepts the well-known URL alone', async (t) => {
  const s = loadSettings({ MASKINPORTEN_WELL_KNOWN_URL: 'https://test.maskinporten.no/.well-known/oauth-authorization-server' })
  t.equal(s.issuerSource.issuer, undefined)
})

t.test('lists every bad variable at once', async (t) => {
  const problems = problemsOf({ ...BASE, PORTVAKT_PORT: 'eighty', PORTVAKT_CLOCK_TOLERANCE: 'soon', PORTVAKT_ALGORITHMS: 'HS256,none', PORTVAKT_FORWARD_TOKEN: 'maybe', PORTVAKT_UPSTREAM: 'ftp://x' })
  t.equal(problems.length, 5)
  for (const name of ['PORTVAKT_PORT', 'PORTVAKT_CLOCK_TOLERANCE', 'PORTVAKT_ALGORITHMS', 'PORTVAKT_FORWARD_TOKEN', 'PORTVAKT_UPSTREAM']) {
    t.ok(problems.some((p) => p.startsWith(name)), `names ${name}`)
  }
})

t.test('refuses the platform\'s reserved ports', async (t) => {
  t.match(problemsOf({ ...BASE, PORTVAKT_PORT: '7564' }), [/reserved by the NAIS platform/])
})

t.test('refuses plain http JWKS to a host that is not loopback unless allowed', async (t) => {
  t.match(problemsOf({ ...BASE, MASKINPORTEN_JWKS_URI: 'http://issuer.example/jwk' }), [/plain http/])
  t.same(problemsOf({ ...BASE, MASKINPORTEN_JWKS_URI: 'http://127.0.0.1:9/jwk' }), [])
  t.same(problemsOf({ ...BASE, MASKINPORTEN_JWKS_URI: 'http://issuer.example/jwk', PORTVAKT_ALLOW_INSECURE_JWKS: 'true' }), [])
})

t.test('treats empty values as unset', async (t) => {
  t.equal(loadSettings({ ...BASE, PORTVAKT_PORT: '' }).port, 8080)
})

t.test('refuses an upstream with a path, so the path we authorise is the path it sees', async (t) => {
  t.match(problemsOf({ ...BASE, PORTVAKT_UPSTREAM: 'http://127.0.0.1:8081/base' }), [/PORTVAKT_UPSTREAM/])
})

t.test('names a bad variable and the missing issuer together, so one run shows everything to set', async (t) => {
  const problems = problemsOf({ PORTVAKT_PORT: 'abc' })
  t.equal(problems.length, 2)
  t.ok(problems.some((p) => p.startsWith('PORTVAKT_PORT: "abc" is not a port number')), 'names PORTVAKT_PORT')
  t.ok(problems.some((p) => /set MASKINPORTEN_ISSUER and MASKINPORTEN_JWKS_URI, or MASKINPORTEN_WELL_KNOWN_URL/.test(p)), 'names the issuer variables')
})

t.test('a variable set to a bad value is reported as bad, not also as missing', async (t) => {
  t.match(problemsOf({ MASKINPORTEN_ISSUER: BASE.MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI: 'not a url' }), [/^MASKINPORTEN_JWKS_URI: "not a url" is not an absolute URL/])
  t.equal(problemsOf({ MASKINPORTEN_ISSUER: BASE.MASKINPORTEN_ISSUER, MASKINPORTEN_JWKS_URI: 'not a url' }).length, 1)
})

t.test('a bad variable does not hide the plain-http JWKS or a port clash', async (t) => {
  const problems = problemsOf({ ...BASE, MASKINPORTEN_JWKS_URI: 'http://issuer.example/jwk', PORTVAKT_CLOCK_TOLERANCE: 'soon', PORTVAKT_ADMIN_PORT: '8080' })
  t.equal(problems.length, 3)
  t.match(problems, [/^PORTVAKT_CLOCK_TOLERANCE: /, /^MASKINPORTEN_JWKS_URI: plain http/, /^PORTVAKT_ADMIN_PORT: 8080 is also PORTVAKT_PORT/])
})

t.test('refuses the egress listener on the gate\'s or the admin listener\'s port; 0 never clashes', async (t) => {
  t.match(problemsOf({ ...BASE, PORTVAKT_EGRESS_PORT: '8080' }), [/^PORTVAKT_EGRESS_PORT: 8080 is also PORTVAKT_PORT; .*port of its own/])
  t.match(problemsOf({ ...BASE, PORTVAKT_EGRESS_PORT: '8079' }), [/^PORTVAKT_EGRESS_PORT: 8079 is also PORTVAKT_ADMIN_PORT/])
  t.equal(problemsOf({ ...BASE, PORTVAKT_PORT: '9000', PORTVAKT_ADMIN_PORT: '9000', PORTVAKT_EGRESS_PORT: '9000' }).length, 3, 'every pair named')
  t.same(problemsOf({ ...BASE, PORTVAKT_PORT: '0', PORTVAKT_ADMIN_PORT: '0', PORTVAKT_EGRESS_PORT: '0' }), [])
})

t.test('the body, connection and upstream pool settings default to the listener limits and the pool the servers use', async (t) => {
  const s = loadSettings(BASE)
  const { bodyBufferBytes, bodyMinBytesPerSecond, bodyRateWindowMs, maxConnections } = DEFAULT_LIMITS
  t.same(s.listener, { bodyBufferBytes, bodyMinBytesPerSecond, bodyRateWindowMs, maxConnections })
  t.same(s.upstreamPool, DEFAULT_POOL)
})

t.test('reads body sizes in bytes, k, KiB and MiB; the stream share defaults to half the pool', async (t) => {
  t.equal(loadSettings({ ...BASE, PORTVAKT_BODY_BUFFER: '4096' }).listener.bodyBufferBytes, 4096)
  t.equal(loadSettings({ ...BASE, PORTVAKT_BODY_BUFFER: '16k' }).listener.bodyBufferBytes, 16_384)
  t.equal(loadSettings({ ...BASE, PORTVAKT_BODY_BUFFER: '1MiB' }).listener.bodyBufferBytes, 1_048_576)
  const s = loadSettings({ ...BASE, PORTVAKT_UPSTREAM_CONNECTIONS: '32', PORTVAKT_BODY_MIN_RATE: '0', PORTVAKT_MAX_CONNECTIONS: '0', PORTVAKT_UPSTREAM_QUEUE_TIMEOUT: '2s' })
  t.same(s.upstreamPool, { connections: 32, streams: 16, queueTimeoutMs: 2_000 })
  t.equal(s.listener.bodyMinBytesPerSecond, 0, '0 turns the floor rate off')
  t.equal(s.listener.maxConnections, 0, '0 turns the cap off')
  t.equal(loadSettings({ ...BASE, PORTVAKT_UPSTREAM_STREAMS: '100' }).upstreamPool.streams, 100)
})

t.test('refuses a size or count it cannot read, saying how to write one, and a stream share that leaves no connection to other requests', async (t) => {
  const problems = problemsOf({ ...BASE, PORTVAKT_BODY_BUFFER: '64 kilo', PORTVAKT_BODY_MIN_RATE: '-1', PORTVAKT_MAX_CONNECTIONS: 'many', PORTVAKT_UPSTREAM_CONNECTIONS: '1' })
  t.match(problems, [/PORTVAKT_UPSTREAM_CONNECTIONS: "1" is not a whole number of connections from 2/, /PORTVAKT_BODY_BUFFER: "64 kilo" is not a size; write e\.g\. 65536, 64KiB or 1MiB/, /PORTVAKT_BODY_MIN_RATE: "-1" is not a whole number of bytes a second/, /PORTVAKT_MAX_CONNECTIONS: "many"/])
  t.match(problemsOf({ ...BASE, PORTVAKT_UPSTREAM_CONNECTIONS: '8', PORTVAKT_UPSTREAM_STREAMS: '8' }), [/PORTVAKT_UPSTREAM_STREAMS: 8 leaves none of the 8 upstream connections .* set it below 8/])
})

t.test('PORTVAKT_PASS_HEADERS takes other gateways\' headers only, kept lower case as written; none by default', async (t) => {
  t.same(loadSettings(BASE).passHeaders, [])
  const s = loadSettings({ ...BASE, PORTVAKT_PASS_HEADERS: ' SSL-Client-Cert, x-auth-request-email,ssl-client-cert,SSL_CIPHER ,' })
  t.same(s.passHeaders, ['ssl-client-cert', 'x-auth-request-email', 'ssl_cipher'])
  t.ok(Object.isFrozen(s.passHeaders))
})

t.test('PORTVAKT_PASS_HEADERS refuses, each named, our own, forwarding and method-override headers, names not dropped, prefixes and non-names', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['x-maskinporten-consumer', /x-maskinporten-consumer is portvakt's own/],
    ['X_Maskinporten_Scope', /X_Maskinporten_Scope is portvakt's own/],
    ['x-maskinporten-anything', /portvakt's own/],
    ['x-forwarded-for', /forwarding or method-override header/],
    ['X-Forwarded-User', /forwarding or method-override header/],
    ['x-forwarded-client-cert', /forwarding or method-override header/],
    ['forwarded', /forwarding/],
    ['x-original-url', /forwarding/],
    ['x-real-ip', /forwarding/],
    ['X-HTTP-Method-Override', /method-override/],
    ['accept', /accept reaches the app anyway/],
    ['x-custom', /reaches the app anyway/],
    ['ssl-client-*', /a prefix can't be let through/],
    ['ssl client cert', /is not a header name/],
    ['x-auth-request-user:', /is not a header name/]
  ]
  for (const [value, message] of cases) {
    const problems = problemsOf({ ...BASE, PORTVAKT_PASS_HEADERS: value })
    t.equal(problems.length, 1, value)
    t.match(problems[0], /^PORTVAKT_PASS_HEADERS: /)
    t.match(problems[0], message, value)
  }
  t.equal(problemsOf({ ...BASE, PORTVAKT_PASS_HEADERS: 'x-forwarded-user,accept,ssl-client-cert' }).length, 2, 'every bad name at once, the good one not among them')
})

t.test('PORTVAKT_ALLOW_EXPOSED_UPSTREAM is off unless set, and refuses what is not a boolean', async (t) => {
  t.equal(loadSettings(BASE).allowExposedUpstream, false)
  t.equal(loadSettings({ ...BASE, PORTVAKT_ALLOW_EXPOSED_UPSTREAM: 'true' }).allowExposedUpstream, true)
  t.match(problemsOf({ ...BASE, PORTVAKT_ALLOW_EXPOSED_UPSTREAM: 'sure' }), [/^PORTVAKT_ALLOW_EXPOSED_UPSTREAM: "sure" is not true or false; write true or false/])
})

t.test('a duration out of range is told in the unit it was written in, with the range in that unit', async (t) => {
  t.same(problemsOf({ ...BASE, PORTVAKT_MAX_TOKEN_LIFETIME: '100000s' }), ['PORTVAKT_MAX_TOKEN_LIFETIME: 100000s is out of range; write 1s to 86400s'])
  t.same(problemsOf({ ...BASE, PORTVAKT_MAX_TOKEN_LIFETIME: '100000' }), ['PORTVAKT_MAX_TOKEN_LIFETIME: 100000 is out of range (a bare number is seconds); write 1 to 86400'])
  t.same(problemsOf({ ...BASE, PORTVAKT_CLOCK_TOLERANCE: '10m' }), ['PORTVAKT_CLOCK_TOLERANCE: 10m is out of range; write 0m to 5m'])
  t.same(problemsOf({ ...BASE, PORTVAKT_JWKS_STALE_MAX: '200h' }), ['PORTVAKT_JWKS_STALE_MAX: 200h is out of range; write 0h to 168h'])
  t.same(problemsOf({ ...BASE, PORTVAKT_UPSTREAM_TIMEOUT: '5ms' }), ['PORTVAKT_UPSTREAM_TIMEOUT: 5ms is out of range; write 100ms to 3600000ms'])
  t.notMatch(problemsOf({ ...BASE, PORTVAKT_MAX_TOKEN_LIFETIME: '100000s' })[0], / ms\b/, 'no milliseconds for a value given in seconds')
  t.same(problemsOf({ ...BASE, PORTVAKT_BODY_BUFFER: '128MiB' }), ['PORTVAKT_BODY_BUFFER: 128MiB is out of range; write 0MiB to 64MiB'], 'a size in the unit it was written in')
  t.same(problemsOf({ ...BASE, PORTVAKT_BODY_BUFFER: '100000000' }), ['PORTVAKT_BODY_BUFFER: 100000000 is out of range; write 0 to 67108864 (bytes)'])
})

t.test('zero or negative is refused for every timeout, where zero would fail every call or cut every request', async (t) => {
  for (const name of ['PORTVAKT_JWKS_TIMEOUT', 'PORTVAKT_UPSTREAM_TIMEOUT', 'PORTVAKT_EGRESS_TIMEOUT', 'PORTVAKT_SHUTDOWN_TIMEOUT', 'PORTVAKT_MAX_TOKEN_LIFETIME', 'PORTVAKT_JWKS_MAX_AGE']) {
    t.match(problemsOf({ ...BASE, [name]: '0' }), [new RegExp(`^${name}: 0 is out of range \\(a bare number is seconds\\); write 0\\.1 to|^${name}: 0 is out of range \\(a bare number is seconds\\); write 1 to`)], `${name}=0`)
    t.same(problemsOf({ ...BASE, [name]: '-5s' }), [`${name}: "-5s" is not a duration (it cannot be negative); write e.g. 500ms, 5s, 10m or 24h`], `${name}=-5s`)
  }
  t.same(problemsOf({ ...BASE, PORTVAKT_JWKS_TIMEOUT: '0' }), ['PORTVAKT_JWKS_TIMEOUT: 0 is out of range (a bare number is seconds); write 0.1 to 60'])
  // Zero means something for these: no leeway, no delay, no cooldown between refetches, no rate limit.
  for (const name of ['PORTVAKT_CLOCK_TOLERANCE', 'PORTVAKT_SHUTDOWN_DELAY', 'PORTVAKT_JWKS_COOLDOWN', 'PORTVAKT_EGRESS_REFRESH_INTERVAL']) {
    t.same(problemsOf({ ...BASE, [name]: '0s' }), [], `${name}=0s means none`)
  }
  // The upstream queue's wait and the body rate's window: zero would refuse every request that waits or sends a body.
  t.same(problemsOf({ ...BASE, PORTVAKT_UPSTREAM_QUEUE_TIMEOUT: '0' }), ['PORTVAKT_UPSTREAM_QUEUE_TIMEOUT: 0 is out of range (a bare number is seconds); write 0.001 to 3600'])
  t.same(problemsOf({ ...BASE, PORTVAKT_BODY_RATE_WINDOW: '0s' }), ['PORTVAKT_BODY_RATE_WINDOW: 0s is out of range; write 0.1s to 3600s'])
})

t.test('PORTVAKT_JWKS_STALE_MAX shorter than PORTVAKT_JWKS_MAX_AGE is refused: the keys would expire before their refresh', async (t) => {
  t.same(problemsOf({ ...BASE, PORTVAKT_JWKS_STALE_MAX: '5m' }), ['PORTVAKT_JWKS_STALE_MAX: 5m is shorter than PORTVAKT_JWKS_MAX_AGE (10m): the keys would be too old to use before their scheduled refresh, and every request a 503; set it to 10m or more'])
  t.same(problemsOf({ ...BASE, PORTVAKT_JWKS_STALE_MAX: '0' }).length, 1, 'zero is refused as shorter')
  t.same(problemsOf({ ...BASE, PORTVAKT_JWKS_STALE_MAX: '10m' }), [], 'equal is fine')
})

t.test('booleans are true or false only, as in the route table: yes, no, 1, 0, on, off are refused', async (t) => {
  for (const value of ['yes', 'no', '1', '0', 'on', 'off', 'ja']) {
    t.same(problemsOf({ ...BASE, PORTVAKT_FORWARD_TOKEN: value }), [`PORTVAKT_FORWARD_TOKEN: "${value}" is not true or false; write true or false (yes, no, on, off, 1 and 0 are refused, as in the route table)`], value)
  }
  t.equal(loadSettings({ ...BASE, PORTVAKT_FORWARD_TOKEN: 'FALSE' }).forwardToken, false, 'any case, as YAML\'s own true and false')
  t.equal(loadSettings({ ...BASE, PORTVAKT_ALLOW_INSECURE_JWKS: 'True' }).issuerSource.allowInsecure, true)
})

t.test('a value from a fixed list is named with the list in plain words and the closest one, never in zod\'s syntax', async (t) => {
  t.same(problemsOf({ ...BASE, PORTVAKT_LOG_LEVEL: 'verbose' }), ['PORTVAKT_LOG_LEVEL: "verbose" is not one of fatal, error, warn, info, debug, trace, silent'])
  t.same(problemsOf({ ...BASE, PORTVAKT_LOG_LEVEL: 'debgu' }), ['PORTVAKT_LOG_LEVEL: "debgu" is not one of fatal, error, warn, info, debug, trace, silent; did you mean debug?'])
  t.notMatch(problemsOf({ ...BASE, PORTVAKT_LOG_LEVEL: 'verbose' })[0], /Invalid|expected one of|"\|"/)
})

t.test('a misspelt algorithm gets the one it likely means', async (t) => {
  t.same(problemsOf({ ...BASE, PORTVAKT_ALGORITHMS: 'rs256,ES265' }), ['PORTVAKT_ALGORITHMS: unsupported rs256, ES265; use a comma-separated list of RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA (never none or HS*); did you mean RS256, ES256?'])
})

// The native peers: nginx as a plain reverse proxy and HAProxy 2.6 checking the same RS256 tokens
// with jwt_verify. Installed from Debian packages when we may; skipped with a note when we can't.
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'

function has (command) {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Make sure `packages` (Debian name = command name) are there; returns the ones still missing. */
export function ensureInstalled (packages, notes) {
  const missing = packages.filter((p) => !has(p === 'nginx' ? 'nginx' : p))
  if (missing.length === 0) return []
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (!root || !has('apt-get')) {
    notes.push(`${missing.join(', ')} not installed and no root apt-get here: skipped (apt-get install -y ${missing.join(' ')})`)
    return missing
  }
  try {
    process.stderr.write(`installing ${missing.join(' ')} from Debian packages…\n`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    try {
      execFileSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=120', ...missing], { stdio: 'ignore', env })
    } catch {
      execFileSync('apt-get', ['update'], { stdio: 'ignore', env })
      execFileSync('apt-get', ['install', '-y', '-o', 'DPkg::Lock::Timeout=120', ...missing], { stdio: 'ignore', env })
    }
  } catch (err) {
    notes.push(`apt-get install ${missing.join(' ')} failed (${err.message.split('\n')[0]}): skipped`)
  }
  return missing.filter((p) => !has(p))
}

/** nginx.conf: one process (no master) so its CPU is one pid; keep-alive to the upstream; an access log like ours. */
export function writeNginxConf (dir, port, upstreamPort) {
  const file = join(dir, 'nginx.conf')
  writeFileSync(file, `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log combined buffer=64k flush=1s;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  upstream app { server 127.0.0.1:${upstreamPort}; keepalive 128; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`)
  return ['nginx', ['-c', file, '-p', dir, '-e', `${dir}/nginx-error.log`]]
}

/**
 * haproxy.cfg: one thread; the token checks HAProxy's JWT docs show (alg, iss, signature, exp) plus
 * the scope, denying with 401/403 as we do. It verifies every request: 2.6 has no token cache.
 */
export function writeHaproxyConf (dir, port, upstreamPort, { pemFile, issuer, scope }) {
  const file = join(dir, 'haproxy.cfg')
  writeFileSync(file, `
global
  nbthread 1
  maxconn 8192
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend gate
  bind 127.0.0.1:${port}
  http-request deny deny_status 401 unless { req.hdr(authorization) -m beg -i "bearer " }
  http-request set-var(txn.alg) http_auth_bearer,jwt_header_query('$.alg')
  http-request deny deny_status 401 unless { var(txn.alg) -m str RS256 }
  http-request deny deny_status 401 unless { http_auth_bearer,jwt_verify(txn.alg,"${pemFile}") -m int 1 }
  http-request set-var(txn.iss) http_auth_bearer,jwt_payload_query('$.iss')
  http-request deny deny_status 401 unless { var(txn.iss) -m str "${issuer}" }
  http-request set-var(txn.exp) http_auth_bearer,jwt_payload_query('$.exp','int')
  http-request set-var(txn.now) date()
  http-request deny deny_status 401 if { var(txn.exp),sub(txn.now) -m int lt 0 }
  http-request set-var(txn.scope) http_auth_bearer,jwt_payload_query('$.scope')
  http-request deny deny_status 403 unless { var(txn.scope) -m sub "${scope}" }
  default_backend app
backend app
  http-reuse always
  server app 127.0.0.1:${upstreamPort}
`)
  return ['haproxy', ['-f', file, '-db']]
}

// Child processes for the bench: start, wait until they answer, read their CPU time and RSS from
// /proc, and stop them (each by its own pid, at the end or on failure).
import { spawn, execFileSync } from 'node:child_process'
import { createWriteStream, openSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, connect } from 'node:net'

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100
const children = new Set()

/** A free loopback port (listen on 0, note it, close). */
export async function freePort () {
  const server = createServer()
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  await new Promise((resolve) => server.close(resolve))
  return port
}

/**
 * Start `command` with `args`; its output goes to `logFile`. With `stdoutPipe`, stdout is a pipe this
 * process reads and copies to the file, as a pod's container runtime reads a container's stdout
 * (writes to a pipe wake its reader; to a file they do not: the cost differs, README "Performance").
 */
export function startChild (name, command, args, { env, logFile, stdoutPipe = false } = {}) {
  const fd = openSync(logFile, 'a')
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdoutPipe ? 'pipe' : fd, fd] })
  if (stdoutPipe) child.stdout.pipe(createWriteStream('', { fd }))
  child.benchName = name
  children.add(child)
  child.on('exit', () => { children.delete(child) })
  return child
}

/** Resolve once a TCP connect to `port` succeeds; reject after `ms`. */
export async function waitForPort (port, ms = 60_000) {
  const until = Date.now() + ms
  for (;;) {
    const ok = await new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true) })
      socket.on('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listens on ${port} after ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** The process and its descendants (a cluster's workers), from /proc/<pid>/task/<tid>/children. */
function processTree (pid) {
  const pids = [pid]
  let tasks = []
  try { tasks = readdirSync(`/proc/${pid}/task`) } catch { return pids }
  for (const tid of tasks) {
    let children = ''
    try { children = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim() } catch { continue }
    for (const child of children === '' ? [] : children.split(' ')) pids.push(...processTree(Number(child)))
  }
  return pids
}

function readProc (pid, file) {
  try { return readFileSync(`/proc/${pid}/${file}`, 'utf8') } catch { return undefined } // exited meanwhile
}

/** CPU seconds (user + system) the process and its descendants have used so far. */
export function cpuSeconds (pid) {
  let total = 0
  for (const p of processTree(pid)) {
    const stat = readProc(p, 'stat')
    if (stat === undefined) continue
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    total += (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  }
  return total
}

/** Resident set size of the process and its descendants, in MB. */
export function rssMb (pid) {
  let kb = 0
  for (const p of processTree(pid)) kb += Number(/VmRSS:\s+(\d+)/.exec(readProc(p, 'status') ?? '')?.[1] ?? 0)
  return kb / 1024
}

/** Stop one child: SIGTERM, then SIGKILL if it lingers. */
export async function stopChild (child) {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
  await exited
  clearTimeout(timer)
}

/** Stop every child this bench started. */
export async function stopAll () {
  await Promise.all([...children].map(stopChild))
}

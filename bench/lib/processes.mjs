// Child processes for the bench: start, wait until they answer, read their CPU time and RSS from
// /proc, and stop them (each by its own pid, at the end or on failure).
import { spawn, execFileSync } from 'node:child_process'
import { closeSync, constants, createWriteStream, openSync, readFileSync, readdirSync } from 'node:fs'
import { createServer, connect, Socket } from 'node:net'

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
 * Start `command` with `args`; its output goes to `logFile`. With `stdoutFifo` (a path), stdout is a
 * named pipe this process reads and copies to the file, as a pod's container runtime reads a
 * container's stdout from a FIFO (a write to it wakes its reader, a write to a file does not: the
 * access line's cost differs, README "Performance"). Node's own stdio 'pipe' would be a socket pair.
 */
export function startChild (name, command, args, { env, logFile, stdoutFifo } = {}) {
  const fd = openSync(logFile, 'a')
  let stdout = fd
  if (stdoutFifo !== undefined) {
    execFileSync('mkfifo', [stdoutFifo])
    // The read end first, non-blocking (so neither open waits for the other); libuv reads it as a pipe.
    const reader = new Socket({ fd: openSync(stdoutFifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false })
    reader.pipe(createWriteStream('', { fd }))
    stdout = openSync(stdoutFifo, 'w')
  }
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', stdout, fd] })
  if (stdout !== fd) closeSync(stdout) // the child holds the write end; its exit ends the reader
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

/**
 * The route table in force, swapped atomically on reload: a request reads `current` once and sees
 * one whole table. An invalid new file is reported and the old table keeps serving.
 *
 * Watching: a Kubernetes ConfigMap mount replaces a `..data` symlink in the file's directory rather
 * than writing the file, so the directory is watched, not the file's inode. A watch can die (the
 * directory removed or unmounted, an error from the OS): that is reported, the table in force keeps
 * serving, SIGHUP still reloads, and the directory is watched again as soon as it is back.
 *
 * Reloads run one at a time: two overlapping reads (a watch event and SIGHUP) could otherwise
 * finish out of order and leave the older file in force.
 */
import { watch as watchFs, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { ConfigError } from './errors.js'
import { describeFileError } from './file-error.js'
import { formatDuration } from './duration.js'
import { loadRoutes, type RouteTable } from './routes.js'

/** What a reload attempt came to, for logs and metrics. */
export type ReloadResult = { ok: true, table: RouteTable, trigger: string } | { ok: false, problems: readonly string[], trigger: string }

/** Starts watching a directory: node's `fs.watch` unless a test hands in its own wrapper of it. */
export type WatchDirectory = (dir: string, onChange: (event: string, name: string | null) => void) => FSWatcher

const watchDirectory: WatchDirectory = (dir, onChange) => watchFs(dir, onChange)

/** A reload asked for while one runs: they all share the one that runs next. */
interface NextReload {
  trigger: string
  done: Promise<ReloadResult>
  start: (run: Promise<ReloadResult>) => void
}

function planNextReload (trigger: string): NextReload {
  let start!: (run: Promise<ReloadResult>) => void
  const done = new Promise<ReloadResult>((resolve) => { start = resolve })
  return { trigger, done, start }
}

/** Holds the current table; `reload()` re-reads the file. */
export class RouteHolder {
  private table: RouteTable
  private watcher: FSWatcher | undefined
  private debounce: NodeJS.Timeout | undefined
  private rewatch: NodeJS.Timeout | undefined
  private watchTimes: { debounceMs: number, rewatchMs: number } | undefined
  private running = false
  private next: NextReload | undefined
  private readonly listeners: Array<(result: ReloadResult) => void> = []

  constructor (readonly file: string, initial: RouteTable, private readonly watchDir: WatchDirectory = watchDirectory) {
    this.table = initial
  }

  /** Load the file once and hold it; throws ConfigError if it is invalid. */
  static async load (file: string): Promise<RouteHolder> {
    return new RouteHolder(file, await loadRoutes(file))
  }

  /** The table in force. */
  get current (): RouteTable {
    return this.table
  }

  /** Be told of every reload attempt (and of a lost watch, as a failed one). */
  onReload (listener: (result: ReloadResult) => void): void {
    this.listeners.push(listener)
  }

  /**
   * Re-read the file: swap in a valid table, keep the old one otherwise. One at a time: asked for
   * while one runs, it runs once more afterwards (however often it was asked), reading the file as
   * it is then, and every caller in between gets that result.
   */
  async reload (trigger = 'manual'): Promise<ReloadResult> {
    if (!this.running) return await this.run(trigger)
    this.next ??= planNextReload(trigger)
    return await this.next.done
  }

  private async run (trigger: string): Promise<ReloadResult> {
    this.running = true
    try {
      return await this.readAndSwap(trigger)
    } finally {
      const next = this.next
      this.next = undefined
      // Started before this one settles, so `running` never drops in between and no third read overlaps.
      if (next === undefined) this.running = false
      else next.start(this.run(next.trigger))
    }
  }

  private async readAndSwap (trigger: string): Promise<ReloadResult> {
    let result: ReloadResult
    try {
      const table = await loadRoutes(this.file)
      this.table = table
      result = { ok: true, table, trigger }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String((err as Error).message)]
      result = { ok: false, problems, trigger }
    }
    this.report(result)
    return result
  }

  private report (result: ReloadResult): void {
    for (const listener of this.listeners) listener(result)
  }

  /**
   * Watch the file's directory and reload (debounced) when the file or a ConfigMap swap changes it.
   * A lost watch is retried every `rewatchMs` until the directory is back.
   */
  watch (debounceMs = 100, rewatchMs = 1_000): void {
    if (this.watchTimes !== undefined) return
    this.watchTimes = { debounceMs, rewatchMs }
    if (!this.startWatching()) this.loseWatch(`${dirname(this.file)} cannot be watched`)
  }

  /** Start the OS watch; false if the directory cannot be watched (yet). */
  private startWatching (): boolean {
    const dir = dirname(this.file)
    const name = basename(this.file)
    let watcher: FSWatcher
    try {
      watcher = this.watchDir(dir, (_event, changed) => {
        if (this.watcher !== watcher) return
        // On Linux the removal of the watched directory itself arrives as an event named after it,
        // and the watch is dead from then on: nothing more will come from it.
        if (changed === basename(dir) && changed !== name) {
          this.loseWatch(`${dir} was removed or moved`)
          return
        }
        if (changed !== null && changed !== name && changed !== '..data') return
        clearTimeout(this.debounce)
        this.debounce = setTimeout(() => { void this.reload('watch') }, this.watchTimes?.debounceMs)
        this.debounce.unref()
      })
    } catch {
      return false
    }
    // Without a listener an 'error' (an unmounted directory, an OS error) would crash the process.
    watcher.on('error', (err: Error) => { if (this.watcher === watcher) this.loseWatch(describeFileError(err)) })
    watcher.unref()
    this.watcher = watcher
    return true
  }

  private loseWatch (why: string): void {
    this.watcher?.close()
    this.watcher = undefined
    const rewatchMs = this.watchTimes?.rewatchMs ?? 1_000
    this.report({
      ok: false,
      trigger: 'watch',
      problems: [`the watch on ${dirname(this.file)} stopped (${why}); the current table keeps serving, SIGHUP still reloads, and the watch is retried every ${formatDuration(rewatchMs)}`]
    })
    this.scheduleRewatch(rewatchMs)
  }

  private scheduleRewatch (rewatchMs: number): void {
    clearTimeout(this.rewatch)
    this.rewatch = setTimeout(() => {
      this.rewatch = undefined
      if (this.watchTimes === undefined) return
      // Changes made while nothing watched would otherwise wait for the next one.
      if (this.startWatching()) void this.reload('watch')
      else this.scheduleRewatch(rewatchMs)
    }, rewatchMs)
    this.rewatch.unref()
  }

  /** Stop watching (and retrying to). */
  close (): void {
    this.watchTimes = undefined
    clearTimeout(this.debounce)
    clearTimeout(this.rewatch)
    this.rewatch = undefined
    this.watcher?.close()
    this.watcher = undefined
  }
}

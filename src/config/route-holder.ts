/**
 * The route table in force, swapped atomically on reload: a request reads `current` once and sees
 * one whole table. An invalid new file is reported and the old table keeps serving.
 *
 * Watching: a Kubernetes ConfigMap mount replaces a `..data` symlink in the file's directory rather
 * than writing the file, so the directory is watched, not the file's inode.
 */
import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import { ConfigError } from './errors.js'
import { loadRoutes, type RouteTable } from './routes.js'

/** What a reload attempt came to, for logs and metrics. */
export type ReloadResult = { ok: true, table: RouteTable, trigger: string } | { ok: false, problems: readonly string[], trigger: string }

/** Holds the current table; `reload()` re-reads the file. */
export class RouteHolder {
  private table: RouteTable
  private watcher: FSWatcher | undefined
  private debounce: NodeJS.Timeout | undefined
  private readonly listeners: Array<(result: ReloadResult) => void> = []

  constructor (readonly file: string, initial: RouteTable) {
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

  /** Be told of every reload attempt. */
  onReload (listener: (result: ReloadResult) => void): void {
    this.listeners.push(listener)
  }

  /** Re-read the file: swap in a valid table, keep the old one otherwise. */
  async reload (trigger = 'manual'): Promise<ReloadResult> {
    let result: ReloadResult
    try {
      const table = await loadRoutes(this.file)
      this.table = table
      result = { ok: true, table, trigger }
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [String((err as Error).message)]
      result = { ok: false, problems, trigger }
    }
    for (const listener of this.listeners) listener(result)
    return result
  }

  /** Watch the file's directory and reload (debounced) when the file or a ConfigMap swap changes it. */
  watch (debounceMs = 100): void {
    if (this.watcher !== undefined) return
    const name = basename(this.file)
    this.watcher = watch(dirname(this.file), (_event, changed) => {
      if (changed !== null && changed !== name && changed !== '..data') return
      clearTimeout(this.debounce)
      this.debounce = setTimeout(() => { void this.reload('watch') }, debounceMs)
      this.debounce.unref()
    })
    this.watcher.unref()
  }

  /** Stop watching. */
  close (): void {
    clearTimeout(this.debounce)
    this.watcher?.close()
    this.watcher = undefined
  }
}

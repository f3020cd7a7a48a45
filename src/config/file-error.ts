/** A file that cannot be read, in words: Node's errno texts ("ENOENT: no such file or directory, open …") translated by `code` (STYLE §8). */
import { ConfigError } from './errors.js'

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  ENOTDIR: 'a folder on the way to it is a file',
  EISDIR: 'it is a folder; name the file',
  EACCES: 'this user may not read it',
  EPERM: 'this user may not read it',
  ELOOP: 'its symbolic links go round in a circle',
  ENAMETOOLONG: 'the path is too long',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open'
}

/** Why a file could not be read, as a user can act on it; unknown codes are named as they are. */
export function describeFileError (err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  return (code === undefined ? undefined : REASONS[code]) ?? `it cannot be read (${code ?? 'unknown error'})`
}

/** A file that could not be read at all: its one problem says everything there is to say. */
export class UnreadableFileError extends ConfigError {}

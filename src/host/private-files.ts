// Files bng keeps on the box (the control socket's directory, the pid file, the host-state
// file): in a directory only bng's user may write to, created without following symlinks, so
// that no other user can make bng overwrite a file of their choosing.
import { closeSync, constants, existsSync, fsyncSync, lstatSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** A directory bng's files cannot safely live in: another owner, writable by others, or a symlink. */
export class UnsafeDirectoryError extends Error {}

/**
 * Creates `dir` 0700 or checks the one there: a directory (not a symlink), owned by this user,
 * that no one else may write to. Anyone who could write there could swap the files in it.
 */
export function ensurePrivateDirectory(dir: string): void {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = lstatSync(dir);
  const uid = process.getuid?.() ?? stat.uid;
  if (!stat.isDirectory()) throw new UnsafeDirectoryError(`${dir} is not a directory (a symlink?); remove it or choose another path`);
  if (stat.uid !== uid) throw new UnsafeDirectoryError(`${dir} belongs to uid ${stat.uid}, not to bng's user (uid ${uid}); fix it with: chown ${uid} ${dir}`);
  if ((stat.mode & 0o022) !== 0) {
    throw new UnsafeDirectoryError(`${dir} is writable by others (mode ${(stat.mode & 0o777).toString(8)}); fix it with: chmod 700 ${dir}`);
  }
}

/** Creates `path` with `text`, mode 0600, failing rather than following a symlink or reusing a file someone made. */
function createExclusive(path: string, text: string): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces `path` with `text` atomically: a new file beside it, then a rename over it, so a
 * reader sees the old content or the new, never a part, and a symlink at `path` is replaced,
 * not followed. The directory must be private (ensurePrivateDirectory).
 */
export function replacePrivateFile(path: string, text: string): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  if (existsSync(temporary)) unlinkSync(temporary);
  createExclusive(temporary, text);
  renameSync(temporary, path);
}

// Atomic, durable, compare-and-swap file replacement for NFSBackend.
import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { CompositeBackendError } from "../../errors.js";
import { type DirHandle, entry, type SafeDirs } from "./dirs.js";
import { errnoOf } from "./fs.js";
import type { NfsIo } from "./io.js";
import type { FileLocks } from "./locks.js";
import type { ResolvedNfsOptions } from "./options.js";
import type { TempArea } from "./temp.js";

const DIRECTORY = constants.O_DIRECTORY ?? 0;

/** What an edit saw when it read the file; the commit only happens if the file still matches. */
export interface FileVersion {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function versionOf(stat: BigIntStats): FileVersion {
  return {
    dev: stat.dev,
    ino: stat.ino,
    size: stat.size,
    mtimeNs: stat.mtimeNs,
    ctimeNs: stat.ctimeNs,
  };
}

function sameVersion(a: FileVersion, b: FileVersion): boolean {
  return (
    a.dev === b.dev &&
    a.ino === b.ino &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

export interface ReplaceTarget {
  /** Open directory handle (inside the root) and the name of the file in it to replace. */
  dir: DirHandle;
  name: string;
  /** Mode the file must end up with. */
  mode: number;
}

export interface ReplaceOptions {
  /** Resolved while the new bytes are being written; nothing is created under it before. */
  target: Promise<ReplaceTarget>;
  data: Uint8Array;
  /** Mode the temp file is created with; corrected before the rename if the target differs. */
  initialMode: number;
  /** For edits: commit only if the file is still the version that was read. */
  expect?: FileVersion;
  vpath: string;
}

export interface CommitContext {
  options: ResolvedNfsOptions;
  dirs: SafeDirs;
  temp: TempArea;
  locks: FileLocks;
}

/**
 * Replaces a file atomically and durably: the bytes go to a temp file in the root's private
 * temp area, are fsynced, and are renamed over the target under the writer lock, then the
 * directory is fsynced. Readers see the old file or the new one, never a mix; a crash leaves at
 * worst an orphaned temp file in the (hidden) temp area. Finding and checking the target, taking
 * the lock and writing the bytes overlap. Every step addresses the temp area and the target's
 * directory through their open handles, and the target directory is re-verified right before
 * and after the rename: a directory swapped for a symlink can redirect nothing.
 */
export async function atomicReplace(ctx: CommitContext, replace: ReplaceOptions): Promise<void> {
  const { dirs, temp, locks, options } = ctx;
  const { io } = dirs;
  const { vpath } = replace;
  const tempDir = temp.open(vpath);
  const locked = Promise.all([replace.target, tempDir]).then(([target, staging]) =>
    locks.acquire(target.dir, target.name, staging, vpath),
  );
  // Awaited below; these only keep an early rejection from being "unhandled".
  locked.catch(() => undefined);
  tempDir.catch(() => undefined);
  let tmpPath: string | undefined;
  let release: (() => Promise<void>) | undefined;
  try {
    tmpPath = await temp.writeTemp(await tempDir, replace.data, replace.initialMode);
    const [target, releaseLock] = await Promise.all([replace.target, locked]);
    release = releaseLock;
    if (target.mode !== replace.initialMode) await io.chmod(tmpPath, target.mode);
    const destination = entry(target.dir, target.name);
    if (replace.expect) await assertUnchanged(io, destination, replace.expect, vpath);
    await dirs.verify(target.dir, vpath);
    try {
      await io.rename(tmpPath, destination);
    } catch (error) {
      if (errnoOf(error) !== "EXDEV") throw error;
      // The target is on another file system (a nested mount): stage next to it instead.
      await io.unlink(tmpPath).catch(() => undefined);
      tmpPath = await temp.writeTempIn(target.dir, target.name, replace.data, target.mode);
      await dirs.verify(target.dir, vpath);
      await io.rename(tmpPath, destination);
    }
    tmpPath = undefined;
    // Moved away during the rename itself: take the file back out rather than leave it there.
    await dirs.verify(target.dir, vpath).catch(async (error: unknown) => {
      await io.unlink(destination).catch(() => undefined);
      throw error;
    });
    const unlocking = release();
    release = undefined;
    // The rename is the commit: a stale handle while syncing the directory must not make the
    // caller retry an edit that already landed.
    const syncing = options.fsync
      ? syncDirectory(io, target.dir).catch((error: unknown) => {
          if (errnoOf(error) !== "ESTALE") throw error;
        })
      : undefined;
    await Promise.all([syncing, unlocking]);
  } catch (error) {
    if (tmpPath) await io.unlink(tmpPath).catch(() => undefined);
    if (release) await release();
    else
      await locked.then(
        (late) => late(),
        () => undefined,
      );
    throw await explain(dirs, replace, error);
  } finally {
    await tempDir.then(
      (staging) => io.close(staging.fd).catch(() => undefined),
      () => undefined,
    );
  }
}

/** A file-system error because the target's directory vanished or moved midway is a swap. */
async function explain(dirs: SafeDirs, replace: ReplaceOptions, error: unknown): Promise<unknown> {
  const code = errnoOf(error);
  if (code !== "ENOENT" && code !== "ENOTDIR") return error;
  const target = await replace.target.catch(() => undefined);
  if (!target) return error;
  return dirs.verify(target.dir, replace.vpath).then(
    () => error,
    (swap: unknown) => swap,
  );
}

/**
 * Re-reads the target's attributes through a fresh open: on NFS, open revalidates the attribute
 * cache (close-to-open consistency) where a bare stat may answer from a cache seconds old.
 */
async function assertUnchanged(
  io: NfsIo,
  target: string,
  expected: FileVersion,
  vpath: string,
): Promise<void> {
  let current: BigIntStats | undefined;
  try {
    const fd = await io.open(
      target,
      constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOFOLLOW ?? 0),
    );
    try {
      current = await io.fstatBig(fd);
    } finally {
      // Nothing waits on this close: the commit only needs the attributes.
      io.close(fd).catch(() => undefined);
    }
  } catch (error) {
    // Gone, or replaced by a symlink: either way not the file that was read.
    if (errnoOf(error) !== "ENOENT" && errnoOf(error) !== "ELOOP") throw error;
  }
  if (!current || !sameVersion(versionOf(current), expected)) {
    throw new CompositeBackendError(
      "conflict",
      `Error: '${vpath}' was changed by someone else while this edit was in progress; nothing was written. Read the file again and retry the edit.`,
    );
  }
}

/** Makes the rename itself durable: the new directory entry is flushed with the directory. */
async function syncDirectory(io: NfsIo, dir: DirHandle): Promise<void> {
  // The root is addressed by its (trusted) path and has no descriptor of its own.
  const fd = dir.fd >= 0 ? dir.fd : await io.open(dir.at, constants.O_RDONLY | DIRECTORY);
  try {
    await io.fsync(fd);
  } catch (error) {
    // Some file systems refuse fsync on directories; the data itself is already synced.
    if (errnoOf(error) !== "EINVAL" && errnoOf(error) !== "EBADF") throw error;
  } finally {
    if (fd !== dir.fd) await io.close(fd);
  }
}

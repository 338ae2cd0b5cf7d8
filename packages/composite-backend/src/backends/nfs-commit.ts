import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { sleep } from "../async.js";
import { CompositeBackendError } from "../errors.js";
import { type Confinement, errnoOf } from "./nfs-fs.js";
import type { NfsIo } from "./nfs-io.js";
import type { ResolvedNfsOptions } from "./nfs-options.js";
import { lockPathFor, type TempArea } from "./nfs-temp.js";

const CREATE_EXCLUSIVE =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
const OWNER = JSON.stringify({ pid: process.pid, host: hostname() });

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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === "EPERM"; // exists, owned by someone else
  }
}

/**
 * Per-file writer lock: `.name.agentstate-lock` next to the file, so every process and host
 * sharing the mount agrees on it whatever path it mounts the share at. Taking it is one
 * link(2) of this instance's owner file (atomic on local file systems and NFS, and cheaper
 * than creating a file); the link carries the owner's pid and host, so a lock left by a
 * crashed process on this host is broken at once. Writers in one instance queue in memory.
 */
export class FileLocks {
  readonly #queues = new Map<string, Promise<void>>();

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly io: NfsIo,
    private readonly temp: TempArea,
  ) {}

  async acquire(target: string, vpath: string): Promise<() => Promise<void>> {
    const previous = this.#queues.get(target) ?? Promise.resolve();
    let releaseLocal!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (releaseLocal = resolve)));
    this.#queues.set(target, tail);
    await previous;
    const releaseQueue = () => {
      releaseLocal();
      if (this.#queues.get(target) === tail) this.#queues.delete(target);
    };
    try {
      const lockPath = lockPathFor(target);
      await this.#take(lockPath, vpath);
      return async () => {
        await this.io.unlink(lockPath).catch(() => undefined);
        releaseQueue();
      };
    } catch (error) {
      releaseQueue();
      throw error;
    }
  }

  async #take(lockPath: string, vpath: string): Promise<void> {
    const started = Date.now();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if (await this.#tryLink(lockPath)) return;
      if (await this.#abandoned(lockPath)) {
        await this.io.unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() - started > this.options.lockTimeoutMs) {
        throw new CompositeBackendError(
          "conflict",
          `'${vpath}' is locked by another writer; try again`,
        );
      }
      await sleep(wait);
    }
  }

  async #tryLink(lockPath: string): Promise<boolean> {
    const { io } = this;
    const owner = await this.temp.ownerFile();
    try {
      await io.link(owner, lockPath);
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "EEXIST") {
        // NFS may replay a link whose reply was lost and answer EEXIST although it worked.
        const [mine, held] = await Promise.all([
          io.stat(owner),
          io.stat(lockPath).catch(() => undefined),
        ]);
        return held !== undefined && held.ino === mine.ino && held.dev === mine.dev;
      }
      if (code === "ENOENT" && !(await io.stat(owner).catch(() => undefined))) {
        this.temp.forgetOwner(); // swept away: make a new one and retry
        return this.#tryLink(lockPath);
      }
      if (code !== "EXDEV" && code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP")
        throw error;
    }
    // The file lives on another file system than the root (a nested mount), or hard links are
    // not supported: fall back to creating the lock file exclusively.
    try {
      await io.createFile(
        lockPath,
        CREATE_EXCLUSIVE,
        new TextEncoder().encode(OWNER),
        0o600,
        false,
      );
      return true;
    } catch (error) {
      if (errnoOf(error) === "EEXIST") return false;
      throw error;
    }
  }

  /**
   * A lock whose owner is gone: a dead process on this host (known at once), or, for owners on
   * other hosts, a lock older than staleLockMs (a live writer holds it for milliseconds).
   */
  async #abandoned(lockPath: string): Promise<boolean> {
    const { io } = this;
    let owner: { pid?: number; host?: string } = {};
    let mtimeMs = Date.now();
    let fd: number;
    try {
      fd = await io.open(lockPath, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return false; // released meanwhile: just retry
    }
    try {
      const stat = await io.fstat(fd);
      mtimeMs = stat.mtimeMs;
      const buffer = Buffer.alloc(Math.min(stat.size, 4096));
      const length = await io.read(fd, buffer, 0, buffer.length, 0);
      owner = JSON.parse(buffer.toString("utf8", 0, length));
    } catch {
      // Empty or half-written: judged by age alone.
    } finally {
      await io.close(fd);
    }
    if (owner.host === hostname() && typeof owner.pid === "number" && !processAlive(owner.pid))
      return true;
    return Date.now() - mtimeMs > this.options.staleLockMs;
  }
}

export interface ReplaceTarget {
  /** Real directory (already checked to be inside the root) and file name to replace. */
  dir: string;
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

/**
 * Replaces a file atomically and durably: the bytes go to a temp file in the root's private
 * temp area, are fsynced, and are renamed over the target under the writer lock, then the
 * directory is fsynced. Readers see the old file or the new one, never a mix; a crash leaves at
 * worst an orphaned temp file in the (hidden) temp area. Finding and checking the target, taking
 * the lock and writing the bytes overlap.
 */
export async function atomicReplace(
  options: ResolvedNfsOptions,
  jail: Confinement,
  temp: TempArea,
  locks: FileLocks,
  replace: ReplaceOptions,
): Promise<void> {
  const { io } = jail;
  const { vpath } = replace;
  const locked = replace.target.then((target) =>
    locks.acquire(join(target.dir, target.name), vpath),
  );
  locked.catch(() => undefined); // awaited below; this only keeps an early rejection from being "unhandled"
  let tmpPath: string | undefined;
  let release: (() => Promise<void>) | undefined;
  try {
    tmpPath = await temp.writeTemp(replace.data, replace.initialMode);
    const [target, releaseLock] = await Promise.all([replace.target, locked]);
    release = releaseLock;
    if (target.mode !== replace.initialMode) await io.chmod(tmpPath, target.mode);
    const destination = join(target.dir, target.name);
    if (replace.expect) await assertUnchanged(io, destination, replace.expect, vpath);
    try {
      await io.rename(tmpPath, destination);
    } catch (error) {
      if (errnoOf(error) !== "EXDEV") throw error;
      // The target is on another file system (a nested mount): stage next to it instead.
      await io.unlink(tmpPath).catch(() => undefined);
      await jail.assertInside(await io.realpath(target.dir), vpath);
      tmpPath = await temp.writeTempIn(target.dir, target.name, replace.data, target.mode);
      await io.rename(tmpPath, destination);
    }
    tmpPath = undefined;
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
    throw error;
  }
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
    const fd = await io.open(target, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      current = await io.fstatBig(fd);
    } finally {
      // Nothing waits on this close: the commit only needs the attributes.
      io.close(fd).catch(() => undefined);
    }
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw error;
  }
  if (!current || !sameVersion(versionOf(current), expected)) {
    throw new CompositeBackendError(
      "conflict",
      `Error: '${vpath}' was changed by someone else while this edit was in progress; nothing was written. Read the file again and retry the edit.`,
    );
  }
}

/** Makes the rename itself durable: the new directory entry is flushed with the directory. */
async function syncDirectory(io: NfsIo, dir: string): Promise<void> {
  const fd = await io.open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  try {
    await io.fsync(fd);
  } catch (error) {
    // Some file systems refuse fsync on directories; the data itself is already synced.
    if (errnoOf(error) !== "EINVAL" && errnoOf(error) !== "EBADF") throw error;
  } finally {
    await io.close(fd);
  }
}

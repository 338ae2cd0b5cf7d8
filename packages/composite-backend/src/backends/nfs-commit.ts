import { createHash, randomBytes } from "node:crypto";
import type { BigIntStats } from "node:fs";
import { constants } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { sleep } from "../async.js";
import { CompositeBackendError } from "../errors.js";
import { errnoOf } from "./nfs-fs.js";
import type { ResolvedNfsOptions } from "./nfs-options.js";

const CREATE_EXCLUSIVE =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);

/** Names of our sidecar files; long names are hashed so the sidecar still fits NAME_MAX. */
function sidecarName(name: string, kind: "lock" | "tmp"): string {
  const stem =
    Buffer.byteLength(name) <= 200
      ? name
      : createHash("sha256").update(name).digest("hex").slice(0, 24);
  const nonce = kind === "tmp" ? `.${randomBytes(6).toString("hex")}` : "";
  return `.${stem}${nonce}.agentstate-${kind}`;
}

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

/**
 * Per-file writer lock: a `.name.agentstate-lock` file created with O_EXCL (atomic on local file
 * systems and NFSv3+), so writers in other processes and on other hosts sharing the mount
 * serialise too. Writers in this instance queue in memory first instead of polling the file.
 * The lock records its owner (pid, host) so one left by a crashed process is broken at once.
 */
export class FileLocks {
  readonly #queues = new Map<string, Promise<void>>();

  constructor(private readonly options: ResolvedNfsOptions) {}

  async acquire(target: string, vpath: string): Promise<() => Promise<void>> {
    const previous = this.#queues.get(target) ?? Promise.resolve();
    let releaseLocal!: () => void;
    const mine = new Promise<void>((resolve) => {
      releaseLocal = resolve;
    });
    const tail = previous.then(() => mine);
    this.#queues.set(target, tail);
    const releaseQueue = () => {
      releaseLocal();
      if (this.#queues.get(target) === tail) this.#queues.delete(target);
    };
    await previous;
    try {
      const lockPath = join(dirname(target), sidecarName(basename(target), "lock"));
      await this.#lockFile(lockPath, vpath);
      return async () => {
        await this.options.fs.unlink(lockPath).catch(() => undefined);
        releaseQueue();
      };
    } catch (error) {
      releaseQueue();
      throw error;
    }
  }

  async #lockFile(lockPath: string, vpath: string): Promise<void> {
    const { fs, lockTimeoutMs } = this.options;
    const started = Date.now();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      try {
        const handle = await fs.open(lockPath, CREATE_EXCLUSIVE, 0o600);
        try {
          await handle.writeFile(OWNER);
        } finally {
          await handle.close();
        }
        return;
      } catch (error) {
        if (errnoOf(error) !== "EEXIST") throw error;
      }
      if (await this.#abandoned(lockPath)) {
        await fs.unlink(lockPath).catch(() => undefined);
        continue;
      }
      if (Date.now() - started > lockTimeoutMs) {
        throw new CompositeBackendError(
          "conflict",
          `'${vpath}' is locked by another writer; try again`,
        );
      }
      await sleep(wait);
    }
  }

  /**
   * A lock whose owner is gone: a dead process on this host (known at once), or, for owners on
   * other hosts, a lock older than staleLockMs (a live writer holds it for milliseconds).
   */
  async #abandoned(lockPath: string): Promise<boolean> {
    const { fs, staleLockMs } = this.options;
    let owner: { pid?: number; host?: string } = {};
    let mtimeMs: number;
    try {
      const handle = await fs.open(lockPath, constants.O_RDONLY | constants.O_NONBLOCK);
      try {
        mtimeMs = (await handle.stat()).mtimeMs;
        owner = JSON.parse(await handle.readFile("utf8"));
      } catch {
        mtimeMs ??= Date.now(); // still being written by its owner
      } finally {
        await handle.close();
      }
    } catch {
      return false; // released meanwhile: just retry
    }
    if (owner.host === hostname() && typeof owner.pid === "number" && !processAlive(owner.pid))
      return true;
    return Date.now() - mtimeMs > staleLockMs;
  }
}

const OWNER = JSON.stringify({ pid: process.pid, host: hostname() });

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === "EPERM"; // exists, owned by someone else
  }
}

export interface ReplaceOptions {
  mode: number;
  /** For edits: commit only if the file is still the version that was read. */
  expect?: FileVersion;
}

/**
 * Replaces `realDir/name` atomically: the bytes go to a temp file in the same directory, are
 * fsynced, and are renamed over the target under the writer lock. Readers see the old file or
 * the new one, never a mix, and a crash leaves at worst an orphaned temp file (hidden).
 */
export async function atomicReplace(
  options: ResolvedNfsOptions,
  locks: FileLocks,
  realDir: string,
  name: string,
  data: Uint8Array,
  replace: ReplaceOptions,
  vpath: string,
): Promise<void> {
  const { fs } = options;
  const target = join(realDir, name);
  const tmpPath = join(realDir, sidecarName(name, "tmp"));
  // The lock is taken while the temp file is written: the wait overlaps the I/O.
  const locked = locks.acquire(target, vpath);
  locked.catch(() => undefined); // awaited below; this only keeps an early rejection from being "unhandled"
  let release: (() => Promise<void>) | undefined;
  try {
    const handle = await fs.open(tmpPath, CREATE_EXCLUSIVE, replace.mode);
    try {
      await handle.writeFile(data);
      if (options.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    release = await locked;
    if (replace.expect) await assertUnchanged(options, target, replace.expect, vpath);
    await fs.rename(tmpPath, target);
    if (options.fsync) await syncDirectory(options, realDir);
  } catch (error) {
    await fs.unlink(tmpPath).catch(() => undefined);
    if (!release)
      await locked.then(
        (late) => late(),
        () => undefined,
      );
    throw error;
  } finally {
    await release?.();
  }
}

/**
 * Re-reads the target's attributes through a fresh open: on NFS, open revalidates the attribute
 * cache (close-to-open consistency) where a bare stat may answer from a cache seconds old.
 */
async function assertUnchanged(
  options: ResolvedNfsOptions,
  target: string,
  expected: FileVersion,
  vpath: string,
): Promise<void> {
  let current: BigIntStats | undefined;
  try {
    const handle = await options.fs.open(target, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      current = await handle.stat({ bigint: true });
    } finally {
      await handle.close();
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
async function syncDirectory(options: ResolvedNfsOptions, dir: string): Promise<void> {
  const handle = await options.fs.open(dir, constants.O_RDONLY | (constants.O_DIRECTORY ?? 0));
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems refuse fsync on directories; the data itself is already synced.
    if (errnoOf(error) !== "EINVAL" && errnoOf(error) !== "EBADF") throw error;
  } finally {
    await handle.close();
  }
}

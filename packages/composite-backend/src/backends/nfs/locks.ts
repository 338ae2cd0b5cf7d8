// Per-file writer locks of NFSBackend, shared by processes and hosts through the mount.
import { constants } from "node:fs";
import { hostname } from "node:os";
import { sleep } from "../../async.js";
import { CompositeBackendError } from "../../errors.js";
import { type DirHandle, entry } from "./dirs.js";
import { errnoOf } from "./fs.js";
import type { NfsIo } from "./io.js";
import type { ResolvedNfsOptions } from "./options.js";
import { CREATE_EXCLUSIVE, lockNameFor, type TempArea } from "./temp.js";

const OWNER = JSON.stringify({ pid: process.pid, host: hostname() });

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
 * The lock is made and removed inside the file's open directory handle, never by path.
 */
export class FileLocks {
  readonly #queues = new Map<string, Promise<void>>();

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly io: NfsIo,
    private readonly temp: TempArea,
  ) {}

  /** Takes the lock of `name` in `dir`; both handles must stay open until the release resolves. */
  async acquire(
    dir: DirHandle,
    name: string,
    tempDir: DirHandle,
    vpath: string,
  ): Promise<() => Promise<void>> {
    const key = `${dir.real}/${name}`;
    const previous = this.#queues.get(key) ?? Promise.resolve();
    let releaseLocal!: () => void;
    const tail = previous.then(() => new Promise<void>((resolve) => (releaseLocal = resolve)));
    this.#queues.set(key, tail);
    await previous;
    const releaseQueue = () => {
      releaseLocal();
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    };
    try {
      const lockPath = entry(dir, lockNameFor(name));
      await this.#take(lockPath, tempDir, vpath);
      return async () => {
        await this.io.unlink(lockPath).catch(() => undefined);
        releaseQueue();
      };
    } catch (error) {
      releaseQueue();
      throw error;
    }
  }

  async #take(lockPath: string, tempDir: DirHandle, vpath: string): Promise<void> {
    const started = Date.now();
    for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
      if (await this.#tryLink(lockPath, tempDir)) return;
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

  async #tryLink(lockPath: string, tempDir: DirHandle, retried = false): Promise<boolean> {
    const { io } = this;
    const owner = await this.temp.ownerFile(tempDir);
    try {
      await io.link(owner, lockPath);
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "EEXIST") {
        // NFS may replay a link whose reply was lost and answer EEXIST although it worked.
        const [mine, held] = await Promise.all([
          io.stat(owner),
          io.lstat(lockPath).catch(() => undefined),
        ]);
        return held !== undefined && held.ino === mine.ino && held.dev === mine.dev;
      }
      if (code === "ENOENT" && !retried && !(await io.stat(owner).catch(() => undefined))) {
        this.temp.forgetOwner(); // swept away: make a new one and retry
        return this.#tryLink(lockPath, tempDir, true);
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
      fd = await io.open(
        lockPath,
        constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOFOLLOW ?? 0),
      );
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

// Keeps NFSBackend inside its root: errno to coded errors, ESTALE retries, checked opens, reads.
import type { BigIntStats, Stats } from "node:fs";
import { constants, existsSync } from "node:fs";
import { join, sep } from "node:path";
import { sleep } from "../../async.js";
import { CompositeBackendError } from "../../errors.js";
import { formatBytes } from "../../text.js";
import type { NfsIo } from "./io.js";
import type { ResolvedNfsOptions } from "./options.js";

/** Suffix of our temp and lock files: hidden from listings and refused as user file names. */
export const INTERNAL_SUFFIX = /\.agentstate-(lock|tmp)$/;

// /proc/self/fd tells which file a descriptor really is, so a read can be checked after open:
// race-free against symlink swaps, and one cheap in-memory syscall instead of a realpath walk.
export const HAS_PROC_FD = process.platform === "linux" && existsSync("/proc/self/fd");

// O_NONBLOCK keeps a FIFO planted in the tree from blocking the open; regular files ignore it.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

type ErrnoError = Error & { code?: string };

export function errnoOf(error: unknown): string | undefined {
  return error instanceof Error ? (error as ErrnoError).code : undefined;
}

/**
 * Turns a host errno into a message about the virtual path. fs messages embed host paths, so
 * they are never passed through.
 */
export function fsError(error: unknown, vpath: string): CompositeBackendError {
  if (error instanceof CompositeBackendError) return error;
  const code = errnoOf(error);
  switch (code) {
    case "ENOENT":
      return new CompositeBackendError("not_found", `File '${vpath}' not found`);
    case "EACCES":
    case "EPERM":
      return new CompositeBackendError("permission_denied", `Permission denied for '${vpath}'`);
    case "EROFS":
      return new CompositeBackendError("permission_denied", `'${vpath}' is on a read-only mount`);
    case "EISDIR":
      return new CompositeBackendError("is_directory", `'${vpath}' is a directory, not a file`);
    case "ENOTDIR":
    case "EEXIST":
      return new CompositeBackendError(
        "not_directory",
        `'${vpath}': a parent of this path is a file, not a directory`,
      );
    case "ENOTEMPTY":
      return new CompositeBackendError("is_directory", `'${vpath}' is a non-empty directory`);
    case "ENAMETOOLONG":
      return new CompositeBackendError(
        "invalid_path",
        `'${vpath}': name too long for the file system`,
      );
    case "ELOOP":
      return new CompositeBackendError(
        "invalid_path",
        `'${vpath}': too many levels of symbolic links`,
      );
    case "ENOSPC":
    case "EDQUOT":
      return new CompositeBackendError(
        "unavailable",
        `No space left (or quota exceeded) writing '${vpath}'`,
      );
    case "ESTALE":
      return new CompositeBackendError(
        "unavailable",
        `'${vpath}': the NFS file handle went stale (changed on the server) and retries did not help; try again`,
      );
    case "EIO":
    case "ETIMEDOUT":
    case "EHOSTDOWN":
    case "EHOSTUNREACH":
      return new CompositeBackendError(
        "unavailable",
        `I/O error on '${vpath}' (${code}); the mount may be unavailable`,
      );
    default:
      return new CompositeBackendError(
        "io_error",
        `File system error on '${vpath}'${code ? ` (${code})` : ""}`,
      );
  }
}

/** NFS returns ESTALE when a cached handle outlives the file; a fresh lookup usually succeeds. */
export async function retryStale<T>(
  options: ResolvedNfsOptions,
  attempt: () => Promise<T>,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt();
    } catch (error) {
      if (errnoOf(error) !== "ESTALE" || retry >= options.staleRetries) throw error;
      await sleep(options.staleRetryDelayMs * (retry + 1));
    }
  }
}

export interface OpenedFile<S extends Stats | BigIntStats = Stats> {
  fd: number;
  /** Real host path of the opened file (inside the root by construction). */
  real: string;
  stat: S;
}

/** Keeps every host path the backend touches inside the real root directory. */
export class Confinement {
  #realRoot: Promise<string> | undefined;

  constructor(
    private readonly options: ResolvedNfsOptions,
    readonly io: NfsIo,
  ) {}

  /** Real path of rootDir; resolved lazily and re-tried after a failure (the mount may come back). */
  async realRoot(): Promise<string> {
    this.#realRoot ??= this.io.realpath(this.options.rootDir).catch((error: unknown) => {
      this.#realRoot = undefined;
      if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") {
        throw new CompositeBackendError(
          "unavailable",
          "The mounted directory behind this route does not exist (not mounted?)",
        );
      }
      throw error;
    });
    return this.#realRoot;
  }

  async hostPath(segments: readonly string[]): Promise<string> {
    return join(await this.realRoot(), ...segments);
  }

  isInside(real: string, root: string): boolean {
    return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
  }

  async assertInside(real: string, vpath: string): Promise<void> {
    if (!this.isInside(real, await this.realRoot())) {
      throw new CompositeBackendError(
        "invalid_path",
        `'${vpath}' resolves outside the mounted directory (symlink)`,
      );
    }
  }

  /** realpath + containment check; for directories and for platforms without /proc. */
  async realInside(host: string, vpath: string): Promise<string> {
    const real = await this.io.realpath(host);
    await this.assertInside(real, vpath);
    return real;
  }

  openFile(host: string, vpath: string): Promise<OpenedFile<Stats>>;
  /** With `bigint`, the stat carries nanosecond times (for edit's version check). */
  openFile(host: string, vpath: string, bigint: true): Promise<OpenedFile<BigIntStats>>;
  /**
   * Opens a regular file for reading. With /proc the descriptor's real path is checked after
   * open (concurrently with fstat); data is only read once the check has passed.
   */
  async openFile(
    host: string,
    vpath: string,
    bigint = false,
  ): Promise<OpenedFile<Stats | BigIntStats>> {
    const { io } = this;
    const target = HAS_PROC_FD ? host : await this.realInside(host, vpath);
    const fd = await io.open(target, READ_FLAGS);
    const statting = bigint ? io.fstatBig(fd) : io.fstat(fd);
    try {
      const real = HAS_PROC_FD ? io.descriptorPath(fd) : target;
      const stat = await statting;
      await this.assertInside(real, vpath);
      if (stat.isDirectory())
        throw new CompositeBackendError("is_directory", `'${vpath}' is a directory, not a file`);
      if (!stat.isFile())
        throw new CompositeBackendError("invalid_path", `'${vpath}' is not a regular file`);
      return { fd, real, stat };
    } catch (error) {
      await statting.catch(() => undefined); // never close a descriptor a request still uses
      await io.close(fd);
      throw error;
    }
  }
}

/** Reads an opened file whole, refusing files over `maxBytes`. */
export async function readWhole(
  io: NfsIo,
  opened: OpenedFile<Stats | BigIntStats>,
  vpath: string,
  maxBytes: number,
): Promise<Uint8Array> {
  const size = Number(opened.stat.size);
  if (size > maxBytes) {
    throw new CompositeBackendError(
      "too_large",
      `'${vpath}' is ${formatBytes(size)}, over the ${formatBytes(maxBytes)} limit for loading a whole file`,
    );
  }
  const buffer = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const bytesRead = await io.read(opened.fd, buffer, filled, size - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, filled);
}

// NFSBackend's options and their defaults, resolved once when the backend is built.
import { CompositeBackendError } from "../../errors.js";
import type { NfsFileSystem } from "./io.js";

export type { NfsFileSystem };

export interface NFSBackendOptions {
  /** Host directory the route maps to (an NFS mount point or any local directory). It must exist: a missing mount point is reported, never created, so nothing lands on the disk underneath an unmounted share. */
  rootDir: string;
  /** Largest file `read`/`readRaw`/`edit`/download load whole. Bigger text files are still paged by `read`, streamed line by line. @default 10485760 (10 MiB) */
  maxReadBytes?: number;
  /** Largest content `write`/upload accept. @default 10485760 (10 MiB) */
  maxWriteBytes?: number;
  /** Most entries `ls` returns before reporting truncation. @default 10000 */
  maxListEntries?: number;
  /** Most directory entries a glob or grep walk visits. @default 100000 */
  maxWalkEntries?: number;
  /** Most files a glob returns. @default 10000 */
  maxGlobResults?: number;
  /** Hard cap on grep matches, whatever `maxCount` the caller passes. @default 10000 */
  maxGrepMatches?: number;
  /** Most files one grep reads. @default 5000 */
  maxGrepFiles?: number;
  /** Files bigger than this are skipped by grep. @default 2097152 (2 MiB) */
  maxGrepFileBytes?: number;
  /** Files grep reads at once. @default 8 */
  grepConcurrency?: number;
  /** fsync the temp file and its directory so a completed write survives a crash or power loss. @default true */
  fsync?: boolean;
  /** How many times an operation is retried after ESTALE (a stale NFS file handle). @default 3 */
  staleRetries?: number;
  /** Pause before each ESTALE retry. @default 20 */
  staleRetryDelayMs?: number;
  /** How long a writer waits for another writer's lock on the same file. @default 5000 */
  lockTimeoutMs?: number;
  /** A lock file older than this is considered left by a crashed writer and broken. @default 30000 */
  staleLockMs?: number;
  /** Mode of new files (existing files keep theirs). @default 0o644 */
  fileMode?: number;
  /** Mode of new directories. @default 0o755 */
  dirMode?: number;
  /** Let `delete("/")` empty the whole mounted directory. Off, so one call cannot wipe the share. @default false */
  allowRootDelete?: boolean;
  /** Callback-style file-system functions; a seam for instrumentation and fault injection. @default node:fs */
  fs?: NfsFileSystem;
}

export type ResolvedNfsOptions = Required<NFSBackendOptions>;

const MIB = 1024 * 1024;

export function resolveNfsOptions(
  options: NFSBackendOptions,
  defaultFs: NfsFileSystem,
): ResolvedNfsOptions {
  if (!options || typeof options.rootDir !== "string" || options.rootDir === "") {
    throw new CompositeBackendError(
      "invalid_config",
      "NFSBackend needs a rootDir (the mounted directory)",
    );
  }
  return {
    rootDir: options.rootDir,
    maxReadBytes: options.maxReadBytes ?? 10 * MIB,
    maxWriteBytes: options.maxWriteBytes ?? 10 * MIB,
    maxListEntries: options.maxListEntries ?? 10_000,
    maxWalkEntries: options.maxWalkEntries ?? 100_000,
    maxGlobResults: options.maxGlobResults ?? 10_000,
    maxGrepMatches: options.maxGrepMatches ?? 10_000,
    maxGrepFiles: options.maxGrepFiles ?? 5_000,
    maxGrepFileBytes: options.maxGrepFileBytes ?? 2 * MIB,
    grepConcurrency: options.grepConcurrency ?? 8,
    fsync: options.fsync ?? true,
    staleRetries: options.staleRetries ?? 3,
    staleRetryDelayMs: options.staleRetryDelayMs ?? 20,
    lockTimeoutMs: options.lockTimeoutMs ?? 5_000,
    staleLockMs: options.staleLockMs ?? 30_000,
    fileMode: options.fileMode ?? 0o644,
    dirMode: options.dirMode ?? 0o755,
    allowRootDelete: options.allowRootDelete ?? false,
    fs: options.fs ?? defaultFs,
  };
}

// NFSBackend: deepagents files in a mounted directory (NFS or local), confined to its root.
import * as nodeFs from "node:fs";
import { basename, join } from "node:path";
import type { FileInfo, GlobResult, GrepResult, LsResult, ReadResult } from "deepagents";
import { normalizeReadPagination } from "deepagents";
import { mapLimit } from "../../async.js";
import { CompositeBackendError } from "../../errors.js";
import { isTextMime, mimeTypeOf } from "../../mime.js";
import { comparePaths, joinVirtual, type VirtualPath } from "../../paths.js";
import { DEFAULT_READ_LIMIT, pageResult, type Replacement } from "../../text.js";
import { BackendSkeleton, type GrepQuery, type LoadedFile, pageBytes } from "../skeleton.js";
import {
  Confinement,
  errnoOf,
  fsError,
  INTERNAL_SUFFIX,
  type OpenedFile,
  readWhole,
  retryStale,
} from "./fs.js";
import { NfsIo } from "./io.js";
import { type NFSBackendOptions, type ResolvedNfsOptions, resolveNfsOptions } from "./options.js";
import { globFiles, grepFiles } from "./search.js";
import { streamLines } from "./walk.js";
import { NfsWriter } from "./writer.js";

/**
 * deepagents backend over a mounted directory (NFS or local). Paths are virtual: `/a/b.md` is
 * `rootDir/a/b.md`, and nothing outside rootDir is ever written, created or deleted. Writes are
 * atomic and durable; edits are compare-and-swap; every failure comes back as `{ error }`.
 */
export class NFSBackend extends BackendSkeleton {
  readonly #options: ResolvedNfsOptions;
  readonly #jail: Confinement;
  readonly #writer: NfsWriter;
  protected readonly maxWriteBytes: number;

  constructor(options: NFSBackendOptions) {
    super();
    this.#options = resolveNfsOptions(options, nodeFs);
    this.#jail = new Confinement(this.#options, new NfsIo(this.#options.fs));
    this.#writer = new NfsWriter(this.#options, this.#jail);
    this.maxWriteBytes = this.#options.maxWriteBytes;
  }

  /** Our temp and lock files are never addressable, so no caller can clobber a writer's lock. */
  protected override refusePath(vp: VirtualPath): CompositeBackendError | undefined {
    if (!vp.segments.some((segment) => INTERNAL_SUFFIX.test(segment))) return undefined;
    return new CompositeBackendError(
      "invalid_path",
      `'${vp.path}': names ending in .agentstate-lock/-tmp are reserved`,
    );
  }

  protected override attempt<T>(op: () => Promise<T>): Promise<T> {
    return retryStale(this.#options, op);
  }

  protected toError(thrown: unknown, vp: VirtualPath): CompositeBackendError {
    return fsError(thrown, vp.path);
  }

  async #open(vp: VirtualPath): Promise<OpenedFile> {
    if (vp.segments.length === 0)
      throw new CompositeBackendError("is_directory", "'/' is a directory, not a file");
    return this.#jail.openFile(await this.#jail.hostPath(vp.segments), vp.path);
  }

  #readAll(opened: OpenedFile, vpath: string): Promise<Uint8Array> {
    return readWhole(this.#jail.io, opened, vpath, this.#options.maxReadBytes);
  }

  protected async list(vp: VirtualPath): Promise<LsResult> {
    const host = await this.#jail.hostPath(vp.segments);
    let names: string[];
    try {
      const [, entries] = await Promise.all([
        this.#jail.realInside(host, vp.path),
        this.#jail.io.readdir(host),
      ]);
      names = entries.filter((name) => !INTERNAL_SUFFIX.test(name)).sort(comparePaths);
    } catch (error) {
      // Like StateBackend: listing a missing path or a file yields nothing, not an error.
      if (errnoOf(error) === "ENOENT" || errnoOf(error) === "ENOTDIR") return { files: [] };
      throw error;
    }
    const truncated = names.length > this.#options.maxListEntries;
    const shown = truncated ? names.slice(0, this.#options.maxListEntries) : names;
    const infos = await mapLimit(shown, 32, (name) =>
      this.#entryInfo(host, joinVirtual(vp.path, name)),
    );
    const files = infos.filter((info): info is FileInfo => info !== undefined);
    if (!truncated) return { files };
    return {
      files,
      error: `'${vp.path}' has ${names.length} entries; only the first ${shown.length} are listed. Use glob with a pattern to narrow it down.`,
    };
  }

  async #entryInfo(hostDir: string, vpath: string): Promise<FileInfo | undefined> {
    const host = join(hostDir, basename(vpath));
    try {
      let stat = await this.#jail.io.lstat(host);
      if (stat.isSymbolicLink()) {
        // Listed only if it leads somewhere inside the root, shown as what it points to.
        stat = await this.#jail.io.stat(await this.#jail.realInside(host, vpath));
      }
      const modified_at = stat.mtime.toISOString();
      if (stat.isDirectory()) return { path: `${vpath}/`, is_dir: true, size: 0, modified_at };
      if (stat.isFile()) return { path: vpath, is_dir: false, size: stat.size, modified_at };
    } catch {
      // Vanished between readdir and stat, or a link pointing outside: leave it out.
    }
    return undefined;
  }

  protected override async readPage(
    vp: VirtualPath,
    offset: number | undefined,
    limit: number | undefined,
  ): Promise<ReadResult> {
    const { io } = this.#jail;
    const opened = await this.#open(vp);
    const mimeType = mimeTypeOf(vp.path);
    if (isTextMime(mimeType) && opened.stat.size > this.#options.maxReadBytes) {
      // Too big to load: stream it, so big logs can still be paged through.
      const window = normalizeReadPagination(offset ?? 0, limit ?? DEFAULT_READ_LIMIT);
      let streamed: Awaited<ReturnType<typeof streamLines>>;
      try {
        streamed = await streamLines(
          io,
          opened.fd,
          window.offset,
          window.limit,
          this.#options.maxReadBytes,
        );
      } finally {
        await io.close(opened.fd);
      }
      return pageResult(
        streamed.selected,
        streamed.totalLines,
        window.offset,
        window.limit,
        mimeType,
      );
    }
    let bytes: Uint8Array;
    try {
      bytes = await this.#readAll(opened, vp.path);
    } catch (error) {
      await io.close(opened.fd);
      throw error;
    }
    // The descriptor closes while the text is decoded and paged.
    const closing = io.close(opened.fd);
    const result = pageBytes(bytes, vp.path, offset, limit);
    await closing;
    return result;
  }

  protected async load(vp: VirtualPath): Promise<LoadedFile> {
    const opened = await this.#open(vp);
    try {
      const bytes = await this.#readAll(opened, vp.path);
      const { stat } = opened;
      // Some file systems (and NFS) report no birth time; ctime is the closest.
      const createdAt = stat.birthtimeMs > 0 ? stat.birthtime : stat.ctime;
      return { bytes, createdAt, modifiedAt: stat.mtime };
    } finally {
      await this.#jail.io.close(opened.fd);
    }
  }

  protected store(vp: VirtualPath, data: Uint8Array): Promise<void> {
    return this.#writer.write(vp, data);
  }

  protected rewrite(vp: VirtualPath, edit: (text: string) => Replacement): Promise<Replacement> {
    return this.#writer.edit(vp, edit);
  }

  protected globUnder(vp: VirtualPath, pattern: string): Promise<GlobResult> {
    return globFiles(this.#options, this.#jail, vp, pattern);
  }

  protected grepUnder(vp: VirtualPath, ...query: GrepQuery): Promise<GrepResult> {
    return grepFiles(this.#options, this.#jail, vp, ...query);
  }

  protected remove(vp: VirtualPath): Promise<void> {
    return this.#writer.delete(vp);
  }
}

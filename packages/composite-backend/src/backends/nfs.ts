import * as nodeFs from "node:fs";
import { basename, join } from "node:path";
import type {
  BackendProtocolV2,
  DeleteResult,
  EditResult,
  FileDownloadResponse,
  FileInfo,
  FileUploadResponse,
  GlobResult,
  GrepResult,
  LsResult,
  ReadRawResult,
  ReadResult,
  WriteResult,
} from "deepagents";
import { normalizeReadPagination } from "deepagents";
import { mapLimit } from "../async.js";
import { CompositeBackendError, fileOperationFailure } from "../errors.js";
import { isBinaryPath, isTextMime, mimeTypeOf } from "../mime.js";
import { comparePaths, joinVirtual, parseVirtualPath, type VirtualPath } from "../paths.js";
import {
  DEFAULT_READ_LIMIT,
  decodeBase64Content,
  decodeText,
  encodeText,
  oversizeContent,
  pageResult,
  paginateText,
} from "../text.js";
import {
  Confinement,
  errnoOf,
  fsError,
  INTERNAL_SUFFIX,
  type OpenedFile,
  readWhole,
  retryStale,
} from "./nfs-fs.js";
import { NfsIo } from "./nfs-io.js";
import {
  type NFSBackendOptions,
  type ResolvedNfsOptions,
  resolveNfsOptions,
} from "./nfs-options.js";
import { globFiles, grepFiles } from "./nfs-search.js";
import { streamLines } from "./nfs-walk.js";
import { NfsWriter } from "./nfs-writer.js";

const errorResult = (error: CompositeBackendError) => ({ error: error.message });

/**
 * deepagents backend over a mounted directory (NFS or local). Paths are virtual: `/a/b.md` is
 * `rootDir/a/b.md`, and nothing outside rootDir is ever written, created or deleted. Writes are
 * atomic and durable; edits are compare-and-swap; every failure comes back as `{ error }`.
 */
export class NFSBackend implements BackendProtocolV2 {
  readonly #options: ResolvedNfsOptions;
  readonly #jail: Confinement;
  readonly #writer: NfsWriter;

  constructor(options: NFSBackendOptions) {
    this.#options = resolveNfsOptions(options, nodeFs);
    this.#jail = new Confinement(this.#options, new NfsIo(this.#options.fs));
    this.#writer = new NfsWriter(this.#options, this.#jail);
  }

  /** Parses the path, runs `op` with ESTALE retries and turns any failure into `onError`. */
  async #run<T>(
    input: string,
    op: (vp: VirtualPath) => Promise<T>,
    onError: (e: CompositeBackendError) => T,
  ): Promise<T> {
    const vp = parseVirtualPath(input);
    if (vp instanceof CompositeBackendError) return onError(vp);
    if (vp.segments.some((segment) => INTERNAL_SUFFIX.test(segment))) {
      return onError(
        new CompositeBackendError(
          "invalid_path",
          `'${vp.path}': names ending in .agentstate-lock/-tmp are reserved`,
        ),
      );
    }
    try {
      return await retryStale(this.#options, () => op(vp));
    } catch (error) {
      return onError(fsError(error, vp.path));
    }
  }

  async #open(vp: VirtualPath): Promise<OpenedFile> {
    if (vp.segments.length === 0)
      throw new CompositeBackendError("is_directory", "'/' is a directory, not a file");
    return this.#jail.openFile(await this.#jail.hostPath(vp.segments), vp.path);
  }

  #readAll(opened: OpenedFile, vpath: string): Promise<Uint8Array> {
    return readWhole(this.#jail.io, opened, vpath, this.#options.maxReadBytes);
  }

  ls(path: string): Promise<LsResult> {
    return this.#run<LsResult>(
      path,
      async (vp) => {
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
      },
      errorResult,
    );
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

  read(filePath: string, offset?: number, limit?: number): Promise<ReadResult> {
    return this.#run<ReadResult>(filePath, (vp) => this.#read(vp, offset, limit), errorResult);
  }

  async #read(
    vp: VirtualPath,
    offset: number | undefined,
    limit: number | undefined,
  ): Promise<ReadResult> {
    const { io } = this.#jail;
    const opened = await this.#open(vp);
    const mimeType = mimeTypeOf(vp.path);
    const text = isTextMime(mimeType);
    if (text && opened.stat.size > this.#options.maxReadBytes) {
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
    const result = text
      ? paginateText(decodeText(bytes), mimeType, offset, limit)
      : { content: bytes, mimeType };
    await closing;
    return result;
  }

  readRaw(filePath: string): Promise<ReadRawResult> {
    return this.#run<ReadRawResult>(
      filePath,
      async (vp) => {
        const opened = await this.#open(vp);
        try {
          const bytes = await this.#readAll(opened, vp.path);
          const mimeType = mimeTypeOf(vp.path);
          const { stat } = opened;
          const created = stat.birthtimeMs > 0 ? stat.birthtime : stat.ctime;
          return {
            data: {
              content: isTextMime(mimeType) ? decodeText(bytes) : bytes,
              mimeType,
              created_at: created.toISOString(),
              modified_at: stat.mtime.toISOString(),
            },
          };
        } finally {
          await this.#jail.io.close(opened.fd);
        }
      },
      errorResult,
    );
  }

  write(filePath: string, content: string): Promise<WriteResult> {
    return this.#run<WriteResult>(
      filePath,
      async (vp) => {
        const binary = isBinaryPath(vp.path);
        const oversize = oversizeContent(content, binary, this.#options.maxWriteBytes, vp.path);
        if (oversize) throw oversize;
        const data = binary ? decodeBase64Content(content, vp.path) : encodeText(content);
        if (data instanceof CompositeBackendError) throw data;
        await this.#writer.write(vp, data);
        return { path: vp.path, filesUpdate: null };
      },
      errorResult,
    );
  }

  edit(
    filePath: string,
    oldString: string,
    newString: string,
    replaceAll = false,
  ): Promise<EditResult> {
    return this.#run<EditResult>(
      filePath,
      async (vp) => {
        const replaced = await this.#writer.edit(vp, oldString, newString, replaceAll);
        if (!replaced.ok) return { error: replaced.message };
        return { path: vp.path, filesUpdate: null, occurrences: replaced.occurrences };
      },
      errorResult,
    );
  }

  glob(pattern: string, path = "/"): Promise<GlobResult> {
    return this.#run<GlobResult>(
      path || "/",
      (vp) => globFiles(this.#options, this.#jail, vp, pattern),
      errorResult,
    );
  }

  grep(
    pattern: string,
    path: string | null = "/",
    glob: string | null = null,
    maxCount: number | null = null,
  ): Promise<GrepResult> {
    return this.#run<GrepResult>(
      path || "/",
      (vp) => grepFiles(this.#options, this.#jail, vp, pattern, glob, maxCount),
      errorResult,
    );
  }

  delete(filePath: string): Promise<DeleteResult> {
    return this.#run<DeleteResult>(
      filePath,
      async (vp) => {
        await this.#writer.delete(vp);
        return { path: vp.path, filesUpdate: null };
      },
      errorResult,
    );
  }

  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return mapLimit(files, 4, ([path, bytes]) =>
      this.#run<FileUploadResponse>(
        path,
        async (vp) => {
          await this.#writer.write(vp, bytes);
          return { path, error: null };
        },
        (error) => ({ path, ...fileOperationFailure(error) }),
      ),
    );
  }

  downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    return mapLimit(paths, 4, (path) =>
      this.#run<FileDownloadResponse>(
        path,
        async (vp) => {
          const opened = await this.#open(vp);
          try {
            return { path, content: await this.#readAll(opened, vp.path), error: null };
          } finally {
            await this.#jail.io.close(opened.fd);
          }
        },
        (error) => ({ path, content: null, ...fileOperationFailure(error) }),
      ),
    );
  }
}

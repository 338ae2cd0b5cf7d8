import * as nodeFs from "node:fs/promises";
import { basename, dirname, join } from "node:path";
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
import { CompositeBackendError, toFileOperationError } from "../errors.js";
import { isBinaryPath, isTextMime, mimeTypeOf } from "../mime.js";
import { comparePaths, joinVirtual, parseVirtualPath, type VirtualPath } from "../paths.js";
import {
  DEFAULT_READ_LIMIT,
  decodeBase64Content,
  decodeText,
  encodeText,
  formatBytes,
  pageResult,
  paginateText,
  replaceExact,
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
import {
  type NFSBackendOptions,
  type ResolvedNfsOptions,
  resolveNfsOptions,
} from "./nfs-options.js";
import { globFiles, grepFiles } from "./nfs-search.js";
import { streamLines } from "./nfs-walk.js";
import { atomicReplace, FileLocks, versionOf } from "./nfs-write.js";

const errorResult = (error: CompositeBackendError) => ({ error: error.message });

/**
 * deepagents backend over a mounted directory (NFS or local). Paths are virtual: `/a/b.md` is
 * `rootDir/a/b.md`, and nothing outside rootDir is ever written, created or deleted. Writes are
 * atomic and durable; edits are compare-and-swap; every failure comes back as `{ error }`.
 */
export class NFSBackend implements BackendProtocolV2 {
  readonly #options: ResolvedNfsOptions;
  readonly #jail: Confinement;
  readonly #locks: FileLocks;

  constructor(options: NFSBackendOptions) {
    this.#options = resolveNfsOptions(options, nodeFs);
    this.#jail = new Confinement(this.#options);
    this.#locks = new FileLocks(this.#options);
  }

  /** Parses the path, runs `op` with ESTALE retries and turns any failure into `onError`. */
  async #run<T>(
    input: string,
    op: (vp: VirtualPath) => Promise<T>,
    onError: (e: CompositeBackendError) => T,
  ): Promise<T> {
    const vp = parseVirtualPath(input);
    if (vp instanceof CompositeBackendError) return onError(vp);
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
    return readWhole(opened, vpath, this.#options.maxReadBytes);
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
            this.#options.fs.readdir(host),
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
      let stat = await this.#options.fs.lstat(host);
      if (stat.isSymbolicLink()) {
        // Listed only if it leads somewhere inside the root, shown as what it points to.
        stat = await this.#options.fs.stat(await this.#jail.realInside(host, vpath));
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
    return this.#run<ReadResult>(
      filePath,
      async (vp) => {
        const opened = await this.#open(vp);
        try {
          const mimeType = mimeTypeOf(vp.path);
          if (!isTextMime(mimeType))
            return { content: await this.#readAll(opened, vp.path), mimeType };
          if (opened.stat.size <= BigInt(this.#options.maxReadBytes)) {
            return paginateText(
              decodeText(await this.#readAll(opened, vp.path)),
              mimeType,
              offset,
              limit,
            );
          }
          // Too big to load: stream it, so big logs can still be paged through.
          const window = normalizeReadPagination(offset ?? 0, limit ?? DEFAULT_READ_LIMIT);
          const { selected, totalLines } = await streamLines(
            opened.handle,
            window.offset,
            window.limit,
            this.#options.maxReadBytes,
          );
          return pageResult(selected, totalLines, window.offset, window.limit, mimeType);
        } finally {
          await opened.handle.close();
        }
      },
      errorResult,
    );
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
          const created = stat.birthtimeMs > 0n ? stat.birthtime : stat.ctime;
          return {
            data: {
              content: isTextMime(mimeType) ? decodeText(bytes) : bytes,
              mimeType,
              created_at: created.toISOString(),
              modified_at: stat.mtime.toISOString(),
            },
          };
        } finally {
          await opened.handle.close();
        }
      },
      errorResult,
    );
  }

  write(filePath: string, content: string): Promise<WriteResult> {
    return this.#run<WriteResult>(
      filePath,
      async (vp) => {
        const data = isBinaryPath(vp.path)
          ? decodeBase64Content(content, vp.path)
          : encodeText(content);
        if (data instanceof CompositeBackendError) throw data;
        await this.#writeBytes(vp, data);
        return { path: vp.path, filesUpdate: null };
      },
      errorResult,
    );
  }

  async #writeBytes(vp: VirtualPath, data: Uint8Array): Promise<void> {
    const { fs, maxWriteBytes, fileMode } = this.#options;
    const name = vp.segments[vp.segments.length - 1];
    if (name === undefined)
      throw new CompositeBackendError("is_directory", "'/' is a directory, not a file");
    if (INTERNAL_SUFFIX.test(name)) {
      throw new CompositeBackendError(
        "invalid_path",
        `'${vp.path}': names ending in .agentstate-lock/-tmp are reserved`,
      );
    }
    if (data.byteLength > maxWriteBytes) {
      throw new CompositeBackendError(
        "too_large",
        `Content for '${vp.path}' is ${formatBytes(data.byteLength)}, over the ${formatBytes(maxWriteBytes)} write limit`,
      );
    }
    const host = await this.#jail.hostPath(vp.segments);
    const [dirCheck, existing] = await Promise.allSettled([
      this.#jail.realInside(dirname(host), vp.path),
      fs.lstat(host),
    ]);
    let realDir: string;
    if (dirCheck.status === "fulfilled") realDir = dirCheck.value;
    else if (errnoOf(dirCheck.reason) === "ENOENT")
      realDir = await this.#jail.ensureDir(dirname(host), vp.path);
    else throw dirCheck.reason;
    let targetName = name;
    let mode = fileMode;
    if (existing.status === "fulfilled") {
      let stat = existing.value;
      if (stat.isSymbolicLink()) {
        // Write through a link that stays inside the root, so the link keeps working.
        const real = await this.#jail.realInside(host, vp.path).catch((error: unknown) => {
          if (errnoOf(error) === "ENOENT") return undefined; // dangling: replace the link itself
          throw error;
        });
        if (real !== undefined) {
          stat = await fs.stat(real);
          realDir = dirname(real);
          targetName = basename(real);
        }
      }
      if (stat.isDirectory())
        throw new CompositeBackendError("is_directory", `'${vp.path}' is a directory, not a file`);
      if (stat.isFile()) mode = stat.mode & 0o7777;
    }
    await atomicReplace(this.#options, this.#locks, realDir, targetName, data, { mode }, vp.path);
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
        if (isBinaryPath(vp.path)) {
          throw new CompositeBackendError(
            "invalid_content",
            `Error: '${vp.path}' is a binary file and cannot be edited as text`,
          );
        }
        const opened = await this.#open(vp);
        let content: string;
        try {
          content = decodeText(await this.#readAll(opened, vp.path));
        } finally {
          await opened.handle.close();
        }
        const replaced = replaceExact(content, oldString, newString, replaceAll, vp.path);
        if (!replaced.ok) return { error: replaced.message };
        await atomicReplace(
          this.#options,
          this.#locks,
          dirname(opened.real),
          basename(opened.real),
          encodeText(replaced.content),
          { mode: Number(opened.stat.mode) & 0o7777, expect: versionOf(opened.stat) },
          vp.path,
        );
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
        const { fs } = this.#options;
        const host = await this.#jail.hostPath(vp.segments);
        if (vp.segments.length === 0) {
          // The root is the mount point itself: empty it, keep it.
          const names = (await fs.readdir(host)).filter((name) => !INTERNAL_SUFFIX.test(name));
          await mapLimit(names, 8, (name) =>
            fs.rm(join(host, name), { recursive: true, force: true }),
          );
          return { path: vp.path, filesUpdate: null };
        }
        // The parent is resolved, the leaf is not: deleting a link removes the link only.
        const target = join(await this.#jail.realInside(dirname(host), vp.path), basename(host));
        const stat = await fs.lstat(target);
        if (stat.isDirectory()) await fs.rm(target, { recursive: true });
        else await fs.unlink(target);
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
          await this.#writeBytes(vp, bytes);
          return { path, error: null };
        },
        (error) => ({ path, error: toFileOperationError(error.code) }),
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
            await opened.handle.close();
          }
        },
        (error) => ({ path, content: null, error: toFileOperationError(error.code) }),
      ),
    );
  }
}

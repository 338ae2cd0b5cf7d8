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
import { mapLimit } from "../async.js";
import {
  CompositeBackendError,
  describeThrown,
  fileOperationFailure,
  rootDeleteRefused,
} from "../errors.js";
import { isBinaryPath, isTextMime, mimeTypeOf } from "../mime.js";
import { comparePaths, parseVirtualPath, type VirtualPath } from "../paths.js";
import type { BlobMeta } from "../stores/types.js";
import {
  decodeBase64Content,
  decodeText,
  encodeText,
  formatBytes,
  oversizeContent,
  paginateText,
  replaceExact,
} from "../text.js";
import {
  type BlobBackendOptions,
  type ResolvedBlobOptions,
  resolveBlobOptions,
} from "./blob-options.js";
import { dirPrefix, fileInfo, globBlobs, grepBlobs, keyOf, listAll } from "./blob-search.js";

/** A signed GET URL for sharing a stored file, and when it stops working. */
export interface ShareableUrl {
  url: string;
  expiresAt: string;
}

const errorResult = (error: CompositeBackendError) => ({ error: error.message });

/**
 * deepagents backend over an object store. Directories are key prefixes. Each operation uses
 * the fewest requests it can: read = 1 GET, write = 1 PUT (the shareable URL is signed
 * locally), edit = 1 GET + 1 PUT conditional on the ETag that GET returned, so a concurrent
 * change turns into a conflict error instead of a lost update.
 */
export class BlobBackend implements BackendProtocolV2 {
  readonly #options: ResolvedBlobOptions;

  constructor(options: BlobBackendOptions) {
    this.#options = resolveBlobOptions(options);
  }

  async #run<T>(
    input: string,
    op: (vp: VirtualPath) => Promise<T>,
    onError: (e: CompositeBackendError) => T,
  ): Promise<T> {
    const vp = parseVirtualPath(input);
    if (vp instanceof CompositeBackendError) return onError(vp);
    try {
      return await op(vp);
    } catch (thrown) {
      const error =
        thrown instanceof CompositeBackendError
          ? thrown
          : new CompositeBackendError("io_error", describeThrown(thrown), { cause: thrown });
      if (error.message.includes(`'${vp.path}'`)) return onError(error);
      return onError(
        new CompositeBackendError(error.code, `Error on '${vp.path}': ${error.message}`, {
          cause: error,
        }),
      );
    }
  }

  #fileKey(vp: VirtualPath): string {
    if (vp.segments.length === 0)
      throw new CompositeBackendError("is_directory", "'/' is a directory, not a file");
    return keyOf(vp);
  }

  /** One GET; a miss costs one more (cheap) listing to say "directory" rather than "not found". */
  async #fetch(vp: VirtualPath): Promise<{ body: Uint8Array; meta: BlobMeta }> {
    const { store, maxReadBytes } = this.#options;
    const key = this.#fileKey(vp);
    const object = await store.get(key, { maxBytes: maxReadBytes }).catch((error: unknown) => {
      if (error instanceof CompositeBackendError && error.code === "too_large") {
        throw new CompositeBackendError(
          "too_large",
          `'${vp.path}' is over the ${formatBytes(maxReadBytes)} read limit`,
        );
      }
      throw error;
    });
    if (object) return object;
    const under = await store.list(`${key}/`, { pageSize: 1 });
    if (under.blobs.length > 0)
      throw new CompositeBackendError("is_directory", `'${vp.path}' is a directory, not a file`);
    throw new CompositeBackendError("not_found", `File '${vp.path}' not found`);
  }

  ls(path: string): Promise<LsResult> {
    return this.#run<LsResult>(
      path,
      async (vp) => {
        const { store, maxListEntries } = this.#options;
        const listed = await listAll(store, dirPrefix(vp), maxListEntries, "/");
        const files: FileInfo[] = [
          ...listed.blobs.map(fileInfo),
          ...listed.prefixes.map((prefix) => ({
            path: `/${prefix}`,
            is_dir: true,
            size: 0,
            modified_at: "",
          })),
        ].sort((a, b) => comparePaths(a.path, b.path));
        if (!listed.truncated) return { files };
        return {
          files: files.slice(0, maxListEntries),
          error: `'${vp.path}' has more than ${maxListEntries} entries; only the first ${maxListEntries} are listed. Use glob with a pattern to narrow it down.`,
        };
      },
      errorResult,
    );
  }

  read(filePath: string, offset?: number, limit?: number): Promise<ReadResult> {
    return this.#run<ReadResult>(
      filePath,
      async (vp) => {
        const { body } = await this.#fetch(vp);
        const mimeType = mimeTypeOf(vp.path);
        if (!isTextMime(mimeType)) return { content: body, mimeType };
        return paginateText(decodeText(body), mimeType, offset, limit);
      },
      errorResult,
    );
  }

  readRaw(filePath: string): Promise<ReadRawResult> {
    return this.#run<ReadRawResult>(
      filePath,
      async (vp) => {
        const { body, meta } = await this.#fetch(vp);
        const mimeType = mimeTypeOf(vp.path);
        const stamp = meta.lastModified.toISOString();
        // Object stores keep no creation time separate from the last write.
        return {
          data: {
            content: isTextMime(mimeType) ? decodeText(body) : body,
            mimeType,
            created_at: stamp,
            modified_at: stamp,
          },
        };
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
        // Signing is local CPU work (no request); it runs while the PUT is in flight.
        const signing = this.#options.shareableUrls
          ? this.#sign(vp, this.#options.urlExpiresIn).catch(() => undefined)
          : undefined;
        const { etag } = await this.#put(vp, data);
        const result: WriteResult = { path: vp.path, filesUpdate: null };
        if (signing) {
          const shared = await signing;
          result.metadata = {
            etag,
            size: data.byteLength,
            ...(shared && { shareableUrl: shared.url, shareableUrlExpiresAt: shared.expiresAt }),
          };
        }
        return result;
      },
      errorResult,
    );
  }

  async #put(vp: VirtualPath, data: Uint8Array, ifMatch?: string): Promise<{ etag: string }> {
    const { store, maxWriteBytes } = this.#options;
    const key = this.#fileKey(vp);
    if (data.byteLength > maxWriteBytes) {
      throw new CompositeBackendError(
        "too_large",
        `Content for '${vp.path}' is ${formatBytes(data.byteLength)}, over the ${formatBytes(maxWriteBytes)} write limit`,
      );
    }
    return store.put(key, data, {
      contentType: mimeTypeOf(vp.path),
      ifMatch: ifMatch || undefined,
    });
  }

  async #sign(vp: VirtualPath, expiresIn: number): Promise<ShareableUrl> {
    const url = await this.#options.store.signedUrl(this.#fileKey(vp), { expiresIn });
    return { url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }

  /** A signed URL to `path` valid for `expiresIn` seconds (default: the backend's urlExpiresIn). No request is made. */
  getShareableUrl(
    path: string,
    options: { expiresIn?: number } = {},
  ): Promise<ShareableUrl | { error: string }> {
    return this.#run<ShareableUrl | { error: string }>(
      path,
      (vp) => this.#sign(vp, options.expiresIn ?? this.#options.urlExpiresIn),
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
        if (isBinaryPath(vp.path)) {
          throw new CompositeBackendError(
            "invalid_content",
            `Error: '${vp.path}' is a binary file and cannot be edited as text`,
          );
        }
        const { body, meta } = await this.#fetch(vp);
        const replaced = replaceExact(decodeText(body), oldString, newString, replaceAll, vp.path);
        if (!replaced.ok) return { error: replaced.message };
        const { maxWriteBytes } = this.#options;
        const oversize = oversizeContent(replaced.content, false, maxWriteBytes, vp.path);
        if (oversize) throw oversize;
        try {
          await this.#put(vp, encodeText(replaced.content), meta.etag);
        } catch (error) {
          if (error instanceof CompositeBackendError && error.code === "conflict") {
            throw new CompositeBackendError(
              "conflict",
              `Error: '${vp.path}' was changed by someone else while this edit was in progress; nothing was written. Read the file again and retry the edit.`,
            );
          }
          throw error;
        }
        return { path: vp.path, filesUpdate: null, occurrences: replaced.occurrences };
      },
      errorResult,
    );
  }

  glob(pattern: string, path = "/"): Promise<GlobResult> {
    return this.#run<GlobResult>(
      path || "/",
      (vp) => globBlobs(this.#options, vp, pattern),
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
      (vp) => grepBlobs(this.#options, vp, pattern, glob, maxCount),
      errorResult,
    );
  }

  delete(filePath: string): Promise<DeleteResult> {
    return this.#run<DeleteResult>(
      filePath,
      async (vp) => {
        const { store } = this.#options;
        if (vp.segments.length === 0 && !this.#options.allowRootDelete)
          throw rootDeleteRefused("every object under this backend's prefix");
        const key = keyOf(vp);
        // One listing finds the object itself and everything under it as a directory.
        const listed = await listAll(store, key, Number.POSITIVE_INFINITY);
        const doomed = listed.blobs.filter(
          (blob) => key === "" || blob.key === key || blob.key.startsWith(`${key}/`),
        );
        if (doomed.length === 0)
          throw new CompositeBackendError("not_found", `File '${vp.path}' not found`);
        await mapLimit(doomed, 8, (blob) => store.delete(blob.key));
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
          await this.#put(vp, bytes);
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
        async (vp) => ({ path, content: (await this.#fetch(vp)).body, error: null }),
        (error) => ({ path, content: null, ...fileOperationFailure(error) }),
      ),
    );
  }
}

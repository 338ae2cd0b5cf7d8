// BlobBackend: deepagents files over an object store (S3, Azure or any BlobStore).
import type { FileInfo, GlobResult, GrepResult, LsResult, WriteResult } from "deepagents";
import { mapLimit } from "../async.js";
import { CompositeBackendError, describeThrown, rootDeleteRefused } from "../errors.js";
import { mimeTypeOf } from "../mime.js";
import { comparePaths, type VirtualPath } from "../paths.js";
import type { BlobMeta } from "../stores/types.js";
import { decodeText, encodeText, formatBytes, oversizeBytes, type Replacement } from "../text.js";
import {
  type BlobBackendOptions,
  type ResolvedBlobOptions,
  resolveBlobOptions,
} from "./blob-options.js";
import { dirPrefix, fileInfo, globBlobs, grepBlobs, keyOf, listAll } from "./blob-search.js";
import { BackendSkeleton, errorResult, type GrepQuery, type LoadedFile } from "./skeleton.js";

/** A signed GET URL for sharing a stored file, and when it stops working. */
export interface ShareableUrl {
  url: string;
  expiresAt: string;
}

/**
 * deepagents backend over an object store. Directories are key prefixes. Each operation uses
 * the fewest requests it can: read = 1 GET, write = 1 PUT (the shareable URL is signed
 * locally), edit = 1 GET + 1 PUT conditional on the ETag that GET returned, so a concurrent
 * change turns into a conflict error instead of a lost update.
 */
export class BlobBackend extends BackendSkeleton {
  readonly #options: ResolvedBlobOptions;
  protected readonly maxWriteBytes: number;

  constructor(options: BlobBackendOptions) {
    super();
    this.#options = resolveBlobOptions(options);
    this.maxWriteBytes = this.#options.maxWriteBytes;
  }

  /** Store errors carry no path; the message gets the virtual path so the model knows which file. */
  protected toError(thrown: unknown, vp: VirtualPath): CompositeBackendError {
    const error =
      thrown instanceof CompositeBackendError
        ? thrown
        : new CompositeBackendError("io_error", describeThrown(thrown), { cause: thrown });
    if (error.message.includes(`'${vp.path}'`)) return error;
    return new CompositeBackendError(error.code, `Error on '${vp.path}': ${error.message}`, {
      cause: error,
    });
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

  async #put(vp: VirtualPath, data: Uint8Array, ifMatch?: string): Promise<{ etag: string }> {
    const { store, maxWriteBytes } = this.#options;
    const key = this.#fileKey(vp);
    const oversize = oversizeBytes(data.byteLength, maxWriteBytes, vp.path);
    if (oversize) throw oversize;
    return store.put(key, data, {
      contentType: mimeTypeOf(vp.path),
      ifMatch: ifMatch || undefined,
    });
  }

  async #sign(vp: VirtualPath, expiresIn: number): Promise<ShareableUrl> {
    const url = await this.#options.store.signedUrl(this.#fileKey(vp), { expiresIn });
    return { url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  }

  protected async list(vp: VirtualPath): Promise<LsResult> {
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
  }

  protected async load(vp: VirtualPath): Promise<LoadedFile> {
    const { body, meta } = await this.#fetch(vp);
    // Object stores keep no creation time separate from the last write.
    return { bytes: body, createdAt: meta.lastModified, modifiedAt: meta.lastModified };
  }

  protected store(vp: VirtualPath, data: Uint8Array): Promise<{ etag: string }> {
    return this.#put(vp, data);
  }

  protected override async writeBytes(vp: VirtualPath, data: Uint8Array): Promise<WriteResult> {
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
  }

  protected async rewrite(
    vp: VirtualPath,
    edit: (text: string) => Replacement,
  ): Promise<Replacement> {
    const { body, meta } = await this.#fetch(vp);
    const replaced = edit(decodeText(body));
    if (!replaced.ok) return replaced;
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
    return replaced;
  }

  protected globUnder(vp: VirtualPath, pattern: string): Promise<GlobResult> {
    return globBlobs(this.#options, vp, pattern);
  }

  protected grepUnder(vp: VirtualPath, ...query: GrepQuery): Promise<GrepResult> {
    return grepBlobs(this.#options, vp, ...query);
  }

  protected async remove(vp: VirtualPath): Promise<void> {
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
  }

  /** A signed URL to `path` valid for `expiresIn` seconds (default: the backend's urlExpiresIn). No request is made. */
  getShareableUrl(
    path: string,
    options: { expiresIn?: number } = {},
  ): Promise<ShareableUrl | { error: string }> {
    return this.run<ShareableUrl | { error: string }>(
      path,
      (vp) => this.#sign(vp, options.expiresIn ?? this.#options.urlExpiresIn),
      errorResult,
    );
  }
}

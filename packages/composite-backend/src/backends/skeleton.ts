// What NFSBackend and BlobBackend share: the BackendProtocolV2 surface, path parsing, the error
// funnel into `{ error }` results, the upload/download batch loops and grep's capped, ordered
// merge. Each backend supplies only storage primitives, so the protocol's rules live here once.
import type {
  BackendProtocolV2,
  DeleteResult,
  EditResult,
  FileDownloadResponse,
  FileUploadResponse,
  GlobResult,
  GrepMatch,
  GrepResult,
  LsResult,
  ReadRawResult,
  ReadResult,
  WriteResult,
} from "deepagents";
import { mapLimit, mapOrdered } from "../async.js";
import { CompositeBackendError, fileOperationFailure } from "../errors.js";
import { isBinaryPath, isTextMime, mimeTypeOf } from "../mime.js";
import { parseVirtualPath, type VirtualPath } from "../paths.js";
import {
  decodeBase64Content,
  decodeText,
  encodeText,
  oversizeContent,
  paginateText,
  type Replacement,
  replaceExact,
} from "../text.js";

/** A whole file as loaded by `readRaw` and downloads. */
export interface LoadedFile {
  bytes: Uint8Array;
  createdAt: Date;
  modifiedAt: Date;
}

/** grep's arguments after the search path: literal pattern, file glob, match cap. */
export type GrepQuery = [pattern: string, glob: string | null, maxCount: number | null];

/** Files a batch upload or download handles at once. */
const BATCH_CONCURRENCY = 4;

export const errorResult = (error: CompositeBackendError) => ({ error: error.message });

/** A read result for a file loaded whole: text paged by lines, binary as bytes. */
export function pageBytes(
  bytes: Uint8Array,
  vpath: string,
  offset?: number,
  limit?: number,
): ReadResult {
  const mimeType = mimeTypeOf(vpath);
  if (!isTextMime(mimeType)) return { content: bytes, mimeType };
  return paginateText(decodeText(bytes), mimeType, offset, limit);
}

/** The match cap of one grep: the caller's `maxCount`, never above the backend's hard cap. */
export function matchCap(maxCount: number | null, hardCap: number): number {
  return Math.min(maxCount ?? Number.POSITIVE_INFINITY, hardCap);
}

/**
 * Greps `files` with `concurrency` reads in flight, merged in input (path) order, and stops
 * reading once `cap` matches are in. `truncated` carries an earlier cut (a capped listing).
 */
export async function grepInOrder<T>(
  files: readonly T[],
  concurrency: number,
  cap: number,
  grepOne: (file: T) => Promise<GrepMatch[]>,
  truncated: boolean,
): Promise<GrepResult> {
  const run = await mapOrdered(
    files,
    concurrency,
    grepOne,
    (ordered) => ordered.reduce((sum, list) => sum + list.length, 0) >= cap,
  );
  const matches = run.results.flat();
  if (truncated || matches.length > cap || run.stopped) {
    return { matches: matches.slice(0, cap), truncated: true };
  }
  return { matches };
}

/**
 * A deepagents backend over one kind of storage. Every public method parses the path, runs a
 * primitive and turns any failure into `{ error }` (or a per-file error code for batches):
 * a throw would end the agent run.
 */
export abstract class BackendSkeleton implements BackendProtocolV2 {
  /** Largest content `write`, `edit` and uploads accept. */
  protected abstract readonly maxWriteBytes: number;

  /** A coded error for anything a primitive threw on `vp`, never exposing host paths or URLs. */
  protected abstract toError(thrown: unknown, vp: VirtualPath): CompositeBackendError;

  /** A path this backend refuses before touching storage, if any. */
  protected refusePath(_vp: VirtualPath): CompositeBackendError | undefined {
    return undefined;
  }

  /** Runs one attempt of an operation; a backend may retry transient failures here. */
  protected attempt<T>(op: () => Promise<T>): Promise<T> {
    return op();
  }

  /** The entries directly under `vp`; a missing directory lists nothing. */
  protected abstract list(vp: VirtualPath): Promise<LsResult>;
  /** The whole file, refused over the read limit (readRaw, downloads, and `read` by default). */
  protected abstract load(vp: VirtualPath): Promise<LoadedFile>;
  /** Stores `data` as the file at `vp`, replacing it whole (writes and uploads). */
  protected abstract store(vp: VirtualPath, data: Uint8Array): Promise<unknown>;
  /**
   * Reads `vp` as text, applies `edit` and commits the result only if the file is still what
   * was read; a concurrent change is a `conflict` error.
   */
  protected abstract rewrite(
    vp: VirtualPath,
    edit: (text: string) => Replacement,
  ): Promise<Replacement>;
  /** Files under `vp` (or `vp` itself, by name) matching `pattern`, bounded by the backend's caps. */
  protected abstract globUnder(vp: VirtualPath, pattern: string): Promise<GlobResult>;
  protected abstract grepUnder(vp: VirtualPath, ...query: GrepQuery): Promise<GrepResult>;
  /** Deletes a file or a directory with everything under it; the root only if allowed. */
  protected abstract remove(vp: VirtualPath): Promise<void>;

  /** A page of a file; backends that can stream big files override it. */
  protected async readPage(
    vp: VirtualPath,
    offset: number | undefined,
    limit: number | undefined,
  ): Promise<ReadResult> {
    return pageBytes((await this.load(vp)).bytes, vp.path, offset, limit);
  }

  /** Stores checked, decoded write content; a backend may add result metadata. */
  protected async writeBytes(vp: VirtualPath, data: Uint8Array): Promise<WriteResult> {
    await this.store(vp, data);
    return { path: vp.path, filesUpdate: null };
  }

  /** Parses `input`, runs `op` and turns any failure into `onError`. */
  protected async run<T>(
    input: string,
    op: (vp: VirtualPath) => Promise<T>,
    onError: (error: CompositeBackendError) => T,
  ): Promise<T> {
    const vp = parseVirtualPath(input);
    if (vp instanceof CompositeBackendError) return onError(vp);
    const refused = this.refusePath(vp);
    if (refused) return onError(refused);
    try {
      return await this.attempt(() => op(vp));
    } catch (thrown) {
      return onError(this.toError(thrown, vp));
    }
  }

  ls(path: string): Promise<LsResult> {
    return this.run<LsResult>(path, (vp) => this.list(vp), errorResult);
  }

  read(filePath: string, offset?: number, limit?: number): Promise<ReadResult> {
    return this.run<ReadResult>(filePath, (vp) => this.readPage(vp, offset, limit), errorResult);
  }

  readRaw(filePath: string): Promise<ReadRawResult> {
    return this.run<ReadRawResult>(
      filePath,
      async (vp) => {
        const { bytes, createdAt, modifiedAt } = await this.load(vp);
        const mimeType = mimeTypeOf(vp.path);
        return {
          data: {
            content: isTextMime(mimeType) ? decodeText(bytes) : bytes,
            mimeType,
            created_at: createdAt.toISOString(),
            modified_at: modifiedAt.toISOString(),
          },
        };
      },
      errorResult,
    );
  }

  write(filePath: string, content: string): Promise<WriteResult> {
    return this.run<WriteResult>(
      filePath,
      async (vp) => {
        // Measured before decoding, so an oversize write costs no copy of its content.
        const binary = isBinaryPath(vp.path);
        const oversize = oversizeContent(content, binary, this.maxWriteBytes, vp.path);
        if (oversize) throw oversize;
        const data = binary ? decodeBase64Content(content, vp.path) : encodeText(content);
        if (data instanceof CompositeBackendError) throw data;
        return this.writeBytes(vp, data);
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
    return this.run<EditResult>(
      filePath,
      async (vp) => {
        if (isBinaryPath(vp.path)) {
          throw new CompositeBackendError(
            "invalid_content",
            `Error: '${vp.path}' is a binary file and cannot be edited as text`,
          );
        }
        const replaced = await this.rewrite(vp, (text) => {
          const result = replaceExact(text, oldString, newString, replaceAll, vp.path);
          if (!result.ok) return result;
          const oversize = oversizeContent(result.content, false, this.maxWriteBytes, vp.path);
          if (oversize) throw oversize;
          return result;
        });
        if (!replaced.ok) return { error: replaced.message };
        return { path: vp.path, filesUpdate: null, occurrences: replaced.occurrences };
      },
      errorResult,
    );
  }

  glob(pattern: string, path = "/"): Promise<GlobResult> {
    return this.run<GlobResult>(path || "/", (vp) => this.globUnder(vp, pattern), errorResult);
  }

  grep(
    pattern: string,
    path: string | null = "/",
    glob: string | null = null,
    maxCount: number | null = null,
  ): Promise<GrepResult> {
    return this.run<GrepResult>(
      path || "/",
      (vp) => this.grepUnder(vp, pattern, glob, maxCount),
      errorResult,
    );
  }

  delete(filePath: string): Promise<DeleteResult> {
    return this.run<DeleteResult>(
      filePath,
      async (vp) => {
        await this.remove(vp);
        return { path: vp.path, filesUpdate: null };
      },
      errorResult,
    );
  }

  /** One result per file, in order; a failing file fails alone, with deepagents' error code. */
  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return mapLimit(files, BATCH_CONCURRENCY, ([path, bytes]) =>
      this.run<FileUploadResponse>(
        path,
        async (vp) => {
          await this.store(vp, bytes);
          return { path, error: null };
        },
        (error) => ({ path, ...fileOperationFailure(error) }),
      ),
    );
  }

  downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    return mapLimit(paths, BATCH_CONCURRENCY, (path) =>
      this.run<FileDownloadResponse>(
        path,
        async (vp) => ({ path, content: (await this.load(vp)).bytes, error: null }),
        (error) => ({ path, content: null, ...fileOperationFailure(error) }),
      ),
    );
  }
}

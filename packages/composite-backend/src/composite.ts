// CompositeBackend: sends each deepagents file operation to a backend by longest path prefix.
import type {
  AnyBackendProtocol,
  BackendProtocolV2,
  DeleteResult,
  EditResult,
  ExecuteResponse,
  FileData,
  FileDownloadResponse,
  FileUploadResponse,
  GlobResult,
  GrepResult,
  LsResult,
  ReadRawResult,
  ReadResult,
  WriteResult,
} from "deepagents";
import { isSandboxBackend } from "deepagents";
import { deleteAcross, globAcross, grepAcross, lsAcross } from "./composite-fanout.js";
import { CompositeBackendError } from "./errors.js";
import { parseVirtualPath } from "./paths.js";
import {
  guarded,
  outerPath,
  type Route,
  RouteTable,
  rewriteMessage,
  type Target,
} from "./routes.js";

/** The size-refusal reason our backends add to a failed upload/download item, if any. */
const messageOf = (response: object): { message?: string } =>
  typeof (response as { message?: unknown }).message === "string"
    ? { message: (response as { message: string }).message }
    : {};

type WithPath = {
  path?: string;
  error?: string;
  filesUpdate?: Record<string, FileData | null> | null;
};

export interface CompositeBackendOptions {
  /**
   * Let `delete` remove `/`, a route's root (`/projects/`) or a parent of a route: each empties a
   * whole backend (graph state, the mounted directory, the bucket). A route's own backend must
   * also allow deleting its root (NFSBackend/BlobBackend `allowRootDelete`). @default false
   */
  allowRootDelete?: boolean;
}

/**
 * Routes deepagents file operations by path prefix: the longest matching route wins, on segment
 * boundaries; everything else goes to the default backend (usually StateBackend). Results and
 * errors carry full composite paths; parent listings and searches merge the routes beneath.
 *
 * ```ts
 * new CompositeBackend(new StateBackend(), { "/projects/": new NFSBackend({ rootDir }) })
 * ```
 */
export class CompositeBackend implements BackendProtocolV2 {
  readonly #table: RouteTable;
  readonly #allowRootDelete: boolean;

  /** @throws CompositeBackendError (code "invalid_config") for a malformed prefix or backend. */
  constructor(
    defaultBackend: AnyBackendProtocol,
    routes: Record<string, AnyBackendProtocol> = {},
    options: CompositeBackendOptions = {},
  ) {
    this.#table = new RouteTable(defaultBackend, routes);
    this.#allowRootDelete = options.allowRootDelete ?? false;
  }

  /** Registered prefixes, most specific first, e.g. `["/documents/", "/projects/"]`. */
  get routePrefixes(): string[] {
    return this.#table.routes.map((route) => route.prefix);
  }

  /** The default backend's sandbox id, or "" (deepagents then treats this as no sandbox). */
  get id(): string {
    const fallback = this.#table.defaultBackend;
    return isSandboxBackend(fallback) ? fallback.id : "";
  }

  /** Shell execution is not path-routed: it goes to the default backend if that is a sandbox. */
  async execute(command: string): Promise<ExecuteResponse> {
    const fallback = this.#table.defaultBackend;
    if (!isSandboxBackend(fallback)) {
      return {
        output: "Error: the default backend does not support command execution",
        exitCode: 1,
        truncated: false,
      };
    }
    return fallback.execute(command);
  }

  /** Resolves the path, or answers with the validation error in the shape `T` allows. */
  async #single<T extends WithPath>(
    path: string,
    call: (target: Target) => T | Promise<T>,
    what: string,
  ): Promise<T> {
    const vp = parseVirtualPath(path);
    if (vp instanceof CompositeBackendError) return { error: vp.message } as T;
    const target = this.#table.target(vp);
    const result = await guarded<T>(() => call(target), `${what} '${vp.path}'`);
    return this.#restore(result, target, vp.path);
  }

  /** Puts the full path back into a routed result: its path, its error text, its state keys. */
  #restore<T extends WithPath>(result: T, target: Target, outer: string): T {
    if (!target.route) return result;
    const restored: T = { ...result };
    if (result.error)
      restored.error = rewriteMessage(result.error, target.route, target.inner, outer);
    if (result.path !== undefined) restored.path = outer;
    if (result.filesUpdate) {
      restored.filesUpdate = Object.fromEntries(
        Object.entries(result.filesUpdate).map(([key, value]) => [
          outerPath(target.route, key),
          value,
        ]),
      ) as T["filesUpdate"];
    }
    return restored;
  }

  ls(path: string): Promise<LsResult> {
    return lsAcross(this.#table, path);
  }

  read(filePath: string, offset?: number, limit?: number): Promise<ReadResult> {
    return this.#single<ReadResult>(
      filePath,
      (t) => t.backend.read(t.inner, offset, limit),
      "read",
    );
  }

  readRaw(filePath: string): Promise<ReadRawResult> {
    return this.#single<ReadRawResult>(filePath, (t) => t.backend.readRaw(t.inner), "readRaw");
  }

  write(filePath: string, content: string): Promise<WriteResult> {
    return this.#single<WriteResult>(filePath, (t) => t.backend.write(t.inner, content), "write");
  }

  edit(
    filePath: string,
    oldString: string,
    newString: string,
    replaceAll = false,
  ): Promise<EditResult> {
    return this.#single<EditResult>(
      filePath,
      (t) => t.backend.edit(t.inner, oldString, newString, replaceAll),
      "edit",
    );
  }

  grep(
    pattern: string,
    path: string | null = "/",
    glob: string | null = null,
    maxCount: number | null = null,
  ): Promise<GrepResult> {
    return grepAcross(this.#table, pattern, path || "/", glob, maxCount);
  }

  glob(pattern: string, path = "/"): Promise<GlobResult> {
    return globAcross(this.#table, pattern, path || "/");
  }

  delete(filePath: string): Promise<DeleteResult> {
    return deleteAcross(this.#table, filePath, this.#allowRootDelete);
  }

  uploadFiles(files: Array<[string, Uint8Array]>): Promise<FileUploadResponse[]> {
    return this.#batch<FileUploadResponse, Uint8Array>(
      files.map(([path, content]) => ({ path, content })),
      "uploadFiles",
      (path, error) => ({ path, error }),
      async (backend, batch) => {
        const responses = await backend.uploadFiles!(
          batch.map((item) => [item.inner, item.content] as [string, Uint8Array]),
        );
        return responses.map((response) => ({ error: response.error, ...messageOf(response) }));
      },
    );
  }

  downloadFiles(paths: string[]): Promise<FileDownloadResponse[]> {
    return this.#batch<FileDownloadResponse, undefined>(
      paths.map((path) => ({ path, content: undefined })),
      "downloadFiles",
      (path, error) => ({ path, content: null, error }),
      async (backend, batch) => {
        const responses = await backend.downloadFiles!(batch.map((item) => item.inner));
        return responses.map((response) => ({
          content: response.content,
          error: response.error,
          ...messageOf(response),
        }));
      },
    );
  }

  /**
   * Groups a batch by backend (one call per backend, order preserved). A backend without the
   * method, or one that throws, fails its own files only.
   */
  async #batch<R extends { path: string }, C>(
    items: Array<{ path: string; content: C }>,
    method: "uploadFiles" | "downloadFiles",
    failed: (path: string, error: FileUploadResponse["error"]) => R,
    call: (
      backend: BackendProtocolV2,
      batch: Array<{ inner: string; content: C }>,
    ) => Promise<Array<Partial<R>>>,
  ): Promise<R[]> {
    const results: R[] = new Array(items.length);
    const groups = new Map<
      BackendProtocolV2,
      Array<{ index: number; route: Route | undefined; inner: string; content: C }>
    >();
    items.forEach((item, index) => {
      const vp = parseVirtualPath(item.path);
      if (vp instanceof CompositeBackendError) {
        results[index] = failed(item.path, "invalid_path");
        return;
      }
      const target = this.#table.target(vp);
      if (typeof target.backend[method] !== "function") {
        // deepagents has no "unsupported" code; permission_denied is the closest honest answer.
        results[index] = failed(item.path, "permission_denied");
        return;
      }
      const group = groups.get(target.backend) ?? [];
      group.push({ index, route: target.route, inner: target.inner, content: item.content });
      groups.set(target.backend, group);
    });
    await Promise.all(
      [...groups].map(async ([backend, group]) => {
        let responses: Array<Partial<R>> = [];
        try {
          responses = await call(backend, group);
        } catch {
          // A throwing backend fails its own files; the others in the batch still go through.
        }
        group.forEach((item, i) => {
          const response = responses[i] as (Partial<R> & { message?: string }) | undefined;
          const path = items[item.index]!.path;
          if (response?.message)
            response.message = rewriteMessage(response.message, item.route, item.inner, path);
          results[item.index] = response
            ? ({ ...failed(path, null), ...response, path } as R)
            : failed(path, "invalid_path");
        });
      }),
    );
    return results;
  }
}

import type { BackendProtocolV2, BackendRuntime, FileData } from "deepagents";
import { StateBackend } from "deepagents";

/**
 * deepagents' own StateBackend, run outside a graph: its (deprecated but supported) runtime
 * constructor reads files from the given state and returns `filesUpdate` instead of sending it,
 * so this applies the updates the way the graph's files reducer would. The backend under test is
 * the real StateBackend; only the graph around it is replaced.
 */
export function stateBackendWithoutGraph(): BackendProtocolV2 & {
  files: Record<string, FileData>;
} {
  const state: { files: Record<string, FileData> } = { files: {} };
  const inner = new StateBackend({ state } as unknown as BackendRuntime);
  const apply = <T extends { filesUpdate?: Record<string, FileData | null> | null }>(
    result: T,
  ): T => {
    for (const [path, data] of Object.entries(result.filesUpdate ?? {})) {
      if (data === null) delete state.files[path];
      else state.files[path] = data;
    }
    return result;
  };
  const guard = <T>(call: () => T): T | { error: string } => {
    try {
      return call();
    } catch (error) {
      // StateBackend throws on some bad input (atob on invalid base64); the protocol wants { error }.
      return { error: String((error as Error).message ?? error) };
    }
  };
  return {
    get files() {
      return state.files;
    },
    ls: (path) => inner.ls(path),
    read: (path, offset, limit) => guard(() => inner.read(path, offset, limit)),
    readRaw: (path) => inner.readRaw(path),
    write: (path, content) => guard(() => apply(inner.write(path, content))),
    edit: (path, a, b, all) => guard(() => apply(inner.edit(path, a, b, all))),
    grep: (pattern, path, glob, max) => inner.grep(pattern, path ?? "/", glob, max),
    glob: (pattern, path) => inner.glob(pattern, path),
    delete: (path) => apply(inner.delete(path)),
    uploadFiles: (files) => {
      const responses = inner.uploadFiles(files);
      apply(responses as { filesUpdate?: Record<string, FileData> });
      return [...responses];
    },
    downloadFiles: (paths) => inner.downloadFiles(paths),
  };
}

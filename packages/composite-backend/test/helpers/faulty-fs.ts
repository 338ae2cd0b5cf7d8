import type { FileHandle } from "node:fs/promises";
import * as fsp from "node:fs/promises";
import type { NfsFileSystem } from "../../src/index.js";

/** An errno error exactly as node:fs raises it (code + message), for fault injection. */
export function errnoError(code: string, syscall = "open"): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall}`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

type OpenArgs = Parameters<typeof fsp.open>;

/**
 * The real node:fs/promises with a hook in front of `open`: the hook sees the path and flags and
 * may throw, act (e.g. change the file, as another writer would) or wrap the handle. Files are
 * real; only the chosen fault is injected.
 */
export function faultyFs(
  onOpen: (path: string, flags: OpenArgs[1]) => Promise<void> | void,
  wrapHandle?: (path: string, handle: FileHandle) => FileHandle,
): NfsFileSystem {
  return {
    ...fsp,
    async open(path: OpenArgs[0], flags?: OpenArgs[1], mode?: OpenArgs[2]) {
      await onOpen(String(path), flags);
      const handle = await fsp.open(path, flags, mode);
      return wrapHandle ? wrapHandle(String(path), handle) : handle;
    },
  };
}

/** A handle whose writeFile writes the first half of the data and then fails, like a full disk. */
export function halfWritingHandle(handle: FileHandle): FileHandle {
  return new Proxy(handle, {
    get(target, property) {
      if (property === "writeFile") {
        return async (data: Uint8Array) => {
          await target.write(data.subarray(0, Math.floor(data.byteLength / 2)));
          throw errnoError("ENOSPC", "write");
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

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
export function faultyFs(hooks: {
  onOpen?: (path: string, flags: OpenArgs[1]) => Promise<void> | void;
  /** Before link(existing, path): how the NFS backend takes a file's writer lock. */
  onLink?: (path: string) => Promise<void> | void;
  wrapHandle?: (path: string, handle: FileHandle) => FileHandle;
}): NfsFileSystem {
  return {
    ...fsp,
    async open(path: OpenArgs[0], flags?: OpenArgs[1], mode?: OpenArgs[2]) {
      await hooks.onOpen?.(String(path), flags);
      const handle = await fsp.open(path, flags, mode);
      return hooks.wrapHandle ? hooks.wrapHandle(String(path), handle) : handle;
    },
    async link(existing: Parameters<typeof fsp.link>[0], path: Parameters<typeof fsp.link>[1]) {
      await hooks.onLink?.(String(path));
      return fsp.link(existing, path);
    },
  };
}

/** Lock files next to user files, and staged temp files, left in a root after operations. */
export async function leftovers(root: string): Promise<string[]> {
  const found: string[] = [];
  // readdir's own recursion follows symlinked directories; this walk does not.
  const walk = async (dir: string, prefix: string) => {
    for (const entry of await fsp.readdir(dir, { withFileTypes: true })) {
      const relative = `${prefix}${entry.name}`;
      if (entry.isDirectory()) await walk(`${dir}/${entry.name}`, `${relative}/`);
      else if (entry.name.endsWith(".agentstate-lock")) found.push(relative);
      else if (prefix === ".agentstate-tmp/" && entry.name.endsWith(".tmp")) found.push(relative);
    }
  };
  await walk(root, "");
  return found;
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

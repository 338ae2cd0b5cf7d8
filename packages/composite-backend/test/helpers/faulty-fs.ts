import * as nodeFs from "node:fs";
import * as fsp from "node:fs/promises";
import type { NfsFileSystem } from "../../src/index.js";

/** An errno error exactly as node:fs raises it (code + message), for fault injection. */
export function errnoError(code: string, syscall = "open"): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: injected fault, ${syscall}`);
  error.code = code;
  error.syscall = syscall;
  return error;
}

type Done<T> = (error: NodeJS.ErrnoException | null, value?: T) => void;

export interface FaultHooks {
  /** Before open(path): may throw (the fault) or act, e.g. change the file as another writer would. */
  onOpen?: (path: string, flags: number) => Promise<void> | void;
  /** Before link(existing, path): how the NFS backend takes a file's writer lock. */
  onLink?: (path: string) => Promise<void> | void;
  /** Writes to files opened at such paths store half the bytes, then fail with ENOSPC. */
  diskFullFor?: (path: string) => boolean;
}

/**
 * The real node:fs with hooks in front of open, link and write. Files are real; only the chosen
 * fault is injected.
 */
export function faultyFs(hooks: FaultHooks): NfsFileSystem {
  const openPaths = new Map<number, string>();
  const before = (
    hook: (() => Promise<void> | void) | undefined,
    then: () => void,
    fail: (error: unknown) => void,
  ) => {
    Promise.resolve().then(hook).then(then, fail);
  };
  const wrapped = {
    ...nodeFs,
    open(path: string, flags: number, mode: number, done: Done<number>) {
      before(
        hooks.onOpen && (() => hooks.onOpen!(path, flags)),
        () =>
          nodeFs.open(path, flags, mode, (error, fd) => {
            if (!error) openPaths.set(fd, path);
            done(error, fd);
          }),
        (error) => done(error as NodeJS.ErrnoException),
      );
    },
    close(fd: number, done: (error: NodeJS.ErrnoException | null) => void) {
      openPaths.delete(fd);
      nodeFs.close(fd, done);
    },
    link(existing: string, path: string, done: (error: NodeJS.ErrnoException | null) => void) {
      before(
        hooks.onLink && (() => hooks.onLink!(path)),
        () => nodeFs.link(existing, path, done),
        (error) => done(error as NodeJS.ErrnoException),
      );
    },
    write(
      fd: number,
      data: Uint8Array,
      offset: number,
      length: number,
      position: null,
      done: Done<number>,
    ) {
      const path = openPaths.get(fd);
      if (path && hooks.diskFullFor?.(path)) {
        const half = Math.floor(length / 2);
        nodeFs.write(fd, data, offset, half, position, () => done(errnoError("ENOSPC", "write")));
        return;
      }
      nodeFs.write(fd, data, offset, length, position, done);
    },
  };
  return wrapped as unknown as NfsFileSystem;
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

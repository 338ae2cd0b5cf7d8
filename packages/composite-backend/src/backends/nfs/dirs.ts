// Directory handles for NFSBackend's writers: paths walked from the root one component at a time.
import { constants } from "node:fs";
import { join, sep } from "node:path";
import { CompositeBackendError } from "../../errors.js";
import { type Confinement, errnoOf, HAS_PROC_FD } from "./fs.js";
import type { ResolvedNfsOptions } from "./options.js";

const DIR_FLAGS = constants.O_RDONLY | (constants.O_DIRECTORY ?? 0) | (constants.O_NOFOLLOW ?? 0);
/** Symlinks one walk may resolve (inside the root) before giving up, as the kernel does. */
const MAX_LINK_HOPS = 40;
/** Times one walk looks again at a component that changed under it before calling it a swap. */
const MAX_RETRIES = 100;

/**
 * An open directory. On Linux its entries are addressed as `/proc/self/fd/N/name`: the kernel
 * resolves that through the descriptor, not through the directory's path, so a component
 * swapped for a symlink afterwards cannot redirect a mkdir, open, link or rename (the *at()
 * system calls Node lacks). Elsewhere entries are addressed by real path, re-verified before use.
 */
export interface DirHandle {
  /** -1 for the root: its own path is trusted (configured by the operator, resolved once). */
  readonly fd: number;
  /** Prefix of this directory's entries. Only valid while the descriptor is open. */
  readonly at: string;
  /** Real host path when it was opened. */
  readonly real: string;
  readonly dev: number;
  readonly ino: number;
}

export function entry(dir: DirHandle, name: string): string {
  return `${dir.at}/${name}`;
}

/** How opening a directory without following links fails on a symlink (errno varies by OS). */
export function isLinkRefusal(code: string | undefined): boolean {
  return code === "ELOOP" || code === "EMLINK" || code === "ENOTDIR";
}

/** The answer when a directory under an operation moved or became a symlink midway. */
export function swapped(vpath: string): CompositeBackendError {
  return new CompositeBackendError(
    "conflict",
    `Error: '${vpath}' changed while it was being written (a directory on its path was moved or replaced by a symlink); the operation was abandoned and what it had created was removed. Try again.`,
  );
}

/** The handles one operation holds, and the directories it created (removed if it fails). */
export class DirChain {
  readonly handles: DirHandle[] = [];
  readonly created: Array<{ parent: DirHandle; name: string }> = [];

  constructor(private readonly dirs: SafeDirs) {}

  get root(): DirHandle {
    return this.handles[0]!;
  }

  /** Removes the directories this operation created, deepest first, if they are still empty. */
  async removeCreated(): Promise<void> {
    for (const { parent, name } of this.created.splice(0).reverse())
      await this.dirs.io.rmdir(entry(parent, name)).catch(() => undefined);
  }

  async close(): Promise<void> {
    const handles = this.handles.splice(0).filter((dir) => dir.fd >= 0);
    await Promise.all(handles.map((dir) => this.dirs.io.close(dir.fd).catch(() => undefined)));
  }
}

export class SafeDirs {
  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly jail: Confinement,
  ) {}

  get io() {
    return this.jail.io;
  }

  async #open(path: string, real: string): Promise<DirHandle> {
    const { io } = this;
    const fd = await io.open(path, DIR_FLAGS);
    // O_DIRECTORY already refused anything else and /proc says where it is. Elsewhere the
    // identity (dev, ino) is what later checks compare the path against.
    if (HAS_PROC_FD) {
      return { fd, at: `/proc/self/fd/${fd}`, real: io.descriptorPath(fd), dev: 0, ino: 0 };
    }
    try {
      const stat = await io.fstat(fd);
      return { fd, at: real, real, dev: stat.dev, ino: stat.ino };
    } catch (error) {
      await io.close(fd);
      throw error;
    }
  }

  /**
   * The root as a handle. Its own path is trusted (whoever can swap the mount point itself
   * redirects the whole backend anyway), so it is not opened: its entries are addressed by the
   * real root path, and everything below it is opened without following links.
   */
  async openRoot(): Promise<DirHandle> {
    const root = await this.jail.realRoot();
    return { fd: -1, at: root, real: root, dev: 0, ino: 0 };
  }

  /** Opens `name` in `parent` as a directory; a symlink there fails with ELOOP, never followed. */
  async openChild(parent: DirHandle, name: string, vpath: string): Promise<DirHandle> {
    await this.guard(parent, vpath);
    const child = await this.#open(entry(parent, name), join(parent.real, name));
    try {
      if (!HAS_PROC_FD) await this.verify(child, vpath);
      await this.jail.assertInside(child.real, vpath);
      return child;
    } catch (error) {
      await this.io.close(child.fd);
      throw error;
    }
  }

  /** Throws `swapped` unless the directory is still where (and what) it was when opened. */
  async verify(dir: DirHandle, vpath: string): Promise<void> {
    const { io } = this;
    if (dir.fd < 0) return; // the root
    if (HAS_PROC_FD) {
      if (io.descriptorPath(dir.fd) !== dir.real) throw swapped(vpath);
      return;
    }
    const [stat, real] = await Promise.all([
      io.lstat(dir.real).catch(() => undefined),
      io.realpath(dir.real).catch(() => undefined),
    ]);
    if (!stat?.isDirectory() || stat.dev !== dir.dev || stat.ino !== dir.ino || real !== dir.real)
      throw swapped(vpath);
  }

  /** Where entries are addressed by path (no /proc), re-verifies before each use. */
  async guard(dir: DirHandle, vpath: string): Promise<void> {
    if (!HAS_PROC_FD) await this.verify(dir, vpath);
  }

  /**
   * Opens the directory `segments` below the root, one component at a time. A symlink component
   * is resolved, must stay inside the root, and its real path is walked again from the root;
   * with `create`, each missing directory is made with one mkdir inside its opened parent.
   */
  async walk(segments: readonly string[], vpath: string, create: boolean): Promise<DirChain> {
    const chain = new DirChain(this);
    try {
      chain.handles.push(await this.openRoot());
      let current = chain.root;
      const pending = [...segments];
      let hops = 0;
      let retries = 0;
      while (pending.length > 0) {
        // Each successful open consumes a segment; only a tree changing under us makes retries.
        if (retries > MAX_RETRIES) throw swapped(vpath);
        const name = pending[0]!;
        try {
          current = await this.openChild(current, name, vpath);
          chain.handles.push(current);
          pending.shift();
          continue;
        } catch (error) {
          const code = errnoOf(error);
          if (code === "ENOENT" && create) {
            if (!(await this.#mkdir(chain, current, name, vpath))) retries++;
            continue;
          }
          if (!isLinkRefusal(code)) throw error;
          // A symlink opened with O_NOFOLLOW|O_DIRECTORY fails with ELOOP or ENOTDIR (Linux).
          const now = await this.io.lstat(entry(current, name)).catch(() => undefined);
          // Changed since the open (a directory again, or gone): look again.
          if (!now || now.isDirectory()) {
            retries++;
            continue;
          }
          if (!now.isSymbolicLink()) throw error;
          if (++hops > MAX_LINK_HOPS) throw error;
        }
        // A symlink: followed only to a real directory inside the root, walked from the root.
        const real = await this.jail
          .realInside(join(current.real, name), vpath)
          .catch(async (error: unknown) => {
            if (errnoOf(error) !== "ENOENT") throw error;
            const now = await this.io.lstat(entry(current, name)).catch(() => undefined);
            if (now?.isSymbolicLink()) {
              throw new CompositeBackendError(
                "not_found",
                `'${vpath}': a directory on its path is a broken symbolic link`,
              );
            }
            return undefined; // removed since the lstat: look again
          });
        if (real === undefined) {
          retries++;
          continue;
        }
        pending.splice(0, 1, ...(await this.segmentsOf(real)));
        current = chain.root;
      }
      return chain;
    } catch (error) {
      await chain.removeCreated();
      await chain.close();
      throw error;
    }
  }

  /** Makes `name` in `parent`; false when someone else made it meanwhile. */
  async #mkdir(chain: DirChain, parent: DirHandle, name: string, vpath: string): Promise<boolean> {
    await this.guard(parent, vpath);
    try {
      await this.io.mkdir(entry(parent, name), this.options.dirMode);
      chain.created.push({ parent, name });
      return true;
    } catch (error) {
      const code = errnoOf(error);
      if (code === "EEXIST") return false;
      // The parent was opened a moment ago: now it is gone (removed or swapped out).
      if (code === "ENOENT") throw swapped(vpath);
      throw error;
    }
  }

  /** Segments of a real path inside the root, relative to it. */
  async segmentsOf(real: string): Promise<string[]> {
    const root = await this.jail.realRoot();
    const rest = real.slice(root.endsWith(sep) ? root.length : root.length + 1);
    return rest.split(sep).filter((segment) => segment !== "");
  }
}

// NFSBackend's staging area inside the root: temp files, lock owner files, old leftovers swept.
import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { hostname } from "node:os";
import { CompositeBackendError } from "../../errors.js";
import { type DirHandle, entry, isLinkRefusal, type SafeDirs } from "./dirs.js";
import { errnoOf } from "./fs.js";
import type { ResolvedNfsOptions } from "./options.js";

/** The root's private scratch directory: temp files and lock owner files. Hidden from listings. */
export const TEMP_DIR = ".agentstate-tmp";
export const CREATE_EXCLUSIVE =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** Leftovers of crashed writers older than this are removed when an instance first writes. */
const SWEEP_AGE_MS = 60 * 60 * 1000;

/** Long names are hashed so `.name.agentstate-lock` still fits NAME_MAX (255 bytes). */
function sidecarStem(name: string): string {
  return Buffer.byteLength(name) <= 200
    ? name
    : createHash("sha256").update(name).digest("hex").slice(0, 24);
}

/** Name of the writer lock of file `name`, in the same directory. */
export function lockNameFor(name: string): string {
  return `.${sidecarStem(name)}.agentstate-lock`;
}

const ownerName = () => `owner-${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`;

/**
 * Where new file contents are staged before the rename that publishes them. Staging in one
 * directory inside the root (rather than next to the target) lets the bytes be written while the
 * target's directory is still being checked, and keeps half-written files out of user folders.
 * Each operation opens the area as a directory handle (never through a symlink) and closes it.
 */
export class TempArea {
  #swept = false;
  #owner = ownerName();
  #ownerMade: Promise<void> | undefined;

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly dirs: SafeDirs,
  ) {}

  /** Opens (creating it if needed) the temp area; the caller closes the handle. */
  async open(vpath: string): Promise<DirHandle> {
    const root = await this.dirs.openRoot();
    let dir: DirHandle;
    try {
      dir = await this.dirs.openChild(root, TEMP_DIR, vpath);
    } catch (error) {
      const code = errnoOf(error);
      if (isLinkRefusal(code)) {
        throw new CompositeBackendError(
          "invalid_config",
          `The mounted directory's ${TEMP_DIR} is not a plain directory`,
        );
      }
      if (code !== "ENOENT") throw error;
      await this.dirs.io.mkdir(entry(root, TEMP_DIR), 0o700).catch((made: unknown) => {
        if (errnoOf(made) !== "EEXIST") throw made;
      });
      dir = await this.dirs.openChild(root, TEMP_DIR, vpath);
    }
    if (!this.#swept) {
      this.#swept = true;
      await this.#sweep(dir);
    }
    return dir;
  }

  async #sweep(dir: DirHandle): Promise<void> {
    const { io } = this.dirs;
    const cutoff = Date.now() - SWEEP_AGE_MS;
    for (const name of await io.readdir(dir.at).catch(() => [] as string[])) {
      const path = entry(dir, name);
      const stat = await io.lstat(path).catch(() => undefined);
      if (stat?.isFile() && stat.mtimeMs < cutoff) await io.unlink(path).catch(() => undefined);
    }
  }

  /** This instance's lock token in the open temp area: hard-linked as the lock file, it names the lock's owner. */
  async ownerFile(dir: DirHandle): Promise<string> {
    this.#ownerMade ??= this.#writeFile(
      entry(dir, this.#owner),
      new TextEncoder().encode(JSON.stringify({ pid: process.pid, host: hostname() })),
      0o600,
      false,
    ).catch((error: unknown) => {
      this.#ownerMade = undefined;
      throw error;
    });
    await this.#ownerMade;
    return entry(dir, this.#owner);
  }

  /** The owner file was swept away: make a new one on next use. */
  forgetOwner(): void {
    this.#owner = ownerName();
    this.#ownerMade = undefined;
  }

  /** Writes (and fsyncs) `data` to a fresh temp file in the open temp area; returns its path. */
  async writeTemp(dir: DirHandle, data: Uint8Array, mode: number): Promise<string> {
    const path = entry(dir, `${randomBytes(8).toString("hex")}.tmp`);
    await this.#writeFile(path, data, mode, this.options.fsync);
    return path;
  }

  /** Same, next to the target (for a target on another file system than the root). */
  async writeTempIn(dir: DirHandle, name: string, data: Uint8Array, mode: number): Promise<string> {
    const path = entry(
      dir,
      `.${sidecarStem(name)}.${randomBytes(6).toString("hex")}.agentstate-tmp`,
    );
    await this.#writeFile(path, data, mode, this.options.fsync);
    return path;
  }

  #writeFile(path: string, data: Uint8Array, mode: number, sync: boolean): Promise<void> {
    return this.dirs.io.createFile(path, CREATE_EXCLUSIVE, data, mode, sync);
  }
}

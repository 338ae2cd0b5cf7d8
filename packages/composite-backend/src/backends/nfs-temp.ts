import { createHash, randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { CompositeBackendError } from "../errors.js";
import type { Confinement } from "./nfs-fs.js";
import type { ResolvedNfsOptions } from "./nfs-options.js";

/** The root's private scratch directory: temp files and lock owner files. Hidden from listings. */
export const TEMP_DIR = ".agentstate-tmp";
const CREATE_EXCLUSIVE =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | (constants.O_NOFOLLOW ?? 0);
/** Leftovers of crashed writers older than this are removed when an instance first writes. */
const SWEEP_AGE_MS = 60 * 60 * 1000;

/** Long names are hashed so `.name.agentstate-lock` still fits NAME_MAX (255 bytes). */
function sidecarStem(name: string): string {
  return Buffer.byteLength(name) <= 200
    ? name
    : createHash("sha256").update(name).digest("hex").slice(0, 24);
}

export function lockPathFor(target: string): string {
  return join(dirname(target), `.${sidecarStem(basename(target))}.agentstate-lock`);
}

/**
 * Where new file contents are staged before the rename that publishes them. Staging in one
 * directory inside the root (rather than next to the target) lets the bytes be written while the
 * target's directory is still being checked, and keeps half-written files out of user folders.
 */
export class TempArea {
  #dir: Promise<string> | undefined;
  #owner: Promise<string> | undefined;

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly jail: Confinement,
  ) {}

  dir(): Promise<string> {
    this.#dir ??= this.#prepare().catch((error: unknown) => {
      this.#dir = undefined;
      throw error;
    });
    return this.#dir;
  }

  async #prepare(): Promise<string> {
    const { io } = this.jail;
    const dir = join(await this.jail.realRoot(), TEMP_DIR);
    await io.mkdirp(dir, 0o700);
    const stat = await io.lstat(dir);
    if (!stat.isDirectory() || stat.isSymbolicLink()) {
      throw new CompositeBackendError(
        "invalid_config",
        `The mounted directory's ${TEMP_DIR} is not a plain directory`,
      );
    }
    await this.#sweep(dir);
    return dir;
  }

  async #sweep(dir: string): Promise<void> {
    const { io } = this.jail;
    const cutoff = Date.now() - SWEEP_AGE_MS;
    for (const name of await io.readdir(dir).catch(() => [] as string[])) {
      const path = join(dir, name);
      const stat = await io.lstat(path).catch(() => undefined);
      if (stat?.isFile() && stat.mtimeMs < cutoff) await io.unlink(path).catch(() => undefined);
    }
  }

  /** This instance's lock token: hard-linked as the lock file, it names the lock's owner. */
  ownerFile(): Promise<string> {
    this.#owner ??= (async () => {
      const path = join(
        await this.dir(),
        `owner-${hostname()}-${process.pid}-${randomBytes(4).toString("hex")}`,
      );
      await this.#writeFile(
        path,
        new TextEncoder().encode(JSON.stringify({ pid: process.pid, host: hostname() })),
        0o600,
        false,
      );
      return path;
    })().catch((error: unknown) => {
      this.#owner = undefined;
      throw error;
    });
    return this.#owner;
  }

  forgetOwner(): void {
    this.#owner = undefined;
  }

  /** Writes (and fsyncs) `data` to a fresh temp file in the temp area; returns its path. */
  async writeTemp(data: Uint8Array, mode: number): Promise<string> {
    const path = join(await this.dir(), `${randomBytes(8).toString("hex")}.tmp`);
    await this.#writeFile(path, data, mode, this.options.fsync);
    return path;
  }

  /** Same, next to the target (for a target on another file system than the root). */
  async writeTempIn(dir: string, name: string, data: Uint8Array, mode: number): Promise<string> {
    const path = join(
      dir,
      `.${sidecarStem(name)}.${randomBytes(6).toString("hex")}.agentstate-tmp`,
    );
    await this.#writeFile(path, data, mode, this.options.fsync);
    return path;
  }

  #writeFile(path: string, data: Uint8Array, mode: number, sync: boolean): Promise<void> {
    return this.jail.io.createFile(path, CREATE_EXCLUSIVE, data, mode, sync);
  }
}

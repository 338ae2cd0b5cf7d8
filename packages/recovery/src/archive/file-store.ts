// The file:// archive store: a local (or mounted) directory, written atomically (temp file,
// fsync, rename, fsync of the directory) and read without following symlinks.
import { constants } from "node:fs";
import { mkdir, open, rename, stat, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { RecoveryError } from "../errors.js";
import type { ArchiveStore } from "../types.js";

export class FileArchiveStore implements ArchiveStore {
  constructor(
    readonly dir: string,
    readonly location: string,
  ) {}

  private fail(action: string, error: unknown): RecoveryError {
    const code = (error as NodeJS.ErrnoException)?.code ?? "error";
    const hint =
      code === "ENOENT"
        ? `the directory does not exist: create it first (mkdir -p ${this.dir})`
        : code === "EACCES" || code === "EPERM" || code === "EROFS"
          ? "permission denied: this process must be able to read and write there"
          : code === "ELOOP"
            ? "the archive file is a symbolic link, which is never followed"
            : "check the directory and its file system";
    return new RecoveryError(
      "ARCHIVE_LOCATION",
      `${action} at ${this.location} failed (${code}): ${hint}.`,
      { cause: error },
    );
  }

  async check(): Promise<void> {
    const s = await stat(this.dir).catch((e) => {
      throw this.fail("Opening the directory", e);
    });
    if (!s.isDirectory()) {
      throw new RecoveryError(
        "ARCHIVE_LOCATION",
        `Archive location ${this.location} is not a directory.`,
      );
    }
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    const target = join(this.dir, key);
    // One temp name per key: what a crash left behind is replaced by the next write of the key.
    const temp = `${target}.tmp`;
    try {
      // One fan-out level below the location, which must exist already (never created here).
      await mkdir(dirname(target)).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "EEXIST") throw e;
      });
      // Unlink, then O_EXCL: never write through a file or symlink found at the temp name.
      await unlink(temp).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== "ENOENT") throw e;
      });
      const handle = await open(temp, "wx");
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      // rename replaces a symlink at the target rather than writing through it.
      await rename(temp, target);
      const d = await open(dirname(target), "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw this.fail("Writing", error);
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(join(this.dir, key), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        // A missing file is "not archived here"; a missing directory is a wrong location.
        await this.check();
        return undefined;
      }
      throw this.fail("Reading", error);
    }
    try {
      return await handle.readFile();
    } catch (error) {
      throw this.fail("Reading", error);
    } finally {
      await handle.close();
    }
  }
}

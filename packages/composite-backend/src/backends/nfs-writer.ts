import { basename, dirname, join } from "node:path";
import { mapLimit } from "../async.js";
import { CompositeBackendError } from "../errors.js";
import { isBinaryPath } from "../mime.js";
import type { VirtualPath } from "../paths.js";
import { decodeText, encodeText, formatBytes, type Replacement, replaceExact } from "../text.js";
import { atomicReplace, FileLocks, type ReplaceTarget, versionOf } from "./nfs-commit.js";
import { type Confinement, errnoOf, INTERNAL_SUFFIX, readWhole } from "./nfs-fs.js";
import type { ResolvedNfsOptions } from "./nfs-options.js";
import { TempArea } from "./nfs-temp.js";

const ROOT_IS_DIRECTORY = () =>
  new CompositeBackendError("is_directory", "'/' is a directory, not a file");

/** The mutating half of NFSBackend: write, edit and delete. */
export class NfsWriter {
  readonly #temp: TempArea;
  readonly #locks: FileLocks;

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly jail: Confinement,
  ) {
    this.#temp = new TempArea(options, jail);
    this.#locks = new FileLocks(options, jail.io, this.#temp);
  }

  async write(vp: VirtualPath, data: Uint8Array): Promise<void> {
    const { maxWriteBytes, fileMode } = this.options;
    if (vp.segments.length === 0) throw ROOT_IS_DIRECTORY();
    if (data.byteLength > maxWriteBytes) {
      throw new CompositeBackendError(
        "too_large",
        `Content for '${vp.path}' is ${formatBytes(data.byteLength)}, over the ${formatBytes(maxWriteBytes)} write limit`,
      );
    }
    const host = await this.jail.hostPath(vp.segments);
    await atomicReplace(this.options, this.jail, this.#temp, this.#locks, {
      target: this.#writeTarget(host, vp),
      data,
      initialMode: fileMode,
      vpath: vp.path,
    });
  }

  /** Where a write lands: the checked real directory, the name, and the mode to keep. */
  async #writeTarget(host: string, vp: VirtualPath): Promise<ReplaceTarget> {
    const { fileMode } = this.options;
    const { io } = this.jail;
    const [dirCheck, existing] = await Promise.allSettled([
      this.jail.realInside(dirname(host), vp.path),
      io.lstat(host),
    ]);
    let dir: string;
    if (dirCheck.status === "fulfilled") dir = dirCheck.value;
    else if (errnoOf(dirCheck.reason) === "ENOENT")
      dir = await this.jail.ensureDir(dirname(host), vp.path);
    else throw dirCheck.reason;
    let name = basename(host);
    if (existing.status === "rejected") return { dir, name, mode: fileMode };
    let stat = existing.value;
    if (stat.isSymbolicLink()) {
      // Write through a link that stays inside the root, so the link keeps working.
      const real = await this.jail.realInside(host, vp.path).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT") return undefined; // dangling: replace the link itself
        throw error;
      });
      if (real !== undefined) {
        stat = await io.stat(real);
        dir = dirname(real);
        name = basename(real);
      }
    }
    if (stat.isDirectory())
      throw new CompositeBackendError("is_directory", `'${vp.path}' is a directory, not a file`);
    return { dir, name, mode: stat.isFile() ? stat.mode & 0o7777 : fileMode };
  }

  /**
   * Read, replace, and commit only if the file is still what was read (compare-and-swap under
   * the writer lock): a concurrent change becomes a conflict error, never a lost update.
   */
  async edit(
    vp: VirtualPath,
    oldString: string,
    newString: string,
    replaceAll: boolean,
  ): Promise<Replacement> {
    if (isBinaryPath(vp.path)) {
      throw new CompositeBackendError(
        "invalid_content",
        `Error: '${vp.path}' is a binary file and cannot be edited as text`,
      );
    }
    if (vp.segments.length === 0) throw ROOT_IS_DIRECTORY();
    const opened = await this.jail.openFile(await this.jail.hostPath(vp.segments), vp.path, true);
    let bytes: Uint8Array;
    try {
      bytes = await readWhole(this.jail.io, opened, vp.path, this.options.maxReadBytes);
    } catch (error) {
      await this.jail.io.close(opened.fd);
      throw error;
    }
    // Only the stat taken at open matters from here; the descriptor closes in the background.
    this.jail.io.close(opened.fd).catch(() => undefined);
    const replaced = replaceExact(decodeText(bytes), oldString, newString, replaceAll, vp.path);
    if (!replaced.ok) return replaced;
    const mode = Number(opened.stat.mode) & 0o7777;
    await atomicReplace(this.options, this.jail, this.#temp, this.#locks, {
      target: Promise.resolve({ dir: dirname(opened.real), name: basename(opened.real), mode }),
      data: encodeText(replaced.content),
      initialMode: mode,
      expect: versionOf(opened.stat),
      vpath: vp.path,
    });
    return replaced;
  }

  async delete(vp: VirtualPath): Promise<void> {
    const { io } = this.jail;
    const host = await this.jail.hostPath(vp.segments);
    if (vp.segments.length === 0) {
      // The root is the mount point itself: empty it, keep it (and our temp area).
      const names = (await io.readdir(host)).filter((name) => !INTERNAL_SUFFIX.test(name));
      await mapLimit(names, 8, (name) => io.rmTree(join(host, name)));
      return;
    }
    // The parent is resolved, the leaf is not: deleting a link removes the link only.
    const target = join(await this.jail.realInside(dirname(host), vp.path), basename(host));
    const stat = await io.lstat(target);
    if (stat.isDirectory()) await io.rmTree(target);
    else await io.unlink(target);
  }
}

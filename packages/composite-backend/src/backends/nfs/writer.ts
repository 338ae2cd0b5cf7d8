// The mutating half of NFSBackend: write, edit and delete, all through directory handles.
import { CompositeBackendError, rootDeleteRefused } from "../../errors.js";
import type { VirtualPath } from "../../paths.js";
import { decodeText, encodeText, oversizeBytes, type Replacement } from "../../text.js";
import { atomicReplace, type CommitContext, type ReplaceTarget, versionOf } from "./commit.js";
import { type DirChain, entry, SafeDirs, swapped } from "./dirs.js";
import { type Confinement, errnoOf, readWhole } from "./fs.js";
import { FileLocks } from "./locks.js";
import type { ResolvedNfsOptions } from "./options.js";
import { removeEntry, removeRootContents } from "./remove.js";
import { TempArea } from "./temp.js";

const ROOT_IS_DIRECTORY = () =>
  new CompositeBackendError("is_directory", "'/' is a directory, not a file");

/** What one write or edit holds open: the directory chain and the target inside it. */
type HeldTarget = ReplaceTarget & { chains: DirChain[] };

/**
 * The mutating half of NFSBackend: write, edit and delete. Every directory it creates, every
 * lock, temp file and rename goes through directory handles opened from the root without
 * following symlinks (see dirs.ts), so nothing can be redirected outside the root.
 */
export class NfsWriter {
  readonly #dirs: SafeDirs;
  readonly #commit: CommitContext;

  constructor(
    private readonly options: ResolvedNfsOptions,
    private readonly jail: Confinement,
  ) {
    this.#dirs = new SafeDirs(options, jail);
    const temp = new TempArea(options, this.#dirs);
    const locks = new FileLocks(options, jail.io, temp);
    this.#commit = { options, dirs: this.#dirs, temp, locks };
  }

  async write(vp: VirtualPath, data: Uint8Array): Promise<void> {
    const { maxWriteBytes, fileMode } = this.options;
    if (vp.segments.length === 0) throw ROOT_IS_DIRECTORY();
    const oversize = oversizeBytes(data.byteLength, maxWriteBytes, vp.path);
    if (oversize) throw oversize;
    await this.#replace(this.#writeTarget(vp), data, fileMode, vp.path);
  }

  /** Commits through `atomicReplace`; on failure removes the directories this write created. */
  async #replace(
    targeting: Promise<HeldTarget>,
    data: Uint8Array,
    initialMode: number,
    vpath: string,
    expect?: ReturnType<typeof versionOf>,
  ): Promise<void> {
    targeting.catch(() => undefined); // awaited below and by atomicReplace
    try {
      await atomicReplace(this.#commit, { target: targeting, data, initialMode, expect, vpath });
    } catch (error) {
      const held = await targeting.catch(() => undefined);
      for (const chain of held?.chains ?? []) await chain.removeCreated();
      throw error;
    } finally {
      const held = await targeting.catch(() => undefined);
      for (const chain of held?.chains ?? []) await chain.close();
    }
  }

  /** Where a write lands: the opened directory, the name, and the mode to keep. */
  async #writeTarget(vp: VirtualPath): Promise<HeldTarget> {
    const { fileMode } = this.options;
    const { io } = this.jail;
    const chains = [await this.#dirs.walk(vp.segments.slice(0, -1), vp.path, true)];
    try {
      let dir = chains[0]!.handles.at(-1)!;
      let name = vp.segments.at(-1)!;
      let stat = await io.lstat(entry(dir, name)).catch((error: unknown) => {
        if (errnoOf(error) === "ENOENT") return undefined;
        throw error;
      });
      if (stat?.isSymbolicLink()) {
        // Write through a link that stays inside the root, so the link keeps working.
        const real = await this.jail.realInside(`${dir.real}/${name}`, vp.path).catch((error) => {
          if (errnoOf(error) === "ENOENT") return undefined; // dangling: replace the link itself
          throw error;
        });
        if (real !== undefined) {
          const segments = await this.#dirs.segmentsOf(real);
          const linked = await this.#dirs.walk(segments.slice(0, -1), vp.path, false);
          chains.push(linked);
          dir = linked.handles.at(-1)!;
          name = segments.at(-1)!;
          stat = await io.lstat(entry(dir, name));
          if (stat.isSymbolicLink()) throw swapped(vp.path);
        }
      }
      if (stat?.isDirectory())
        throw new CompositeBackendError("is_directory", `'${vp.path}' is a directory, not a file`);
      return { chains, dir, name, mode: stat?.isFile() ? stat.mode & 0o7777 : fileMode };
    } catch (error) {
      for (const chain of chains) await chain.removeCreated();
      for (const chain of chains) await chain.close();
      throw error;
    }
  }

  /**
   * Read, apply `edit`, and commit only if the file is still what was read (compare-and-swap
   * under the writer lock): a concurrent change becomes a conflict error, never a lost update.
   */
  async edit(vp: VirtualPath, edit: (text: string) => Replacement): Promise<Replacement> {
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
    const replaced = edit(decodeText(bytes));
    if (!replaced.ok) return replaced;
    const mode = Number(opened.stat.mode) & 0o7777;
    // The file was read at its real path (checked inside the root); commit in that directory.
    const targeting = this.#dirs.segmentsOf(opened.real).then(async (segments) => {
      const chain = await this.#dirs.walk(segments.slice(0, -1), vp.path, false);
      const dir = chain.handles.at(-1)!;
      return { chains: [chain], dir, name: segments.at(-1)!, mode };
    });
    await this.#replace(
      targeting,
      encodeText(replaced.content),
      mode,
      vp.path,
      versionOf(opened.stat),
    );
    return replaced;
  }

  async delete(vp: VirtualPath): Promise<void> {
    if (vp.segments.length === 0 && !this.options.allowRootDelete)
      throw rootDeleteRefused("every file in the mounted directory");
    // The parent is resolved, the leaf is not: deleting a link removes the link only.
    const chain = await this.#dirs.walk(vp.segments.slice(0, -1), vp.path, false);
    try {
      const dir = chain.handles.at(-1)!;
      if (vp.segments.length === 0) await removeRootContents(this.#dirs, dir, vp.path);
      else await removeEntry(this.#dirs, dir, vp.segments.at(-1)!, vp.path, true);
    } finally {
      await chain.close();
    }
  }
}

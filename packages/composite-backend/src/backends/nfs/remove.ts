// Recursive deletion for NFSBackend through directory handles: a swapped-in symlink is removed, never followed.
import { mapLimit } from "../../async.js";
import { type DirHandle, entry, isLinkRefusal, type SafeDirs } from "./dirs.js";
import { errnoOf, INTERNAL_SUFFIX } from "./fs.js";

const ignoreMissing = (error: unknown) => {
  if (errnoOf(error) !== "ENOENT") throw error;
};

/**
 * Removes `name` in `dir`: a file or link is unlinked, a directory emptied then removed. With
 * `mustExist`, a missing entry is an error (ENOENT), otherwise it was removed by someone else.
 */
export async function removeEntry(
  dirs: SafeDirs,
  dir: DirHandle,
  name: string,
  vpath: string,
  mustExist = false,
): Promise<void> {
  const { io } = dirs;
  await dirs.guard(dir, vpath);
  let stat: Awaited<ReturnType<typeof io.lstat>>;
  try {
    stat = await io.lstat(entry(dir, name));
  } catch (error) {
    if (mustExist) throw error;
    return ignoreMissing(error);
  }
  if (!stat.isDirectory()) {
    await io.unlink(entry(dir, name)).catch(ignoreMissing);
    return;
  }
  let child: DirHandle;
  try {
    child = await dirs.openChild(dir, name, vpath);
  } catch (error) {
    // Swapped for a symlink since the lstat: remove the link, not what it points to.
    if (isLinkRefusal(errnoOf(error))) return io.unlink(entry(dir, name)).catch(ignoreMissing);
    return ignoreMissing(error);
  }
  try {
    const names = await io.readdir(child.at);
    const stats = await mapLimit(names, 8, (inner) =>
      io.lstat(entry(child, inner)).catch(() => undefined),
    );
    // Files go eight at a time; subdirectories one after another, so open handles stay few.
    await dirs.guard(child, vpath);
    await mapLimit(
      names.filter((_, i) => stats[i] && !stats[i]!.isDirectory()),
      8,
      (inner) => io.unlink(entry(child, inner)).catch(ignoreMissing),
    );
    for (const [i, inner] of names.entries()) {
      if (stats[i]?.isDirectory()) await removeEntry(dirs, child, inner, vpath);
    }
  } finally {
    await io.close(child.fd);
  }
  await dirs.guard(dir, vpath);
  await io.rmdir(entry(dir, name)).catch(ignoreMissing);
}

/** Empties the root itself (the mount point stays, and so do our temp and lock files). */
export async function removeRootContents(
  dirs: SafeDirs,
  root: DirHandle,
  vpath: string,
): Promise<void> {
  const names = (await dirs.io.readdir(root.at)).filter((name) => !INTERNAL_SUFFIX.test(name));
  for (const name of names) await removeEntry(dirs, root, name, vpath);
}

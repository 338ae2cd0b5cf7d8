import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/**
 * Everything observable about a directory tree (names, types, contents, link targets, mtimes),
 * to prove an operation left it exactly as it was.
 */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (current: string, prefix: string) => {
    for (const name of (await readdir(current)).sort()) {
      const full = join(current, name);
      const stat = await lstat(full);
      const key = `${prefix}${name}`;
      if (stat.isSymbolicLink()) out[key] = `link -> ${await readlink(full)}`;
      else if (stat.isDirectory()) {
        out[key] = `dir mtime=${stat.mtimeMs}`;
        await walk(full, `${key}/`);
      } else if (stat.isFile())
        out[key] = `file mtime=${stat.mtimeMs} ${(await readFile(full)).toString("base64")}`;
      else out[key] = "special file"; // a FIFO would block a read
    }
  };
  await walk(dir, "");
  return out;
}

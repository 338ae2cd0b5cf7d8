import { constants } from "node:fs";
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { NFSBackend } from "../src/index.js";
import type { Pair } from "./measure.js";

const TEXT = `${Array.from({ length: 200 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join("\n")}\n`;

/**
 * What an atomic, durable write costs with raw fs: temp file, write, fsync, rename, fsync of
 * the directory. The backend does exactly this plus confinement and its writer lock, so this is
 * the fair baseline; a plain writeFile (neither atomic nor durable) is reported alongside.
 */
async function rawAtomicWrite(dir: string, name: string, data: string, n: number): Promise<void> {
  const tmp = join(dir, `.${name}.${n}.raw-tmp`);
  const handle = await fsp.open(tmp, "wx");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, join(dir, name));
  const dirHandle = await fsp.open(dir, constants.O_RDONLY);
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

async function rawGrep(dir: string, pattern: string): Promise<number> {
  let hits = 0;
  const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true });
  await Promise.all(
    entries
      .filter((entry) => entry.isFile())
      .map(async (entry) => {
        const content = await fsp.readFile(join(entry.parentPath, entry.name), "utf8");
        for (const line of content.split("\n")) if (line.includes(pattern)) hits++;
      }),
  );
  return hits;
}

export async function nfsPairs(root: string): Promise<Pair[]> {
  const backend = new NFSBackend({ rootDir: root });
  const rawDir = join(root, "raw");
  await fsp.mkdir(join(rawDir, "grep"), { recursive: true });
  await fsp.writeFile(join(rawDir, "read.txt"), TEXT);
  await backend.write("/ours/read.txt", TEXT);
  for (let i = 0; i < 20; i++) {
    await fsp.writeFile(join(rawDir, `ls-${i}.txt`), TEXT);
    await backend.write(`/ours/ls-${i}.txt`, TEXT);
  }
  for (let i = 0; i < 50; i++) {
    await fsp.writeFile(join(rawDir, "grep", `g${i}.txt`), TEXT);
    await backend.write(`/ours/grep/g${i}.txt`, TEXT);
  }
  let n = 0;
  let rawFlip = false;
  let oursFlip = false;
  return [
    {
      op: "read",
      raw: () => fsp.readFile(join(rawDir, "read.txt"), "utf8"),
      ours: () => backend.read("/ours/read.txt"),
    },
    {
      op: "write",
      raw: () => rawAtomicWrite(rawDir, "write.txt", TEXT, n++),
      ours: () => backend.write("/ours/write.txt", TEXT),
    },
    {
      op: "write (vs plain writeFile)",
      raw: () => fsp.writeFile(join(rawDir, "plain.txt"), TEXT),
      ours: () => backend.write("/ours/plain.txt", TEXT),
    },
    {
      op: "edit",
      raw: async () => {
        rawFlip = !rawFlip;
        const content = await fsp.readFile(join(rawDir, "read.txt"), "utf8");
        const next = rawFlip
          ? content.replace("line 7:", "LINE 7:")
          : content.replace("LINE 7:", "line 7:");
        await rawAtomicWrite(rawDir, "read.txt", next, n++);
      },
      ours: () => {
        oursFlip = !oursFlip;
        return oursFlip
          ? backend.edit("/ours/read.txt", "line 7:", "LINE 7:")
          : backend.edit("/ours/read.txt", "LINE 7:", "line 7:");
      },
    },
    {
      op: "ls (24 entries)",
      raw: async () => {
        const entries = await fsp.readdir(rawDir, { withFileTypes: true });
        return Promise.all(entries.map((entry) => fsp.stat(join(rawDir, entry.name))));
      },
      ours: () => backend.ls("/ours"),
    },
    {
      op: "grep (50 files)",
      raw: () => rawGrep(join(rawDir, "grep"), "line 42:"),
      ours: () => backend.grep("line 42:", "/ours/grep"),
    },
  ];
}

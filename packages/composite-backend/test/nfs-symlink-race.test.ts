// Regression test (issue 14): another process swaps directories inside the root for symlinks to
// a directory outside it while NFSBackend writes, edits, uploads and deletes there.
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositeBackend, NFSBackend, StateBackend } from "../src/index.js";
import { leftovers } from "./helpers/faulty-fs.js";
import { snapshotTree } from "./helpers/tree.js";

const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = 150;
let parent: string;
let root: string;
let outside: string;

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "agentstate-swap-"));
  root = join(parent, "root");
  outside = join(parent, "outside");
  await mkdir(join(root, "deep"), { recursive: true });
  await mkdir(join(outside, "sub"), { recursive: true });
  await writeFile(join(outside, "canary.txt"), "outside\n");
  await writeFile(join(outside, "sub/keep.txt"), "keep\n");
});
afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

/** Starts the swapper; resolves once it has made its first swap. */
function startSwapper(stopFile: string, victims: string[]) {
  const child = spawn(
    process.execPath,
    [join(here, "helpers/workers/symlink-swapper.mjs"), outside, stopFile, ...victims],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let output = "";
  const exited = new Promise<number>((resolve, reject) => {
    child.once("exit", (code) => {
      const swaps = /swaps (\d+)/.exec(output);
      if (code === 0 && swaps) resolve(Number(swaps[1]));
      else reject(new Error(`swapper exited with ${code}: ${output}`));
    });
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      output += chunk;
      if (output.includes("ready")) resolve();
    });
    exited.catch(reject);
  });
  return { ready, exited };
}

describe("NFSBackend under a symlink-swapping process", () => {
  it("never creates, writes or deletes anything outside the root", async () => {
    const before = await snapshotTree(outside);
    const stopFile = join(parent, "stop");
    const swapper = startSwapper(stopFile, [join(root, "victim"), join(root, "deep/victim")]);
    await swapper.ready;
    const backend = new NFSBackend({ rootDir: root, fsync: false, lockTimeoutMs: 1_000 });
    // The composite only strips the prefix; it must not open a way around the backend's checks.
    const composite = new CompositeBackend(new StateBackend(), { "/projects/": backend });
    const errors: string[] = [];
    let operations = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const [uploads, ...results] = await Promise.all([
        backend.uploadFiles([
          [`/victim/u${round}.bin`, new Uint8Array([1, 2, 3])],
          [`/deep/victim/p/q/u${round}.bin`, new Uint8Array([4, 5, 6])],
        ]),
        backend.write(`/victim/f${round}.txt`, `round ${round}\n`),
        backend.write(`/victim/a/b/c/f${round}.txt`, `deep ${round}\n`),
        composite.write(`/projects/deep/victim/x/y/f${round}.md`, `composite ${round}\n`),
        backend
          .write("/victim/e.txt", "old\n")
          .then(() => backend.edit("/victim/e.txt", "old", "new")),
        backend.write("/victim/sub/keep.txt", "inside\n").then(() => backend.delete("/victim/sub")),
        backend.delete(`/victim/f${Math.max(round - 1, 0)}.txt`),
      ]);
      // Every operation answered (none threw); refusals are expected while the swapper runs.
      for (const result of [...uploads, ...results]) {
        operations++;
        if (result.error) errors.push(result.error);
      }
    }
    await writeFile(stopFile, "");
    const swaps = await swapper.exited;
    expect(swaps).toBeGreaterThan(0);
    expect(operations).toBe(ROUNDS * 8);
    // Nothing landed outside (no file, directory, temp or lock file) and nothing was removed.
    expect(await snapshotTree(outside)).toEqual(before);
    // Abandoned writes cleaned up after themselves, and no error names a host path.
    expect(await leftovers(root)).toEqual([]);
    for (const error of errors) expect(error).not.toContain(parent);
  });
});

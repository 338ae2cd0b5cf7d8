import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NFSBackend } from "../src/index.js";
import { errnoError, faultyFs, leftovers } from "./helpers/faulty-fs.js";

const here = dirname(fileURLToPath(import.meta.url));
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "agentstate-durable-"));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("NFSBackend writes are atomic", () => {
  it("keeps the old content when a write fails halfway (disk full), and cleans up its temp file", async () => {
    await writeFile(join(root, "doc.md"), "old content\n");
    const backend = new NFSBackend({
      rootDir: root,
      fs: faultyFs({ diskFullFor: (path) => path.endsWith(".tmp") }),
    });
    const result = await backend.write("/doc.md", "new content that never fully lands\n");
    expect(result.error).toBe("No space left (or quota exceeded) writing '/doc.md'");
    expect(await readFile(join(root, "doc.md"), "utf8")).toBe("old content\n");
    expect(await leftovers(root)).toEqual([]);
    const edit = await backend.edit("/doc.md", "old", "new");
    expect(edit.error).toMatch(/No space left/);
    expect(await readFile(join(root, "doc.md"), "utf8")).toBe("old content\n");
  });

  it("never leaves a half-written file when the writing process is killed (SIGKILL)", async () => {
    const size = 4 * 1024 * 1024;
    for (const delayMs of [30, 90, 170, 260]) {
      const child: ChildProcess = spawn(
        process.execPath,
        ["--import", "tsx", join(here, "helpers/workers/crash-writer.ts"), root, String(size)],
        { cwd: join(here, ".."), stdio: ["ignore", "pipe", "inherit"] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once("data", () => resolve());
        child.once("exit", (code) => reject(new Error(`crash-writer exited early (${code})`)));
      });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      const content = await readFile(join(root, "victim.txt"), "latin1");
      expect(content.length).toBe(size);
      expect(content === "A".repeat(size) || content === "B".repeat(size)).toBe(true);
      // A killed writer may leave its temp file; it is hidden from the agent.
      const listed = (await new NFSBackend({ rootDir: root }).ls("/")).files?.map(
        (info) => info.path,
      );
      expect(listed).toEqual(["/victim.txt"]);
    }
  });

  it("keeps the file mode of a file it replaces", async () => {
    await writeFile(join(root, "private.txt"), "x", { mode: 0o600 });
    await new NFSBackend({ rootDir: root }).write("/private.txt", "y");
    expect((await stat(join(root, "private.txt"))).mode & 0o777).toBe(0o600);
  });
});

describe("NFSBackend errno handling", () => {
  it("retries a transient ESTALE and succeeds", async () => {
    await writeFile(join(root, "flaky.txt"), "served\n");
    let stale = 2;
    const attempts: string[] = [];
    const backend = new NFSBackend({
      rootDir: root,
      staleRetryDelayMs: 1,
      fs: faultyFs({
        onOpen: (path) => {
          if (!path.endsWith("flaky.txt")) return;
          attempts.push(path);
          if (stale-- > 0) throw errnoError("ESTALE");
        },
      }),
    });
    expect((await backend.read("/flaky.txt")).content).toBe("served\n");
    expect(attempts).toHaveLength(3);
  });

  it("reports a persistent ESTALE clearly once retries run out", async () => {
    await writeFile(join(root, "gone.txt"), "x");
    const backend = new NFSBackend({
      rootDir: root,
      staleRetries: 2,
      staleRetryDelayMs: 1,
      fs: faultyFs({
        onOpen: (path) => {
          if (path.endsWith("gone.txt")) throw errnoError("ESTALE");
        },
      }),
    });
    const { error } = await backend.read("/gone.txt");
    expect(error).toMatch(/^'\/gone\.txt': the NFS file handle went stale/);
    expect(error).not.toContain(root);
  });

  it("maps EACCES to a permission error without the host path", async () => {
    await writeFile(join(root, "locked.txt"), "x");
    const backend = new NFSBackend({
      rootDir: root,
      fs: faultyFs({
        onOpen: (path) => {
          if (path.endsWith("locked.txt")) throw errnoError("EACCES");
        },
      }),
    });
    expect((await backend.read("/locked.txt")).error).toBe("Permission denied for '/locked.txt'");
    expect(await backend.downloadFiles(["/locked.txt"])).toEqual([
      { path: "/locked.txt", content: null, error: "permission_denied" },
    ]);
  });

  it("reports a missing mount point instead of creating it", async () => {
    const missing = join(root, "not-mounted");
    const backend = new NFSBackend({ rootDir: missing });
    expect((await backend.write("/a.txt", "x")).error).toMatch(/does not exist \(not mounted\?\)/);
    expect((await backend.read("/a.txt")).error).toMatch(/does not exist/);
    expect(await readdir(root)).toEqual([]);
  });

  it("breaks a lock left by a crashed writer, and times out on a live one", async () => {
    await writeFile(join(root, "f.txt"), "v1");
    const lock = join(root, ".f.txt.agentstate-lock");
    await writeFile(lock, "");
    const backend = new NFSBackend({ rootDir: root, lockTimeoutMs: 150, staleLockMs: 10_000 });
    expect((await backend.write("/f.txt", "v2")).error).toBe(
      "'/f.txt' is locked by another writer; try again",
    );
    expect(await readFile(join(root, "f.txt"), "utf8")).toBe("v1");
    const old = new Date(Date.now() - 60_000);
    await utimes(lock, old, old);
    expect((await backend.write("/f.txt", "v3")).error).toBeUndefined();
    expect(await readFile(join(root, "f.txt"), "utf8")).toBe("v3");
    expect(await leftovers(root)).toEqual([]);
  });

  it("breaks at once a fresh lock whose owner process on this host is dead", async () => {
    const child = spawn(process.execPath, ["-e", "0"]);
    await new Promise((resolve) => child.once("exit", resolve));
    await writeFile(
      join(root, ".g.txt.agentstate-lock"),
      JSON.stringify({ pid: child.pid, host: hostname() }),
    );
    const backend = new NFSBackend({ rootDir: root, lockTimeoutMs: 100 });
    expect((await backend.write("/g.txt", "written")).error).toBeUndefined();
    expect(await readFile(join(root, "g.txt"), "utf8")).toBe("written");
  });
});

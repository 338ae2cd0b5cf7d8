import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NFSBackend } from "../src/index.js";
import { leftovers } from "./helpers/faulty-fs.js";
import { snapshotTree } from "./helpers/tree.js";

let parent: string;
let root: string;
let outside: string;
let backend: NFSBackend;
let before: Record<string, string>;
const errors: string[] = [];

/** Runs an operation expected to fail; keeps its message for the host-path leak check. */
async function refused(result: Promise<{ error?: string }>): Promise<string> {
  const { error } = await result;
  expect(error).toBeDefined();
  errors.push(error!);
  return error!;
}

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), "agentstate-hostile-"));
  root = join(parent, "root");
  outside = join(parent, "outside");
  await mkdir(join(root, "docs"), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, "secret.txt"), "top secret\n");
  await writeFile(join(parent, "sibling.txt"), "sibling\n");
  await writeFile(join(root, "docs/real.md"), "inside\n");
  await symlink(outside, join(root, "escape"));
  await symlink(join(outside, "secret.txt"), join(root, "secret-link.txt"));
  await symlink("/", join(root, "abs-link"));
  await symlink("../outside/secret.txt", join(root, "docs/relative-escape.txt"));
  await symlink(join(outside, "not-yet.txt"), join(root, "dangling-out.txt"));
  await symlink(join(root, "docs/real.md"), join(root, "inside-link.md"));
  await symlink("loop", join(root, "loop"));
  spawnSync("mkfifo", [join(root, "pipe.txt")]);
  before = {
    ...(await snapshotTree(outside)),
    ...(await snapshotTree(parent).then((t) => ({ sibling: t["sibling.txt"]! }))),
  };
  backend = new NFSBackend({
    rootDir: root,
    maxReadBytes: 1024 * 1024,
    maxWriteBytes: 1024 * 1024,
    maxGrepFileBytes: 64 * 1024,
  });
});

afterAll(async () => {
  await rm(parent, { recursive: true, force: true });
});

const TRAVERSALS = [
  "../sibling.txt",
  "/../sibling.txt",
  "/docs/../../sibling.txt",
  "..",
  "%2e%2e/sibling.txt",
  "%2E%2E/%2E%2E/sibling.txt",
  "%252e%252e/sibling.txt",
  "..%2fsibling.txt",
  "docs%2f..%2f..%2fsibling.txt",
  "..\\sibling.txt",
  "．．/sibling.txt",
  "docs/\u0000/x",
  "docs/real.md\u0000.txt",
  "docs/\n/x",
];

describe("NFSBackend confinement", () => {
  it("rejects every traversal form in every operation", async () => {
    for (const path of TRAVERSALS) {
      expect(await refused(backend.read(path))).toMatch(/invalid path/i);
      await refused(backend.readRaw(path));
      await refused(backend.write(path, "pwned"));
      await refused(backend.edit(path, "sibling", "pwned"));
      await refused(backend.ls(path));
      await refused(backend.glob("*", path));
      await refused(backend.grep("sibling", path));
      await refused(backend.delete(path));
      expect(await backend.uploadFiles([[path, new Uint8Array([1])]])).toEqual([
        { path, error: "invalid_path" },
      ]);
      expect(await backend.downloadFiles([path])).toEqual([
        { path, content: null, error: "invalid_path" },
      ]);
    }
  });

  it("refuses symlinks that lead outside the root, for reads and writes alike", async () => {
    for (const path of [
      "/escape/secret.txt",
      "/secret-link.txt",
      "/docs/relative-escape.txt",
      "/abs-link/etc/hostname",
    ]) {
      expect(await refused(backend.read(path))).toMatch(/outside the mounted directory|not found/);
      await refused(backend.readRaw(path));
      await refused(backend.edit(path, "secret", "pwned"));
      expect((await backend.downloadFiles([path]))[0]?.content).toBeNull();
    }
    for (const path of [
      "/escape/new.txt",
      "/escape/deeper/new.txt",
      "/secret-link.txt",
      "/abs-link/tmp/agentstate-pwned.txt",
    ]) {
      expect(await refused(backend.write(path, "pwned"))).toMatch(/outside the mounted directory/);
      expect((await backend.uploadFiles([[path, new Uint8Array([1])]]))[0]?.error).toBe(
        "invalid_path",
      );
    }
    await refused(backend.ls("/escape"));
    expect(await refused(backend.grep("secret", "/escape"))).toMatch(
      /outside the mounted directory/,
    );
    expect(await refused(backend.glob("*", "/escape"))).toMatch(/outside the mounted directory/);
    expect(existsSync("/tmp/agentstate-pwned.txt")).toBe(false);
  });

  it("lists, globs and greps without following links out of the root", async () => {
    const listed = (await backend.ls("/")).files?.map((info) => info.path);
    expect(listed).toContain("/inside-link.md");
    expect(listed).toContain("/docs/");
    for (const hidden of [
      "/escape/",
      "/escape",
      "/secret-link.txt",
      "/abs-link/",
      "/loop",
      "/dangling-out.txt",
    ]) {
      expect(listed).not.toContain(hidden);
    }
    const globbed = (await backend.glob("**/*")).files?.map((info) => info.path) ?? [];
    expect(globbed.some((path) => path.includes("secret"))).toBe(false);
    expect((await backend.grep("secret", "/")).matches).toEqual([]);
  });

  it("follows links that stay inside the root", async () => {
    expect((await backend.read("/inside-link.md")).content).toBe("inside\n");
    expect(
      (await backend.edit("/inside-link.md", "inside", "edited via link")).error,
    ).toBeUndefined();
    expect(await readFile(join(root, "docs/real.md"), "utf8")).toBe("edited via link\n");
    expect((await backend.write("/inside-link.md", "written via link\n")).error).toBeUndefined();
    expect(await readFile(join(root, "docs/real.md"), "utf8")).toBe("written via link\n");
  });

  it("treats absolute paths as inside the root, never as host paths", async () => {
    const canary = `/tmp/agentstate-canary-${process.pid}.txt`;
    expect((await backend.read("/etc/hostname")).error).toBe("File '/etc/hostname' not found");
    expect((await backend.write(canary, "inside")).error).toBeUndefined();
    expect(existsSync(canary)).toBe(false);
    expect(await readFile(join(root, canary), "utf8")).toBe("inside");
  });

  it("does not hang on a FIFO and does not loop on a self-referencing link", async () => {
    if (existsSync(join(root, "pipe.txt")))
      expect(await refused(backend.read("/pipe.txt"))).toMatch(/not a regular file/);
    await refused(backend.read("/loop"));
  });

  it("replaces a dangling link that points outside instead of creating its target", async () => {
    expect((await backend.write("/dangling-out.txt", "contained")).error).toBeUndefined();
    expect(existsSync(join(outside, "not-yet.txt"))).toBe(false);
    expect(await readFile(join(root, "dangling-out.txt"), "utf8")).toBe("contained");
  });

  it("refuses the names it reserves for its own temp and lock files", async () => {
    await refused(backend.write("/x.agentstate-lock", "x"));
    await refused(backend.write("/x.agentstate-tmp", "x"));
  });

  it("left everything outside the root exactly as it was", async () => {
    const after = {
      ...(await snapshotTree(outside)),
      sibling: (await snapshotTree(parent))["sibling.txt"]!,
    };
    expect(after).toEqual(before);
  });

  it("never mentions a host path in an error", async () => {
    const hostPaths = [parent, root, await realpath(root), await realpath(outside)];
    expect(errors.length).toBeGreaterThan(100);
    for (const message of errors) for (const host of hostPaths) expect(message).not.toContain(host);
  });
});

describe("NFSBackend size caps and binary content", () => {
  it("refuses writes over maxWriteBytes and leaves nothing behind", async () => {
    const big = "x".repeat(1024 * 1024 + 1);
    expect(await refused(backend.write("/big/too-big.txt", big))).toMatch(
      /over the 1\.0 MiB write limit/,
    );
    // deepagents has no size code: permission_denied, with the reason in `message`.
    expect(
      (await backend.uploadFiles([["/big/too-big.bin", new Uint8Array(1024 * 1024 + 1)]]))[0],
    ).toMatchObject({ error: "permission_denied", message: expect.stringMatching(/write limit/) });
    expect(existsSync(join(root, "big/too-big.txt"))).toBe(false);
    expect(await leftovers(root)).toEqual([]);
  });

  it("pages through a text file larger than maxReadBytes by streaming it", async () => {
    const lines = Array.from({ length: 200_000 }, (_, i) => `log line ${i + 1} ${"-".repeat(40)}`);
    await writeFile(join(root, "huge.log"), `${lines.join("\n")}\n`);
    const page = await backend.read("/huge.log", 199_990, 5);
    expect(page).toMatchObject({
      totalLines: 200_000,
      startLine: 199_991,
      endLine: 199_995,
      nextOffset: 199_995,
    });
    expect(page.content).toBe(lines.slice(199_990, 199_995).join("\n"));
    expect(await refused(backend.readRaw("/huge.log"))).toMatch(/over the 1\.0 MiB limit/);
    expect(await refused(backend.edit("/huge.log", "log line 1 ", "x"))).toMatch(
      /over the 1\.0 MiB limit/,
    );
    expect((await backend.downloadFiles(["/huge.log"]))[0]).toMatchObject({
      content: null,
      error: "permission_denied",
      message: expect.stringMatching(/over the 1\.0 MiB limit/),
    });
    expect((await backend.grep("log line 7 ", "/")).matches).toEqual([]);
  });

  it("clips a single enormous line to the read cap", async () => {
    await writeFile(join(root, "one-line.txt"), "y".repeat(3 * 1024 * 1024));
    const page = await backend.read("/one-line.txt");
    expect(page.totalLines).toBe(1);
    expect((page.content as string).length).toBeLessThanOrEqual(1024 * 1024);
  });

  it("refuses binary reads over the cap and round-trips every byte value below it", async () => {
    await writeFile(join(root, "big.png"), new Uint8Array(1024 * 1024 + 10));
    expect(await refused(backend.read("/big.png"))).toMatch(/over the 1\.0 MiB limit/);
    const all = new Uint8Array(256).map((_, i) => i);
    expect(
      (await backend.write("/all.png", Buffer.from(all).toString("base64"))).error,
    ).toBeUndefined();
    expect([...(await readFile(join(root, "all.png")))]).toEqual([...all]);
    expect([...((await backend.read("/all.png")).content as Uint8Array)]).toEqual([...all]);
    await backend.uploadFiles([["/invalid-utf8.txt", new Uint8Array([0x66, 0xff, 0xfe, 0x6f])]]);
    expect((await backend.read("/invalid-utf8.txt")).content).toBe("f\ufffd\ufffdo");
  });
});

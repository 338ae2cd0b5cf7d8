// Bad input for archive/restore: damaged, truncated, altered, misplaced and newer-format files;
// a store that reads back wrong; a write racing the archive; hostile thread ids and file:// paths.
import { copyFile, mkdir, readFile, rename, symlink, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { getCheckpointer, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import { toolLoopGraph, userSays } from "../../checkpointer/test/graphs.js";
import {
  type ArchiveStore,
  archive,
  archiveKey,
  openArchiveStore,
  parseLocation,
  restore,
} from "../src/index.js";
import { rowCounts, snapshot, tempArchiveDir } from "./archive-support.js";
import { postgresReachable, runCli, testSaver, uniqueSchema } from "./helpers.js";

const pgUp = await postgresReachable();
const schema = uniqueSchema("archbad");
const cfg = (thread_id: string) => ({ configurable: { thread_id }, durability: "sync" as const });

let saver: PostgresCheckpointer;
let dispose: () => Promise<unknown>;
let dir: Awaited<ReturnType<typeof tempArchiveDir>>;
let other: Awaited<ReturnType<typeof tempArchiveDir>>;

beforeAll(async () => {
  if (pgUp) ({ saver, dispose } = await testSaver(schema));
  else {
    saver = await getCheckpointer({ dataDir: ":memory:" });
    dispose = () => saver.end();
  }
  [dir, other] = await Promise.all([tempArchiveDir("bad"), tempArchiveDir("other")]);
});
afterAll(async () => {
  await dispose();
  await Promise.all([dir.remove(), other.remove()]);
});

async function thread(id: string) {
  await toolLoopGraph(saver, 2).invoke(userSays("x"), cfg(id));
  return snapshot(saver, id);
}

/** Rewrites the (decompressed) file of `id` in `target` with `edit`. */
async function rewrite(target: string, id: string, edit: (text: string) => string) {
  const path = join(target, archiveKey(id));
  const text = gunzipSync(await readFile(path)).toString("utf8");
  await writeFile(path, gzipSync(Buffer.from(edit(text))));
}

it("damaged files never restore anything; the thread stays archived until a good copy comes", async () => {
  const before = await thread("dmg");
  const twin = await thread("twin");
  await archive(saver, { to: dir.url, threadIds: ["dmg", "twin"] });
  const key = archiveKey("dmg");
  const good = await readFile(join(dir.dir, key));
  const put = async (where: string, body: Uint8Array) => {
    await mkdir(join(where, key.slice(0, 2)), { recursive: true });
    await writeFile(join(where, key), body);
  };
  const attempt = async (from?: string) => (await restore(saver, ["dmg"], { from })).threads[0];

  const flipped = Buffer.from(good);
  flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] as number) ^ 0xff;
  await put(dir.dir, flipped); // in place: the archive index's sha256 catches it
  expect((await attempt())?.error?.code).toBe("ARCHIVE_CORRUPT");
  await put(other.dir, good.subarray(0, good.length - 100)); // truncated
  expect((await attempt(other.url))?.error).toMatchObject({
    code: "ARCHIVE_CORRUPT",
    message: expect.stringContaining("does not inflate"),
  });
  await put(other.dir, good);
  await rewrite(other.dir, "dmg", (t) => t.replace('"step": 1', '"step": 7')); // altered, re-gzipped
  expect((await attempt(other.url))?.error?.message).toMatch(/sha256/);
  await put(other.dir, good);
  await rewrite(other.dir, "dmg", (t) => t.replace('"formatVersion":1', '"formatVersion":2'));
  expect((await attempt(other.url))?.error).toMatchObject({
    code: "ARCHIVE_FORMAT_UNSUPPORTED",
    message: expect.stringContaining("Upgrade"),
  });
  await put(other.dir, await readFile(join(dir.dir, archiveKey("twin")))); // another thread's file
  expect((await attempt(other.url))?.error?.message).toContain('holds thread "twin"');
  await put(other.dir, Buffer.from("not gzip at all"));
  expect((await attempt(other.url))?.error?.code).toBe("ARCHIVE_CORRUPT");
  const empty = await tempArchiveDir("empty");
  expect((await attempt(empty.url))?.error?.code).toBe("ARCHIVE_NOT_FOUND");
  await empty.remove();

  expect(Object.values(await rowCounts(saver, "dmg"))).toEqual([0, 0, 0, 0, 0]);
  await expect(saver.getTuple(cfg("dmg"))).rejects.toMatchObject({ code: "ARCHIVED" });
  await put(other.dir, good);
  expect((await attempt(other.url))?.outcome).toBe("restored");
  expect(await snapshot(saver, "dmg")).toEqual(before);
  expect((await restore(saver, ["twin"])).restored).toBe(1);
  expect(await snapshot(saver, "twin")).toEqual(twin);
});

it("nothing is deleted when the store reads back wrong or a write races the archive", async () => {
  const before = await thread("rb");
  const real = await openArchiveStore(dir.url);
  const lying: ArchiveStore = {
    location: real.location,
    check: () => real.check(),
    put: (k, b) => real.put(k, b),
    get: async (k) => (await real.get(k))?.subarray(0, 40),
  };
  const r = await archive(saver, { to: lying, threadIds: ["rb"] });
  expect(r.threads[0]).toMatchObject({ outcome: "failed", error: { code: "ARCHIVE_CORRUPT" } });
  expect(await snapshot(saver, "rb")).toEqual(before);

  // PGlite is one connection: a write cannot interleave with the archive's transaction there.
  if (!pgUp) return;
  // A checkpoint lands after the file was written: the delete sees other rows and rolls back.
  const racing: ArchiveStore = {
    ...lying,
    get: (k) => real.get(k),
    put: async (k, b) => {
      await real.put(k, b);
      await saver.put(
        { configurable: { thread_id: "rb", checkpoint_ns: "" } },
        { ...emptyCheckpoint(), id: "1f9999999999999999999999999999999" },
        { source: "update", step: 99, parents: {} },
        {},
      );
    },
  };
  const raced = await archive(saver, { to: racing, threadIds: ["rb"] });
  expect(raced.threads[0]).toMatchObject({
    outcome: "skipped",
    reason: expect.stringContaining("written to while"),
  });
  const withLate = await snapshot(saver, "rb");
  expect(withLate.tuples).toHaveLength(before.tuples.length + 1);
  // The leftover file has no index row; the next run overwrites it with the current thread.
  expect((await archive(saver, { to: dir.url, threadIds: ["rb"] })).archived).toBe(1);
  await restore(saver, ["rb"]);
  expect(await snapshot(saver, "rb")).toEqual(withLate);
});

it("hostile thread ids round-trip and only ever become hashed file names", async () => {
  const ids = [
    "../../../../etc/passwd",
    "a/b\\c",
    "..",
    "line\nbreak",
    "ünï 😀",
    "x".repeat(500),
    "'; DROP TABLE x; --",
  ];
  const hostile = await tempArchiveDir("ids");
  const before = new Map<string, unknown>();
  for (const id of ids) before.set(id, await thread(id));
  const r = await archive(saver, { to: hostile.url, threadIds: ids });
  expect(r.archived).toBe(ids.length);
  const files = await hostile.files();
  expect(files).toHaveLength(ids.length);
  for (const f of files) expect(f).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{64}\.jsonl\.gz$/);
  const error = await saver.getTuple(cfg("line\nbreak")).catch((e: Error) => e);
  expect((error as Error).message).toContain(`"line\\nbreak"`);
  expect((error as Error).message).toContain("agentstate restore 'line\nbreak'");
  expect((await restore(saver, ids)).restored).toBe(ids.length);
  for (const id of ids) expect(await snapshot(saver, id)).toEqual(before.get(id));
  await hostile.remove();
});

it("hostile or wrong file:// locations are refused before anything is touched", async () => {
  const refused = [
    "file:///tmp/../etc",
    "file:///tmp/%2e%2e/etc",
    "file:///tmp/%2E%2E",
    "file:///tmp/a%2Fb",
    "file:///tmp/x%00y",
    "file:///tmp/x\\y",
    "file:///tmp/%E0%A4%A",
    "file://evil.example.com/share",
    "file:relative/dir",
    "file:/tmp/one-slash",
    "file:///tmp/q?x=1",
    "s3://Bad_Bucket/x",
    "s3://bucket/../x",
    "azure://ab/x",
  ];
  for (const url of refused) {
    expect(() => parseLocation(url), url).toThrow(
      expect.objectContaining({ code: "ARCHIVE_LOCATION" }),
    );
  }
  expect(parseLocation("file://localhost/tmp/a%20b/").location).toBe("file:///tmp/a%20b");
  await thread("loc");
  const notDir = join(dir.dir, "plain-file");
  await writeFile(notDir, "x");
  for (const to of ["file:///no/such/agentstate/dir", `file://${notDir}`]) {
    await expect(archive(saver, { to, threadIds: ["loc"] })).rejects.toMatchObject({
      code: "ARCHIVE_LOCATION",
    });
  }
  expect((await rowCounts(saver, "loc")).checkpoints).toBeGreaterThan(0);
});

it("symlinks planted at a thread's file name are replaced on write and never followed on read", async () => {
  const before = await thread("sym");
  const linked = await tempArchiveDir("sym");
  const victim = join(other.dir, "victim.txt");
  await writeFile(victim, "keep me");
  const path = join(linked.dir, archiveKey("sym"));
  await mkdir(join(path, ".."), { recursive: true });
  await symlink(victim, path);
  expect((await archive(saver, { to: linked.url, threadIds: ["sym"] })).archived).toBe(1);
  expect(await readFile(victim, "utf8")).toBe("keep me");
  // Swap the archived file for a link to a copy: restore refuses to follow it.
  const copy = join(other.dir, "copy.gz");
  await copyFile(path, copy);
  await unlink(path);
  await symlink(copy, path);
  expect((await restore(saver, ["sym"])).threads[0]?.error).toMatchObject({
    code: "ARCHIVE_LOCATION",
    message: expect.stringContaining("symbolic link"),
  });
  await rename(copy, path);
  expect((await restore(saver, ["sym"])).restored).toBe(1);
  expect(await snapshot(saver, "sym")).toEqual(before);
  await linked.remove();
});

describe.skipIf(!pgUp)("CLI", () => {
  it("usage errors exit 64; a bad location exits 1 with a coded JSON error; file:// round trip", async () => {
    const env = { AGENTSTATE_SCHEMA: schema };
    expect((await runCli(["archive", "t"], env)).code).toBe(64);
    expect((await runCli(["archive", "--to", dir.url], env)).code).toBe(64);
    expect((await runCli(["archive", "t", "--to", dir.url, "--state", "bogus"], env)).code).toBe(
      64,
    );
    const bad = await runCli(["archive", "t", "--to", "file:///tmp/../etc", "--json"], env);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error.code).toBe("ARCHIVE_LOCATION");

    const before = await thread("cli-file");
    const dry = await runCli(["archive", "cli-file", "nope", "--to", dir.url, "--dry-run"], env);
    expect(dry.code, dry.output).toBe(1); // "nope" is not found
    expect(dry.stdout).toMatch(/would archive\s+1/);
    expect(dry.stdout).toMatch(/nope\s+not_found/);
    expect(await snapshot(saver, "cli-file")).toEqual(before);
    const done = await runCli(["archive", "cli-file", "--to", dir.url], env);
    expect(done.code, done.output).toBe(0);
    expect(done.stdout).toMatch(/archived\s+1/);
    const again = await runCli(["restore", "cli-file", "cli-file", "never"], env);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/cli-file\s+restored/);
    expect(again.stdout).toContain("[NOT_ARCHIVED]");
    expect(await snapshot(saver, "cli-file")).toEqual(before);
  });
});

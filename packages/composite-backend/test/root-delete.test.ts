// Regression test (issue 14): one delete of "/" or of a route's root must not empty every backend.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type S3Server, startS3rver } from "@agentstate/test-support/blob-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BlobBackend,
  CompositeBackend,
  createCompositeBackend,
  NFSBackend,
  S3BlobStore,
} from "../src/index.js";
import { stateBackendWithoutGraph } from "./helpers/state.js";

let s3: S3Server;
const dirs: string[] = [];

beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await Promise.all([s3?.stop(), ...dirs.map((dir) => rm(dir, { recursive: true, force: true }))]);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "agentstate-rootdel-"));
  dirs.push(dir);
  return dir;
}

const blob = (prefix: string, allowRootDelete = false) =>
  new BlobBackend({
    store: new S3BlobStore({ bucket: s3.bucket, prefix, client: s3.client() }),
    allowRootDelete,
  });

/** A composite over graph state, a mounted directory and a bucket, each holding files. */
async function layout(allow: boolean, prefix: string) {
  const projectsDir = await tempDir();
  const state = stateBackendWithoutGraph();
  const uploads = blob(prefix, allow);
  const composite = new CompositeBackend(
    state,
    {
      "/projects/": new NFSBackend({ rootDir: projectsDir, allowRootDelete: allow }),
      "/uploads/": uploads,
      "/archive/old/": blob(`${prefix}archive/`, allow),
    },
    { allowRootDelete: allow },
  );
  for (const path of [
    "/scratch.md",
    "/projects/acme/report.md",
    "/uploads/report.txt",
    "/archive/old/2023.txt",
    "/archive/readme.md",
  ])
    expect((await composite.write(path, `content of ${path}\n`)).error).toBeUndefined();
  const counts = async () => ({
    state: Object.keys(state.files).length,
    disk: (await readdir(projectsDir)).filter((name) => !name.startsWith(".agentstate")).length,
    bucket: (await uploads.glob("**/*")).files?.length ?? 0,
  });
  return { composite, counts, projectsDir };
}

describe("CompositeBackend refuses deletes that would empty a whole backend", () => {
  it("refuses '/', each route root in either spelling, and a parent of a route", async () => {
    const { composite, counts } = await layout(false, "guarded/");
    const before = await counts();
    expect(before).toEqual({ state: 2, disk: 1, bucket: 2 });
    const refusals: Array<[string, RegExp]> = [
      ["/", /refusing to delete '\/': it would delete every file in every backend/],
      ["", /refusing to delete '\/'/],
      ["/projects/", /'\/projects': it is the root of route '\/projects\/'/],
      ["/projects", /root of route '\/projects\/'/],
      ["projects", /root of route '\/projects\/'/],
      ["/uploads/", /root of route '\/uploads\/'/],
      ["/archive/old", /root of route '\/archive\/old\/'/],
      ["/archive", /'\/archive': it contains the route '\/archive\/old\/'/],
    ];
    for (const [path, message] of refusals) {
      const result = await composite.delete(path);
      expect(result.error, path).toMatch(message);
      expect(result).not.toHaveProperty("path");
    }
    expect(await counts()).toEqual(before);
    expect((await composite.read("/archive/readme.md")).error).toBeUndefined();
  });

  it("still deletes files and folders inside a route", async () => {
    const { composite, counts } = await layout(false, "inside/");
    expect((await composite.delete("/projects/acme")).error).toBeUndefined();
    expect((await composite.delete("/uploads/report.txt")).error).toBeUndefined();
    expect((await composite.delete("/scratch.md")).error).toBeUndefined();
    expect(await counts()).toEqual({ state: 1, disk: 0, bucket: 1 });
  });

  it("empties everything only when the composite and its backends allow it", async () => {
    const { composite, counts, projectsDir } = await layout(true, "allowed/");
    expect((await composite.delete("/")).error).toBeUndefined();
    expect(await counts()).toEqual({ state: 0, disk: 0, bucket: 0 });
    expect(existsSync(projectsDir)).toBe(true); // the mount point itself stays
  });

  it("createCompositeBackend passes allowRootDelete on to the routes it builds", async () => {
    const rootDir = await tempDir();
    const guarded = createCompositeBackend({ routes: { "/p/": { type: "nfs", rootDir } } });
    await guarded.write("/p/a.txt", "a");
    expect((await guarded.delete("/p/")).error).toMatch(/refusing/);
    const allowed = createCompositeBackend({
      allowRootDelete: true,
      routes: { "/p/": { type: "nfs", rootDir } },
    });
    expect((await allowed.delete("/p/")).error).toBeUndefined();
    expect(await readdir(rootDir)).not.toContain("a.txt");
  });
});

describe("NFSBackend and BlobBackend guard their own root", () => {
  it("NFSBackend refuses delete('/') unless allowRootDelete", async () => {
    const rootDir = await tempDir();
    const guarded = new NFSBackend({ rootDir });
    await guarded.write("/docs/a.md", "a");
    for (const path of ["/", "", "."]) {
      expect((await guarded.delete(path)).error).toMatch(
        /refusing to delete '\/'.*allowRootDelete/,
      );
    }
    expect(existsSync(join(rootDir, "docs/a.md"))).toBe(true);
    expect((await new NFSBackend({ rootDir, allowRootDelete: true }).delete("/")).error).toBe(
      undefined,
    );
    expect((await readdir(rootDir)).filter((name) => !name.startsWith(".agentstate"))).toEqual([]);
  });

  it("BlobBackend refuses delete('/') unless allowRootDelete", async () => {
    const guarded = blob("own-root/");
    await guarded.write("/docs/a.md", "a");
    expect((await guarded.delete("/")).error).toMatch(/refusing to delete '\/'.*allowRootDelete/);
    expect((await guarded.glob("**/*")).files?.map((info) => info.path)).toEqual(["/docs/a.md"]);
    expect((await blob("own-root/", true).delete("/")).error).toBeUndefined();
    expect((await guarded.glob("**/*")).files).toEqual([]);
  });
});

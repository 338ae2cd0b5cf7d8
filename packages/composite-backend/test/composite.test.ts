import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closedPort } from "@agentstate/test-support/blob-servers";
import type { BackendProtocolV2 } from "deepagents";
import { CompositeBackend as DeepagentsComposite } from "deepagents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BlobBackend,
  CompositeBackend,
  CompositeBackendError,
  NFSBackend,
  S3BlobStore,
} from "../src/index.js";
import { stateBackendWithoutGraph } from "./helpers/state.js";

let projectsDir: string;
let docsDir: string;
let privateDir: string;
let state: ReturnType<typeof stateBackendWithoutGraph>;
let composite: CompositeBackend;

beforeAll(async () => {
  const made = (name: string) => mkdtemp(join(tmpdir(), `agentstate-${name}-`));
  [projectsDir, docsDir, privateDir] = await Promise.all([
    made("projects"),
    made("docs"),
    made("private"),
  ]);
  state = stateBackendWithoutGraph();
  composite = new CompositeBackend(state, {
    "/projects/": new NFSBackend({ rootDir: projectsDir }),
    "/docs/": new NFSBackend({ rootDir: docsDir }),
    "/docs/private/": new NFSBackend({ rootDir: privateDir }),
  });
  await composite.write("/projects/acme/report.md", "# Report\nrevenue up\n");
  await composite.write("/projects/acme/notes.txt", "revenue notes\n");
  await composite.write("/docs/guide.md", "revenue guide\n");
  await composite.write("/docs/private/salaries.md", "revenue secret\n");
  await composite.write("/scratch.md", "revenue scratch\n");
});

afterAll(async () => {
  await Promise.all(
    [projectsDir, docsDir, privateDir].map((dir) => rm(dir, { recursive: true, force: true })),
  );
});

const paths = (result: { files?: Array<{ path: string }> }) =>
  (result.files ?? []).map((info) => info.path).sort();

describe("routing", () => {
  it("sends each path to the longest matching prefix and stores it there", async () => {
    expect(await readFile(join(projectsDir, "acme/report.md"), "utf8")).toBe(
      "# Report\nrevenue up\n",
    );
    expect(await readFile(join(docsDir, "guide.md"), "utf8")).toBe("revenue guide\n");
    expect(await readFile(join(privateDir, "salaries.md"), "utf8")).toBe("revenue secret\n");
    expect(existsSync(join(docsDir, "private"))).toBe(false);
    expect(Object.keys(state.files)).toEqual(["/scratch.md"]);
  });

  it("normalises paths before routing (relative, doubled slashes, dot segments)", async () => {
    expect(await composite.write("projects//acme/./norm.txt", "n")).toMatchObject({
      path: "/projects/acme/norm.txt",
    });
    expect(await readFile(join(projectsDir, "acme/norm.txt"), "utf8")).toBe("n");
    expect((await composite.read("/projects/acme/../../etc/passwd")).error).toMatch(
      /invalid path/i,
    );
  });

  it("exposes routePrefixes, most specific first, and is recognised by deepagents as a composite", () => {
    expect(composite.routePrefixes).toEqual(["/docs/private/", "/docs/", "/projects/"]);
    expect(DeepagentsComposite.isInstance(composite)).toBe(true);
  });

  it("turns a throwing backend into an { error } result instead of ending the run", async () => {
    const throwing: BackendProtocolV2 = {
      ls: () => {
        throw new Error("boom ls");
      },
      read: () => {
        throw new Error("boom read");
      },
      readRaw: () => Promise.reject(new Error("boom readRaw")),
      write: () => {
        throw new Error("boom write");
      },
      edit: () => {
        throw new Error("boom edit");
      },
      grep: () => {
        throw new Error("boom grep");
      },
      glob: () => {
        throw new Error("boom glob");
      },
    };
    const backend = new CompositeBackend(stateBackendWithoutGraph(), { "/bad/": throwing });
    expect((await backend.read("/bad/x.txt")).error).toContain("boom read");
    expect((await backend.write("/bad/x.txt", "x")).error).toContain("boom write");
    expect((await backend.readRaw("/bad/x.txt")).error).toContain("boom readRaw");
    expect((await backend.ls("/bad")).error).toContain("boom ls");
    expect((await backend.grep("x", "/")).error).toContain("boom grep");
    expect((await backend.glob("**/*", "/")).error).toContain("boom glob");
    // "*" at the root cannot match anything inside /bad/, so that route is not even asked.
    expect(await backend.glob("*", "/")).toEqual({ files: [] });
  });
});

describe("deepagents CompositeBackend defects, absent here", () => {
  it("validates route prefixes: '/abcd' is refused, and '/abcd/' never captures '/abcde/...'", async () => {
    const make = (prefix: string) => () =>
      new CompositeBackend(stateBackendWithoutGraph(), { [prefix]: stateBackendWithoutGraph() });
    for (const bad of ["/abcd", "abcd/", "/", "//x/", "/a/../b/", "/a/./b/", "/a//b/"]) {
      expect(make(bad)).toThrowError(CompositeBackendError);
    }
    expect(make("/abcd")).toThrowError(/did you mean "\/abcd\/"/);
    const routed = await mkdtemp(join(tmpdir(), "agentstate-abcd-"));
    const fallback = stateBackendWithoutGraph();
    const backend = new CompositeBackend(fallback, {
      "/abcd/": new NFSBackend({ rootDir: routed }),
    });
    await backend.write("/abcde/file.txt", "default");
    await backend.write("/abcd/file.txt", "route");
    expect(Object.keys(fallback.files)).toEqual(["/abcde/file.txt"]);
    expect(await readFile(join(routed, "file.txt"), "utf8")).toBe("route");
    expect(existsSync(join(routed, "e"))).toBe(false);
    await rm(routed, { recursive: true });
  });

  it("puts the full path in write and edit results and in error messages", async () => {
    expect(await composite.write("/projects/acme/full.md", "one two two\n")).toMatchObject({
      path: "/projects/acme/full.md",
    });
    expect(await composite.edit("/projects/acme/full.md", "one", "1")).toMatchObject({
      path: "/projects/acme/full.md",
      occurrences: 1,
    });
    const ambiguous = await composite.edit("/projects/acme/full.md", "two", "2");
    expect(ambiguous.error).toContain("'/projects/acme/full.md'");
    const missing = await composite.read("/projects/acme/missing.md");
    expect(missing.error).toContain("'/projects/acme/missing.md'");
    expect(missing.error).not.toMatch(/'\/acme\//);
    const directory = await composite.read("/projects");
    expect(directory.error).toContain("'/projects'");
    expect((await composite.edit("/docs/private/none.md", "a", "b")).error).toContain(
      "'/docs/private/none.md'",
    );
  });

  it("strips the route prefix from glob patterns (absolute, relative and across routes)", async () => {
    expect(paths(await composite.glob("/projects/**/*.md"))).toEqual([
      "/projects/acme/full.md",
      "/projects/acme/report.md",
    ]);
    expect(paths(await composite.glob("/projects/acme/*.txt", "/projects"))).toEqual([
      "/projects/acme/norm.txt",
      "/projects/acme/notes.txt",
    ]);
    expect(paths(await composite.glob("projects/*/report.md"))).toEqual([
      "/projects/acme/report.md",
    ]);
    expect(paths(await composite.glob("**/*.md"))).toEqual([
      "/docs/guide.md",
      "/docs/private/salaries.md",
      "/projects/acme/full.md",
      "/projects/acme/report.md",
      "/scratch.md",
    ]);
    expect(paths(await composite.glob("*/private/*.md", "/docs/.."))).toEqual([]);
    expect(paths(await composite.glob("private/*.md", "/docs"))).toEqual([
      "/docs/private/salaries.md",
    ]);
    expect(paths(await composite.glob("**/salaries.md", "/docs"))).toEqual([
      "/docs/private/salaries.md",
    ]);
  });

  it("reports a failing route the same way in grep and glob, keeping the other routes' results", async () => {
    const port = await closedPort();
    const store = new S3BlobStore({
      bucket: "down",
      clientConfig: {
        endpoint: `http://127.0.0.1:${port}`,
        region: "us-east-1",
        forcePathStyle: true,
        maxAttempts: 1,
        credentials: { accessKeyId: "x", secretAccessKey: "x" },
      },
    });
    const root = await mkdtemp(join(tmpdir(), "agentstate-up-"));
    const backend = new CompositeBackend(stateBackendWithoutGraph(), {
      "/up/": new NFSBackend({ rootDir: root }),
      "/broken/": new BlobBackend({ store }),
    });
    await backend.write("/up/a.md", "needle\n");
    const grep = await backend.grep("needle", "/");
    const glob = await backend.glob("**/*.md", "/");
    for (const result of [grep, glob]) {
      expect(result.error).toMatch(/route '\/broken\/'/);
      expect(result.truncated).toBe(true);
    }
    expect(grep.matches).toEqual([{ path: "/up/a.md", line: 1, text: "needle" }]);
    expect(paths(glob)).toEqual(["/up/a.md"]);
    await rm(root, { recursive: true });
  });

  it("returns per-file errors for a route without uploadFiles/downloadFiles instead of throwing", async () => {
    const root = await mkdtemp(join(tmpdir(), "agentstate-ro-"));
    const nfs = new NFSBackend({ rootDir: root });
    const minimal: BackendProtocolV2 = {
      ls: (p) => nfs.ls(p),
      read: (p, o, l) => nfs.read(p, o, l),
      readRaw: (p) => nfs.readRaw(p),
      write: (p, c) => nfs.write(p, c),
      edit: (p, a, b, all) => nfs.edit(p, a, b, all),
      grep: (p, d, g, m) => nfs.grep(p, d, g, m),
      glob: (p, d) => nfs.glob(p, d),
    };
    const backend = new CompositeBackend(stateBackendWithoutGraph(), {
      "/minimal/": minimal,
      "/full/": new NFSBackend({ rootDir: await mkdtemp(join(tmpdir(), "agentstate-full-")) }),
    });
    const data = new TextEncoder().encode("bytes");
    expect(
      await backend.uploadFiles([
        ["/minimal/a.txt", data],
        ["/full/b.txt", data],
        ["/full/../x", data],
      ]),
    ).toEqual([
      { path: "/minimal/a.txt", error: "permission_denied" },
      { path: "/full/b.txt", error: null },
      { path: "/full/../x", error: "invalid_path" },
    ]);
    const downloads = await backend.downloadFiles([
      "/minimal/a.txt",
      "/full/b.txt",
      "/full/none.txt",
    ]);
    expect(downloads[0]).toEqual({
      path: "/minimal/a.txt",
      content: null,
      error: "permission_denied",
    });
    expect(new TextDecoder().decode(downloads[1]!.content!)).toBe("bytes");
    expect(downloads[2]).toEqual({
      path: "/full/none.txt",
      content: null,
      error: "file_not_found",
    });
    expect((await backend.delete("/minimal/a.txt")).error).toMatch(/does not support deletion/);
    await rm(root, { recursive: true });
  });
});

describe("parent paths merge the routes beneath them", () => {
  it("ls shows mount points as directories, nested ones at the right level", async () => {
    const top = await composite.ls("/");
    expect(top.files?.map(({ path, is_dir }) => `${path}${is_dir ? " (dir)" : ""}`)).toEqual([
      "/docs/ (dir)",
      "/projects/ (dir)",
      "/scratch.md",
    ]);
    expect(paths(await composite.ls("/docs"))).toEqual(["/docs/guide.md", "/docs/private/"]);
    expect(paths(await composite.ls("/docs/private/"))).toEqual(["/docs/private/salaries.md"]);
  });

  it("grep from the root searches every route, in order, and honours maxCount across them", async () => {
    const all = await composite.grep("revenue", "/");
    expect(all.matches?.map((m) => m.path)).toEqual([
      "/scratch.md",
      "/docs/private/salaries.md",
      "/docs/guide.md",
      "/projects/acme/notes.txt",
      "/projects/acme/report.md",
    ]);
    const capped = await composite.grep("revenue", "/", null, 2);
    expect(capped.matches).toHaveLength(2);
    expect(capped.truncated).toBe(true);
    expect((await composite.grep("revenue", "/docs", "*.md")).matches?.map((m) => m.path)).toEqual([
      "/docs/guide.md",
      "/docs/private/salaries.md",
    ]);
  });

  it("delete of a parent removes its part in every backend beneath (when root deletes are allowed)", async () => {
    await composite.write("/docs/tmp/a.md", "a");
    await composite.write("/docs/private/tmp.md", "b");
    const fresh = new CompositeBackend(
      stateBackendWithoutGraph(),
      {
        "/docs/": new NFSBackend({ rootDir: docsDir, allowRootDelete: true }),
        "/docs/private/": new NFSBackend({ rootDir: privateDir, allowRootDelete: true }),
      },
      { allowRootDelete: true },
    );
    expect(await fresh.delete("/docs")).toEqual({ path: "/docs" });
    expect(paths(await fresh.ls("/docs"))).toEqual(["/docs/private/"]);
    expect(paths(await fresh.ls("/docs/private"))).toEqual([]);
    expect(existsSync(docsDir) && existsSync(privateDir)).toBe(true);
  });
});

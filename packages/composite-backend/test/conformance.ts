import type { BackendProtocolV2, FileInfo, GrepMatch } from "deepagents";
import { beforeAll, describe, expect, it } from "vitest";

export interface ConformanceTarget {
  backend: BackendProtocolV2;
  /** Directory the suite works under, e.g. "/" or "/projects/" for a routed backend. */
  base: string;
}

export interface ConformanceOptions {
  setup: () => Promise<ConformanceTarget>;
  /** Rejects `..` and friends (ours do; deepagents' StateBackend stores any key). */
  validatesPaths: boolean;
  /** Understands absolute glob patterns (anchored at the backend's root). */
  absoluteGlobs: boolean;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const toBase64 = (data: Uint8Array) => Buffer.from(data).toString("base64");
const sortedPaths = (infos: FileInfo[] | undefined) =>
  (infos ?? []).map((info) => info.path).sort();
const sortedMatches = (matches: GrepMatch[] | undefined) =>
  (matches ?? []).map((m) => `${m.path}:${m.line}:${m.text}`).sort();

/**
 * The protocol semantics every backend must share (deepagents' StateBackend is the reference:
 * this suite runs against it too). Each test works in its own directory under `base`.
 */
export function describeConformance(name: string, options: ConformanceOptions): void {
  describe(`${name}: BackendProtocolV2 conformance`, () => {
    let backend: BackendProtocolV2;
    let base: string;
    let counter = 0;
    /** A fresh directory for one test, e.g. "/projects/c7". */
    const freshDir = () => `${base}c${++counter}`;

    beforeAll(async () => {
      ({ backend, base } = await options.setup());
    });

    it("writes and reads text with deepagents' line window metadata", async () => {
      const file = `${freshDir()}/notes.txt`;
      expect(await backend.write(file, "a\nb\nc\n")).toMatchObject({ path: file });
      expect(await backend.read(file)).toMatchObject({
        content: "a\nb\nc\n",
        mimeType: "text/plain",
        totalLines: 3,
        startLine: 1,
        endLine: 3,
      });
      expect((await backend.read(file)).nextOffset).toBeUndefined();
    });

    it("pages with offset and limit", async () => {
      const file = `${freshDir()}/ten.txt`;
      const lines = Array.from({ length: 10 }, (_, i) => `line ${i + 1}`);
      await backend.write(file, lines.join("\n"));
      const page = await backend.read(file, 3, 4);
      expect(page).toMatchObject({
        content: "line 4\nline 5\nline 6\nline 7",
        startLine: 4,
        endLine: 7,
        totalLines: 10,
        nextOffset: 7,
      });
      const last = await backend.read(file, 8, 100);
      expect(last).toMatchObject({ content: "line 9\nline 10", startLine: 9, endLine: 10 });
      expect(last.nextOffset).toBeUndefined();
      const past = await backend.read(file, 50, 10);
      expect(past.error).toBeUndefined();
      expect(past.content).toBe("");
      expect(past.startLine).toBeUndefined();
    });

    it("reports a missing file with its full path", async () => {
      const file = `${freshDir()}/missing.txt`;
      const result = await backend.read(file);
      expect(result.content).toBeUndefined();
      expect(result.error).toContain(file);
      expect((await backend.readRaw(file)).error).toContain(file);
    });

    it("reads an empty file as empty content", async () => {
      const file = `${freshDir()}/empty.txt`;
      await backend.write(file, "");
      expect(await backend.read(file)).toMatchObject({ content: "" });
    });

    it("derives MIME types from the extension", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/doc.md`, "# title\n");
      await backend.write(`${dir}/data.json`, "{}\n");
      expect((await backend.read(`${dir}/doc.md`)).mimeType).toBe("text/markdown");
      expect((await backend.read(`${dir}/data.json`)).mimeType).toBe("application/json");
    });

    it("overwrites, and keeps unicode and CRLF intact", async () => {
      const file = `${freshDir()}/text.txt`;
      await backend.write(file, "old");
      await backend.write(file, "héllo wörld ✓\r\nsecond\r\n");
      expect((await backend.read(file)).content).toBe("héllo wörld ✓\r\nsecond\r\n");
      const raw = await backend.readRaw(file);
      expect(raw.data?.content).toBe("héllo wörld ✓\r\nsecond\r\n");
      expect(typeof raw.data?.modified_at).toBe("string");
    });

    it("stores binary types from base64 and returns raw bytes", async () => {
      const file = `${freshDir()}/pixel.png`;
      const data = bytes(0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0x10, 0x0a);
      expect((await backend.write(file, toBase64(data))).error).toBeUndefined();
      const read = await backend.read(file, 5, 1);
      expect(read.mimeType).toBe("image/png");
      expect(read.content).toBeInstanceOf(Uint8Array);
      expect([...(read.content as Uint8Array)]).toEqual([...data]);
      const raw = await backend.readRaw(file);
      expect(raw.data?.content).toBeInstanceOf(Uint8Array);
      expect([...(raw.data!.content as Uint8Array)]).toEqual([...data]);
      const [download] = await backend.downloadFiles!([file]);
      expect([...(download!.content ?? [])]).toEqual([...data]);
      const listing = await backend.ls(file.slice(0, file.lastIndexOf("/")));
      expect(listing.files?.find((info) => info.path === file)?.size).toBe(data.byteLength);
    });

    it("refuses content that is not base64 for a binary type", async () => {
      const file = `${freshDir()}/bad.pdf`;
      expect((await backend.write(file, "this is *not* base64!")).error).toBeDefined();
      expect((await backend.read(file)).error).toBeDefined();
    });

    it("edits a unique string and reports one occurrence", async () => {
      const file = `${freshDir()}/edit.md`;
      await backend.write(file, "alpha beta gamma\n");
      expect(await backend.edit(file, "beta", "BETA")).toMatchObject({
        path: file,
        occurrences: 1,
      });
      expect((await backend.read(file)).content).toBe("alpha BETA gamma\n");
    });

    it("refuses an ambiguous edit unless replaceAll, then replaces all", async () => {
      const file = `${freshDir()}/many.txt`;
      await backend.write(file, "x-x-x\n");
      const refused = await backend.edit(file, "x", "y");
      expect(refused.error).toContain("3");
      expect(refused.occurrences).toBeUndefined();
      expect((await backend.read(file)).content).toBe("x-x-x\n");
      expect(await backend.edit(file, "x", "y", true)).toMatchObject({ occurrences: 3 });
      expect((await backend.read(file)).content).toBe("y-y-y\n");
    });

    it("refuses edits of missing strings and missing files", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/a.txt`, "content\n");
      expect((await backend.edit(`${dir}/a.txt`, "absent", "x")).error).toBeDefined();
      expect((await backend.edit(`${dir}/a.txt`, "", "x")).error).toBeDefined();
      expect((await backend.read(`${dir}/a.txt`)).content).toBe("content\n");
      const missing = await backend.edit(`${dir}/nope.txt`, "a", "b");
      expect(missing.error).toContain(`${dir}/nope.txt`);
    });

    it("seeds an empty file through an edit with an empty old string", async () => {
      const file = `${freshDir()}/seed.txt`;
      await backend.write(file, "");
      expect((await backend.edit(file, "", "seeded\n")).error).toBeUndefined();
      expect((await backend.read(file)).content).toBe("seeded\n");
    });

    it("lists one level with directories marked", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/a.txt`, "12345");
      await backend.write(`${dir}/b/c.txt`, "c");
      await backend.write(`${dir}/b/d/e.txt`, "e");
      const top = await backend.ls(dir);
      expect(top.error).toBeUndefined();
      expect(top.files?.map(({ path, is_dir }) => ({ path, is_dir }))).toEqual([
        { path: `${dir}/a.txt`, is_dir: false },
        { path: `${dir}/b/`, is_dir: true },
      ]);
      expect(top.files?.[0]?.size).toBe(5);
      expect(sortedPaths((await backend.ls(`${dir}/b`)).files)).toEqual([
        `${dir}/b/c.txt`,
        `${dir}/b/d/`,
      ]);
      expect(await backend.ls(`${dir}/nothing-here`)).toEqual({ files: [] });
    });

    it("globs relative to the search path", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/a.txt`, "a");
      await backend.write(`${dir}/b/c.txt`, "c");
      await backend.write(`${dir}/b/d/e.txt`, "e");
      await backend.write(`${dir}/b/d/f.md`, "f");
      expect(sortedPaths((await backend.glob("*.txt", dir)).files)).toEqual([`${dir}/a.txt`]);
      expect(sortedPaths((await backend.glob("**/*.txt", dir)).files)).toEqual([
        `${dir}/a.txt`,
        `${dir}/b/c.txt`,
        `${dir}/b/d/e.txt`,
      ]);
      expect(sortedPaths((await backend.glob("*.txt", `${dir}/b`)).files)).toEqual([
        `${dir}/b/c.txt`,
      ]);
      expect(sortedPaths((await backend.glob("**/*.{md,txt}", `${dir}/b/d`)).files)).toEqual([
        `${dir}/b/d/e.txt`,
        `${dir}/b/d/f.md`,
      ]);
      expect((await backend.glob("*.zip", dir)).files).toEqual([]);
      const info = (await backend.glob("a.txt", dir)).files?.[0];
      expect(info).toMatchObject({ path: `${dir}/a.txt`, is_dir: false, size: 1 });
    });

    if (options.absoluteGlobs) {
      it("anchors absolute glob patterns at the root", async () => {
        const dir = freshDir();
        await backend.write(`${dir}/x/one.md`, "1");
        await backend.write(`${dir}/y/two.md`, "2");
        expect(sortedPaths((await backend.glob(`${dir}/x/*.md`)).files)).toEqual([
          `${dir}/x/one.md`,
        ]);
        expect(sortedPaths((await backend.glob(`${dir}/**/*.md`, `${dir}/y`)).files)).toEqual([
          `${dir}/y/two.md`,
        ]);
      });
    }

    it("greps literally, filters by glob and path, skips binary files", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/notes.md`, "alpha\nbeta a.b\n(gamma\n");
      await backend.write(`${dir}/sub/other.txt`, "a.b again\naxb not literal\n");
      await backend.write(`${dir}/sub/image.png`, toBase64(new TextEncoder().encode("alpha a.b")));
      expect(sortedMatches((await backend.grep("a.b", dir)).matches)).toEqual([
        `${dir}/notes.md:2:beta a.b`,
        `${dir}/sub/other.txt:1:a.b again`,
      ]);
      expect(sortedMatches((await backend.grep("(gamma", dir)).matches)).toEqual([
        `${dir}/notes.md:3:(gamma`,
      ]);
      expect(sortedMatches((await backend.grep("a.b", dir, "*.md")).matches)).toEqual([
        `${dir}/notes.md:2:beta a.b`,
      ]);
      expect(sortedMatches((await backend.grep("a.b", `${dir}/sub`)).matches)).toEqual([
        `${dir}/sub/other.txt:1:a.b again`,
      ]);
      expect(sortedMatches((await backend.grep("a", `${dir}/notes.md`)).matches)).toHaveLength(3);
      expect(sortedMatches((await backend.grep("alpha", dir)).matches)).toEqual([
        `${dir}/notes.md:1:alpha`,
      ]);
      expect(await backend.grep("no such text", dir)).toMatchObject({ matches: [] });
      expect(await backend.grep("alpha", `${dir}/missing-dir`)).toMatchObject({ matches: [] });
      expect(await backend.glob("**/*", `${dir}/missing-dir`)).toMatchObject({ files: [] });
    });

    it("caps grep at maxCount and says the result is truncated", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/a.txt`, "hit\nhit\nhit\n");
      await backend.write(`${dir}/b.txt`, "hit\n");
      const capped = await backend.grep("hit", dir, null, 2);
      expect(capped.matches).toHaveLength(2);
      expect(capped.truncated).toBe(true);
      const all = await backend.grep("hit", dir, null, 10);
      expect(all.matches).toHaveLength(4);
      expect(all.truncated).toBeFalsy();
    });

    it("deletes files and directories recursively", async () => {
      const dir = freshDir();
      await backend.write(`${dir}/keep.txt`, "k");
      await backend.write(`${dir}/gone.txt`, "g");
      await backend.write(`${dir}/tree/a.txt`, "a");
      await backend.write(`${dir}/tree/deep/b.txt`, "b");
      expect(await backend.delete!(`${dir}/gone.txt`)).toMatchObject({ path: `${dir}/gone.txt` });
      expect((await backend.read(`${dir}/gone.txt`)).error).toBeDefined();
      expect((await backend.delete!(`${dir}/tree`)).error).toBeUndefined();
      expect(sortedPaths((await backend.ls(dir)).files)).toEqual([`${dir}/keep.txt`]);
      expect((await backend.delete!(`${dir}/never-existed`)).error).toBeDefined();
    });

    it("uploads and downloads bytes, with per-file error codes", async () => {
      const dir = freshDir();
      const text = new TextEncoder().encode("uploaded text\n");
      const blob = bytes(0, 1, 2, 253, 254, 255);
      const uploaded = await backend.uploadFiles!([
        [`${dir}/up.txt`, text],
        [`${dir}/deep/er/blob.pdf`, blob],
      ]);
      expect(uploaded).toEqual([
        { path: `${dir}/up.txt`, error: null },
        { path: `${dir}/deep/er/blob.pdf`, error: null },
      ]);
      expect((await backend.read(`${dir}/up.txt`)).content).toBe("uploaded text\n");
      const downloaded = await backend.downloadFiles!([
        `${dir}/up.txt`,
        `${dir}/deep/er/blob.pdf`,
        `${dir}/absent.txt`,
      ]);
      expect([...(downloaded[0]?.content ?? [])]).toEqual([...text]);
      expect([...(downloaded[1]?.content ?? [])]).toEqual([...blob]);
      expect(downloaded[2]).toEqual({
        path: `${dir}/absent.txt`,
        content: null,
        error: "file_not_found",
      });
    });

    if (options.validatesPaths) {
      it("rejects traversal in every operation", async () => {
        const dir = freshDir();
        const bad = `${dir}/../../../etc/passwd`;
        expect((await backend.read(bad)).error).toMatch(/invalid path/i);
        expect((await backend.write(bad, "x")).error).toMatch(/invalid path/i);
        expect((await backend.edit(bad, "a", "b")).error).toMatch(/invalid path/i);
        expect((await backend.ls(`${dir}/..`)).error).toMatch(/invalid path/i);
        expect((await backend.uploadFiles!([[bad, bytes(1)]]))[0]?.error).toBe("invalid_path");
        expect((await backend.downloadFiles!([bad]))[0]?.error).toBe("invalid_path");
      });
    }
  });
}

import type { BackendRuntime } from "deepagents";
import { StateBackend } from "deepagents";
import { describe, expect, it } from "vitest";
import { rebasePattern, relativePatterns } from "../src/glob.js";
import { CompositeBackendError } from "../src/index.js";
import { mimeTypeOf } from "../src/mime.js";
import { parseVirtualPath } from "../src/paths.js";
import { grepText, paginateText, replaceExact } from "../src/text.js";

/** deepagents' StateBackend over one in-memory file: the reference for read/edit semantics. */
function reference(content: string, path = "/f.txt") {
  const file = { content, mimeType: "text/plain", created_at: "", modified_at: "" };
  return new StateBackend({ state: { files: { [path]: file } } } as unknown as BackendRuntime);
}

describe("text semantics match deepagents' StateBackend exactly", () => {
  const contents = ["", "\n", "a", "a\n", "a\nb", "a\nb\n", "a\n\nb\n\n", "x\r\ny\r\n", "é\n✓\n"];
  const windows: Array<[number, number]> = [
    [0, 500],
    [0, 1],
    [0, 2],
    [0, 0],
    [1, 1],
    [1, 500],
    [2, 1],
    [5, 5],
    [-3, 2],
    [1.7, 1.2],
    [Number.NaN, 3],
  ];
  it.each(contents)("paginates %j like StateBackend.read for every window", (content) => {
    for (const [offset, limit] of windows) {
      expect(paginateText(content, "text/plain", offset, limit)).toEqual(
        reference(content).read("/f.txt", offset, limit),
      );
    }
  });

  it("replaces like StateBackend.edit: same outcomes and occurrence counts", () => {
    const cases: Array<[string, string, string, boolean]> = [
      ["", "", "seed", false],
      ["abc", "", "x", false],
      ["abc", "z", "x", false],
      ["a-a-a", "a", "b", false],
      ["a-a-a", "a", "b", true],
      ["one two", "two", "2", false],
    ];
    for (const [content, oldString, newString, all] of cases) {
      const ours = replaceExact(content, oldString, newString, all, "/f.txt");
      const theirs = reference(content).edit("/f.txt", oldString, newString, all);
      expect(ours.ok).toBe(theirs.error === undefined);
      if (ours.ok) expect(ours.occurrences).toBe(theirs.occurrences);
    }
  });

  it("greps lines exactly like a split-every-line scan", () => {
    const naive = (content: string, pattern: string) =>
      content
        .split("\n")
        .map((text, i) => ({ path: "/f.txt", line: i + 1, text }))
        .filter((match) => match.text.includes(pattern));
    const alphabet = ["a", "b", "ab", "\n", "\r\n", " ", "é"];
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 300; round++) {
      const content = Array.from(
        { length: Math.floor(random() * 40) },
        () => alphabet[Math.floor(random() * alphabet.length)],
      ).join("");
      for (const pattern of ["a", "ab", "b a", "", "\r", "a\nb", "zz"]) {
        const expected = pattern.includes("\n") ? [] : naive(content, pattern);
        expect(
          grepText("/f.txt", content, pattern, Number.POSITIVE_INFINITY),
          JSON.stringify({ content, pattern }),
        ).toEqual(expected);
        expect(grepText("/f.txt", content, pattern, 2)).toEqual(expected.slice(0, 2));
      }
    }
  });

  it("classifies extensions as deepagents does (text vs binary, MIME type)", () => {
    for (const name of [
      "a.png",
      "a.JPG",
      "a.pdf",
      "a.pptx",
      "a.mp4",
      "a.md",
      "a.json",
      "a.svg",
      "a.ts",
      "a.zip",
      "Makefile",
      ".env",
      "a.tar.gz",
    ]) {
      const backend = new StateBackend({ state: { files: {} } } as unknown as BackendRuntime);
      const written = backend.write(`/${name}`, "AAAA");
      const data = written.filesUpdate?.[`/${name}`] as { mimeType: string };
      expect(mimeTypeOf(`/${name}`), name).toBe(data.mimeType);
    }
  });
});

describe("virtual paths", () => {
  it("normalises harmless forms", () => {
    expect(parseVirtualPath("a//b/./c/")).toEqual({ segments: ["a", "b", "c"], path: "/a/b/c" });
    expect(parseVirtualPath("/")).toEqual({ segments: [], path: "/" });
    expect(parseVirtualPath("100%25 done.txt")).toMatchObject({ path: "/100%25 done.txt" });
    expect(parseVirtualPath("~/notes")).toMatchObject({ path: "/~/notes" });
  });

  it.each([
    "..",
    "a/../b",
    "%2e%2e",
    "%252E%252E/x",
    "a%2fb",
    "a%5cb",
    "．．",
    "a\\b",
    "a\u0000b",
    "a\nb",
    `${"x".repeat(256)}/y`,
    "x".repeat(5000),
  ])("rejects %j", (input) => {
    expect(parseVirtualPath(input)).toBeInstanceOf(CompositeBackendError);
  });
});

describe("glob pattern rebasing (how route prefixes are stripped from patterns)", () => {
  it.each([
    [["projects"], "**/*.md", ["**/*.md"]],
    [["projects"], "projects/**/*.md", ["**/*.md"]],
    [["projects"], "projects/*/report.md", ["*/report.md"]],
    [["projects"], "p*/*.md", ["*.md"]],
    [["projects"], "docs/*.md", []],
    [["projects"], "*.md", []],
    [["projects"], "projects", []],
    [["a", "b"], "**/b/*.md", ["**/b/*.md", "*.md"]],
    [["a", "b"], "*/b/**", ["**"]],
    [[], "x/*.md", ["x/*.md"]],
  ])("under %j, %s selects %j", (prefix, pattern, expected) => {
    expect(rebasePattern(prefix, pattern.split("/")).sort()).toEqual([...expected].sort());
  });

  it("anchors absolute patterns at the root and expands braces first", () => {
    expect(relativePatterns("/x/**/*.md", ["x"])).toEqual(["**/*.md"]);
    expect(relativePatterns("/y/*.md", ["x"])).toEqual([]);
    expect(relativePatterns("/{x,y}/*.md", ["x"])).toEqual(["*.md"]);
    expect(relativePatterns("*.md", ["x"])).toEqual(["*.md"]);
  });
});

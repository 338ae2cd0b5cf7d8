import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type S3Server, startS3rver } from "@agentstate/test-support/blob-servers";
import type { BackendProtocolV2 } from "deepagents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BlobBackend, NFSBackend, S3BlobStore } from "../src/index.js";

let s3: S3Server;
let root: string;

beforeAll(async () => {
  [s3, root] = await Promise.all([startS3rver(), mkdtemp(join(tmpdir(), "agentstate-bounds-"))]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), rm(root, { recursive: true, force: true })]);
});

const limits = { maxListEntries: 10, maxGlobResults: 5 };
const cases: Array<{ name: string; make: () => BackendProtocolV2 }> = [
  {
    name: "NFSBackend",
    make: () =>
      new NFSBackend({ rootDir: root, ...limits, maxGrepFiles: 4, maxWalkEntries: 1_000 }),
  },
  {
    name: "BlobBackend (S3, paged listings)",
    make: () =>
      new BlobBackend({
        store: new S3BlobStore({ bucket: s3.bucket, prefix: "bounds/", client: s3.client() }),
        ...limits,
        maxGrepObjects: 4,
      }),
  },
];

describe.each(cases)("$name keeps listings and searches bounded", ({ make }) => {
  let backend: BackendProtocolV2;
  beforeAll(async () => {
    backend = make();
    for (let i = 0; i < 30; i++)
      await backend.write(`/many/f${String(i).padStart(2, "0")}.txt`, `match ${i}\n`);
  });

  it("ls returns the first maxListEntries entries and says the listing is partial", async () => {
    const listing = await backend.ls("/many");
    expect(listing.files?.map((info) => info.path)).toEqual(
      Array.from({ length: 10 }, (_, i) => `/many/f${String(i).padStart(2, "0")}.txt`),
    );
    expect(listing.error).toMatch(/only the first 10 are listed/);
  });

  it("glob stops at maxGlobResults and flags truncation", async () => {
    const result = await backend.glob("**/*.txt", "/many");
    expect(result.files).toHaveLength(5);
    expect(result.truncated).toBe(true);
  });

  it("grep reads at most its file/object budget and flags truncation", async () => {
    const result = await backend.grep("match", "/many");
    expect(result.matches?.map((m) => m.path)).toEqual([
      "/many/f00.txt",
      "/many/f01.txt",
      "/many/f02.txt",
      "/many/f03.txt",
    ]);
    expect(result.truncated).toBe(true);
  });
});

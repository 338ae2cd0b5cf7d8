// Regression test (issue 14): oversize content is refused before it is encoded, and oversize
// uploads/downloads report a size refusal rather than invalid_path.
import { existsSync } from "node:fs";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { type S3Server, startS3rver } from "@agentstate/test-support/blob-servers";
import type { BackendProtocolV2 } from "deepagents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BlobBackend,
  CompositeBackend,
  NFSBackend,
  S3BlobStore,
  StateBackend,
} from "../src/index.js";

const MIB = 1024 * 1024;
/** 200 million characters: with the old encode-then-check order this cost hundreds of MiB. */
const HUGE = 200 * MIB;
let s3: S3Server;
let root: string;

beforeAll(async () => {
  [s3, root] = await Promise.all([startS3rver(), mkdtemp(join(tmpdir(), "agentstate-size-"))]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), rm(root, { recursive: true, force: true })]);
});

// A full GC before the baseline, so garbage left by earlier work cannot be collected during the
// call and hide what the call allocated (the delta would go negative).
setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

/** Memory the process holds (JS heap plus Buffer/ArrayBuffer backing stores), after a full GC. */
const baseline = () => {
  collectGarbage();
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};
/** The same without a GC: whatever the call allocated is still counted. */
const held = () => {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
};

const LIMITS = { maxWriteBytes: 10 * MIB };
const cases: Array<{ name: string; make: (maxReadBytes?: number) => BackendProtocolV2 }> = [
  {
    name: "NFSBackend",
    make: (maxReadBytes) => new NFSBackend({ rootDir: root, ...LIMITS, maxReadBytes }),
  },
  {
    name: "BlobBackend (S3)",
    make: (maxReadBytes) =>
      new BlobBackend({
        store: new S3BlobStore({ bucket: s3.bucket, prefix: "size/", client: s3.client() }),
        ...LIMITS,
        maxReadBytes,
      }),
  },
];

describe.each(cases)("$name refuses oversize content before encoding it", ({ make }) => {
  it("a 200 MB text write is refused without a copy of it being made", async () => {
    const backend = make();
    const content = "x".repeat(HUGE);
    const before = baseline();
    const result = await backend.write("/huge.txt", content);
    const grew = held() - before;
    expect(result.error).toMatch(
      /'\/huge\.txt' is at least 200\.0 MiB, over the 10\.0 MiB write limit/,
    );
    // Encoding it would have allocated ≥ 200 MB (plus a flattened copy of the string).
    expect(grew).toBeLessThan(50 * MIB);
    expect(content.length).toBe(HUGE); // keeps the string alive past the measurement
  });

  it("a 200 MB base64 write of a binary file is refused without decoding it", async () => {
    const backend = make();
    const content = "QUJD".repeat(HUGE / 4);
    const before = baseline();
    const result = await backend.write("/huge.png", content);
    const grew = held() - before;
    expect(result.error).toMatch(
      /'\/huge\.png' is \d+ characters of base64, over the 10\.0 MiB write limit/,
    );
    expect(grew).toBeLessThan(50 * MIB);
    expect(content.length).toBe(HUGE);
  });

  it("measures text in UTF-8 bytes and base64 by what it decodes to, exactly at the limit", async () => {
    const backend = make();
    // 4 bytes per emoji: 3 MiB of characters is 6 MiB of UTF-8, within 10 MiB; 6 MiB is 12 MiB.
    expect((await backend.write("/ok.txt", "😀".repeat(1.5 * MIB))).error).toBeUndefined();
    expect((await backend.write("/wide.txt", "😀".repeat(3 * MIB))).error).toMatch(
      /is 12\.0 MiB, over the 10\.0 MiB write limit/,
    );
    const exact = Buffer.alloc(10 * MIB, 7).toString("base64");
    const wrapped = exact.replace(/.{76}/g, "$&\n"); // line breaks do not count
    expect((await backend.write("/exact.png", wrapped)).error).toBeUndefined();
    const over = Buffer.alloc(10 * MIB + 3, 7).toString("base64");
    expect((await backend.write("/over.png", `data:image/png;base64,${over}`)).error).toMatch(
      /decodes to 10\.0 MiB, over the 10\.0 MiB write limit/,
    );
  });

  it("reports oversize uploads and downloads as a size refusal, not invalid_path", async () => {
    const backend = make();
    const [upload] = await backend.uploadFiles!([["/big.bin", new Uint8Array(10 * MIB + 1)]]);
    expect(upload).toEqual({
      path: "/big.bin",
      error: "permission_denied",
      message: "Content for '/big.bin' is 10.0 MiB, over the 10.0 MiB write limit",
    });
    // Within the write limit, but over the 1 MiB read limit of a second instance.
    expect((await backend.uploadFiles!([["/big.bin", new Uint8Array(2 * MIB)]]))[0]?.error).toBe(
      null,
    );
    const [download] = await make(MIB).downloadFiles!(["/big.bin"]);
    expect(download).toMatchObject({ path: "/big.bin", content: null, error: "permission_denied" });
    expect(download).toHaveProperty("message", expect.stringMatching(/'\/big\.bin' is .*1\.0 MiB/));
  });
});

describe("through CompositeBackend", () => {
  it("keeps the size refusal and words it with the full path", async () => {
    const composite = new CompositeBackend(new StateBackend(), {
      "/projects/": new NFSBackend({ rootDir: root, maxWriteBytes: MIB }),
    });
    expect((await composite.write("/projects/x.txt", "x".repeat(2 * MIB))).error).toMatch(
      /'\/projects\/x\.txt' is at least 2\.0 MiB, over the 1\.0 MiB write limit/,
    );
    const [upload] = await composite.uploadFiles([["/projects/y.bin", new Uint8Array(MIB + 1)]]);
    expect(upload).toEqual({
      path: "/projects/y.bin",
      error: "permission_denied",
      message: "Content for '/projects/y.bin' is 1.0 MiB, over the 1.0 MiB write limit",
    });
    expect(existsSync(join(root, "x.txt")) || existsSync(join(root, "y.bin"))).toBe(false);
    expect((await readdir(root)).filter((name) => name.endsWith(".tmp"))).toEqual([]);
    await writeFile(join(root, "z.txt"), "fits");
    expect((await composite.read("/projects/z.txt")).content).toBe("fits");
  });
});

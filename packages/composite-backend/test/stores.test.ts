import {
  type AzuriteServer,
  type S3Server,
  startAzurite,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AzureBlobStore,
  type BlobStore,
  CompositeBackendError,
  S3BlobStore,
} from "../src/index.js";

let s3: S3Server;
let azurite: AzuriteServer;

beforeAll(async () => {
  [s3, azurite] = await Promise.all([startS3rver(), startAzurite()]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), azurite?.stop()]);
});

const text = (value: string) => new TextEncoder().encode(value);
const decode = (value: Uint8Array) => new TextDecoder().decode(value);
const codeOf = async (promise: Promise<unknown>) => {
  try {
    await promise;
    return "no error";
  } catch (error) {
    return error instanceof CompositeBackendError ? error.code : `foreign: ${String(error)}`;
  }
};

const stores: Array<{
  name: string;
  make: (prefix: string) => Promise<BlobStore>;
  enforcesConditions: boolean;
}> = [
  {
    name: "S3BlobStore (s3rver)",
    make: async (prefix) => new S3BlobStore({ bucket: s3.bucket, prefix, client: s3.client() }),
    enforcesConditions: false,
  },
  {
    name: "AzureBlobStore (Azurite)",
    make: async (prefix) =>
      new AzureBlobStore({ containerClient: await azurite.container("stores"), prefix }),
    enforcesConditions: true,
  },
];

describe.each(stores)("BlobStore contract: $name", ({ make, enforcesConditions }) => {
  let store: BlobStore;
  beforeAll(async () => {
    store = await make("contract/");
  });

  it("puts, heads and gets an object with size, mtime and etag", async () => {
    const { etag } = await store.put("a/one.txt", text("hello"), { contentType: "text/plain" });
    expect(etag).toBeTruthy();
    const head = await store.head("a/one.txt");
    expect(head).toMatchObject({ key: "a/one.txt", size: 5, etag });
    expect(head!.lastModified.getTime()).toBeGreaterThan(Date.now() - 60_000);
    const got = await store.get("a/one.txt");
    expect(decode(got!.body)).toBe("hello");
    expect(got!.meta.etag).toBe(etag);
    const { etag: next } = await store.put("a/one.txt", text("hello again"));
    expect(next).not.toBe(etag);
  });

  it("answers undefined for a missing object and ignores deleting one", async () => {
    expect(await store.head("missing/object")).toBeUndefined();
    expect(await store.get("missing/object")).toBeUndefined();
    await expect(store.delete("missing/object")).resolves.toBeUndefined();
  });

  it("refuses an object over maxBytes without returning it", async () => {
    await store.put("big.bin", new Uint8Array(4096));
    expect(await codeOf(store.get("big.bin", { maxBytes: 1024 }))).toBe("too_large");
    expect((await store.get("big.bin", { maxBytes: 4096 }))?.body.byteLength).toBe(4096);
  });

  it("lists by prefix with a delimiter, and pages with a cursor", async () => {
    await Promise.all(
      ["p/1.txt", "p/2.txt", "p/3.txt", "p/4.txt", "p/5.txt", "p/sub/6.txt"].map((key) =>
        store.put(key, text(key)),
      ),
    );
    const level = await store.list("p/", { delimiter: "/" });
    expect(level.blobs.map((blob) => blob.key)).toEqual([
      "p/1.txt",
      "p/2.txt",
      "p/3.txt",
      "p/4.txt",
      "p/5.txt",
    ]);
    expect(level.prefixes).toEqual(["p/sub/"]);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list("p/", { pageSize: 2, cursor });
      seen.push(...page.blobs.map((blob) => blob.key));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(["p/1.txt", "p/2.txt", "p/3.txt", "p/4.txt", "p/5.txt", "p/sub/6.txt"]);
  });

  it("keeps stores with different prefixes apart", async () => {
    const other = await make("elsewhere/");
    await other.put("p/1.txt", text("other"));
    expect(decode((await store.get("p/1.txt"))!.body)).toBe("p/1.txt");
    expect((await other.list("")).blobs.map((blob) => blob.key)).toEqual(["p/1.txt"]);
  });

  it("signs a GET URL that serves the object over loopback", async () => {
    await store.put("shared/file.txt", text("via url"));
    const url = await store.signedUrl("shared/file.txt", { expiresIn: 60 });
    expect(new URL(url).hostname).toBe("127.0.0.1");
    expect(await (await fetch(url)).text()).toBe("via url");
  });

  it("writes with If-Match only when the etag is current", async () => {
    const { etag } = await store.put("cas.txt", text("v1"));
    const { etag: current } = await store.put("cas.txt", text("v2"), { ifMatch: etag });
    expect(decode((await store.get("cas.txt"))!.body)).toBe("v2");
    expect(current).not.toBe(etag);
  });

  it.skipIf(!enforcesConditions)(
    "refuses a write whose If-Match etag is stale, and If-None-Match:* on an existing object (skipped on s3rver: it ignores both headers)",
    async () => {
      const { etag } = await store.put("cas2.txt", text("v1"));
      await store.put("cas2.txt", text("v2"));
      expect(await codeOf(store.put("cas2.txt", text("lost update"), { ifMatch: etag }))).toBe(
        "conflict",
      );
      expect(await codeOf(store.put("cas2.txt", text("clobber"), { ifNoneMatch: "*" }))).toBe(
        "conflict",
      );
      expect(decode((await store.get("cas2.txt"))!.body)).toBe("v2");
      expect(await codeOf(store.put("fresh.txt", text("new"), { ifNoneMatch: "*" }))).toBe(
        "no error",
      );
    },
  );
});

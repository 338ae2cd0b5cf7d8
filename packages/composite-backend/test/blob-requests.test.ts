import {
  type AzuriteServer,
  type CountingProxy,
  type S3Server,
  startAzurite,
  startCountingProxy,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AzureBlobStore, BlobBackend, S3BlobStore } from "../src/index.js";

let s3: S3Server;
let azurite: AzuriteServer;
let s3Proxy: CountingProxy;
let azureProxy: CountingProxy;

beforeAll(async () => {
  [s3, azurite] = await Promise.all([startS3rver(), startAzurite()]);
  [s3Proxy, azureProxy] = await Promise.all([
    startCountingProxy(s3.port),
    startCountingProxy(azurite.port),
  ]);
});
afterAll(async () => {
  await Promise.all([s3Proxy?.stop(), azureProxy?.stop()]);
  await Promise.all([s3?.stop(), azurite?.stop()]);
});

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 255]);

const cases = [
  {
    name: "S3 (s3rver)",
    proxy: () => s3Proxy,
    backend: async () =>
      new BlobBackend({
        store: new S3BlobStore({
          bucket: s3.bucket,
          prefix: "counted/",
          client: s3.client(s3Proxy.endpoint),
        }),
      }),
    /** Only the signature's expiry is checked locally by the server. */
    enforcesUrlExpiry: true,
  },
  {
    name: "Azure (Azurite)",
    proxy: () => azureProxy,
    backend: async () =>
      new BlobBackend({
        store: new AzureBlobStore({
          containerClient: await azurite.container("counted", azureProxy.endpoint),
        }),
      }),
    enforcesUrlExpiry: true,
  },
];

describe.each(cases)(
  "BlobBackend on $name: HTTP requests per operation",
  ({ proxy, backend: make, enforcesUrlExpiry }) => {
    let backend: BlobBackend;
    beforeAll(async () => {
      backend = await make();
    });

    /** Runs `op` and returns the HTTP methods it sent, counted by the loopback proxy. */
    async function requestsOf<T>(op: () => Promise<T>): Promise<{ result: T; methods: string[] }> {
      proxy().reset();
      const result = await op();
      return { result, methods: proxy().methods() };
    }

    it("write = 1 PUT, and its metadata carries a shareable URL that serves the bytes", async () => {
      const { result, methods } = await requestsOf(() =>
        backend.write("/reports/q1.png", Buffer.from(PNG).toString("base64")),
      );
      expect(methods).toEqual(["PUT"]);
      const metadata = result.metadata as {
        shareableUrl: string;
        shareableUrlExpiresAt: string;
        size: number;
      };
      expect(metadata.size).toBe(PNG.byteLength);
      expect(Date.parse(metadata.shareableUrlExpiresAt) - Date.now()).toBeGreaterThan(3500_000);
      const response = await fetch(metadata.shareableUrl);
      expect(response.status).toBe(200);
      expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([...PNG]);
    });

    it("read = 1 GET, readRaw = 1 GET, download = 1 GET", async () => {
      await backend.write("/notes.md", "one\ntwo\n");
      expect((await requestsOf(() => backend.read("/notes.md"))).methods).toEqual(["GET"]);
      expect((await requestsOf(() => backend.readRaw("/notes.md"))).methods).toEqual(["GET"]);
      expect((await requestsOf(() => backend.downloadFiles(["/notes.md"]))).methods).toEqual([
        "GET",
      ]);
    });

    it("edit = 1 GET + 1 PUT conditional on the ETag the GET returned", async () => {
      await backend.write("/edit.md", "status: open\n");
      const { result, methods } = await requestsOf(() =>
        backend.edit("/edit.md", "open", "closed"),
      );
      expect(result.error).toBeUndefined();
      expect(methods).toEqual(["GET", "PUT"]);
      const [get, put] = proxy().requests;
      expect(get!.url.split("?")[0]).toBe(put!.url.split("?")[0]);
      expect(put!.headers["if-match"]).toBeTruthy();
      expect((await backend.read("/edit.md")).content).toBe("status: closed\n");
    });

    it("ls = 1 list request; getShareableUrl = no request", async () => {
      expect((await requestsOf(() => backend.ls("/reports"))).methods).toEqual(["GET"]);
      const { result, methods } = await requestsOf(() =>
        backend.getShareableUrl("/notes.md", { expiresIn: 120 }),
      );
      expect(methods).toEqual([]);
      expect("url" in result && (await (await fetch(result.url)).text())).toBe("one\ntwo\n");
    });

    it("grep lists once and fetches matching candidates concurrently, stopping at maxCount", async () => {
      await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          backend.write(`/grep/file${String(i).padStart(2, "0")}.txt`, `needle ${i}\n`),
        ),
      );
      const all = await requestsOf(() => backend.grep("needle", "/grep"));
      expect(all.result.matches).toHaveLength(40);
      expect(all.methods).toEqual(["GET", ...Array(40).fill("GET")]);
      const capped = await requestsOf(() => backend.grep("needle", "/grep", null, 2));
      expect(capped.result).toMatchObject({ truncated: true });
      expect(capped.result.matches?.map((m) => m.path)).toEqual([
        "/grep/file00.txt",
        "/grep/file01.txt",
      ]);
      // One listing plus roughly one window of concurrent downloads (8), not all forty objects.
      expect(capped.methods.length).toBeLessThanOrEqual(1 + 20);
    });

    it.runIf(enforcesUrlExpiry)("a shareable URL stops working once it expires", async () => {
      const shared = await backend.getShareableUrl("/notes.md", { expiresIn: 1 });
      if (!("url" in shared)) throw new Error(shared.error);
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect((await fetch(shared.url)).status).toBe(403);
    });
  },
);

describe("S3BlobStore conditional writes", () => {
  it("sends the ETag as If-Match on the edit's PUT (enforced by S3 itself; s3rver ignores it)", async () => {
    const store = new S3BlobStore({
      bucket: s3.bucket,
      prefix: "conditional/",
      client: s3.client(s3Proxy.endpoint),
    });
    const backend = new BlobBackend({ store });
    await backend.write("/doc.txt", "v1\n");
    const etag = (await store.head("doc.txt"))!.etag;
    s3Proxy.reset();
    await backend.edit("/doc.txt", "v1", "v2");
    const put = s3Proxy.requests.find((request) => request.method === "PUT")!;
    expect(put.headers["if-match"]).toBe(etag);
  });
});

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type AzuriteServer,
  type S3Server,
  startAzurite,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompositeBackendError, createCompositeBackend, NFSBackend } from "../src/index.js";
import { stateBackendWithoutGraph } from "./helpers/state.js";

let s3: S3Server;
let azurite: AzuriteServer;
let projects: string;
let extra: string;

beforeAll(async () => {
  [s3, azurite, projects, extra] = await Promise.all([
    startS3rver(),
    startAzurite(),
    mkdtemp(join(tmpdir(), "agentstate-config-")),
    mkdtemp(join(tmpdir(), "agentstate-config-extra-")),
  ]);
  await azurite.container("team");
});
afterAll(async () => {
  await Promise.all([
    s3?.stop(),
    azurite?.stop(),
    rm(projects, { recursive: true, force: true }),
    rm(extra, { recursive: true, force: true }),
  ]);
});

describe("createCompositeBackend", () => {
  it("builds NFS, S3 and Azure routes from plain data, plus backends passed as they are", async () => {
    const state = stateBackendWithoutGraph();
    // Plain data, as it would come from a JSON config file.
    const config = JSON.parse(
      JSON.stringify({
        routes: {
          "/projects/": { type: "nfs", rootDir: projects, maxWriteBytes: 1024 },
          "/uploads/": {
            type: "s3",
            bucket: s3.bucket,
            prefix: "uploads/",
            endpoint: s3.endpoint,
            region: "us-east-1",
            forcePathStyle: true,
            credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
            urlExpiresIn: 600,
          },
          "/team/": {
            type: "azure",
            connectionString: azurite.connectionString(),
            container: "team",
            prefix: "shared/",
          },
        },
      }),
    );
    const backend = createCompositeBackend({
      default: state,
      routes: { ...config.routes, "/extra/": new NFSBackend({ rootDir: extra }) },
    });
    expect(backend.routePrefixes.sort()).toEqual(["/extra/", "/projects/", "/team/", "/uploads/"]);

    await backend.write("/projects/a.md", "nfs");
    expect(await readFile(join(projects, "a.md"), "utf8")).toBe("nfs");
    expect((await backend.write("/projects/big.md", "x".repeat(2000))).error).toMatch(
      /write limit/,
    );

    const upload = await backend.write("/uploads/b.txt", "s3");
    const object = await s3
      .client()
      .send(new GetObjectCommand({ Bucket: s3.bucket, Key: "uploads/b.txt" }));
    expect(await object.Body!.transformToString()).toBe("s3");
    const expiresAt = Date.parse(String(upload.metadata?.shareableUrlExpiresAt));
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(600_000);
    expect(expiresAt - Date.now()).toBeGreaterThan(500_000);

    await backend.write("/team/c.txt", "azure");
    const blob = await (await azurite.container("team"))
      .getBlobClient("shared/c.txt")
      .downloadToBuffer();
    expect(blob.toString()).toBe("azure");

    await backend.write("/extra/d.txt", "direct");
    expect(await readFile(join(extra, "d.txt"), "utf8")).toBe("direct");

    await backend.write("/scratch.txt", "state");
    expect(Object.keys(state.files)).toEqual(["/scratch.txt"]);
  });

  it("defaults to deepagents' StateBackend for unrouted paths", () => {
    const backend = createCompositeBackend({ routes: {} });
    expect(backend.routePrefixes).toEqual([]);
  });

  it("refuses unknown route types, bad prefixes and incomplete configs at construction", () => {
    const build = (routes: Record<string, unknown>) => () =>
      createCompositeBackend({ routes: routes as never });
    expect(build({ "/x/": { type: "ftp" } })).toThrowError(/unknown type "ftp"/);
    expect(build({ "/x": { type: "nfs", rootDir: projects } })).toThrowError(CompositeBackendError);
    expect(build({ "/x/": { type: "nfs" } })).toThrowError(/needs a rootDir/);
    expect(build({ "/x/": { type: "s3" } })).toThrowError(/needs a bucket/);
    expect(build({ "/x/": { type: "azure", container: "c" } })).toThrowError(/connectionString/);
  });
});

// archive/restore through the blob stores of @agentstate/composite-backend against real local
// servers (s3rver, Azurite), the CLI's env-based S3 settings, and unreachable or missing locations.
import { S3BlobStore } from "@agentstate/composite-backend";
import {
  type AzuriteServer,
  closedPort,
  type S3Server,
  startAzurite,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { toolLoopGraph, userSays } from "../../checkpointer/test/graphs.js";
import { archive, restore } from "../src/index.js";
import { rowCounts, snapshot } from "./archive-support.js";
import { postgresReachable, runCli, testSaver, uniqueSchema } from "./helpers.js";

const pgUp = await postgresReachable();
const CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
const cfg = (thread_id: string) => ({ configurable: { thread_id }, durability: "sync" as const });

describe.skipIf(!pgUp)("archive to S3 (s3rver) and Azure (Azurite)", () => {
  const schema = uniqueSchema("archblob");
  let env: Awaited<ReturnType<typeof testSaver>>;
  let s3: S3Server;
  let azurite: AzuriteServer;
  let s3Options: { s3: { credentials: typeof CREDENTIALS }; env: Record<string, string> };

  beforeAll(async () => {
    [env, s3, azurite] = await Promise.all([testSaver(schema), startS3rver(), startAzurite()]);
    await azurite.container("archives");
    s3Options = { s3: { credentials: CREDENTIALS }, env: { AWS_ENDPOINT_URL_S3: s3.endpoint } };
  });
  afterAll(async () => {
    await Promise.all([env?.dispose(), s3?.stop(), azurite?.stop()]);
  });

  async function threads(prefix: string, n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    for (const id of ids) await toolLoopGraph(env.saver, 3).invoke(userSays(id), cfg(id));
    return ids;
  }

  it("S3: files land under the prefix; restore reads them back exactly", async () => {
    const ids = await threads("s3", 3);
    const before = await Promise.all(ids.map((id) => snapshot(env.saver, id)));
    const to = `s3://${s3.bucket}/cold/agents`;
    const r = await archive(env.saver, { to, threadIds: ids, store: s3Options });
    expect(r).toMatchObject({ archived: 3, failed: 0, location: to });
    const bucket = new S3BlobStore({
      bucket: s3.bucket,
      prefix: "cold/agents",
      client: s3.client(),
    });
    expect((await bucket.list("")).blobs).toHaveLength(3);
    await expect(env.saver.getTuple(cfg("s3-0"))).rejects.toThrow(to);
    const back = await restore(env.saver, ids, { store: s3Options });
    expect(back.restored).toBe(3);
    expect(await Promise.all(ids.map((id) => snapshot(env.saver, id)))).toEqual(before);
  });

  it("Azure: the same through Azurite", async () => {
    const ids = await threads("az", 2);
    const before = await Promise.all(ids.map((id) => snapshot(env.saver, id)));
    const store = { azure: { connectionString: azurite.connectionString() } };
    const r = await archive(env.saver, { to: "azure://archives/t", threadIds: ids, store });
    expect(r).toMatchObject({ archived: 2, failed: 0, location: "azure://archives/t" });
    await expect(env.saver.getTuple(cfg("az-1"))).rejects.toMatchObject({ code: "ARCHIVED" });
    expect((await restore(env.saver, ids, { store })).restored).toBe(2);
    expect(await Promise.all(ids.map((id) => snapshot(env.saver, id)))).toEqual(before);
  });

  it("a wrong or unreachable location fails before anything is written or deleted", async () => {
    const [id] = await threads("bad", 1);
    const threadIds = [id as string];
    const down = {
      s3: { credentials: CREDENTIALS, maxAttempts: 1 },
      env: { AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${await closedPort()}` },
    };
    const cases: Array<[string, Parameters<typeof archive>[1]["store"], RegExp]> = [
      [`s3://${s3.bucket}/x`, down, /did not answer/],
      ["s3://no-such-bucket/x", s3Options, /does not exist: create it first/],
      [
        "azure://missing/x",
        { azure: { connectionString: azurite.connectionString() } },
        /does not exist/,
      ],
      ["azure://archives/x", { env: {} }, /AZURE_STORAGE_CONNECTION_STRING/],
      ["gs://bucket/x", {}, /unknown scheme/],
    ];
    for (const [to, store, message] of cases) {
      const attempt = archive(env.saver, { to, threadIds, store });
      await expect(attempt).rejects.toMatchObject({ code: "ARCHIVE_LOCATION" });
      await expect(attempt).rejects.toThrow(message);
    }
    expect((await rowCounts(env.saver, id as string)).checkpoints).toBeGreaterThan(0);

    // Archived fine, then the store goes away: restore fails clearly and the thread stays archived.
    await archive(env.saver, { to: `s3://${s3.bucket}/x`, threadIds, store: s3Options });
    const r = await restore(env.saver, threadIds, { store: down });
    expect(r.threads[0]?.error).toMatchObject({ code: "ARCHIVE_LOCATION" });
    await expect(env.saver.getTuple(cfg(id as string))).rejects.toMatchObject({ code: "ARCHIVED" });
  });

  it("CLI: archive, stats, archives and restore with S3 settings from the environment", async () => {
    const ids = await threads("cli", 2);
    const before = await Promise.all(ids.map((id) => snapshot(env.saver, id)));
    const vars = {
      AGENTSTATE_SCHEMA: schema,
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: "us-east-1",
    };
    const to = `s3://${s3.bucket}/cli`;
    const out = await runCli(["archive", ...ids, "--to", to, "--json"], vars);
    expect(out.code, out.output).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ archived: 2, failed: 0, location: to });
    const stats = await runCli(["stats", "--json"], vars);
    expect(JSON.parse(stats.stdout).archivedThreads).toBeGreaterThanOrEqual(2);
    const list = JSON.parse((await runCli(["archives", "--json", "--limit", "500"], vars)).stdout);
    expect(list.archives.map((a: { threadId: string }) => a.threadId)).toEqual(
      expect.arrayContaining(ids),
    );
    const back = await runCli(["restore", ...ids, "--json"], vars);
    expect(back.code, back.output).toBe(0);
    expect(JSON.parse(back.stdout)).toMatchObject({ restored: 2, failed: 0 });
    expect(await Promise.all(ids.map((id) => snapshot(env.saver, id)))).toEqual(before);
  });
});

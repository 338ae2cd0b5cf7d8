import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import { type DemoResult, runDemo } from "./steps.js";

const pgUp = await postgresReachable();

/** What the demo must show, whatever the database: one crash, detected, recovered once. */
function expectDemoOutcome(r: DemoResult) {
  expect(r.killedAt).toMatchObject({ callId: "call_13", tool: "analyze" });

  const detected = r.stuck.json.threads.find(
    (t: { threadId: string }) => t.threadId === r.threadId,
  );
  expect(r.stuck.exitCode).toBe(2);
  expect(detected.state).toBe("crashed");
  expect(
    detected.pendingToolCalls.map((c: { id: string; name: string }) => [c.id, c.name]),
  ).toEqual([["call_13", "analyze"]]);

  const recovered = r.recover.json.results.find(
    (t: { threadId: string }) => t.threadId === r.threadId,
  );
  expect(r.recover.exitCode).toBe(0);
  expect(recovered).toMatchObject({ status: "resumed", outcome: "completed" });

  expect(r.finalAnswer).toMatch(/^Research complete/);
  expect(r.answers).toHaveLength(14);
  for (const a of r.answers) expect(a.answered, `${a.callId} ${a.tool}`).toBe(1);
  // every research tool's effect completed exactly once; only the call in flight started twice
  for (const c of r.toolCalls) {
    expect(c.done, c.callId).toBe(1);
    expect(c.started, c.callId).toBe(c.callId === "call_13" ? 2 : 1);
  }
  expect(r.toolCalls.map((c) => c.callId)).toEqual([
    "call_01",
    "call_02",
    "call_04",
    "call_05",
    "call_09",
    "call_13",
  ]);

  expect(r.projectFile.exists).toBe(true);
  expect(r.projectFile.content).toContain("leases tell live runs from crashed ones");
  expect(r.upload.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.*X-Amz-Signature=/);
  expect(r.upload.fetched).toContain("# Durable agents");
  expect(r.scratch).toEqual({ inState: true, onDisk: false });
}

describe("the demo (pnpm demo), step by step", () => {
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), "agentstate-demo-"));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("on the embedded default", { timeout: 180_000 }, async () => {
    expectDemoOutcome(await runDemo({ home: join(home, "demo") }));
  });

  it.skipIf(!pgUp)("on Postgres (DATABASE_URL)", { timeout: 180_000 }, async () => {
    const schema = uniqueSchema("demo");
    try {
      expectDemoOutcome(
        await runDemo({ home: join(home, "demo"), databaseUrl: DATABASE_URL, schema }),
      );
    } finally {
      await dropSchema(schema);
    }
  });
});

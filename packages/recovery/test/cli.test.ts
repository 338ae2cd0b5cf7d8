import { resolve } from "node:path";
import { readRun, runDurably } from "../src/index.js";
import { FIXTURES, postgresReachable, runCli, testSaver, uniqueSchema } from "./helpers.js";

const up = await postgresReachable();
const PROJECT = resolve(FIXTURES, "project");

describe("agentstate CLI: usage and errors", () => {
  it("documents its exit codes in --help", async () => {
    const r = await runCli(["--help"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Exit codes:");
    expect(r.stdout).toMatch(/3\s+dead threads present/);
    expect(r.stdout).toMatch(/64\s+usage error/);
  });

  it("exits 64 on usage errors, before touching a database", async () => {
    const url = ["--database-url", "postgres://nobody@127.0.0.1:1/none"];
    expect((await runCli([...url, "recover"])).code).toBe(64);
    expect((await runCli([...url, "recover", "t1", "--all"])).code).toBe(64);
    expect((await runCli([...url, "stuck", "--limit", "many"])).code).toBe(64);
    expect((await runCli([...url, "frobnicate"])).code).toBe(64);
    expect((await runCli([...url, "prune"])).code).toBe(64);
  });

  it("exits 1 when the database is unreachable, and never prints the password", async () => {
    const r = await runCli(["--database-url", "postgres://admin:hunter2@127.0.0.1:1/db", "stats"]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/error/i);
    expect(r.output).not.toContain("hunter2");
    expect(r.output).toContain("admin:***@");
  });
});

describe.skipIf(!up)("agentstate CLI against Postgres", () => {
  const schema = uniqueSchema("cli");
  let env: Awaited<ReturnType<typeof testSaver>>;
  const cli = (args: string[], env: Record<string, string> = {}) =>
    runCli(["--schema", schema, "--json", ...args], env);
  const inProject = (args: string[], extra: Record<string, string> = {}) =>
    cli(["--config", resolve(PROJECT, "langgraph.json"), ...args], {
      AGENT_FIXTURE: JSON.stringify({ schema }),
      ...extra,
    });

  beforeAll(async () => {
    env = await testSaver(schema);
  });
  afterAll(async () => {
    await env.dispose();
  });

  it("setup, stats, threads and doctor work on an empty schema", async () => {
    expect((await cli(["setup"])).code).toBe(0);
    const stats = await cli(["stats"]);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({
      totalCheckpoints: 0,
      ledger: { dead: 0, running: 0 },
    });
    const threads = await cli(["threads"]);
    const { at, ...page } = JSON.parse(threads.stdout);
    expect(page).toEqual({ threads: [], nextCursor: null, archivedThreads: 0 });
    expect(new Date(at).getTime()).toBeGreaterThan(Date.now() - 60_000); // one dated JSON line
    expect(threads.stdout.trim().split("\n")).toHaveLength(1);
    const doctor = await inProject(["doctor"]);
    expect(doctor.code, doctor.output).toBe(0);
    const checks = JSON.parse(doctor.stdout).checks as Array<{ check: string; status: string }>;
    expect(checks.find((c) => c.check === "graph steps")?.status).toBe("ok");
    expect(checks.find((c) => c.check === "graph agent")?.status).toBe("ok");
    expect(checks.find((c) => c.check === "migrations")?.status).toBe("ok");
  });

  it("doctor and recover exit 1 when a graph module cannot be loaded", async () => {
    const bad = [`--graph`, `${FIXTURES}/agent.ts:nope`];
    const doctor = await cli([...bad, "doctor"]);
    expect(doctor.code).toBe(1);
    expect(JSON.parse(doctor.stdout).checks.at(-1)).toMatchObject({ status: "fail" });
    const recover = await cli([...bad, "recover", "--all"]);
    expect(recover.code).toBe(1);
    expect(JSON.parse(recover.stdout).error).toMatchObject({ code: "GRAPH_LOAD_FAILED" });
    expect(JSON.parse(recover.stdout).error.message).toContain('has no export "nope"');
  });

  it("a permanent failure: stuck exits 2, recover --all marks it dead (exit 3), --force re-drives it", async () => {
    const { makeGraph } = await import("./fixtures/project/steps.mjs");
    const graph = await makeGraph();
    graph.checkpointer = env.saver;
    process.env.STEPS_FAIL_AT = "step2";
    try {
      await expect(
        runDurably(
          graph,
          { log: [] },
          { configurable: { thread_id: "broken" } },
          { graphId: "steps" },
        ),
      ).rejects.toThrow("step2 is broken");
    } finally {
      delete process.env.STEPS_FAIL_AT;
    }
    const stuck = await inProject(["stuck"]);
    expect(stuck.code, stuck.output).toBe(2);
    expect(JSON.parse(stuck.stdout).threads).toEqual([
      expect.objectContaining({
        threadId: "broken",
        state: "failed",
        errorKind: "permanent",
        canRecover: false,
      }),
    ]);
    const sweep = await inProject(["recover", "--all"]);
    expect(sweep.code, sweep.output).toBe(3);
    expect(JSON.parse(sweep.stdout).results).toEqual([
      expect.objectContaining({ threadId: "broken", status: "dead" }),
    ]);
    expect((await inProject(["stuck"])).code).toBe(3);
    expect((await cli(["stats"])).code).toBe(3);

    const forced = await inProject(["recover", "--force", "broken"]);
    expect(forced.code, forced.output).toBe(0);
    expect(JSON.parse(forced.stdout).results).toEqual([
      expect.objectContaining({ threadId: "broken", status: "resumed", outcome: "completed" }),
    ]);
    expect(await readRun(env.saver, "broken")).toMatchObject({
      status: "completed",
      graphId: "steps",
    });
    expect((await inProject(["stuck"])).code).toBe(0);
  });

  it("threads lists threads with their ledger status and pages with --after", async () => {
    const page = await cli(["threads", "--limit", "1"]);
    const parsed = JSON.parse(page.stdout);
    expect(parsed.threads).toEqual([
      expect.objectContaining({ threadId: "broken", status: "completed" }),
    ]);
    const prune = await cli(["prune", "--keep-latest", "1", "--dry-run"]);
    expect(prune.code).toBe(0);
    expect(JSON.parse(prune.stdout)).toMatchObject({ dryRun: true, threadsScanned: 1 });
  });
});

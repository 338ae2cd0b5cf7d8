// The app-recovery example against real Postgres: an app process is SIGKILLed in the middle of a
// run; the next app recovers that thread at startup, leaves the thread waiting for a human alone
// (startup and POST recover), finishes it on the human's answer, and /metrics counts it all.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { getCheckpointer, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { checkStuckState, readRun } from "@agentstate/recovery";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import type { BaseMessage } from "@langchain/core/messages";
import { buildSupportAgent } from "./src/agent.js";
import { type App, startApp } from "./src/app.js";

const EXAMPLE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(EXAMPLE, "../..");
const SCHEMA = uniqueSchema("ex_app");

const saver: PostgresCheckpointer | undefined = (await postgresReachable())
  ? await getCheckpointer({ connectionString: DATABASE_URL, schema: SCHEMA })
  : undefined;

const children: ChildProcess[] = [];

/** src/main.ts in a child process; resolves once it listens. */
async function spawnApp(env: Record<string, string>) {
  const child = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", "tsx", join(EXAMPLE, "src/main.ts")],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL, AGENTSTATE_SCHEMA: SCHEMA, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  children.push(child);
  const exited = new Promise((r) => child.on("exit", r));
  for await (const line of createInterface({ input: child.stdout })) {
    return { child, exited, url: (JSON.parse(line) as { url: string }).url };
  }
  throw new Error("the app exited before listening");
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** One sample of a Prometheus exposition, e.g. ('agentstate_runs', '{status="waiting"}'). */
function sample(exposition: string, name: string, labels = ""): number | undefined {
  const line = exposition.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe.skipIf(!saver)("examples/app-recovery", () => {
  const agent = buildSupportAgent({ checkpointer: saver });
  const apps: App[] = [];

  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    for (const app of apps) await app.close();
    if (saver) await dropSchema(SCHEMA);
    await saver?.end();
  });

  // undefined until the thread's first checkpoint (checkStuckState throws THREAD_NOT_FOUND).
  const state = (id: string) => checkStuckState(id, agent).catch(() => undefined);
  const toolAnswers = async (id: string) => {
    const snapshot = await agent.graph.getState({ configurable: { thread_id: id } });
    return (snapshot.values as { messages: BaseMessage[] }).messages
      .filter((m) => m.getType() === "tool")
      .map((m) => [(m as unknown as { tool_call_id: string }).tool_call_id, String(m.content)]);
  };
  async function until<T>(fn: () => Promise<T | undefined>, what: string): Promise<T> {
    for (const end = Date.now() + 30_000; Date.now() < end; ) {
      const v = await fn();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`timed out waiting for ${what}`);
  }

  it("recovers a crashed thread at startup and leaves a waiting thread to its human", async () => {
    // Before the crash: a refund that stops at interrupt(), waiting for approval.
    const first = await startApp({ checkpointer: saver!, sweepIntervalMs: 0, lookupMs: 10 });
    apps.push(first);
    expect(first.startup).toEqual({ found: 0, results: [] });
    const asked = await call(first.url, "POST", "/threads/refund-42/messages", {
      text: "Please refund order 42",
    });
    expect(asked.status).toBe(200);
    expect(asked.body).toMatchObject({ state: "waiting", isStuck: false });
    expect(asked.body.waitingFor).toEqual([
      { question: "Refund 30 EUR for order 42?", orderId: "42", amount: 30 },
    ]);
    await first.close();

    // An app process is SIGKILLed while a lookup (one minute long) is in flight.
    const doomed = await spawnApp({
      LOOKUP_MS: "60000",
      LEASE_SECONDS: "1",
      SWEEP_INTERVAL_MS: "0",
    });
    const request = call(doomed.url, "POST", "/threads/where-7/messages", {
      text: "Where is order 7?",
    }).catch(() => "connection lost");
    await until(async () => {
      const s = await state("where-7");
      return s?.pendingToolCalls.some((c) => c.name === "lookup_order") || undefined;
    }, "the lookup to be in flight");
    doomed.child.kill("SIGKILL");
    await doomed.exited;
    expect(await request).toBe("connection lost");
    const crashed = await until(async () => {
      const s = await state("where-7");
      return s?.state === "crashed" ? s : undefined;
    }, "the lease to run out");
    expect(crashed.pendingToolCalls.map((c) => c.id)).toEqual(["lookup_order-1"]);

    // The next app start recovers it before serving; the waiting refund is not touched.
    const app = await startApp({
      checkpointer: saver!,
      sweepIntervalMs: 0,
      lookupMs: 10,
      metrics: { gaugeMaxAgeMs: 0 },
    });
    apps.push(app);
    expect(app.startup.found).toBe(1);
    expect(app.startup.results).toEqual([
      expect.objectContaining({ threadId: "where-7", status: "resumed", outcome: "completed" }),
    ]);
    const recovered = await call(app.url, "GET", "/threads/where-7/status");
    expect(recovered.body).toMatchObject({ state: "completed", reply: "Order 7 is delivered." });
    expect(await toolAnswers("where-7")).toEqual([
      ["lookup_order-1", '{"orderId":"7","amount":30,"status":"delivered"}'],
    ]);

    const waiting = await call(app.url, "GET", "/threads/refund-42/status");
    expect(waiting.body).toMatchObject({ state: "waiting", isStuck: false, reply: null });
    const refused = await call(app.url, "POST", "/threads/refund-42/recover");
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ threadId: "refund-42", status: "waiting" });
    expect((await state("refund-42"))?.state).toBe("waiting");
    expect(await readRun(saver!, "refund-42")).toMatchObject({ status: "waiting" });
    expect((await toolAnswers("refund-42")).map(([id]) => id)).toEqual(["lookup_order-1"]);

    // /metrics: one recovery (the crashed thread), none for the waiting one.
    const before = await (await fetch(`${app.url}/metrics`)).text();
    expect(sample(before, "agentstate_recoveries_total", '{outcome="resumed"}')).toBe(1);
    expect(before).not.toMatch(/agentstate_recoveries_total\{outcome="waiting"\}/);
    expect(sample(before, "agentstate_recovery_duration_seconds_count")).toBe(1);
    expect(sample(before, "agentstate_runs", '{status="waiting"}')).toBe(1);
    expect(sample(before, "agentstate_runs", '{status="completed"}')).toBe(1);
    expect(sample(before, "agentstate_runs", '{status="crashed"}')).toBe(0);

    // The human approves: the refund runs once and the thread completes.
    const approved = await call(app.url, "POST", "/threads/refund-42/resume", { answer: "yes" });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({
      state: "completed",
      waitingFor: [],
      reply: "Done: refund of 30 EUR for 42.",
    });
    expect(await toolAnswers("refund-42")).toEqual([
      ["lookup_order-1", '{"orderId":"42","amount":30,"status":"delivered"}'],
      ["ask_human-1", "yes"],
      ["issue_refund-1", "refund of 30 EUR for 42"],
    ]);
    expect(
      (await call(app.url, "POST", "/threads/refund-42/resume", { answer: "yes" })).status,
    ).toBe(409);
    expect((await call(app.url, "POST", "/threads/refund-42/recover")).body.status).toBe(
      "not_stuck",
    );

    const after = await (await fetch(`${app.url}/metrics`)).text();
    expect(sample(after, "agentstate_recoveries_total", '{outcome="resumed"}')).toBe(1);
    expect(sample(after, "agentstate_runs", '{status="completed"}')).toBe(2);
    expect(sample(after, "agentstate_runs", '{status="waiting"}')).toBe(0);
  }, 120_000);

  it("answers 404 for an unknown thread and 400 for a bad body", async () => {
    const app = apps.at(-1)!;
    expect((await call(app.url, "GET", "/threads/nope/status")).status).toBe(404);
    expect((await call(app.url, "POST", "/threads/x/messages", { txt: "hi" })).status).toBe(400);
  });
});

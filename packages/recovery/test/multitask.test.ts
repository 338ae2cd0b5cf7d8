// A second message while the thread is running: two app processes send to one thread at once
// under each multitask strategy; an enqueued input survives a SIGKILL between the two runs.
import { resolve } from "node:path";
import { queuedCount, RecoveryService, readRun, runDurably, streamDurably } from "../src/index.js";
import { effectsOf, jsonLines } from "./deploy-helpers.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import {
  closeMultitaskFixture,
  type MultitaskFixture,
  multitaskGraph,
} from "./fixtures/multitask-graph.js";
import {
  FIXTURES,
  postgresReachable,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const up = await postgresReachable();
const GRAPH = `${resolve(FIXTURES, "multitask-graph.ts")}:graph`;
const RUN_DURABLE = resolve(FIXTURES, "run-durable.ts");
const LEASE = { leaseSeconds: 2, heartbeatMs: 100 };

describe.skipIf(!up)("multitask: a second message while the thread is running", () => {
  const schema = uniqueSchema("multi");
  let env: Awaited<ReturnType<typeof testSaver>>;
  beforeAll(async () => {
    env = await testSaver(schema);
    await ensureEffectsTable(schema);
  });
  afterAll(async () => {
    await closeEffects();
    await closeMultitaskFixture();
    await env.dispose();
  });

  const graphHere = () => {
    const g = multitaskGraph({ schema, hold: "none" });
    g.checkpointer = env.saver;
    return g;
  };
  const input = (tag: string) => ({ current: tag, log: [tag] });
  /** One app process sending `tag` to `threadId` with `options`. */
  const app = (fx: MultitaskFixture, threadId: string, tag: string, options: object) =>
    spawnTs(RUN_DURABLE, [GRAPH, schema, threadId], {
      MULTITASK_FIXTURE: JSON.stringify(fx),
      RECOVERY_OPTIONS: JSON.stringify({ ...LEASE, ...options }),
      RUN_INPUT: JSON.stringify(input(tag)),
    });
  /** The app's result line. One that has not exited after 40 s is killed, and its output shown. */
  const resultOf = async (p: ReturnType<typeof app>) => {
    let timer: NodeJS.Timeout | undefined;
    const stuck = await Promise.race([
      p.exited.then(() => false),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(true), 40_000);
      }),
    ]);
    clearTimeout(timer);
    if (stuck) {
      p.child.kill("SIGKILL");
      await p.exited;
      expect.fail(`the app process did not exit within 40 s; its output:\n${p.output()}`);
    }
    const line = jsonLines(p).find((l) => "ok" in l);
    expect(line, p.output()).toBeDefined();
    return line as Record<string, unknown>;
  };
  const logOf = async (threadId: string) =>
    (
      (await graphHere().getState({ configurable: { thread_id: threadId } })).values as {
        log: string[];
      }
    ).log;
  /** Which of the two tags ran first (held s1), from the fixture's one 'hold' row. */
  const holder = async (threadId: string) => {
    const { rows } = await env.pool.query(
      `SELECT tool_call_id FROM "${schema}".side_effects WHERE thread_id = $1 AND phase = 'hold'`,
      [threadId],
    );
    return rows[0]?.tool_call_id as string;
  };
  /**
   * A sends first, B once A holds s1: a handoff asked for before A reached s1 would drain A before
   * it ran anything, and B, the first to reach s1, would then hold it with nobody to drain it.
   */
  const sendWhileHeld = async (fx: MultitaskFixture, threadId: string, options: object) => {
    const a = app(fx, threadId, "A", options);
    const first = await waitFor(() => holder(threadId), "one run to hold s1");
    return { a, b: app(fx, threadId, "B", options), first };
  };
  const steps = (tag: string) => [tag, `${tag}:s1`, `${tag}:s2`, `${tag}:s3`];

  it("reject (default): the second process gets LEASE_HELD naming the owner; one run", async () => {
    const fx: MultitaskFixture = { schema, hold: "drain" };
    const [a, b] = [app(fx, "t-reject", "A", {}), app(fx, "t-reject", "B", {})];
    const first = await waitFor(() => holder("t-reject"), "one run to hold s1");
    const second = first === "A" ? b : a;
    const refused = await resultOf(second);
    expect(refused).toMatchObject({ ok: false, code: "LEASE_HELD" });
    expect(String(refused.message)).toContain("is being run by");
    (first === "A" ? a : b).child.kill("SIGKILL");
  });

  it("enqueue: the second input runs after the first, in order, in the owner's process", async () => {
    const fx: MultitaskFixture = { schema, hold: "queued" };
    const opts = { multitask: "enqueue" };
    const [a, b] = [app(fx, "t-enq", "A", opts), app(fx, "t-enq", "B", opts)];
    await waitFor(() => holder("t-enq"), "one run to hold s1");
    await waitFor(async () => (await queuedCount(env.saver, "t-enq")) === 1, "an input queued");
    await env.pool.query(
      `INSERT INTO "${schema}".side_effects (thread_id, tool_call_id, phase) VALUES ('t-enq', '-', 'release')`,
    );
    const results = [await resultOf(a), await resultOf(b)];
    const first = await holder("t-enq");
    const second = first === "A" ? "B" : "A";
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(results.filter((r) => r.position === 1)).toHaveLength(1);
    expect(await logOf("t-enq")).toEqual([...steps(first), ...steps(second)]);
    expect(await queuedCount(env.saver, "t-enq")).toBe(0);
    expect(await readRun(env.saver, "t-enq")).toMatchObject({
      status: "completed",
      leaseLive: false,
    });
    const effects = await effectsOf(env.pool, schema, "t-enq");
    for (const tag of ["A", "B"])
      for (const n of [1, 2, 3]) expect(effects[`${tag}:s${n}:ran`]).toBe(1);
  });

  // The owner is SIGKILLed while its claim of the queued input waits inside its statement. Then
  // either that statement is aborted (the input stays queued) or it commits after the death (the
  // thread is claimed, the input is in the ledger row and no checkpoint of it exists).
  it.each([
    ["aborted", true],
    ["committed after the kill", false],
  ])(
    "enqueue survives a SIGKILL of the owner between the two runs (claim %s): the sweep runs the queued input",
    async (_, abort) => {
      const id = abort ? "t-kill" : "t-kill2";
      const fx: MultitaskFixture = { schema, hold: "queued" };
      const opts = { multitask: "enqueue" };
      const [a, b] = [app(fx, id, "A", opts), app(fx, id, "B", opts)];
      await waitFor(() => holder(id), "one run to hold s1");
      await waitFor(async () => (await queuedCount(env.saver, id)) === 1, "an input queued");
      const first = await holder(id);
      const owner = first === "A" ? a : b;
      const queued = await resultOf(first === "A" ? b : a);
      expect(queued).toMatchObject({ ok: true, position: 1 });
      // Hold the queued row so the owner's claim of it blocks inside its statement, then kill it there.
      const lock = await env.pool.connect();
      try {
        await lock.query("BEGIN");
        await lock.query(
          `SELECT id FROM "${schema}".agentstate_run_queue WHERE thread_id = $1 FOR UPDATE`,
          [id],
        );
        const [{ pid: lockPid }] = (await lock.query("SELECT pg_backend_pid() AS pid")).rows;
        await env.pool.query(
          `INSERT INTO "${schema}".side_effects (thread_id, tool_call_id, phase) VALUES ($1, '-', 'release')`,
          [id],
        );
        const blocked = await waitFor(async () => {
          const { rows } = await env.pool.query(
            "SELECT pid FROM pg_stat_activity WHERE $1 = ANY (pg_blocking_pids(pid))",
            [lockPid],
          );
          return rows[0]?.pid as number | undefined;
        }, "the owner's claim of the queued input to wait on the lock");
        expect(await readRun(env.saver, id)).toMatchObject({ status: "completed" });
        owner.child.kill("SIGKILL");
        await owner.exited;
        if (abort) await env.pool.query("SELECT pg_terminate_backend($1)", [blocked]);
        await lock.query("ROLLBACK");
      } finally {
        lock.release();
      }
      if (abort) expect(await queuedCount(env.saver, id)).toBe(1);
      else {
        await waitFor(
          async () => (await queuedCount(env.saver, id)) === 0,
          "the dead claim to commit",
        );
        expect(await readRun(env.saver, id)).toMatchObject({ status: "running" });
        await waitFor(async () => !(await readRun(env.saver, id))?.leaseLive, "its lease to lapse");
      }
      const second = first === "A" ? "B" : "A";
      expect(await logOf(id)).toEqual(steps(first));

      const sweep = await new RecoveryService(graphHere(), LEASE).sweep();
      expect(sweep.results.filter((r) => r.threadId === id)).toEqual([
        expect.objectContaining({
          threadId: id,
          status: "resumed",
          outcome: "completed",
          reason: expect.stringContaining(abort ? "queued input" : "stored input"),
        }),
      ]);
      expect(await logOf(id)).toEqual([...steps(first), ...steps(second)]);
      expect(await queuedCount(env.saver, id)).toBe(0);
      const effects = await effectsOf(env.pool, schema, id);
      for (const n of [1, 2, 3]) expect(effects[`${second}:s${n}:ran`]).toBe(1);
    },
  );

  it("interrupt: the running run drains at its next boundary (DRAINED), the new input runs on from there", async () => {
    const fx: MultitaskFixture = { schema, hold: "drain" };
    const opts = { multitask: "interrupt" };
    const { a, b, first } = await sendWhileHeld(fx, "t-int", opts);
    const second = first === "A" ? "B" : "A";
    const [ra, rb] = [await resultOf(a), await resultOf(b)];
    const [rFirst, rSecond] = first === "A" ? [ra, rb] : [rb, ra];
    expect(rFirst).toMatchObject({ ok: false, code: "DRAINED" });
    expect(rSecond).toMatchObject({ ok: true });
    // The first run's pending s2 was dropped; the second ran whole on top of its checkpoint.
    expect(await logOf("t-int")).toEqual([first, `${first}:s1`, ...steps(second)]);
    const effects = await effectsOf(env.pool, schema, "t-int");
    expect(effects[`${first}:s2:ran`]).toBeUndefined();
    expect(await readRun(env.saver, "t-int")).toMatchObject({ status: "completed", fence: 2 + 1 });
  });

  it("rollback: the running run drains and the new input runs from the checkpoint that run started at", async () => {
    await runDurably(graphHere(), input("P"), { configurable: { thread_id: "t-rb" } }, LEASE);
    const started = (await readRun(env.saver, "t-rb"))?.headCheckpointId;
    const fx: MultitaskFixture = { schema, hold: "drain" };
    const opts = { multitask: "rollback" };
    const { a, b, first } = await sendWhileHeld(fx, "t-rb", opts);
    const second = first === "A" ? "B" : "A";
    const [ra, rb] = [await resultOf(a), await resultOf(b)];
    expect(first === "A" ? ra : rb).toMatchObject({ ok: false, code: "DRAINED" });
    expect(first === "A" ? rb : ra).toMatchObject({ ok: true });
    // Nothing of the interrupted run on the new head: P's state, then the new input.
    expect(await logOf("t-rb")).toEqual([...steps("P"), ...steps(second)]);
    // The interrupted run's checkpoints stay in the history, off the new head's parent chain,
    // which passes through the checkpoint the interrupted run started from.
    const g = graphHere();
    const parents = new Map<string, { parent?: string; log: string[] }>();
    for await (const s of g.getStateHistory({ configurable: { thread_id: "t-rb" } })) {
      parents.set(String(s.config.configurable?.checkpoint_id), {
        parent: s.parentConfig?.configurable?.checkpoint_id as string | undefined,
        log: (s.values as { log?: string[] }).log ?? [],
      });
    }
    const head = await g.getState({ configurable: { thread_id: "t-rb" } });
    const chain: string[] = [];
    for (let id = head.config.configurable?.checkpoint_id as string | undefined; id; ) {
      chain.push(id);
      id = parents.get(id)?.parent;
    }
    expect(chain).toContain(started);
    const interrupted = [...parents].filter(([, c]) => c.log.includes(`${first}:s1`));
    expect(interrupted.length).toBeGreaterThan(0);
    for (const [id] of interrupted) expect(chain).not.toContain(id);
  });

  it("streamDurably with enqueue on a busy thread returns an empty stream carrying the position", async () => {
    const fx: MultitaskFixture = { schema, hold: "drain" };
    const owner = app(fx, "t-stream", "A", {});
    await waitFor(() => holder("t-stream"), "the owner to hold s1");
    const stream = await streamDurably(
      graphHere(),
      input("S"),
      {
        configurable: { thread_id: "t-stream" },
      },
      { ...LEASE, multitask: "enqueue" },
    );
    expect(stream.enqueued).toEqual({ status: "enqueued", threadId: "t-stream", position: 1 });
    const chunks: unknown[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks).toEqual([]);
    owner.child.kill("SIGKILL");
    await owner.exited;
  });
});

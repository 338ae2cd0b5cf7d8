// Child side of the crash campaign: names every checkpoint write of a run (a kill point) and
// stops a thread there — before the statement, after it, or with the statement blocked inside
// Postgres — so the parent can SIGKILL the process at exactly that point.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { RunnableConfig } from "@langchain/core/runnables";
import { WRITES_IDX_MAP } from "@langchain/langgraph-checkpoint";
import pg from "pg";

/**
 * before: the statement is not sent; after: it returned (committed); inside: it is running in
 * Postgres, blocked on a lock this process holds, so it commits after the process dies;
 * inside-abort: the same, and the parent terminates the backend before the lock goes away.
 */
export const PHASES = ["before", "after", "inside", "inside-abort"] as const;
export type Phase = (typeof PHASES)[number];

/** `put@3:after`, `writes@3:c1-write:inside`: an operation label and a phase. */
export interface KillPoint {
  op: string;
  phase: Phase;
}

export function parsePoint(text: string): KillPoint {
  const i = text.lastIndexOf(":");
  const phase = text.slice(i + 1) as Phase;
  if (i < 0 || !PHASES.includes(phase)) throw new Error(`Bad kill point "${text}"`);
  return { op: text.slice(0, i), phase };
}

export const formatPoint = (p: KillPoint) => `${p.op}:${p.phase}`;

export interface Hooks {
  /** The kill point of each thread (absent: run to the end). */
  points: Map<string, KillPoint>;
  /** Every operation, as it starts (the reference run records the sequence). */
  onOp?(threadId: string, op: string): void;
  /** A thread stopped at its kill point; `backendPid` is the blocked statement's (inside phases). */
  onPoint(threadId: string, point: KillPoint, backendPid?: number): void;
  /** Postgres URL for the lock that holds an inside statement (not available on PGlite). */
  gateUrl?: string;
}

const never = () => new Promise<never>(() => {});

function toolCallIdIn(value: unknown): string | undefined {
  for (const v of Array.isArray(value) ? value : [value]) {
    const id = (v as { tool_call_id?: unknown } | null)?.tool_call_id;
    if (typeof id === "string") return id;
  }
  return undefined;
}

/**
 * Wraps the saver's put and putWrites (instance properties shadowing the prototype's) so that
 * each is labelled: `put@<step>` by the checkpoint's step, `writes@<step>:<what>` by the step of
 * the checkpoint the writes belong to and what wrote them (a tool call id, or the node name).
 */
export function instrument(saver: PostgresCheckpointer, hooks: Hooks): void {
  const steps = new Map<string, number>();
  const put = saver.put.bind(saver);
  const putWrites = saver.putWrites.bind(saver);
  const t = saver.tables;

  const gated = async (
    threadId: string,
    point: KillPoint,
    lock: (c: pg.Client) => Promise<unknown>,
    call: () => Promise<unknown>,
  ) => {
    if (!hooks.gateUrl) throw new Error(`${formatPoint(point)} needs Postgres (no gate on PGlite)`);
    const gate = new pg.Client({ connectionString: hooks.gateUrl });
    gate.on("error", () => {});
    await gate.connect();
    const { rows } = await gate.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await gate.query("BEGIN");
    await lock(gate);
    void call().catch(() => {});
    // Wait until the statement is inside Postgres, waiting for the gate's lock (directly, or
    // queued behind this thread's heartbeat, an UPDATE of the same ledger row). The statement's
    // text is not searched for the table: pg_stat_activity cuts it at 1 kB.
    const end = Date.now() + 60_000;
    for (;;) {
      // Inside a transaction pg_stat_activity is read once and cached: drop that snapshot.
      await gate.query("SELECT pg_stat_clear_snapshot()");
      const blocked = await gate.query<{ pid: number }>(
        `WITH RECURSIVE b(pid) AS (
           SELECT pid FROM pg_stat_activity WHERE $1::int = ANY(pg_blocking_pids(pid))
           UNION SELECT a.pid FROM pg_stat_activity a JOIN b ON b.pid = ANY(pg_blocking_pids(a.pid)))
         SELECT pid FROM b JOIN pg_stat_activity USING (pid) WHERE left(query, 6) <> 'UPDATE'`,
        [rows[0]?.pid],
      );
      if (blocked.rows[0]) {
        hooks.onPoint(threadId, point, blocked.rows[0].pid);
        return never();
      }
      if (Date.now() > end) throw new Error(`${formatPoint(point)}: the statement never blocked`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  // Per thread: its writes still running, and whether it reached its point. From the point on the
  // thread is frozen: later operations never start (LangGraph does not wait for a task's writes
  // before the step's checkpoint, so without this a blocked write would not stop the thread).
  const running = new Map<string, Set<Promise<unknown>>>();
  const frozen = new Set<string>();
  const settled = (threadId: string) =>
    Promise.allSettled([...(running.get(threadId) ?? [])]).then(() => undefined);

  const at = async <T>(
    threadId: string,
    op: string,
    call: () => Promise<T>,
    inside: (point: KillPoint) => Promise<never>,
  ): Promise<T> => {
    hooks.onOp?.(threadId, op);
    if (frozen.has(threadId)) return never();
    const point = hooks.points.get(threadId);
    if (!point || point.op !== op) {
      const p = call();
      const set = running.get(threadId) ?? new Set();
      running.set(threadId, set);
      set.add(p);
      const forget = () => set.delete(p);
      p.then(forget, forget);
      return p;
    }
    // Everything started before the point lands first: the database then holds exactly the
    // operations that precede it (and the point's own, by phase).
    frozen.add(threadId);
    await settled(threadId);
    if (point.phase === "before") {
      hooks.onPoint(threadId, point);
      return never();
    }
    if (point.phase === "after") {
      await call();
      hooks.onPoint(threadId, point);
      return never();
    }
    return inside(point);
  };

  saver.put = (config, checkpoint, metadata, versions) => {
    const threadId = String(config.configurable?.thread_id);
    steps.set(checkpoint.id, metadata.step);
    const call = () => put(config, checkpoint, metadata, versions);
    return at(threadId, `put@${metadata.step}`, call, (point) =>
      gated(
        threadId,
        point,
        (gate) => gate.query(`SELECT 1 FROM ${t.runs} WHERE thread_id = $1 FOR UPDATE`, [threadId]),
        call,
      ),
    );
  };

  saver.putWrites = (config: RunnableConfig, writes, taskId, taskPath = "") => {
    const c = config.configurable ?? {};
    const threadId = String(c.thread_id);
    const step = steps.get(String(c.checkpoint_id)) ?? "?";
    const callId = writes.map(([, v]) => toolCallIdIn(v)).find((id) => id);
    const node = String(taskPath).split(",").at(-1)?.trim() || taskId;
    const call = () => putWrites(config, writes, taskId, taskPath);
    const [channel] = writes[0] ?? ["?"];
    return at(threadId, `writes@${step}:${callId ?? node}`, call, (point) =>
      gated(
        threadId,
        point,
        // An uncommitted row with the key of the first write: the statement's insert waits on it.
        (gate) =>
          gate.query(
            `INSERT INTO ${t.writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, task_path,
               channel, idx, type, blob) VALUES ($1, $2, $3, $4, '', 'campaign-gate', $5, 'empty', '\\x')`,
            [
              threadId,
              c.checkpoint_ns ?? "",
              c.checkpoint_id,
              taskId,
              WRITES_IDX_MAP[channel] ?? 0,
            ],
          ),
        call,
      ),
    );
  };
}

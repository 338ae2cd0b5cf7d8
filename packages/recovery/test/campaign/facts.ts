// What the crash campaign checks, read from the database only (never from recovery's own
// analysis): where each thread stood when it was killed, and whether it ended as it must.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import type { BaseMessage } from "@langchain/core/messages";
import { CALLS, normalize } from "./agent.js";

/** A killed thread as the database shows it before any recovery. */
export interface KillFacts {
  threadId: string;
  /** none: nothing stored (died before its claim); ledger-only: claimed, no checkpoint yet. */
  stored: "none" | "ledger-only" | "checkpoint";
  /** ledger-only: the claim stored the run's input, so recovery can start it again. */
  inputStored: boolean;
  /** Tool calls whose ToolMessage is committed (in the head checkpoint or its pending writes). */
  answered: string[];
  /** Calls of the head checkpoint's last model turn, unanswered: they may have started. */
  inFlight: string[];
  /** Calls only in a finished model task's pending writes: their step had not begun. */
  scheduled: string[];
}

/** What recovery must do with a killed thread. */
export type Expected = "nothing" | "report-dead" | "park" | "complete";

const idOf = (m: unknown) => (m as { tool_call_id?: unknown } | null)?.tool_call_id;
const callsOf = (m: unknown): string[] =>
  ((m as { tool_calls?: Array<{ id?: string }> } | null)?.tool_calls ?? []).map((c) => c.id ?? "");
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);

export async function readKillFacts(
  saver: PostgresCheckpointer,
  threadId: string,
): Promise<KillFacts> {
  const tuple = await saver.getTuple({ configurable: { thread_id: threadId } });
  if (!tuple) {
    const [row] = await saver.run<{ input: boolean }>(
      "campaign",
      `SELECT coalesce(details->'input' ? 'data', false) AS input FROM ${saver.tables.runs} WHERE thread_id = $1`,
      [threadId],
    );
    const stored = row ? "ledger-only" : "none";
    const none = { answered: [], inFlight: [], scheduled: [] };
    return { threadId, stored, inputStored: Boolean(row?.input), ...none };
  }
  const messages = list(tuple.checkpoint.channel_values.messages);
  const written = (tuple.pendingWrites ?? [])
    .filter(([, channel]) => channel === "messages")
    .flatMap(([, , value]) => list(value));
  const answered = new Set<string>();
  for (const m of [...messages, ...written]) {
    const id = idOf(m);
    if (typeof id === "string") answered.add(id);
  }
  const lastAi = [...messages].reverse().find((m) => callsOf(m).length > 0);
  const open = (ids: string[]) => ids.filter((id) => !answered.has(id));
  return {
    threadId,
    stored: "checkpoint",
    inputStored: true,
    answered: [...answered],
    inFlight: open(callsOf(lastAi)),
    scheduled: open(written.flatMap(callsOf)),
  };
}

const idempotent = new Map(CALLS.map((c) => [c.id, c.idempotent]));

export function expectedOf(f: KillFacts): Expected {
  if (f.stored === "none") return "nothing";
  if (f.stored === "ledger-only") return f.inputStored ? "complete" : "report-dead";
  return f.inFlight.some((id) => !idempotent.get(id)) ? "park" : "complete";
}

/** One thread's end state after recovery (and --force for parked ones). */
export interface Outcome {
  threadId: string;
  /** Ledger status and whether it was flagged for review. */
  status: string | null;
  needsReview: boolean;
  reason: string | null;
  next: string[];
  messages: BaseMessage[];
}

export async function readOutcome(
  saver: PostgresCheckpointer,
  graph: { getState(c: unknown): Promise<{ values: unknown; next: string[] }> },
  threadId: string,
): Promise<Outcome> {
  const [run] = await saver.run<{ status: string; needs_review: boolean; reason: string | null }>(
    "campaign",
    `SELECT status, needs_review, details->>'reason' AS reason FROM ${saver.tables.runs} WHERE thread_id = $1`,
    [threadId],
  );
  const tuple = await saver.getTuple({ configurable: { thread_id: threadId } });
  const state = tuple ? await graph.getState({ configurable: { thread_id: threadId } }) : undefined;
  return {
    threadId,
    status: run?.status ?? null,
    needsReview: Boolean(run?.needs_review),
    reason: run?.reason ?? null,
    next: state?.next ?? [],
    messages: ((state?.values as { messages?: BaseMessage[] })?.messages ?? []) as BaseMessage[],
  };
}

/** Executions per tool call of one thread. */
export type Effects = Record<string, { started: number; done: number }>;

/**
 * The verdict on one thread: a list of problems (empty = as it must be) and the duplicate
 * executions found. `parked` says whether recovery parked it (then --force finished it).
 */
export function judge(
  f: KillFacts,
  parked: boolean,
  out: Outcome,
  effects: Effects,
  reference: BaseMessage[],
): { problems: string[]; duplicates: number; reruns: number } {
  const problems: string[] = [];
  const expected = expectedOf(f);
  let duplicates = 0;
  let reruns = 0;
  if (expected === "nothing") {
    if (out.status !== null || out.messages.length > 0) problems.push("unstored thread has data");
    if (Object.keys(effects).length > 0) problems.push("unstored thread ran tools");
    return { problems, duplicates, reruns };
  }
  if (expected === "report-dead") {
    // The input never reached a checkpoint: nothing to resume, but it must not vanish silently.
    if (out.status !== "dead" || !out.reason)
      problems.push(
        `killed before its first checkpoint: ledger ${out.status}, reason ${out.reason}`,
      );
    if (Object.keys(effects).length > 0) problems.push("ran tools without a checkpoint");
    return { problems, duplicates, reruns };
  }
  if (parked !== (expected === "park")) {
    problems.push(
      parked
        ? `parked, but no non-idempotent call was in flight (in flight: ${f.inFlight.join(",") || "none"}; scheduled: ${f.scheduled.join(",") || "none"})`
        : `not parked although non-idempotent call(s) ${f.inFlight.join(",")} were in flight`,
    );
  }
  if (out.status !== "completed" || out.next.length > 0)
    problems.push(`ended ${out.status} with next [${out.next.join(",")}]`);
  // Parked calls are answered with an "outcome unknown" error instead of their result.
  const unknown = new Set(parked ? f.inFlight.filter((id) => !idempotent.get(id)) : []);
  const shape = (ms: BaseMessage[]) =>
    normalize(ms).map((m) => {
      const id = (m as { tool_call_id?: string }).tool_call_id;
      return id && unknown.has(id) ? { ...(m as object), content: "<outcome unknown>" } : m;
    });
  const got = shape(out.messages);
  const want = shape(reference);
  if (JSON.stringify(got) !== JSON.stringify(want))
    problems.push(`messages differ from the uncrashed run: ${JSON.stringify(got).slice(0, 600)}`);
  for (const m of out.messages) {
    const id = idOf(m);
    if (typeof id === "string" && unknown.has(id) && !/outcome is unknown/i.test(String(m.content)))
      problems.push(`parked call ${id} answered with "${String(m.content).slice(0, 120)}"`);
  }
  const answered = new Set(f.answered);
  const inFlight = new Set(f.inFlight);
  for (const { id, idempotent: safe } of CALLS) {
    const n = effects[id]?.started ?? 0;
    let max = 1;
    let min = unknown.has(id) ? 0 : 1;
    if (inFlight.has(id) && safe) max = 2;
    if (answered.has(id)) min = 1;
    if (n > max) {
      duplicates += n - max;
      problems.push(`${id} ran ${n} times (at most ${max})`);
    } else if (n < min) problems.push(`${id} never ran`);
    if (inFlight.has(id) && safe && n === 2) reruns += 1;
  }
  return { problems, duplicates, reruns };
}

/**
 * Threads whose root chain is not linear: two checkpoints with one parent, or checkpoints the
 * head's parent chain does not reach. The campaign's app never forks, so any is a defect.
 */
export async function forkedThreads(saver: PostgresCheckpointer): Promise<string[]> {
  const t = saver.tables.checkpoints;
  const rows = await saver.run<{ thread_id: string }>(
    "campaign",
    `WITH RECURSIVE cp AS (SELECT thread_id, checkpoint_id, parent_checkpoint_id FROM ${t} WHERE checkpoint_ns = ''),
     head AS (SELECT DISTINCT ON (thread_id) * FROM cp ORDER BY thread_id, checkpoint_id DESC),
     chain AS (SELECT * FROM head UNION ALL
       SELECT cp.* FROM cp JOIN chain ON cp.thread_id = chain.thread_id AND cp.checkpoint_id = chain.parent_checkpoint_id),
     total AS (SELECT thread_id, count(*) AS n FROM cp GROUP BY 1),
     reached AS (SELECT thread_id, count(*) AS n FROM chain GROUP BY 1),
     shared AS (SELECT DISTINCT thread_id FROM cp GROUP BY thread_id, parent_checkpoint_id HAVING count(*) > 1)
     SELECT thread_id FROM total LEFT JOIN reached USING (thread_id) WHERE total.n <> coalesce(reached.n, 0)
     UNION SELECT thread_id FROM shared`,
  );
  return rows.map((r) => r.thread_id);
}

/** Rows per thread in the checkpoint tables: a fenced zombie must not change them. */
export async function rowCounts(
  saver: PostgresCheckpointer,
  ids: string[],
): Promise<Record<string, string>> {
  const t = saver.tables;
  const rows = await saver.run<{ thread_id: string; n: string }>(
    "campaign",
    `SELECT id AS thread_id,
       (SELECT count(*) FROM ${t.checkpoints} WHERE thread_id = id) || '/' ||
       (SELECT count(*) FROM ${t.blobs} WHERE thread_id = id) || '/' ||
       (SELECT count(*) FROM ${t.writes} WHERE thread_id = id) AS n
     FROM unnest($1::text[]) AS id`,
    [ids],
  );
  return Object.fromEntries(rows.map((r) => [r.thread_id, r.n]));
}

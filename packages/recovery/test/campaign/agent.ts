// The crash campaign's agent: a createAgent tool loop with a scripted model, one idempotent and one
// non-idempotent tool, every tool execution logged (started/done) in a Postgres table.
import { byTurn, ScriptedChatModel } from "@agentstate/test-support/models";
import { DATABASE_URL } from "@agentstate/test-support/postgres";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import type { BaseCheckpointSaver } from "@langchain/langgraph";
import { createAgent } from "langchain";
import pg from "pg";
import { markIdempotent } from "../../src/index.js";

/** How the agent behaves; the CLI-loaded graph reads it from CAMPAIGN_AGENT (JSON). */
export interface CampaignAgentOptions {
  /** Postgres schema (on DATABASE_URL) of the side-effect log, whichever engine holds the checkpoints. */
  effectsSchema: string;
  /** Each model call and tool execution first waits 0..maxDelayMs (random kills land anywhere). */
  maxDelayMs?: number;
  /** Seed of those delays. */
  seed?: number;
}

/**
 * Four model turns: a lookup; a lookup and a write side by side; a second write; the answer.
 * Ids are fixed so a crashed thread's transcript can be compared with an uncrashed one.
 */
export const SCRIPT = [
  new AIMessage({
    content: "",
    tool_calls: [{ id: "c0-lookup", name: "lookup", args: { q: "alpha" } }],
  }),
  new AIMessage({
    content: "",
    tool_calls: [
      { id: "c1-lookup", name: "lookup", args: { q: "beta" } },
      { id: "c1-write", name: "write", args: { key: "k1", value: "v1" } },
    ],
  }),
  new AIMessage({
    content: "",
    tool_calls: [{ id: "c2-write", name: "write", args: { key: "k2", value: "v2" } }],
  }),
  new AIMessage("Done: alpha and beta looked up, k1 and k2 written."),
];

/** Every tool call of the script, and whether its tool may run twice. */
export const CALLS: ReadonlyArray<{ id: string; idempotent: boolean }> = SCRIPT.flatMap((m) =>
  (m.tool_calls ?? []).map((c) => ({ id: c.id as string, idempotent: c.name === "lookup" })),
);

export { DATABASE_URL };

let pool: pg.Pool | undefined;
function effects(): pg.Pool {
  if (!pool) {
    // allowExitOnIdle: the CLI loads this module and must exit as soon as its work is done.
    pool = new pg.Pool({ connectionString: DATABASE_URL, max: 3, allowExitOnIdle: true });
    pool.on("error", () => {});
  }
  return pool;
}

export async function closeEffects(): Promise<void> {
  await pool?.end();
  pool = undefined;
}

const q = (schema: string) => `"${schema.replace(/"/g, '""')}"`;

export async function ensureEffectsTable(schema: string): Promise<void> {
  await effects().query(`CREATE SCHEMA IF NOT EXISTS ${q(schema)}`);
  await effects().query(
    `CREATE TABLE IF NOT EXISTS ${q(schema)}.effects (thread_id TEXT NOT NULL,
       tool_call_id TEXT NOT NULL, phase TEXT NOT NULL, pid INT NOT NULL, at TIMESTAMPTZ DEFAULT now())`,
  );
}

/** Per thread and tool call: how many executions started and finished. */
export async function readEffects(
  schema: string,
): Promise<Map<string, Record<string, { started: number; done: number }>>> {
  const { rows } = await effects().query<{
    thread_id: string;
    tool_call_id: string;
    started: number;
    done: number;
  }>(
    `SELECT thread_id, tool_call_id, count(*) FILTER (WHERE phase = 'started')::int AS started,
       count(*) FILTER (WHERE phase = 'done')::int AS done
     FROM ${q(schema)}.effects GROUP BY 1, 2`,
  );
  const out = new Map<string, Record<string, { started: number; done: number }>>();
  for (const r of rows) {
    const calls = out.get(r.thread_id) ?? {};
    calls[r.tool_call_id] = { started: r.started, done: r.done };
    out.set(r.thread_id, calls);
  }
  return out;
}

async function log(schema: string, config: unknown, phase: "started" | "done"): Promise<void> {
  const c = config as { configurable?: { thread_id?: string }; toolCall?: { id?: string } };
  await effects().query(
    `INSERT INTO ${q(schema)}.effects (thread_id, tool_call_id, phase, pid) VALUES ($1, $2, $3, $4)`,
    [c.configurable?.thread_id ?? "?", c.toolCall?.id ?? "?", phase, process.pid],
  );
}

/** mulberry32: a small seeded PRNG, so a campaign is repeatable from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function buildCampaignAgent(o: CampaignAgentOptions, checkpointer?: BaseCheckpointSaver) {
  const random = prng(o.seed ?? 1);
  const pause = async () => {
    const ms = Math.floor(random() * (o.maxDelayMs ?? 0));
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  };
  const script = byTurn(SCRIPT);
  const model = new ScriptedChatModel(async (messages) => {
    await pause();
    return script(messages);
  });
  const strings = (...names: string[]) => ({
    type: "object" as const,
    properties: Object.fromEntries(names.map((n) => [n, { type: "string" as const }])),
    required: names,
  });
  const lookup = markIdempotent(
    tool(
      async ({ q }: { q: string }, config) => {
        await log(o.effectsSchema, config, "started");
        await pause();
        await log(o.effectsSchema, config, "done");
        return `result for ${q}`;
      },
      { name: "lookup", description: "Looks something up", schema: strings("q") },
    ),
  );
  const write = tool(
    async ({ key, value }: { key: string; value: string }, config) => {
      await log(o.effectsSchema, config, "started");
      await pause();
      await log(o.effectsSchema, config, "done");
      return `wrote ${key}=${value}`;
    },
    {
      name: "write",
      description: "Writes a key (not idempotent)",
      schema: strings("key", "value"),
    },
  );
  return createAgent({
    model,
    tools: [lookup, write],
    ...(checkpointer ? { checkpointer } : {}),
  });
}

/** What the campaign compares with the uncrashed run: messages without their random ids. */
export function normalize(messages: BaseMessage[]): unknown[] {
  return messages.map((m) => ({
    type: m.getType(),
    content: m.content,
    tool_call_id: (m as { tool_call_id?: string }).tool_call_id,
    tool_calls: ((m as { tool_calls?: Array<{ id?: string }> }).tool_calls ?? []).map((c) => c.id),
  }));
}

/** For the CLI (`--graph …/campaign/agent.ts:graph`): configured from CAMPAIGN_AGENT. */
export function graph() {
  return buildCampaignAgent(JSON.parse(process.env.CAMPAIGN_AGENT ?? "{}") as CampaignAgentOptions);
}

// Child process of the crash campaign: runs the campaign agent durably on several threads at once,
// each stopping at its own kill point, and reports on stdout (JSON lines) so the parent can kill it.
import { getCheckpointer, PostgresCheckpointer } from "@agentstate/checkpointer";
import { HumanMessage } from "@langchain/core/messages";
import pg from "pg";
import { runDurably } from "../../src/index.js";
import { buildCampaignAgent, closeEffects } from "./agent.js";
import { instrument, type KillPoint, parsePoint } from "./killswitch.js";

/** What a child does, passed as JSON in CAMPAIGN_CHILD. */
export interface ChildConfig {
  engine: "postgres" | "pglite";
  /** Schema of the checkpoints and the ledger. */
  schema: string;
  /** PGlite data directory (engine "pglite"). */
  dataDir?: string;
  effectsSchema: string;
  threads: Array<{ id: string; kill?: string }>;
  maxDelayMs?: number;
  seed?: number;
  leaseSeconds: number;
  heartbeatMs: number;
  /** Pool size before the connections held by inside kill points. @default 6 */
  poolMax?: number;
}

/** One line of a child's stdout. */
export type ChildEvent =
  | { event: "ready" }
  | { event: "point"; thread: string; point: string; backendPid?: number }
  | { event: "end"; thread: string; ok: boolean; code?: string; message?: string }
  | { event: "exit" };

const cfg = JSON.parse(process.env.CAMPAIGN_CHILD ?? "{}") as ChildConfig;
const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const say = (e: ChildEvent) => process.stdout.write(`${JSON.stringify(e)}\n`);

const insideCount = cfg.threads.filter((t) => t.kill?.includes(":inside")).length;
// A statement held inside Postgres keeps its pool client, and a heartbeat queued behind a held
// put keeps one more: size the pool so the other threads still reach their points.
const pool =
  cfg.engine === "postgres"
    ? new pg.Pool({ connectionString: url, max: (cfg.poolMax ?? 6) + 2 * insideCount })
    : undefined;
pool?.on("error", () => {});
// A statement held inside Postgres must hold only its own thread's write: with group commit it
// could carry other threads' writes (they would freeze with it) and it would fill the writer's
// in-flight slots. So a child with inside points (Postgres only) sends each write alone; the
// others (before, after, random kills) run with group commit as apps do.
const saver =
  pool && insideCount > 0
    ? new PostgresCheckpointer(pool, undefined, { schema: cfg.schema, maxConcurrentWrites: 0 })
    : await getCheckpointer(
        pool ? { pool, schema: cfg.schema } : { dataDir: cfg.dataDir, schema: cfg.schema },
      );
await saver.setup();
const points = new Map<string, KillPoint>();
for (const t of cfg.threads) if (t.kill) points.set(t.id, parsePoint(t.kill));
instrument(saver, {
  points,
  gateUrl: pool ? url : undefined,
  onPoint: (thread, point, backendPid) =>
    say({ event: "point", thread, point: `${point.op}:${point.phase}`, backendPid }),
});
const agent = buildCampaignAgent(
  { effectsSchema: cfg.effectsSchema, maxDelayMs: cfg.maxDelayMs, seed: cfg.seed },
  saver,
);
const options = { leaseSeconds: cfg.leaseSeconds, heartbeatMs: cfg.heartbeatMs };

say({ event: "ready" });
await Promise.all(
  cfg.threads.map(async ({ id }) => {
    try {
      await runDurably(
        agent,
        { messages: [new HumanMessage("go")] },
        { configurable: { thread_id: id } },
        options,
      );
      say({ event: "end", thread: id, ok: true });
    } catch (error) {
      const e = error as { code?: string; message?: string };
      say({ event: "end", thread: id, ok: false, code: e.code, message: e.message?.slice(0, 300) });
    }
  }),
);
await saver.end().catch(() => {});
await pool?.end().catch(() => {});
await closeEffects().catch(() => {});
say({ event: "exit" });
process.exit(0);

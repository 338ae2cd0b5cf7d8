// The ledger's NOTIFY channel: drains and multitask handoffs are announced on it by the statement
// that records them (so listeners hear of them exactly when they commit), and a probe checks that
// notifications get through at all (a pooler in transaction mode swallows them).
import type { DbSeam } from "@agentstate/checkpointer";

/** The NOTIFY channel a drain announces itself on; the payload names the schema and thread. */
export const RUNS_CHANNEL = "agentstate_runs";

/** What a NOTIFY on RUNS_CHANNEL carries (JSON). `schema` is the quoted schema name. */
export interface RunsNotification {
  /** `handoff`: a multitask request asks the thread's current run to drain. */
  event: "drained" | "probe" | "handoff";
  schema: string;
  thread_id?: string;
  graph_id?: string | null;
  probe?: string;
}

/** Sends a probe NOTIFY through the pool: a listener that never hears it is behind a pooler. */
export async function notifyProbe(db: DbSeam, probe: string): Promise<void> {
  const payload: RunsNotification = { event: "probe", schema: db.tables.schema, probe };
  await db.run("notifyProbe()", "SELECT pg_notify($1, $2)", [
    RUNS_CHANNEL,
    JSON.stringify(payload),
  ]);
}

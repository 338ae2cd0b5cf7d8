// LISTEN for drained runs on a dedicated connection, so a worker hears of a drain the moment it
// commits. A probe NOTIFY detects poolers that swallow notifications (PgBouncer in transaction
// mode); there, on PGlite, and while the connection is down, the worker polls instead. LISTEN
// needs a session: behind a pooler, `listenUrl` names a direct connection for it alone.
import { randomBytes } from "node:crypto";
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import pg from "pg";
import { notifyProbe, RUNS_CHANNEL, type RunsNotification } from "./ledger/channel.js";

/** How the worker learns of drained threads right now. */
export type WakeMode = "listen" | "poll";

export interface DrainListener {
  readonly mode: WakeMode;
  close(): Promise<void>;
}

interface ClientLike {
  query(text: string): Promise<unknown>;
  on(event: "notification", fn: (msg: { channel: string; payload?: string }) => void): unknown;
  on(event: "error", fn: (error: Error) => void): unknown;
  release(error?: Error | boolean): void;
}

export interface ListenOptions {
  /** How long to wait for the probe to come back before falling back to polling. @default 2000 */
  probeTimeoutMs?: number;
  /** Hears mode changes (and why), for logs. */
  onMode?: (mode: WakeMode, reason: string) => void;
  /**
   * A direct Postgres URL (not a pooler in transaction mode) for the LISTEN connection alone:
   * LISTEN needs a session. Everything else still goes through the checkpointer's pool.
   * @default one of the checkpointer's pool connections
   */
  listenUrl?: string;
}

/** A dedicated client on `url`, shaped like a pool's client (release ends it). */
async function directClient(url: string): Promise<ClientLike> {
  const client = new pg.Client({ connectionString: url });
  // Before connect() settles, an 'error' would be unhandled; after, connect() below adds its own.
  client.on("error", () => {});
  await client.connect();
  return Object.assign(client, {
    release: () => {
      client.end().catch(() => {});
    },
  }) as unknown as ClientLike;
}

/**
 * The checkpointer's pg.Pool, to borrow one session for LISTEN. The only place recovery reaches
 * past the DbSeam: LISTEN needs a connection of its own for as long as it listens, which run()
 * and transaction() (one statement, one transaction) cannot give. Undefined on PGlite.
 */
function listenPool(saver: PostgresCheckpointer): { connect(): Promise<ClientLike> } | undefined {
  if (saver.kind !== "postgres") return undefined;
  return (saver.db as { pool?: { connect(): Promise<ClientLike> } }).pool;
}

/**
 * Calls `onDrained` for every drain committed in this checkpointer's schema. Needs a pg.Pool
 * behind the checkpointer (one of its connections is kept for LISTEN); otherwise, or if the probe
 * does not come back, `mode` is "poll" and nothing is called.
 */
export async function listenForDrains(
  saver: PostgresCheckpointer,
  onDrained: (n: RunsNotification) => void,
  options: ListenOptions = {},
): Promise<DrainListener> {
  const pool = listenPool(saver);
  let mode: WakeMode = "poll";
  let client: ClientLike | undefined;
  let closed = false;
  let retryMs = 1000;
  let retry: NodeJS.Timeout | undefined;
  let reported = false;
  const setMode = (next: WakeMode, reason: string) => {
    if (next !== mode || !reported) options.onMode?.(next, reason);
    reported = true;
    mode = next;
  };
  const { listenUrl } = options;
  if (saver.kind !== "postgres" || (!pool && !listenUrl)) {
    options.onMode?.("poll", `no LISTEN on ${saver.kind}: polling`);
    return { mode, close: async () => {} };
  }
  const open = (): Promise<ClientLike> =>
    listenUrl ? directClient(listenUrl) : (pool as { connect(): Promise<ClientLike> }).connect();

  const connect = async (): Promise<void> => {
    const probe = randomBytes(6).toString("hex");
    let heard: () => void = () => {};
    const probed = new Promise<void>((resolve) => {
      heard = resolve;
    });
    const c = await open();
    client = c;
    c.on("error", (error) => {
      if (client !== c) return;
      client = undefined;
      c.release(error);
      setMode("poll", `LISTEN connection lost (${error.message}): polling until it is back`);
      schedule();
    });
    c.on("notification", (msg) => {
      if (msg.channel !== RUNS_CHANNEL || !msg.payload) return;
      let n: RunsNotification;
      try {
        n = JSON.parse(msg.payload) as RunsNotification;
      } catch {
        return;
      }
      if (n.schema !== saver.tables.schema) return;
      if (n.event === "probe") {
        if (n.probe === probe) heard();
      } else onDrained(n);
    });
    await c.query(`LISTEN ${RUNS_CHANNEL}`);
    await notifyProbe(saver, probe);
    let timer: NodeJS.Timeout | undefined;
    const ok = await Promise.race([
      probed.then(() => true),
      new Promise<boolean>((r) => {
        timer = setTimeout(() => r(false), options.probeTimeoutMs ?? 2000);
      }),
    ]);
    clearTimeout(timer);
    if (!ok) {
      client = undefined;
      await c.query(`UNLISTEN ${RUNS_CHANNEL}`).catch(() => {});
      c.release();
      setMode(
        "poll",
        "a probe NOTIFY did not come back (a pooler in transaction mode? pass a direct --listen-url): polling",
      );
      return;
    }
    retryMs = 1000;
    setMode(
      "listen",
      listenUrl
        ? "LISTEN on the direct --listen-url connection"
        : "LISTEN on a dedicated connection",
    );
  };

  const schedule = () => {
    if (closed) return;
    retry = setTimeout(() => {
      connect().catch((error) => {
        setMode("poll", `cannot LISTEN (${(error as Error).message}): polling`);
        schedule();
      });
    }, retryMs);
    retry.unref?.();
    retryMs = Math.min(retryMs * 2, 60_000);
  };

  try {
    await connect();
  } catch (error) {
    setMode("poll", `cannot LISTEN (${(error as Error).message}): polling`);
    schedule();
  }
  return {
    get mode() {
      return mode;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const c = client;
      client = undefined;
      if (!c) return;
      await c.query(`UNLISTEN ${RUNS_CHANNEL}`).catch(() => {});
      c.release();
    },
  };
}

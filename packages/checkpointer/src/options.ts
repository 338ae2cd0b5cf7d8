// The saver's options, resolved once with their defaults, and the types of leases and operation
// events it shares with @agentstate/recovery and the metrics.
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { CheckpointerError } from "./errors.js";

export interface PostgresCheckpointerOptions {
  /** Schema holding the tables, in the official `"schema".table` layout. @default "public" */
  schema?: string;
  /** Let setup() run `CREATE SCHEMA IF NOT EXISTS`; turn off where the role may not create schemas. @default true */
  createSchema?: boolean;
  /** End a pool (or PGlite instance) that the caller passed in when end() is called. @default false */
  endPool?: boolean;
  /** Rows fetched per round trip by list(), which streams. @default 100 */
  listPageSize?: number;
  /**
   * Write statements in flight at once. Writes from other threads that arrive while this many
   * are running wait and then go together as one statement (group commit): fewer round trips,
   * plans and commits under load; a lone writer never waits. 0 turns coalescing off.
   * @default 2
   */
  maxConcurrentWrites?: number;
  /**
   * How channel values are written. "default": every new version whole, byte-compatible with the
   * official saver. "compact": a value that extends a version written before (a message list that
   * grew) is stored as the added bytes and a reference to that version, so each message is
   * stored once; the official saver cannot read such threads (`agentstate expand` converts them
   * back). Reads understand both, whatever this option says.
   * @default "default"
   */
  storage?: "default" | "compact";
  /** Compact: appends one chain may hold before a value is stored whole again. @default 1000 */
  compactMaxChain?: number;
  /**
   * Compact: bytes of recently written values kept in memory to compare the next version with
   * (least recently written threads are dropped first; a dropped thread's next value is stored
   * whole). @default 67108864 (64 MiB)
   */
  compactCacheBytes?: number;
  /**
   * On a pg.Pool, run the hot statements (single writes, getTuple, a durable run's claim and
   * outcome) as named prepared statements: each server connection parses them once, and Postgres
   * can reuse their plans. A connection pooler in transaction mode that cannot carry them
   * (PgBouncer before 1.21 or without `max_prepared_statements`) is detected on the first
   * refusal, and the checkpointer runs them unnamed from then on. Ignored on PGlite.
   * @default true
   */
  preparedStatements?: boolean;
}

export interface ResolvedOptions {
  schema: string;
  createSchema: boolean;
  endPool: boolean;
  listPageSize: number;
  maxConcurrentWrites: number;
  storage: "default" | "compact";
  compactMaxChain: number;
  compactCacheBytes: number;
  preparedStatements: boolean;
}

export function resolveOptions(options?: PostgresCheckpointerOptions): ResolvedOptions {
  const listPageSize = options?.listPageSize ?? 100;
  if (!Number.isInteger(listPageSize) || listPageSize < 1) {
    throw new CheckpointerError(
      "INVALID_CONFIG",
      `listPageSize must be a positive integer, got ${listPageSize}.`,
    );
  }
  const maxConcurrentWrites = options?.maxConcurrentWrites ?? 2;
  if (!Number.isInteger(maxConcurrentWrites) || maxConcurrentWrites < 0) {
    throw new CheckpointerError(
      "INVALID_CONFIG",
      `maxConcurrentWrites must be an integer ≥ 0, got ${maxConcurrentWrites}.`,
    );
  }
  const storage = options?.storage ?? "default";
  if (storage !== "default" && storage !== "compact") {
    throw new CheckpointerError(
      "INVALID_CONFIG",
      `storage must be "default" or "compact", got ${JSON.stringify(storage)}.`,
    );
  }
  const compactMaxChain = positiveInteger("compactMaxChain", options?.compactMaxChain, 1000);
  const compactCacheBytes = positiveInteger(
    "compactCacheBytes",
    options?.compactCacheBytes,
    2 ** 26,
  );
  return {
    storage,
    compactMaxChain,
    compactCacheBytes,
    maxConcurrentWrites,
    schema: options?.schema ?? "public",
    createSchema: options?.createSchema ?? true,
    endPool: options?.endPool ?? false,
    listPageSize,
    preparedStatements: options?.preparedStatements ?? true,
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  const n = value ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new CheckpointerError("INVALID_CONFIG", `${name} must be a positive integer, got ${n}.`);
  }
  return n;
}

/** A lease a durable run holds on a thread; writes carrying a stale fence are rejected. */
export interface WriteLease {
  fence: number | string;
  /** How far a renewing write pushes the lease out. */
  leaseSeconds: number;
}

/**
 * A getTuple answered ahead, in the statement that took the lease (see `getTupleWith`): the
 * run's first getTuple of the same thread, namespace and checkpoint id gets it, once.
 */
export interface FirstRead {
  threadId: string;
  checkpointNs: string;
  /** The checkpoint id asked for; undefined: the latest. */
  checkpointId?: string;
  tuple: CheckpointTuple | undefined;
}

/** What was stored under an attached lease (see `leaseActivity`). */
export interface LeaseActivity {
  /** The last checkpoint put in the root namespace, null before the first. */
  head: string | null;
  /** Interrupt writes stored (any namespace): a node called interrupt(). */
  interrupts: number;
}

/** One statement the checkpointer ran: for metrics (see `onOperation`). */
export interface OperationEvent {
  /** "put", "putWrites", "getTuple", "list", "getDeltaChannelHistory", "prune", … */
  operation: string;
  durationMs: number;
  ok: boolean;
  error?: unknown;
}

export type OperationListener = (event: OperationEvent) => void;

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
}

export interface ResolvedOptions {
  schema: string;
  createSchema: boolean;
  endPool: boolean;
  listPageSize: number;
  maxConcurrentWrites: number;
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
  return {
    maxConcurrentWrites,
    schema: options?.schema ?? "public",
    createSchema: options?.createSchema ?? true,
    endPool: options?.endPool ?? false,
    listPageSize,
  };
}

/** A lease a durable run holds on a thread; writes carrying a stale fence are rejected. */
export interface WriteLease {
  fence: number | string;
  /** How far each write pushes the lease out. */
  leaseSeconds: number;
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

// The one database seam: what the saver, its ops, the metrics and @agentstate/recovery share.
// A PostgresCheckpointer is a DbSeam; code that only needs to run SQL takes a DbSeam, so it sees
// neither the saver's internals nor the driver, and every statement is timed and error-wrapped.
import type { Queryable, QueryOptions } from "./db.js";
import type { Tables } from "./sql/identifiers.js";

export interface DbSeam {
  /** The database behind the seam: a server (pg.Pool) or the embedded PGlite. */
  readonly kind: "postgres" | "pglite";
  /** The schema the tables live in (unquoted). */
  readonly schema: string;
  /** Quoted, schema-qualified table names. */
  readonly tables: Tables;
  /**
   * Runs one statement as operation `what` (e.g. `"claimForRun()"`): listeners hear its
   * duration, and a database error becomes a CheckpointerError naming the operation.
   */
  run<R = Record<string, unknown>>(
    what: string,
    sql: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<R[]>;
  /**
   * Runs `fn` inside BEGIN/COMMIT on one connection (ROLLBACK if it throws), as operation
   * `what`. Database errors are wrapped like run()'s; anything else `fn` throws passes through.
   */
  transaction<T>(what: string, fn: (tx: Queryable) => Promise<T>): Promise<T>;
}

// The driver adapters behind the seam: a node-postgres pool or an embedded PGlite, one Database
// interface (query, transaction, end); pg itself is loaded only when a pool is used.
import { createRequire } from "node:module";
import type pg from "pg";
import { CheckpointerError } from "./errors.js";

const require = createRequire(import.meta.url);

/** node-postgres, loaded on first use: an embedded database never needs it (~45 ms of a start). */
export function loadPg(): typeof pg {
  return require("pg") as typeof pg;
}

export interface QueryResult<R> {
  rows: R[];
}

export interface QueryOptions {
  /** Ask for results in binary format (bytea arrives as raw bytes, not hex text). */
  binary?: boolean;
}

/** The seam every SQL call goes through: a pg.Pool, a pg.Client or PGlite fit behind it. */
export interface Queryable {
  query<R = Record<string, unknown>>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>>;
}

export interface Database extends Queryable {
  readonly kind: "postgres" | "pglite";
  /** Runs `fn` inside BEGIN/COMMIT on one connection; ROLLBACK if it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Releases what this adapter owns (never a pool the caller passed in, unless told to). */
  end(): Promise<void>;
}

/** Adapter over a node-postgres pool. */
export class PgPoolDatabase implements Database {
  readonly kind = "postgres" as const;
  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
  ) {
    if (ownsPool) {
      // An idle client whose server restarts emits 'error' on the pool; unhandled, it kills the process.
      pool.on("error", () => {});
    }
  }

  query<R>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    const config = { text, values: params as unknown[], binary: options?.binary === true };
    return this.pool.query(config) as unknown as Promise<QueryResult<R>>;
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const result = await fn({
        query: (text, params) => client.query(text, params as unknown[]) as never,
      });
      await client.query("COMMIT");
      return result;
    } catch (error) {
      try {
        await client.query("ROLLBACK");
      } catch {
        broken = true;
      }
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async end(): Promise<void> {
    if (this.ownsPool && !(this.pool as { ended?: boolean }).ended) await this.pool.end();
  }
}

/**
 * The part of a `PGlite` instance we use, spelled out so our public types do not pull in
 * @electric-sql/pglite's declarations: they need Emscripten's global types, which an app that
 * type-checks its dependencies (skipLibCheck off) does not have. Any `PGlite` fits.
 */
export interface PGliteLike {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  transaction<T>(
    fn: (tx: { query<R>(text: string, params?: unknown[]): Promise<{ rows: R[] }> }) => Promise<T>,
  ): Promise<T>;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** Adapter over an embedded PGlite instance (same SQL, one process). */
export class PGliteDatabase implements Database {
  readonly kind = "pglite" as const;
  constructor(
    readonly pglite: PGliteLike,
    private readonly ownsInstance: boolean,
  ) {}

  async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    const result = await this.pglite.query<R>(text, params as unknown[]);
    return { rows: result.rows };
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pglite.transaction((tx) =>
      fn({
        query: async <R>(text: string, params?: readonly unknown[]) => ({
          rows: (await tx.query<R>(text, params as unknown[])).rows,
        }),
      }),
    );
  }

  async end(): Promise<void> {
    if (this.ownsInstance && !this.pglite.closed) await this.pglite.close();
  }
}

/** A connection a checkpointer can sit on. */
export type Connection = pg.Pool | PGliteLike | Database;

export function toDatabase(conn: Connection, owns: boolean): Database {
  if (typeof (conn as Database).transaction === "function" && "kind" in conn)
    return conn as Database;
  // By shape, not `instanceof PGlite`: importing PGlite (~0.4 MB of JS) only to test for it would
  // cost every start, server or embedded; the factory imports it when it opens one.
  if (isPGliteLike(conn)) return new PGliteDatabase(conn, owns);
  if (conn instanceof loadPg().Pool) return new PgPoolDatabase(conn, owns);
  throw new CheckpointerError(
    "INVALID_CONFIG",
    "Expected a pg.Pool, a PGlite instance or an agentstate Database.",
  );
}

function isPGliteLike(conn: object): conn is PGliteLike {
  const c = conn as Partial<Record<keyof PGliteLike, unknown>>;
  return (
    typeof c.query === "function" &&
    typeof c.transaction === "function" &&
    typeof c.close === "function" &&
    typeof c.closed === "boolean"
  );
}

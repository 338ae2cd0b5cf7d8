// The driver adapters behind the seam: a node-postgres pool or an embedded PGlite, one Database
// interface (query, transaction, end); pg itself is loaded only when a pool is used.
import { createHash } from "node:crypto";
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
  /**
   * Rows the statement's command tag reports (for INSERT: rows inserted or updated by the
   * top-level statement, not by its WITH clauses); undefined when the driver does not say.
   */
  rowCount?: number;
}

export interface QueryOptions {
  /** Ask for results in binary format (bytea arrives as raw bytes, not hex text). */
  binary?: boolean;
  /**
   * The statement is hot and its text is one of a few (built once, reused): a server connection
   * may keep it prepared, so later runs skip parsing and, once Postgres settles on a generic
   * plan, planning. A hint: adapters that cannot prepare ignore it.
   */
  prepare?: boolean;
}

/** Distinct statement texts a pool prepares at most; texts beyond these run unnamed. */
export const MAX_PREPARED = 512;

/**
 * SQLSTATEs a connection pooler in transaction mode causes with named statements (PgBouncer
 * before 1.21, or without max_prepared_statements): the statement was prepared on another server
 * connection (26000), or this one already has it from another client (42P05).
 */
const POOLER_PREPARE_ERRORS = new Set(["26000", "42P05"]);

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

/** The name a prepared statement of `text` gets: stable across processes, one per text. */
export function statementName(text: string): string {
  return `agentstate_${createHash("sha1").update(text).digest("hex")}`;
}

/** Adapter over a node-postgres pool. */
export class PgPoolDatabase implements Database {
  readonly kind = "postgres" as const;
  /** Statement names by text, for texts run with `prepare` (see QueryOptions.prepare). */
  private readonly names = new Map<string, string>();
  /**
   * Whether hot statements run as named prepared statements. Off when asked, and for good as soon
   * as the server side says a connection pooler moves them between connections.
   */
  private preparing: boolean;
  constructor(
    readonly pool: pg.Pool,
    private readonly ownsPool: boolean,
    prepare = true,
  ) {
    this.preparing = prepare;
    if (ownsPool) {
      // An idle client whose server restarts emits 'error' on the pool; unhandled, it kills the process.
      pool.on("error", () => {});
    }
  }

  /** Whether hot statements still run prepared (false after a pooler refused them). */
  get preparedStatements(): boolean {
    return this.preparing;
  }

  async query<R>(
    text: string,
    params?: readonly unknown[],
    options?: QueryOptions,
  ): Promise<QueryResult<R>> {
    const binary = options?.binary === true;
    const values = params as unknown[];
    const name = options?.prepare && this.preparing ? this.nameOf(text) : undefined;
    if (name === undefined) return this.send({ text, values, binary });
    try {
      return await this.send({ name, text, values, binary });
    } catch (error) {
      if (!POOLER_PREPARE_ERRORS.has((error as { code?: string }).code ?? "")) throw error;
      // A pooler in transaction mode: this statement never ran. Unnamed from now on.
      this.preparing = false;
      return this.send({ text, values, binary });
    }
  }

  /** `binary` is a node-postgres query option its type declarations leave out. */
  private send<R>(config: pg.QueryConfig & { binary: boolean }): Promise<QueryResult<R>> {
    return this.pool.query(config) as unknown as Promise<QueryResult<R>>;
  }

  /** The statement name of `text`: short, stable, unique per text (pg refuses one name for two texts). */
  private nameOf(text: string): string | undefined {
    const known = this.names.get(text);
    if (known !== undefined || this.names.size >= MAX_PREPARED) return known;
    const name = statementName(text);
    this.names.set(text, name);
    return name;
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
  query<R>(text: string, params?: unknown[]): Promise<PGliteResult<R>>;
  transaction<T>(
    fn: (tx: {
      query<R>(text: string, params?: unknown[]): Promise<PGliteResult<R>>;
    }) => Promise<T>,
  ): Promise<T>;
  readonly closed: boolean;
  close(): Promise<void>;
}

/** What a PGlite query returns that we read: `rowCount` is the command tag's, newer versions only. */
interface PGliteResult<R> {
  rows: R[];
  rowCount?: number;
  affectedRows?: number;
}

/** The command tag's row count of one statement (affectedRows: the same for a single statement). */
function pgliteResult<R>(result: PGliteResult<R>): QueryResult<R> {
  return { rows: result.rows, rowCount: result.rowCount ?? result.affectedRows };
}

/** Adapter over an embedded PGlite instance (same SQL, one process). */
export class PGliteDatabase implements Database {
  readonly kind = "pglite" as const;
  constructor(
    readonly pglite: PGliteLike,
    private readonly ownsInstance: boolean,
  ) {}

  async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
    return pgliteResult(await this.pglite.query<R>(text, params as unknown[]));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.pglite.transaction((tx) =>
      fn({
        query: async <R>(text: string, params?: readonly unknown[]) =>
          pgliteResult(await tx.query<R>(text, params as unknown[])),
      }),
    );
  }

  async end(): Promise<void> {
    if (this.ownsInstance && !this.pglite.closed) await this.pglite.close();
  }
}

/** A connection a checkpointer can sit on. */
export type Connection = pg.Pool | PGliteLike | Database;

/** `prepare`: whether hot statements on a pg.Pool run as named prepared statements. */
export function toDatabase(conn: Connection, owns: boolean, prepare = true): Database {
  if (typeof (conn as Database).transaction === "function" && "kind" in conn)
    return conn as Database;
  // By shape, not `instanceof PGlite`: importing PGlite (~0.4 MB of JS) only to test for it would
  // cost every start, server or embedded; the factory imports it when it opens one.
  if (isPGliteLike(conn)) return new PGliteDatabase(conn, owns);
  if (conn instanceof loadPg().Pool) return new PgPoolDatabase(conn, owns, prepare);
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

import { existsSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { poolConfig } from "./conninfo.js";
import { PGliteDatabase } from "./db.js";
import { commandLine, type DataDirLock, lockDataDir } from "./lock.js";
import { PostgresCheckpointer } from "./saver.js";
import { embeddedTemplate } from "./template.js";

export interface GetCheckpointerOptions {
  /**
   * Postgres URL. Without it: an explicit `dataDir` means the embedded database; otherwise
   * `DATABASE_URL`, and with neither, the embedded database.
   */
  connectionString?: string;
  /** An existing pool (not ended by end() unless `endPool`). Wins over connectionString. */
  pool?: pg.Pool;
  /** Falls back to `AGENTSTATE_SCHEMA` (as the `agentstate` CLI does). @default "public" */
  schema?: string;
  /**
   * Embedded (PGlite) data directory, or ":memory:". Falls back to `AGENTSTATE_DATA_DIR`.
   * @default "./.agentstate/pgdata"
   */
  dataDir?: string;
  serde?: SerializerProtocol;
  /** @default true */
  createSchema?: boolean;
  /** @default false */
  endPool?: boolean;
  /** Max connections of a pool created from connectionString. @default 10 */
  maxConnections?: number;
  /**
   * "compact" stores each message once: a value that extends an earlier version is stored as
   * what it added (see PostgresCheckpointerOptions.storage; the official saver cannot read such
   * threads until `agentstate expand`). @default "default"
   */
  storage?: "default" | "compact";
  /**
   * Run the locked migrations (`setup()`) before returning. Pass false where nothing may be
   * written (read-only tools; `getSchemaStatus()` tells where the schema stands).
   * @default true
   */
  setup?: boolean;
}

export const DEFAULT_DATA_DIR = ".agentstate/pgdata";

/** Where the embedded database lives for these options (absolute path, or "memory://"). */
export function resolveDataDir(dataDir?: string): string {
  const dir = dataDir ?? process.env.AGENTSTATE_DATA_DIR ?? DEFAULT_DATA_DIR;
  return dir === ":memory:" || dir === "memory://" ? "memory://" : resolve(dir);
}

/** Which database getCheckpointer() would use for these options, without connecting. */
export function describeTarget(options: GetCheckpointerOptions = {}): {
  kind: "postgres" | "pglite";
  location: string;
} {
  if (options.pool) return { kind: "postgres", location: "(pool)" };
  const url = postgresUrl(options);
  if (url) return { kind: "postgres", location: maskConnectionString(url) };
  return { kind: "pglite", location: resolveDataDir(options.dataDir) };
}

/**
 * A set-up checkpointer in one call: your pool, else `connectionString`, else (unless `dataDir` is given) `DATABASE_URL`,
 * else an embedded Postgres (PGlite) in a local data directory that survives restarts.
 */
export async function getCheckpointer(
  options: GetCheckpointerOptions = {},
): Promise<PostgresCheckpointer> {
  const schema = options.schema ?? (process.env.AGENTSTATE_SCHEMA || undefined);
  const common = { schema, createSchema: options.createSchema, storage: options.storage };
  let saver: PostgresCheckpointer;
  const url = postgresUrl(options);
  if (options.pool) {
    saver = new PostgresCheckpointer(options.pool, options.serde, {
      ...common,
      endPool: options.endPool,
    });
  } else if (url) {
    const pool = new pg.Pool(poolConfig(url, options.maxConnections ?? 10));
    saver = new PostgresCheckpointer(pool, options.serde, { ...common, endPool: true });
  } else {
    saver = new PostgresCheckpointer(await openEmbedded(options.dataDir), options.serde, common);
  }
  try {
    if (options.setup ?? true) await saver.setup();
  } catch (error) {
    await saver.end().catch(() => {});
    throw error;
  }
  return saver;
}

/**
 * PGlite on the data directory, holding its lock (`DATA_DIR_LOCKED` if another process has it):
 * two processes on one directory both "succeed" and lose acknowledged checkpoints.
 */
async function openEmbedded(dataDir: string | undefined): Promise<PGliteDatabase> {
  const dir = resolveDataDir(dataDir);
  if (dir === "memory://") return new PGliteDatabase(await PGlite.create(dir), true);
  mkdirSync(dir, { recursive: true });
  const lock = await lockDataDir(dir, { command: maskConnectionString(commandLine()) });
  try {
    // A new directory starts from the migrated template shipped in dist/ (no initdb in WASM).
    const template = existsSync(join(dir, "PG_VERSION")) ? undefined : embeddedTemplate();
    const pglite = template
      ? await PGlite.create(dir, { loadDataDir: template })
      : await PGlite.create(dir);
    return new LockedPGliteDatabase(pglite, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** Releases the data-directory lock once PGlite is closed. */
class LockedPGliteDatabase extends PGliteDatabase {
  constructor(
    pglite: PGlite,
    private readonly lock: DataDirLock,
  ) {
    super(pglite, true);
  }

  override async end(): Promise<void> {
    try {
      await super.end();
    } finally {
      this.lock.release();
    }
  }
}

/** Explicit options beat the environment: connectionString, then dataDir, then DATABASE_URL. */
function postgresUrl(options: GetCheckpointerOptions): string | undefined {
  if (options.connectionString) return options.connectionString;
  if (options.dataDir !== undefined) return undefined;
  return process.env.DATABASE_URL || undefined;
}

/** The URL with any password replaced by ***, for logs and CLI output. */
export function maskConnectionString(url: string): string {
  return url
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)([^@\s]*)@/i, "$1***@")
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, "$1***");
}

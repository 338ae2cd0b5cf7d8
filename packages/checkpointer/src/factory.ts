// getCheckpointer(): which database (a pool, a URL, DATABASE_URL or the embedded data directory),
// opening it (lock, template, engine), and migrating unless told not to.
import { existsSync, mkdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { setFlagsFromString } from "node:v8";
import type { PGlite, PGliteOptions } from "@electric-sql/pglite";
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import type pg from "pg";
import { poolConfig } from "./conninfo.js";
import { loadPg, PGliteDatabase } from "./db.js";
import { commandLine, type DataDirLock, lockDataDir } from "./lock.js";
import { PostgresCheckpointer } from "./saver.js";
import { embeddedTemplate, unpackEmbeddedTemplate } from "./template.js";

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
    const pool = new (loadPg().Pool)(poolConfig(url, options.maxConnections ?? 10));
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
  if (dir === "memory://") {
    const { PGlite, options } = await embeddedEngine();
    const startParams = [...PGlite.defaultStartParams, ...MEMORY_SHARED_BUFFERS];
    return new PGliteDatabase(await PGlite.create(dir, { ...options, startParams }), true);
  }
  mkdirSync(dir, { recursive: true });
  const lock = await lockDataDir(dir, { command: maskConnectionString(commandLine()) });
  try {
    // Started first: the WASM compiles on another thread while a new directory is unpacked.
    const engine = embeddedEngine();
    // A new directory starts from the migrated template shipped in dist/ (no initdb in WASM),
    // unpacked here; should that not work out, PGlite loads it (or, with no template, runs initdb).
    const fresh = !existsSync(join(dir, "PG_VERSION"));
    const template = fresh && !unpackEmbeddedTemplate(dir) ? embeddedTemplate() : undefined;
    const { PGlite, options } = await engine;
    const pglite = await PGlite.create(
      dir,
      template ? { ...options, loadDataDir: template } : options,
    );
    return new LockedPGliteDatabase(pglite, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

/**
 * Shared buffers of an in-memory database. Postgres' 128MB default costs ~0.2 s of every start
 * (Emscripten zeroes all of shared memory in WASM) and ~100 MB of resident memory, for nothing
 * measurable in a one-connection checkpoint store. A data directory has the same setting in its
 * own configuration instead (the template's, see scripts/make-template.mjs), which stays the
 * user's to change.
 */
const MEMORY_SHARED_BUFFERS = ["-c", "shared_buffers=16MB"];

type WasmModule = NonNullable<PGliteOptions["pgliteWasmModule"]>;
/** The global WebAssembly object, which this project's TypeScript lib does not declare as a value. */
const wasm = (
  globalThis as unknown as { WebAssembly: { compile(b: Uint8Array): Promise<WasmModule> } }
).WebAssembly;
/** Compiled once per process: every embedded database in it instantiates the same module. */
let wasmModule: Promise<WasmModule | undefined> | undefined;

/**
 * The engine is compiled with two V8 settings that suit a large, trusted module of which a start
 * runs a small part. Lazy validation: a function is checked when it is first compiled rather than
 * all 9 MB up front (compiling takes ~20 ms instead of 60-250 ms). A 1000 times larger first
 * tiering budget: V8 recompiles a WASM function with its optimizing compiler once it has run a
 * budget of code, and Postgres' parser, copyObject and equal are so large that the first query of
 * every start spends it, queueing ~1-2 s of background compiles that a 2-core machine has no CPU
 * for and that a short process then waits for on exit. With the larger first budget the same
 * functions are optimized after a few hundred queries of sustained load instead (measured: the
 * same throughput from then on). V8 reads both when a module is compiled, so they are set around
 * that only; and only on the V8 whose defaults are known (Node 20's 11.3: restored exactly), in a
 * process not started with WASM flags of its own, unless AGENTSTATE_WASM_TUNING=0.
 */
async function compileEngine(bytes: Uint8Array): Promise<WasmModule> {
  const own = `${process.env.NODE_OPTIONS ?? ""} ${process.execArgv.join(" ")}`;
  const tuned =
    process.env.AGENTSTATE_WASM_TUNING !== "0" &&
    process.versions.v8?.startsWith("11.3.") &&
    !/--(no-)?(wasm|liftoff)/.test(own);
  if (!tuned) {
    return wasm.compile(bytes);
  }
  setFlagsFromString("--wasm-lazy-validation --wasm-tiering-budget=1800000000");
  try {
    return await wasm.compile(bytes);
  } finally {
    setFlagsFromString("--no-wasm-lazy-validation --wasm-tiering-budget=1800000");
  }
}

/**
 * PGlite (imported only when the embedded database is used) with its start options: the engine's
 * WASM compiled and its file-system bundle read concurrently, while the caller does other work,
 * rather than one after the other inside PGlite.create(). Falls back to PGlite's own loading
 * should the files not be where its package exports them.
 */
async function embeddedEngine(): Promise<{ PGlite: typeof PGlite; options: PGliteOptions }> {
  const require = createRequire(import.meta.url);
  const file = async (name: string) => readFile(require.resolve(`@electric-sql/pglite/${name}`));
  wasmModule ??= file("pglite.wasm")
    .then(compileEngine)
    .catch(() => undefined);
  const bundle = file("pglite.data")
    .then((bytes) => new Blob([bytes]))
    .catch(() => undefined);
  const [{ PGlite }, pgliteWasmModule, fsBundle] = await Promise.all([
    import("@electric-sql/pglite"),
    wasmModule,
    bundle,
  ]);
  return {
    PGlite,
    options: {
      ...(pgliteWasmModule ? { pgliteWasmModule } : {}),
      ...(fsBundle ? { fsBundle } : {}),
    },
  };
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

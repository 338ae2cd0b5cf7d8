// What every command runs with: the global options, the database they select (flags → env →
// defaults), opened without migrating (only `setup` migrates), the output, and the service when
// graphs are given.
import { existsSync } from "node:fs";
import {
  DEFAULT_DATA_DIR,
  describeTarget,
  type GetCheckpointerOptions,
  getCheckpointer,
  getSchemaStatus,
  type PostgresCheckpointer,
  resolveDataDir,
  type SchemaStatus,
} from "@agentstate/checkpointer";
import type { Command } from "commander";
import { jsonLogger } from "../log.js";
import type { InFlightToolPolicy, RecoveryOptions } from "../options.js";
import { RecoveryService } from "../service.js";
import { CliError } from "./errors.js";
import { graphSpecs, loadGraphs } from "./graphs.js";
import { createOutput, type Output } from "./output.js";

/** Options every command accepts (flags → env → defaults). */
export interface GlobalOptions {
  databaseUrl?: string;
  schema?: string;
  dataDir?: string;
  json?: boolean;
  quiet?: boolean;
  graph?: string[];
  config?: string;
  leaseSeconds?: number;
  grace?: number;
  maxAttempts?: number;
  toolPolicy?: InFlightToolPolicy;
  idempotent?: string[];
  logJson?: boolean;
  concurrency?: number;
}

export interface Context {
  opts: GlobalOptions;
  out: Output;
  saver: PostgresCheckpointer;
  target: { kind: "postgres" | "pglite"; location: string };
  close(): Promise<void>;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/**
 * What a command may do to the database: "read" and "write" need a set-up schema and never
 * migrate; "setup" migrates; "inspect" (doctor) connects and reports whatever it finds.
 */
export type Access = "read" | "write" | "setup" | "inspect";

/** The database the flags/env select; the embedded one only when named or already there. */
export function cliTarget(opts: GlobalOptions): GetCheckpointerOptions {
  const schema = opts.schema ?? process.env.AGENTSTATE_SCHEMA ?? "public";
  // Flags beat the environment; a URL beats a data directory at the same level.
  if (opts.databaseUrl) return { connectionString: opts.databaseUrl, schema };
  if (opts.dataDir) return { dataDir: opts.dataDir, schema };
  if (process.env.DATABASE_URL) return { connectionString: process.env.DATABASE_URL, schema };
  if (process.env.AGENTSTATE_DATA_DIR) return { dataDir: process.env.AGENTSTATE_DATA_DIR, schema };
  if (existsSync(resolveDataDir(DEFAULT_DATA_DIR))) return { dataDir: DEFAULT_DATA_DIR, schema };
  throw new CliError(
    "NO_DATABASE",
    `No database given: set DATABASE_URL or pass --database-url postgres://…; for the embedded database pass --data-dir <dir> (nothing at ./${DEFAULT_DATA_DIR}).`,
  );
}

/** Connects with the connection the flags/env select; only `setup` migrates. */
export async function openContext(cmd: Command, access: Access = "read"): Promise<Context> {
  const opts = globals(cmd);
  const out = createOutput(Boolean(opts.json), Boolean(opts.quiet));
  const options = cliTarget(opts);
  const target = describeTarget(options);
  const schema = options.schema ?? "public";
  if (target.kind === "pglite" && access !== "setup" && !existsSync(target.location)) {
    throw new CliError(
      "NOT_SET_UP",
      `No embedded database at ${target.location}: run \`agentstate setup --data-dir ${options.dataDir}\` to create one, or point --database-url at your Postgres.`,
    );
  }
  out.note(`database: ${target.kind} ${target.location} (schema ${schema})`);
  const saver = await getCheckpointer({ ...options, setup: false });
  const ctx: Context = { opts, out, saver, target, close: () => saver.end() };
  if (access === "read" || access === "write") {
    try {
      await requireSetUp(ctx);
    } catch (error) {
      await ctx.close();
      throw error;
    }
  }
  return ctx;
}

/** NOT_SET_UP unless the schema holds every migration this version knows. */
export async function requireSetUp(ctx: Context): Promise<SchemaStatus> {
  const status = await getSchemaStatus(ctx.saver);
  if (status.pending.length === 0) return status;
  const where = `schema "${status.schema}" at ${ctx.target.location}`;
  throw new CliError(
    "NOT_SET_UP",
    status.version < 0
      ? `No agentstate tables in ${where}: run \`agentstate setup\` (with the same --database-url/--schema).`
      : `The tables in ${where} are at version ${status.version}, this agentstate needs ${status.latest}: run \`agentstate setup\`.`,
  );
}

/** Recovery options from global flags. */
export function recoveryOptions(opts: GlobalOptions, extra: RecoveryOptions = {}): RecoveryOptions {
  return {
    ...(opts.leaseSeconds ? { leaseSeconds: opts.leaseSeconds } : {}),
    ...(opts.grace !== undefined ? { graceSeconds: opts.grace } : {}),
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    ...(opts.toolPolicy ? { inFlightTools: opts.toolPolicy } : {}),
    ...(opts.idempotent?.length ? { idempotentTools: opts.idempotent } : {}),
    ...(opts.logJson ? { logger: jsonLogger() } : {}),
    ...extra,
  };
}

/** The graphs named by --graph / --config / ./langgraph.json, with our checkpointer attached. */
export async function openService(
  ctx: Context,
  extra: RecoveryOptions = {},
): Promise<RecoveryService | undefined> {
  const specs = graphSpecs(ctx.opts.graph, ctx.opts.config, process.cwd());
  if (specs.length === 0) return undefined;
  const graphs = await loadGraphs(specs, ctx.saver);
  ctx.out.note(`graphs: ${Object.keys(graphs).join(", ")}`);
  return new RecoveryService(graphs, {
    ...recoveryOptions(ctx.opts, extra),
    ...(ctx.opts.concurrency ? { concurrency: ctx.opts.concurrency } : {}),
  });
}

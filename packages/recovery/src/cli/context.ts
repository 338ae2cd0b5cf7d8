import {
  describeTarget,
  getCheckpointer,
  type PostgresCheckpointer,
} from "@agentstate/checkpointer";
import type { Command } from "commander";
import { jsonLogger } from "../log.js";
import type { InFlightToolPolicy, RecoveryOptions } from "../options.js";
import { RecoveryService } from "../service.js";
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

/** Connects (and runs the locked migrations) with the connection the flags/env select. */
export async function openContext(cmd: Command): Promise<Context> {
  const opts = globals(cmd);
  const out = createOutput(Boolean(opts.json), Boolean(opts.quiet));
  const options = {
    connectionString: opts.databaseUrl,
    schema: opts.schema ?? process.env.AGENTSTATE_SCHEMA ?? "public",
    dataDir: opts.dataDir,
  };
  const target = describeTarget(options);
  out.note(`database: ${target.kind} ${target.location} (schema ${options.schema})`);
  const saver = await getCheckpointer(options);
  return { opts, out, saver, target, close: () => saver.end() };
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

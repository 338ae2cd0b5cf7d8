// `agentstate doctor`: checks what recovery depends on — connection, clock, schema, indexes,
// ledger, lease settings, graphs — and changes nothing.
import { getSchemaStatus } from "@agentstate/checkpointer";
import type { Command } from "commander";
import { errorCode } from "../errors.js";
import { ledgerHealth, recoveryIndexes, serverClock } from "../ledger/health.js";
import { resolveRecoveryOptions } from "../options.js";
import {
  type Context,
  type GlobalOptions,
  globals,
  openContext,
  recoveryOptions,
} from "./context.js";
import { graphSpecs, loadGraph } from "./graphs.js";
import { createOutput, EXIT, table } from "./output.js";

interface Check {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/**
 * Checks what recovery depends on and changes nothing: exit 1 if anything failed. The table is
 * printed even when the database cannot be reached (that is then the failed check).
 */
export async function runDoctor(cmd: Command): Promise<number> {
  const opts = globals(cmd);
  const out = createOutput(Boolean(opts.json), Boolean(opts.quiet));
  const checks: Check[] = [];
  const add = (check: string, status: Check["status"], detail: string) =>
    checks.push({ check, status, detail });
  let ctx: Context | undefined;
  try {
    ctx = await openContext(cmd, "inspect");
    await databaseChecks(ctx, add);
  } catch (error) {
    add(
      checks.length === 0 ? "connection" : "database",
      "fail",
      `${errorCode(error) ? `[${errorCode(error)}] ` : ""}${(error as Error).message}`,
    );
  }
  try {
    await graphChecks(opts, ctx, add);
  } finally {
    await ctx?.close().catch(() => {});
  }
  const failed = checks.some((c) => c.status === "fail");
  out.result({ ok: !failed, checks }, () =>
    table(
      ["CHECK", "STATUS", "DETAIL"],
      checks.map((c) => [c.check, c.status.toUpperCase(), c.detail]),
    ),
  );
  return failed ? EXIT.ERROR : EXIT.OK;
}

type Add = (check: string, status: Check["status"], detail: string) => void;

async function databaseChecks(ctx: Context, add: Add): Promise<void> {
  const { saver } = ctx;
  const server = await serverClock(saver);
  add("connection", "ok", `${ctx.target.kind} ${ctx.target.location}`);
  add("server", "ok", `PostgreSQL ${server.version}`);
  const skew = Math.abs(server.skewMs);
  // Leases are judged on the database clock; skew only matters for humans reading timestamps.
  add(
    "clock skew",
    skew > 5000 ? "warn" : "ok",
    `${Math.round(skew)} ms between this host and the database`,
  );
  const status = await getSchemaStatus(saver);
  if (!status.exists || status.version < 0) {
    add(
      "migrations",
      "fail",
      `no agentstate tables in schema "${status.schema}" (${status.exists ? "schema exists" : "no such schema"}): run \`agentstate setup\``,
    );
    return;
  }
  add(
    "migrations",
    status.pending.length === 0 ? "ok" : "fail",
    status.pending.length === 0
      ? `schema "${status.schema}" at v${status.version} (current)`
      : `schema "${status.schema}" at v${status.version}, this version needs v${status.latest}: run \`agentstate setup\` (pending v${status.pending.join(", v")})`,
  );
  if (status.pending.length > 0) return;
  const idx = await recoveryIndexes(saver);
  add(
    "indexes",
    idx.due && idx.activity ? "ok" : "fail",
    idx.due && idx.activity
      ? "sweep and thread-activity indexes present"
      : "missing: run `agentstate setup`",
  );
  const runs = await ledgerHealth(saver);
  add("live runs", "ok", `${runs.live} holding a lease`);
  add(
    "expired leases",
    runs.expired ? "warn" : "ok",
    `${runs.expired} (run \`agentstate recover --all\`)`,
  );
  add("dead threads", runs.dead ? "warn" : "ok", `${runs.dead}, ${runs.review} needing review`);
  const o = resolveRecoveryOptions(recoveryOptions(ctx.opts));
  add(
    "lease settings",
    o.heartbeatMs * 2 > o.leaseSeconds * 1000 ? "warn" : "ok",
    `lease ${o.leaseSeconds}s, heartbeat ${Math.round(o.heartbeatMs)} ms, grace ${o.graceSeconds}s, ${o.maxAttempts} attempts`,
  );
}

async function graphChecks(opts: GlobalOptions, ctx: Context | undefined, add: Add) {
  let specs: ReturnType<typeof graphSpecs> = [];
  let failedSpecs = false;
  try {
    specs = graphSpecs(opts.graph, opts.config, process.cwd());
  } catch (error) {
    failedSpecs = true;
    add("graphs", "fail", (error as Error).message);
  }
  if (specs.length === 0 && !failedSpecs) {
    add("graphs", "warn", "none configured (--graph or langgraph.json): stuck/recover need one");
  }
  for (const spec of specs) {
    if (!ctx) {
      add(`graph ${spec.id}`, "warn", "not loaded: no database connection");
      continue;
    }
    try {
      await loadGraph(spec, ctx.saver);
      add(
        `graph ${spec.id}`,
        "ok",
        `${spec.file}:${spec.exportName} loaded, checkpointer attached`,
      );
    } catch (error) {
      add(`graph ${spec.id}`, "fail", (error as Error).message);
    }
  }
}

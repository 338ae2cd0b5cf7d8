import { latestVersion } from "@agentstate/checkpointer";
import type { Context } from "./context.js";
import { graphSpecs, loadGraph } from "./graphs.js";
import { EXIT, table } from "./output.js";

interface Check {
  check: string;
  status: "ok" | "warn" | "fail";
  detail: string;
}

/** Checks what recovery depends on; exit 1 if anything failed. */
export async function runDoctor(ctx: Context): Promise<number> {
  const checks: Check[] = [];
  const add = (check: string, status: Check["status"], detail: string) =>
    checks.push({ check, status, detail });
  const { saver } = ctx;
  const t = saver.tables;
  add("connection", "ok", `${ctx.target.kind} ${ctx.target.location}`);
  const [server] = await saver.run<{ version: string; skew: number }>(
    "doctor",
    "SELECT current_setting('server_version') AS version, extract(epoch FROM now())::float8 * 1000 - $1::float8 AS skew",
    [Date.now()],
  );
  add("server", "ok", `PostgreSQL ${server?.version}`);
  const skew = Math.abs(Number(server?.skew ?? 0));
  // Leases are judged on the database clock; skew only matters for humans reading timestamps.
  add(
    "clock skew",
    skew > 5000 ? "warn" : "ok",
    `${Math.round(skew)} ms between this host and the database`,
  );
  const [mig] = await saver.run<{ v: number }>(
    "doctor",
    `SELECT max(v)::int AS v FROM ${t.migrations}`,
  );
  const want = latestVersion(t);
  add(
    "migrations",
    (mig?.v ?? -1) >= want ? "ok" : "fail",
    `schema at v${mig?.v}, this version needs v${want}`,
  );
  const [idx] = await saver.run<{ sweep: boolean; activity: boolean }>(
    "doctor",
    `SELECT to_regclass($1) IS NOT NULL AS sweep, to_regclass($2) IS NOT NULL AS activity`,
    [`${t.schema}.agentstate_runs_due_idx`, `${t.schema}.checkpoints_thread_activity_idx`],
  );
  add(
    "indexes",
    idx?.sweep && idx.activity ? "ok" : "fail",
    idx?.sweep && idx.activity
      ? "sweep and thread-activity indexes present"
      : "missing: run `agentstate setup`",
  );
  const [runs] = await saver.run<{ live: number; expired: number; dead: number; review: number }>(
    "doctor",
    `SELECT count(*) FILTER (WHERE status IN ('running','recovering') AND lease_until > now())::int AS live,
       count(*) FILTER (WHERE status IN ('running','recovering') AND lease_until <= now())::int AS expired,
       count(*) FILTER (WHERE status = 'dead')::int AS dead,
       count(*) FILTER (WHERE needs_review)::int AS review
     FROM ${t.runs}`,
  );
  add("live runs", "ok", `${runs?.live ?? 0} holding a lease`);
  add(
    "expired leases",
    runs?.expired ? "warn" : "ok",
    `${runs?.expired ?? 0} (run \`agentstate recover --all\`)`,
  );
  add(
    "dead threads",
    runs?.dead ? "warn" : "ok",
    `${runs?.dead ?? 0}, ${runs?.review ?? 0} needing review`,
  );
  let specs: ReturnType<typeof graphSpecs> = [];
  try {
    specs = graphSpecs(ctx.opts.graph, ctx.opts.config, process.cwd());
  } catch (error) {
    add("graphs", "fail", (error as Error).message);
  }
  if (specs.length === 0 && !checks.some((c) => c.check === "graphs")) {
    add("graphs", "warn", "none configured (--graph or langgraph.json): stuck/recover need one");
  }
  for (const spec of specs) {
    try {
      await loadGraph(spec, saver);
      add(
        `graph ${spec.id}`,
        "ok",
        `${spec.file}:${spec.exportName} loaded, checkpointer attached`,
      );
    } catch (error) {
      add(`graph ${spec.id}`, "fail", (error as Error).message);
    }
  }
  const failed = checks.some((c) => c.status === "fail");
  ctx.out.result({ ok: !failed, checks }, () =>
    table(
      ["CHECK", "STATUS", "DETAIL"],
      checks.map((c) => [c.check, c.status.toUpperCase(), c.detail]),
    ),
  );
  return failed ? EXIT.ERROR : EXIT.OK;
}

// Prometheus metrics for a checkpointer: statement latency per operation (from onOperation),
// gauges read from the database at scrape time, and the counters recovery and prune feed.
import type { Registry } from "prom-client";
import { CheckpointerError } from "./errors.js";
import type { PruneResult } from "./ops/prune.js";
import type { PostgresCheckpointer } from "./saver.js";
import type { DbSeam } from "./seam.js";
import { RUN_STATUSES } from "./sql/runs.js";

/**
 * What we need of a prom-client `Registry`, spelled out so the public types do not import the
 * optional peer `prom-client` (an app without it must still type-check with skipLibCheck off).
 * Any prom-client Registry fits; `createMetrics` hands back the type you passed in.
 */
export interface MetricsRegistry {
  metrics(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsOptions<R extends MetricsRegistry = MetricsRegistry> {
  /** Where to register (a prom-client `Registry`); a fresh Registry if not given. */
  registry?: R;
  /** Metric name prefix. @default "agentstate_" */
  prefix?: string;
  /** Gauges read the database at most this often (scrapes in between reuse the last read). @default 10000 */
  gaugeMaxAgeMs?: number;
}

export interface CheckpointerMetrics<R extends MetricsRegistry = MetricsRegistry> {
  registry: R;
  /** Count a recovery outcome ("resumed", "already_running", "failed", …), with its duration. */
  recordRecovery(outcome: string, durationMs?: number): void;
  /** The Prometheus text exposition of the registry. */
  render(): Promise<string>;
  /** Stop listening to the checkpointer. */
  detach(): void;
}

/** The operation the gauge query runs as; left out of the latency histogram (scrapes, not work). */
const GAUGES_OPERATION = "readGauges";

/** Gauge values read in one query: checkpoint totals, storage, and the run ledger by status. */
export async function readGauges(saver: DbSeam) {
  const t = saver.tables;
  const [row] = await saver.run<{
    checkpoints: number;
    threads: number;
    runs: Record<string, number> | null;
    bytes: Record<string, number>;
  }>(
    `${GAUGES_OPERATION}()`,
    `SELECT
      (SELECT count(*) FROM ${t.checkpoints})::float8 AS checkpoints,
      (SELECT count(*) FROM (SELECT DISTINCT thread_id FROM ${t.checkpoints}) d)::float8 AS threads,
      (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM ${t.runs} GROUP BY status) s) AS runs,
      jsonb_build_object(
        'checkpoints', pg_total_relation_size(to_regclass($1)),
        'checkpoint_blobs', pg_total_relation_size(to_regclass($2)),
        'checkpoint_writes', pg_total_relation_size(to_regclass($3))) AS bytes`,
    [t.checkpoints, t.blobs, t.writes],
  );
  const runs: Record<string, number> = {};
  for (const status of RUN_STATUSES) runs[status] = Number(row?.runs?.[status] ?? 0);
  return {
    checkpoints: Number(row?.checkpoints ?? 0),
    threads: Number(row?.threads ?? 0),
    runs,
    bytes: Object.fromEntries(Object.entries(row?.bytes ?? {}).map(([k, v]) => [k, Number(v)])),
  };
}

/**
 * Prometheus metrics for a checkpointer (needs the optional peer `prom-client`):
 * statement latency histograms per operation (p50/p95/p99 via histogram_quantile), checkpoint,
 * thread and storage gauges, runs by ledger status (stuck = crashed/failed/dead), recoveries
 * and prune counts.
 */
export async function createMetrics<R extends MetricsRegistry = MetricsRegistry>(
  saver: PostgresCheckpointer,
  options: MetricsOptions<R> = {},
): Promise<CheckpointerMetrics<R>> {
  let prom: typeof import("prom-client");
  try {
    prom = await import("prom-client");
  } catch (cause) {
    throw new CheckpointerError(
      "INVALID_CONFIG",
      "createMetrics() needs the optional dependency prom-client: npm i prom-client",
      { cause },
    );
  }
  const p = options.prefix ?? "agentstate_";
  // prom-client's metric constructors want its own Registry type: the caller's is one.
  const registry = (options.registry ?? new prom.Registry()) as unknown as Registry;
  const maxAge = options.gaugeMaxAgeMs ?? 10_000;
  let cached: { at: number; value: Promise<Awaited<ReturnType<typeof readGauges>>> } | undefined;
  const gauges = () => {
    if (!cached || Date.now() - cached.at > maxAge) {
      cached = { at: Date.now(), value: readGauges(saver) };
      cached.value.catch(() => {
        cached = undefined;
      });
    }
    return cached.value;
  };

  const latency = new prom.Histogram({
    name: `${p}checkpoint_operation_duration_seconds`,
    help: "Time of each checkpointer statement (put, putWrites, getTuple, list, …), by outcome",
    labelNames: ["operation", "outcome"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const recoveries = new prom.Counter({
    name: `${p}recoveries_total`,
    help: "Recovery attempts by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  const recoverySeconds = new prom.Histogram({
    name: `${p}recovery_duration_seconds`,
    help: "Time from claim to the end of a resumed run",
    buckets: [0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [registry],
  });
  const pruned = new prom.Counter({
    name: `${p}pruned_total`,
    help: "Rows removed by prune(), by kind",
    labelNames: ["kind"],
    registers: [registry],
  });
  new prom.Gauge({
    name: `${p}checkpoints`,
    help: "Checkpoints stored",
    registers: [registry],
    async collect() {
      this.set((await gauges()).checkpoints);
    },
  });
  new prom.Gauge({
    name: `${p}threads`,
    help: "Threads with at least one checkpoint",
    registers: [registry],
    async collect() {
      this.set((await gauges()).threads);
    },
  });
  new prom.Gauge({
    name: `${p}storage_bytes`,
    help: "On-disk size of each checkpoint table, with indexes",
    labelNames: ["table"],
    registers: [registry],
    async collect() {
      for (const [table, bytes] of Object.entries((await gauges()).bytes))
        this.set({ table }, bytes);
    },
  });
  new prom.Gauge({
    name: `${p}runs`,
    help: "Threads in the run ledger by status (crashed, failed and dead are stuck)",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      for (const [status, n] of Object.entries((await gauges()).runs)) this.set({ status }, n);
    },
  });

  const offOperation = saver.onOperation((e) => {
    if (e.operation === GAUGES_OPERATION) return;
    latency.observe(
      { operation: e.operation, outcome: e.ok ? "ok" : "error" },
      e.durationMs / 1000,
    );
  });
  const offPrune = saver.onPrune((r: PruneResult) => {
    if (r.dryRun) return;
    pruned.inc({ kind: "threads" }, r.threadsDeleted);
    pruned.inc({ kind: "checkpoints" }, r.checkpointsDeleted);
    pruned.inc({ kind: "writes" }, r.writesDeleted);
    pruned.inc({ kind: "blobs" }, r.blobsDeleted);
  });
  return {
    registry: registry as unknown as R,
    recordRecovery(outcome, durationMs) {
      recoveries.inc({ outcome });
      if (durationMs !== undefined) recoverySeconds.observe(durationMs / 1000);
    },
    render: () => registry.metrics(),
    detach() {
      offOperation();
      offPrune();
    },
  };
}

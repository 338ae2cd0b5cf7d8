// The crash campaign: kills children at chosen points (or random times, or pauses them), recovers
// the threads through the `agentstate` CLI only, and judges every thread from the database.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCheckpointer } from "@agentstate/checkpointer";
import { type BaseMessage, HumanMessage } from "@langchain/core/messages";
import pg from "pg";
import { checkStuckState, runDurably } from "../../src/index.js";
import {
  buildCampaignAgent,
  closeEffects,
  DATABASE_URL,
  ensureEffectsTable,
  readEffects,
} from "./agent.js";
import type { ChildConfig } from "./child.js";
import {
  type Effects,
  expectedOf,
  forkedThreads,
  judge,
  type KillFacts,
  readKillFacts,
  readOutcome,
} from "./facts.js";
import { instrument } from "./killswitch.js";
import { AGENT_SPEC, Child, killAtPoints, runCli, waitConnectionsGone } from "./process.js";

const debug = (line: string) => {
  if (process.env.CAMPAIGN_DEBUG) console.error(`[campaign ${new Date().toISOString()}] ${line}`);
};

/** Short leases so a killed thread is recoverable within seconds. */
export const LEASE = { leaseSeconds: 2, heartbeatMs: 500 };

/** Where a campaign keeps its threads: a Postgres schema, or a PGlite data directory. */
export class Target {
  readonly effectsSchema: string;
  readonly dataDir?: string;

  constructor(
    readonly engine: "postgres" | "pglite",
    readonly schema: string,
  ) {
    this.effectsSchema = engine === "postgres" ? schema : `${schema}_fx`;
    if (engine === "pglite") this.dataDir = mkdtempSync(join(tmpdir(), "campaign-pglite-"));
  }

  static async create(engine: "postgres" | "pglite", schema: string): Promise<Target> {
    const target = new Target(engine, schema);
    await ensureEffectsTable(target.effectsSchema);
    return target;
  }

  /** Checkpointer + agent in this process. On PGlite only while no child or CLI has the directory. */
  async open() {
    const pool =
      this.engine === "postgres"
        ? new pg.Pool({ connectionString: DATABASE_URL, max: 4 })
        : undefined;
    pool?.on("error", () => {});
    const saver = await getCheckpointer(
      pool ? { pool, schema: this.schema } : { dataDir: this.dataDir, schema: this.schema },
    );
    const agent = buildCampaignAgent({ effectsSchema: this.effectsSchema }, saver);
    return {
      saver,
      agent,
      close: async () => {
        await saver.end();
        await pool?.end();
      },
    };
  }

  /** Children at a time: a PGlite directory is opened by one process at a time. */
  get maxChildren(): number {
    return this.engine === "pglite" ? 1 : 4;
  }

  async use<T>(fn: (s: Awaited<ReturnType<Target["open"]>>) => Promise<T>): Promise<T> {
    const s = await this.open();
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  cli(args: string[]) {
    const where = this.dataDir ? ["--data-dir", this.dataDir] : [];
    return runCli([...where, "--schema", this.schema, "--graph", AGENT_SPEC, "--json", ...args], {
      CAMPAIGN_AGENT: JSON.stringify({ effectsSchema: this.effectsSchema }),
    });
  }

  childConfig(threads: ChildConfig["threads"], extra: Partial<ChildConfig> = {}): ChildConfig {
    return {
      engine: this.engine,
      schema: this.schema,
      dataDir: this.dataDir,
      effectsSchema: this.effectsSchema,
      threads,
      ...LEASE,
      ...extra,
    };
  }

  async dispose(): Promise<void> {
    const c = new pg.Client({ connectionString: DATABASE_URL });
    await c.connect();
    // On PGlite the checkpoint schema lives in the data directory, removed below.
    await c.query(`DROP SCHEMA IF EXISTS "${this.effectsSchema}" CASCADE`).catch(() => {});
    await c.end();
    await closeEffects();
    if (this.dataDir) rmSync(this.dataDir, { recursive: true, force: true });
  }
}

/** The uncrashed run, in this process: its operation labels (the kill points) and its messages. */
export async function referenceRun(target: Target, threadId = "reference") {
  return target.use(async ({ saver, agent }) => {
    const ops: string[] = [];
    instrument(saver, { points: new Map(), onOp: (_t, op) => ops.push(op), onPoint: () => {} });
    const started = performance.now();
    await runDurably(
      agent,
      { messages: [new HumanMessage("go")] },
      {
        configurable: { thread_id: threadId },
      },
    );
    const ms = performance.now() - started;
    const state = await agent.graph.getState({ configurable: { thread_id: threadId } });
    return { ops, messages: state.values.messages as BaseMessage[], ms };
  });
}

/** A thread a child was running when it was killed (or paused). */
export interface Kill {
  threadId: string;
  /** The kill point, or "time+<ms>" / "zombie" / "outage". */
  point: string;
  killedAt: number;
}

/** One child, every thread stopped at its point, then SIGKILL. */
export async function killAtEachPoint(
  target: Target,
  threads: Array<{ id: string; kill: string }>,
): Promise<Kill[]> {
  const child = new Child(target.childConfig(threads));
  try {
    await child.until("every thread at its kill point", () =>
      threads.every((t) => child.stoppedAt().has(t.id) || child.ended().has(t.id)),
    );
  } catch (error) {
    child.signal("SIGKILL");
    const missing = threads.filter((t) => !child.stoppedAt().has(t.id) && !child.ended().has(t.id));
    throw new Error(
      `${(error as Error).message}\nnot at their point: ${missing.map((t) => t.kill).join(", ")}`,
    );
  }
  const unreached = threads.filter((t) => child.ended().has(t.id)).map((t) => t.kill);
  if (unreached.length > 0) {
    child.signal("SIGKILL");
    throw new Error(`kill points never reached: ${unreached.join(", ")}`);
  }
  const killedAt = await killAtPoints(child);
  if (target.engine === "postgres") await waitConnectionsGone(child);
  return threads.map((t) => ({ threadId: t.id, point: t.kill, killedAt }));
}

/** One child with random model/tool delays, SIGKILLed `afterMs` after it starts its threads. */
export async function killAfter(
  target: Target,
  ids: string[],
  afterMs: number,
  seed: number,
  maxDelayMs = 40,
): Promise<{ kills: Kill[]; finished: string[] }> {
  const child = new Child(
    target.childConfig(
      ids.map((id) => ({ id })),
      { maxDelayMs, seed },
    ),
  );
  await child.until("the child to start", (ev) => ev.some((e) => e.event === "ready"));
  // The random delay is the experiment (where the kill lands), not a wait for a condition.
  await new Promise((r) => setTimeout(r, afterMs));
  const killedAt = Date.now();
  child.signal("SIGKILL");
  await child.exited;
  if (target.engine === "postgres") await waitConnectionsGone(child);
  const ended = child.ended();
  return {
    kills: ids
      .filter((id) => !ended.has(id))
      .map((id) => ({ threadId: id, point: `time+${afterMs}`, killedAt })),
    finished: ids.filter((id) => ended.has(id)),
  };
}

/** What happened to each killed thread, and the campaign's totals. */
export interface CampaignReport {
  kills: number;
  /** Resumed by `recover` to completion (or found complete). */
  recovered: number;
  /** Parked for review by `recover`, then finished by `recover --force`. */
  parked: number;
  /** Died before their first checkpoint: reported dead (the input was never stored). */
  lostInput: number;
  /** Died before anything reached the database. */
  notStarted: number;
  duplicates: number;
  /** Idempotent in-flight calls that ran a second time (allowed). */
  reruns: number;
  forks: number;
  /** Milliseconds from each kill to the CLI run that finished the thread (not parked ones). */
  recoveryMs: number[];
  problems: Array<{ threadId: string; point: string; expected: string; problems: string[] }>;
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface CliResult {
  threadId: string;
  status: string;
  outcome?: string;
  reason?: string;
  before?: { needsReview?: boolean; state?: string };
}

/** Waits until no killed thread holds a live lease (exact classification, not a fixed sleep). */
async function waitUntilCrashed(target: Target, ids: string[]): Promise<void> {
  const end = Date.now() + 60_000;
  if (target.engine === "postgres") {
    await target.use(async ({ agent }) => {
      const waiting = new Set(ids);
      while (waiting.size > 0) {
        for (const id of [...waiting]) {
          const state = await checkStuckState(id, agent).then(
            (s) => s.state,
            () => "not found",
          );
          if (state !== "running") waiting.delete(id);
        }
        if (Date.now() > end) throw new Error(`leases still live: ${[...waiting].join(", ")}`);
        if (waiting.size > 0) await new Promise((r) => setTimeout(r, 200));
      }
    });
    return;
  }
  // PGlite: one process at a time, so ask the CLI (`stuck --json`) rather than open it here.
  for (;;) {
    const r = await target.cli(["stuck", ...ids]);
    if (r.code === 1) throw new Error(`agentstate stuck failed:\n${r.stderr}`);
    const states = (JSON.parse(r.stdout).threads as Array<{ state: string }>) ?? [];
    if (states.every((s) => s.state !== "running")) return;
    if (Date.now() > end) throw new Error("leases still live");
  }
}

async function readAllFacts(target: Target, kills: Kill[]): Promise<Map<string, KillFacts>> {
  const facts = new Map<string, KillFacts>();
  await target.use(async ({ saver }) => {
    for (const k of kills) facts.set(k.threadId, await readKillFacts(saver, k.threadId));
  });
  for (const f of facts.values()) debug(`facts ${JSON.stringify(f)} → ${expectedOf(f)}`);
  return facts;
}

export interface RecoverOptions {
  /** `recover --all` (a sweep of the whole schema) instead of `recover <ids…>`. */
  all?: boolean;
  /** Runs after the first recovery round, before the judging (the zombie campaign wakes its child). */
  afterRecovery?: () => Promise<void>;
}

/**
 * Recovers killed threads through the CLI and judges each: `recover <ids>` (or `--all`), then
 * `recover --force` for the ones it parked for review; then reads everything back.
 */
export async function recoverAndJudge(
  target: Target,
  kills: Kill[],
  reference: BaseMessage[],
  o: RecoverOptions = {},
): Promise<CampaignReport> {
  const ids = kills.map((k) => k.threadId);
  // Facts are read once nothing can still land: on Postgres after the leases lapsed; on PGlite
  // the killed process was the only writer.
  let facts: Map<string, KillFacts>;
  if (target.engine === "postgres") {
    await waitUntilCrashed(target, ids);
    facts = await readAllFacts(target, kills);
  } else {
    facts = await readAllFacts(target, kills);
    const stored = ids.filter((id) => facts.get(id)?.stored !== "none");
    if (stored.length > 0) await waitUntilCrashed(target, stored);
  }
  const stored = ids.filter((id) => facts.get(id)?.stored !== "none");
  debug(`${stored.length} crashed`);
  const recoveredAt = new Map<string, number>();
  const parked = new Set<string>();
  const cliProblems = new Map<string, string[]>();
  const note = (id: string, p: string) => cliProblems.set(id, [...(cliProblems.get(id) ?? []), p]);
  if (stored.length > 0) {
    const args = o.all ? ["recover", "--all", "--concurrency", "4"] : ["recover", ...stored];
    const first = await target.cli(args);
    if (first.code === 1 || first.code === 64)
      throw new Error(`agentstate recover failed:\n${first.stderr.slice(-3000)}`);
    const done = JSON.parse(first.stdout) as { at: string; results: CliResult[] };
    debug(`recover done: ${done.results.length} results`);
    const firstAt = Date.parse(done.at);
    const seen = new Set<string>();
    for (const r of done.results) {
      seen.add(r.threadId);
      if (r.status === "resumed" && r.outcome === "completed") recoveredAt.set(r.threadId, firstAt);
      else if (r.status === "not_stuck" && r.before?.state === "completed")
        recoveredAt.set(r.threadId, firstAt);
      else if (r.status === "dead" && r.before?.needsReview) parked.add(r.threadId);
      else if (r.status !== "dead")
        note(r.threadId, `recover: ${r.status} ${r.outcome ?? ""} ${r.reason ?? ""}`);
    }
    // A sweep skips threads it does not see as stuck (one killed after its last checkpoint but
    // before its outcome was recorded is "completed"): those are recovered as far as it goes.
    if (o.all) for (const id of stored) if (!seen.has(id)) recoveredAt.set(id, firstAt);
    await o.afterRecovery?.();
    if (parked.size > 0) {
      // A human's decision in real life: not counted in the kill→recovered time.
      const forced = await target.cli(["recover", "--force", ...parked]);
      if (forced.code === 1 || forced.code === 64)
        throw new Error(`agentstate recover --force failed:\n${forced.stderr.slice(-3000)}`);
      for (const r of (JSON.parse(forced.stdout) as { results: CliResult[] }).results) {
        if (r.status !== "resumed" || r.outcome !== "completed")
          note(r.threadId, `recover --force: ${r.status} ${r.outcome ?? ""} ${r.reason ?? ""}`);
      }
    }
  } else await o.afterRecovery?.();
  const effects = await readEffects(target.effectsSchema);
  const report: CampaignReport = {
    kills: kills.length,
    recovered: 0,
    parked: 0,
    lostInput: 0,
    notStarted: 0,
    duplicates: 0,
    reruns: 0,
    forks: 0,
    recoveryMs: [],
    problems: [],
  };
  await target.use(async ({ saver, agent }) => {
    const forked = new Set(await forkedThreads(saver));
    for (const k of kills) {
      const f = facts.get(k.threadId) as KillFacts;
      const out = await readOutcome(saver, agent.graph, k.threadId);
      const fx: Effects = effects.get(k.threadId) ?? {};
      const verdict = judge(f, parked.has(k.threadId), out, fx, reference);
      const problems = [...(cliProblems.get(k.threadId) ?? []), ...verdict.problems];
      if (forked.has(k.threadId)) {
        report.forks += 1;
        problems.push("forked checkpoint chain");
      }
      report.duplicates += verdict.duplicates;
      report.reruns += verdict.reruns;
      const expected = expectedOf(f);
      if (expected === "nothing") report.notStarted += 1;
      else if (expected === "report-dead") report.lostInput += 1;
      else if (parked.has(k.threadId)) report.parked += 1;
      else if (out.status === "completed") report.recovered += 1;
      if (problems.length > 0)
        report.problems.push({ threadId: k.threadId, point: k.point, expected, problems });
    }
  });
  report.recoveryMs = kills.flatMap((k) => {
    const at = recoveredAt.get(k.threadId);
    return at ? [at - k.killedAt] : [];
  });
  return report;
}

/** Adds up reports of several rounds. */
export function sumReports(reports: CampaignReport[]): CampaignReport {
  const sum = (key: keyof CampaignReport) => reports.reduce((n, r) => n + (r[key] as number), 0);
  return {
    kills: sum("kills"),
    recovered: sum("recovered"),
    parked: sum("parked"),
    lostInput: sum("lostInput"),
    notStarted: sum("notStarted"),
    duplicates: sum("duplicates"),
    reruns: sum("reruns"),
    forks: sum("forks"),
    recoveryMs: reports.flatMap((r) => r.recoveryMs),
    problems: reports.flatMap((r) => r.problems),
  };
}

/** One line per campaign for logs: the numbers the script's table shows. */
export function summary(name: string, r: CampaignReport): string {
  return `${name}: kills ${r.kills}, recovered ${r.recovered}, parked ${r.parked}, lost input ${r.lostInput}, not started ${r.notStarted}, duplicates ${r.duplicates} (idempotent re-runs ${r.reruns}), forks ${r.forks}, median kill→recovered ${Math.round(median(r.recoveryMs))} ms, problems ${r.problems.length}`;
}

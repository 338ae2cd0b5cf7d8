// Plans and runs crash campaigns: the deterministic sweep over every kill point, the seeded
// random campaign, the zombie (SIGSTOP) campaign; shared by the test files and the script.
import { prng } from "./agent.js";
import { type Kill, killAfter, killAtEachPoint, type Target } from "./harness.js";
import { PHASES, type Phase } from "./killswitch.js";
import { Child, probe, waitConnectionsGone } from "./process.js";

/** Phases an engine can produce: PGlite has no second connection to hold a statement inside. */
export const phasesFor = (t: Target): Phase[] =>
  t.engine === "postgres" ? [...PHASES] : ["before", "after"];

/** Every operation of the uncrashed run, in every phase. */
export function sweepPoints(ops: string[], phases: readonly Phase[]): string[] {
  return ops.flatMap((op) => phases.map((phase) => `${op}:${phase}`));
}

/** Runs `tasks` with at most `limit` at a time. */
export async function limited<T>(limit: number, tasks: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await (tasks[i] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return out;
}

/** Threads per child: a statement held inside Postgres ties up connections, so fewer of those. */
function chunks(points: string[], perChild: number, insidePerChild: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let inside = 0;
  for (const p of points) {
    const isInside = p.includes(":inside");
    if (cur.length >= perChild || (isInside && inside >= insidePerChild)) {
      out.push(cur);
      cur = [];
      inside = 0;
    }
    cur.push(p);
    if (isInside) inside += 1;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

export interface PointRunOptions {
  idPrefix: string;
  perChild?: number;
  insidePerChild?: number;
  concurrency?: number;
}

/** One thread per kill point, several threads per child, children a few at a time. */
export async function killAtPoints(
  target: Target,
  points: string[],
  o: PointRunOptions,
): Promise<{ kills: Kill[]; processes: number }> {
  const groups = chunks(points, o.perChild ?? 12, o.insidePerChild ?? 5);
  let n = 0;
  const jobs = groups.map((group) => {
    const threads = group.map((kill) => ({
      id: `${o.idPrefix}-${String(n++).padStart(3, "0")}`,
      kill,
    }));
    return () => killAtEachPoint(target, threads);
  });
  const kills = (await limited(Math.min(o.concurrency ?? 2, target.maxChildren), jobs)).flat();
  return { kills, processes: groups.length };
}

export interface RandomOptions {
  /** Crashed threads wanted (at least). */
  kills: number;
  seed: number;
  /** Operations of the uncrashed run (kill points are drawn from them). */
  ops: string[];
  perChild?: number;
  concurrency?: number;
  idPrefix?: string;
}

/**
 * Seeded random campaign: half the kills at random points in random phases (several threads per
 * child), half at random times into children whose model and tools take random time, so those
 * land anywhere: in a tool, between statements, inside one (PGlite: inside its WASM engine).
 */
export async function randomCampaign(
  target: Target,
  o: RandomOptions,
): Promise<{ kills: Kill[]; processes: number; finishedBeforeKill: number }> {
  const random = prng(o.seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)] as T;
  const prefix = o.idPrefix ?? "r";
  const perChild = o.perChild ?? (target.engine === "pglite" ? 5 : 10);
  const pointCount = Math.ceil(o.kills / 2);
  const phases = phasesFor(target);
  const points = Array.from({ length: pointCount }, () => `${pick(o.ops)}:${pick(phases)}`);
  const byPoint = await killAtPoints(target, points, {
    idPrefix: `${prefix}p`,
    perChild,
    concurrency: o.concurrency,
  });
  const kills = [...byPoint.kills];
  let processes = byPoint.processes;
  let finishedBeforeKill = 0;
  let round = 0;
  // Timed kills until enough threads died mid-run (a kill after a thread finished is no crash).
  while (kills.length < o.kills) {
    const want = o.kills - kills.length;
    const parallel = Math.min(o.concurrency ?? 2, target.maxChildren);
    const batch = Array.from({ length: Math.min(parallel, Math.ceil(want / perChild)) });
    const results = await limited(
      batch.length,
      batch.map((_, b) => {
        const ids = Array.from({ length: perChild }, (_, i) => `${prefix}t-${round}-${b}-${i}`);
        const afterMs = Math.floor(100 + random() * 1400);
        const seed = Math.floor(random() * 2 ** 31);
        return () => killAfter(target, ids, afterMs, seed);
      }),
    );
    for (const r of results) {
      kills.push(...r.kills);
      finishedBeforeKill += r.finished.length;
    }
    processes += batch.length;
    round += 1;
  }
  return { kills, processes, finishedBeforeKill };
}

/**
 * Zombie campaign: a child runs threads with slow tools, is SIGSTOPped mid-run and stays stopped
 * while its leases expire and the threads are recovered elsewhere; `resume` then SIGCONTs it.
 */
export async function pauseChild(
  target: Target,
  ids: string[],
  afterMs: number,
  seed: number,
): Promise<{ child: Child; kills: Kill[] }> {
  const child = new Child(
    target.childConfig(
      ids.map((id) => ({ id })),
      { maxDelayMs: 200, seed },
    ),
  );
  await child.until("the child to start", (ev) => ev.some((e) => e.event === "ready"));
  await new Promise((r) => setTimeout(r, afterMs));
  const stoppedAt = Date.now();
  child.signal("SIGSTOP");
  const ended = child.ended();
  const kills = ids
    .filter((id) => !ended.has(id))
    .map((id) => ({ threadId: id, point: `zombie+${afterMs}`, killedAt: stoppedAt }));
  return { child, kills };
}

/** Wakes a paused child and waits for it to finish; its connections are gone afterwards. */
export async function resumeChild(child: Child): Promise<void> {
  child.signal("SIGCONT");
  await child
    .until("the zombie to exit", (ev) => ev.some((e) => e.event === "exit"), 120_000)
    .catch(() => child.signal("SIGKILL"));
  await child.exited;
  await waitConnectionsGone(child);
}

/**
 * Restart campaign: a child runs `ids` durably; once they are under way the server is stopped
 * (every connection dropped), and started again after every run has ended. Threads that had not
 * finished are the kills. `stop`/`start` control the server (see server.ts).
 */
export async function restartUnder(
  target: Target,
  ids: string[],
  seed: number,
  server: { stop(): Promise<void>; start(): Promise<void> },
): Promise<{ kills: Kill[]; finishedBefore: number }> {
  const child = new Child(
    target.childConfig(
      ids.map((id) => ({ id })),
      { maxDelayMs: 150, seed, poolMax: 20 },
    ),
  );
  let killedAt = 0;
  try {
    await child.until("the child to start", (ev) => ev.some((e) => e.event === "ready"));
    // Under way: about a third of the threads have stored a step (not a fixed sleep).
    await probeUntil(target, Math.ceil(ids.length / 3));
    killedAt = Date.now();
    await server.stop();
    await child.until("every run to end", () => child.ended().size === ids.length, 120_000);
  } finally {
    child.signal("SIGKILL");
    await child.exited;
    await server.start();
  }
  const ended = child.ended();
  const kills = ids
    .filter((id) => !ended.get(id)?.ok)
    .map((id) => ({ threadId: id, point: "outage", killedAt }));
  return { kills, finishedBefore: ids.length - kills.length };
}

/** Polls until `n` threads of the target have at least five checkpoints (mid-run). */
async function probeUntil(target: Target, n: number): Promise<void> {
  await probe(async (c) => {
    const end = Date.now() + 120_000;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT thread_id FROM "${target.schema}".checkpoints
         GROUP BY 1 HAVING count(*) >= 5) t`,
      );
      if ((rows[0]?.n ?? 0) >= n) return;
      if (Date.now() > end) throw new Error("the runs never got under way");
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

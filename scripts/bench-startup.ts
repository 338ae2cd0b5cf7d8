/**
 * Start-up costs a user feels: `agentstate --help`, and import + getCheckpointer() to the first
 * query on the embedded database, for a new data directory (unpacked from the build's template)
 * and an existing one; each a fresh Node process, repeated (min / median / max). Needs `pnpm build`
 * (it measures dist/, as installed). Targets (issue 9): --help ≤ 0.3 s, existing ≤ 1 s, new ≤ 3 s.
 *
 *   node --import tsx scripts/bench-startup.ts
 *
 * Env: BENCH_REPS (default 5), BENCH_MAX_LOAD=<n> (wait up to 90 s for the 1-minute load average
 * to drop under n first: on a shared 2-core machine other work easily doubles these figures).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runIfEntryPoint } from "./lib/main.js";
import { median, waitForQuietMachine } from "./lib/stats.js";
import { fmt, formatTable, passFail } from "./lib/table.js";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const CLI = join(ROOT, "packages/recovery/dist/cli/main.js");
const CHECKPOINTER = join(ROOT, "packages/checkpointer/dist/index.js");

/** Wall time of one Node process, ms. */
function timed(args: string[], env: Record<string, string> = {}): number {
  const started = performance.now();
  const r = spawnSync(process.execPath, args, {
    env: { ...process.env, ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
  return performance.now() - started;
}

const OPEN = `const { getCheckpointer } = await import(${JSON.stringify(CHECKPOINTER)});
const saver = await getCheckpointer({ dataDir: process.env.DIR });
await saver.getTuple({ configurable: { thread_id: "x" } });
await saver.end();`;

export async function main(): Promise<void> {
  const reps = Number(process.env.BENCH_REPS ?? 5);
  const maxLoad = Number(process.env.BENCH_MAX_LOAD);
  if (maxLoad > 0) await waitForQuietMachine(maxLoad, 90_000);
  const startLoad = loadavg()[0] ?? 0;
  const base = mkdtempSync(join(tmpdir(), "agentstate-startup-"));
  const samples: Record<string, number[]> = { help: [], node: [], fresh: [], existing: [] };
  try {
    for (let i = 0; i < reps; i += 1) {
      samples.node?.push(timed(["-e", ""]));
      samples.help?.push(timed([CLI, "--help"]));
      const dir = join(base, `d${i}`);
      samples.fresh?.push(timed(["--input-type=module", "-e", OPEN], { DIR: dir }));
      samples.existing?.push(timed(["--input-type=module", "-e", OPEN], { DIR: dir }));
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  const row = (name: string, key: string, targetMs?: number) => {
    const s = samples[key] ?? [];
    const med = median(s);
    return [
      name,
      fmt(Math.min(...s) / 1000),
      fmt(med / 1000),
      fmt(Math.max(...s) / 1000),
      targetMs ? `≤ ${targetMs / 1000} s ${passFail(med <= targetMs)}` : "",
    ];
  };
  const load = `${startLoad.toFixed(1)} → ${(loadavg()[0] ?? 0).toFixed(1)}`;
  console.log(`start-up, ${reps} fresh processes each (load average ${load})`);
  console.log(
    formatTable(
      ["process", "min s", "median s", "max s", "target"],
      [
        row("node -e '' (floor)", "node"),
        row("agentstate --help", "help", 300),
        row("getCheckpointer(), new data dir", "fresh", 3000),
        row("getCheckpointer(), existing data dir", "existing", 1000),
      ],
    ),
  );
}

runIfEntryPoint(import.meta.url, main);

/**
 * Runs every bench in order: checkpointer, then backends, recovery, start-up, compact storage and
 * DeltaChannel history when those files exist.
 *
 *   node --conditions=agentstate-source --import tsx scripts/bench.ts   (or: pnpm bench)
 *
 * Each bench module exports `main(): Promise<void>` and also runs on its own when executed directly.
 */
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runIfEntryPoint } from "./lib/main.js";

const HERE = dirname(fileURLToPath(import.meta.url));

const BENCHES = [
  "bench-checkpointer.ts",
  "bench-backends.ts",
  "bench-recovery.ts",
  "bench-deploy.ts",
  "bench-startup.ts",
  "bench-compact.ts",
  "bench-history.ts",
];

interface BenchModule {
  main?: () => Promise<void>;
}

export async function main(): Promise<void> {
  const failed: string[] = [];
  for (const file of BENCHES) {
    const path = resolve(HERE, file);
    if (!existsSync(path)) {
      console.log(`[bench] scripts/${file} not found: skipped.`);
      continue;
    }
    console.log(`\n[bench] ── scripts/${file} ──`);
    const started = Date.now();
    try {
      const mod = (await import(pathToFileURL(path).href)) as BenchModule;
      if (typeof mod.main !== "function") {
        throw new Error(`scripts/${file} does not export async function main()`);
      }
      await mod.main();
      console.log(
        `[bench] scripts/${file} done in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    } catch (error) {
      // One failing bench should not hide the others' numbers.
      console.error(`[bench] scripts/${file} failed:`, error);
      failed.push(file);
    }
  }
  if (failed.length > 0) throw new Error(`bench failed: ${failed.join(", ")}`);
}

runIfEntryPoint(import.meta.url, main);

import { spawnSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** True when the module at `moduleUrl` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs a bench's main() when its file is executed directly; exit code 1 on failure. */
export function runIfEntryPoint(moduleUrl: string, main: () => Promise<void>): void {
  if (!isEntryPoint(moduleUrl)) return;
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

/**
 * Like runIfEntryPoint, for benches that import @agentstate/* sources: `npx tsx scripts/x.ts`
 * starts without the workspace-source condition (the packages would resolve to an unbuilt
 * dist/), so the script runs itself again with it.
 */
export function runWithSourceCondition(moduleUrl: string, main: () => Promise<void>): void {
  const hasCondition = [...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((a) =>
    a.includes("agentstate-source"),
  );
  if (!isEntryPoint(moduleUrl) || hasCondition) {
    runIfEntryPoint(moduleUrl, main);
    return;
  }
  const r = spawnSync(
    process.execPath,
    [
      "--conditions=agentstate-source",
      "--import",
      "tsx",
      fileURLToPath(moduleUrl),
      ...process.argv.slice(2),
    ],
    { stdio: "inherit" },
  );
  process.exitCode = r.status ?? 1;
}

// The quick-start demo: one process starts a thread on the embedded Postgres and stops half-way;
// a second process resumes it from the last checkpoint. No server, no API key.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = resolve(process.env.AGENTSTATE_DATA_DIR ?? join(process.cwd(), ".agentstate", "demo"));
if (!process.env.DATABASE_URL) rmSync(dataDir, { recursive: true, force: true });

function step(title: string, mode: string) {
  console.log(`\n${title}`);
  const r = spawnSync(process.execPath, [...process.execArgv, join(here, "worker.ts"), mode, dataDir], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

console.log("agentstate demo: durable LangGraph state on the embedded default");
step("1. first process runs the graph and stops half-way", "start");
step("2. second process resumes the thread from its last checkpoint", "resume");
console.log("\nDone: the second process finished the work the first one started.");

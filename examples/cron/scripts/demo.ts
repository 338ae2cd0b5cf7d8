// `pnpm --filter @agentstate/example-cron start`: what the cron job sees, run by hand.
// 1. a run is SIGKILLed in the middle of a read-only tool; the cron command resumes it (exit 0);
// 2. the next cron run has nothing to do (exit 0);
// 3. a run is SIGKILLed while it sends an email: recovery will not guess, the thread goes dead
//    and the cron command exits 3 (cron mails the alert line); a human re-drives it with --force.
// Embedded database in ./.agentstate/pgdata (wiped first) unless DATABASE_URL is set.
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = resolve(EXAMPLE, "../..");
const CLI = join(ROOT, "packages/recovery/src/cli/main.ts");
const NODE = [process.execPath, "--conditions=agentstate-source", "--import", "tsx"];

const env = { ...process.env };
if (!env.DATABASE_URL) {
  env.AGENTSTATE_DATA_DIR ??= join(EXAMPLE, ".agentstate/pgdata");
  rmSync(env.AGENTSTATE_DATA_DIR, { recursive: true, force: true });
}

function run(args: string[]) {
  const r = spawnSync(NODE[0]!, [...NODE.slice(1), ...args], { cwd: ROOT, env, encoding: "utf8" });
  if (r.stderr) process.stderr.write(r.stderr);
  return { code: r.status, stdout: r.stdout };
}

function crash(threadId: string, killIn: string) {
  const r = run([join(EXAMPLE, "scripts/crash.ts"), "--thread", threadId, "--kill-in", killIn]);
  if (r.code !== 0) process.exit(1);
  console.log(`  killed ${threadId} with SIGKILL while ${killIn} was running`);
}

/** The command of the crontab line (the log redirection aside). */
function cronRun(title: string) {
  const r = run([CLI, "recover", "--all", "--config", "examples/cron/langgraph.json", "--json"]);
  const out = JSON.parse(r.stdout) as {
    results: Array<{ threadId: string; status: string; outcome?: string; reason: string }>;
  };
  console.log(`\n$ agentstate recover --all --json   (${title})`);
  for (const x of out.results) {
    console.log(`  ${x.threadId}: ${x.status}${x.outcome ? ` → ${x.outcome}` : ""} ${x.reason}`);
  }
  if (out.results.length === 0) console.log("  nothing to recover");
  console.log(`  exit code ${r.code}`);
  return r.code;
}

const stamp = Date.now().toString(36);
const leaseWait = () => new Promise((r) => setTimeout(r, 5_500)); // crash.ts leases for 5 s

console.log("1. a run dies while fetching prices (an idempotent tool)");
crash(`report-${stamp}`, "fetch_prices");
await leaseWait();
cronRun("resumes it from its last checkpoint");
cronRun("the next run: nothing to do");

console.log("\n2. a run dies while sending the report email (a side effect)");
const dead = `email-${stamp}`;
crash(dead, "send_report");
await leaseWait();
if (cronRun("the email may or may not be out: dead, needs review") === 3) {
  console.log(`\n$ agentstate recover --force ${dead}   (a human checked the outbox)`);
  const forced = run([CLI, "recover", "--force", dead, "--config", "examples/cron/langgraph.json"]);
  process.stdout.write(forced.stdout);
  console.log(`  exit code ${forced.code}`);
}

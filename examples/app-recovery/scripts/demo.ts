// `pnpm --filter @agentstate/example-app-recovery start`: the app's story in three processes.
// 1. the app asks a human to approve a refund (interrupt()) and shuts down;
// 2. the app is SIGKILLed while it looks an order up;
// 3. the app starts again: it recovers the killed thread before serving, leaves the refund
//    waiting, refunds once the human says yes, and /metrics shows the recovery.
// Embedded database in ./.agentstate/pgdata (wiped first) unless DATABASE_URL is set.
import { type ChildProcess, spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const EXAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const env = { ...process.env };
if (!env.DATABASE_URL) {
  env.AGENTSTATE_DATA_DIR ??= join(EXAMPLE, ".agentstate/pgdata");
  rmSync(env.AGENTSTATE_DATA_DIR, { recursive: true, force: true });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startServer(extra: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", "tsx", join(EXAMPLE, "src/main.ts")],
    { env: { ...env, SWEEP_INTERVAL_MS: "0", ...extra }, stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise((r) => child.on("exit", r));
  for await (const line of createInterface({ input: child.stdout })) {
    const info = JSON.parse(line) as { url: string; pid: number; startup: unknown[] };
    console.log(
      `  app pid ${info.pid} at ${info.url}; startup recovery: ${JSON.stringify(info.startup)}`,
    );
    return { ...info, stop: (signal: NodeJS.Signals) => stop(child, exited, signal) };
  }
  throw new Error("the app exited before listening");
}

async function stop(child: ChildProcess, exited: Promise<unknown>, signal: NodeJS.Signals) {
  child.kill(signal);
  await exited;
}

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  console.log(`  ${method} ${path} → ${res.status} ${JSON.stringify(json)}`);
  return json;
}

console.log("1. a refund waits for a human's approval");
let app = await startServer();
await call(app.url, "POST", "/threads/refund-42/messages", { text: "Please refund order 42" });
await app.stop("SIGTERM");

console.log("\n2. the app is killed (SIGKILL) while it looks order 7 up");
app = await startServer({ LOOKUP_MS: "60000", LEASE_SECONDS: "2" });
const url = app.url;
void fetch(`${url}/threads/where-7/messages`, {
  method: "POST",
  body: JSON.stringify({ text: "Where is order 7?" }),
}).catch(() => {});
for (;;) {
  const res = await fetch(`${url}/threads/where-7/status`);
  const view = (await res.json()) as { inFlight?: string[] };
  if (view.inFlight?.includes("lookup_order")) break;
  await sleep(100);
}
await call(url, "GET", "/threads/where-7/status");
await app.stop("SIGKILL");
await sleep(2_500); // its 2 s lease runs out: the thread now counts as crashed

console.log("\n3. the app starts again");
app = await startServer();
await call(app.url, "GET", "/threads/where-7/status");
await call(app.url, "GET", "/threads/refund-42/status");
await call(app.url, "POST", "/threads/refund-42/recover");
await call(app.url, "POST", "/threads/refund-42/resume", { answer: "yes" });
const metrics = await (await fetch(`${app.url}/metrics`)).text();
console.log("  GET /metrics (excerpt):");
for (const line of metrics.split("\n")) {
  if (/^agentstate_(recoveries_total|runs)\{/.test(line)) console.log(`    ${line}`);
}
await app.stop("SIGTERM");

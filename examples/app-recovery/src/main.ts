// The app as a process: `pnpm --filter @agentstate/example-app-recovery serve`.
// DATABASE_URL (schema AGENTSTATE_SCHEMA) else the embedded database in ./.agentstate/pgdata.
// PORT (default: a free one), LEASE_SECONDS (30), SWEEP_INTERVAL_MS (60000), LOOKUP_MS (200).
// Prints one JSON line, { url, pid, startup }, once it accepts requests.
import { getCheckpointer } from "@agentstate/checkpointer";
import { startApp } from "./app.js";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const checkpointer = await getCheckpointer({ schema: process.env.AGENTSTATE_SCHEMA });
const app = await startApp({
  checkpointer,
  port: env("PORT", 0),
  leaseSeconds: env("LEASE_SECONDS", 30),
  sweepIntervalMs: env("SWEEP_INTERVAL_MS", 60_000),
  lookupMs: env("LOOKUP_MS", 200),
});
const { url, startup } = app;
console.log(JSON.stringify({ url, pid: process.pid, startup: summary(startup.results) }));

function summary(results: typeof startup.results) {
  return results.map((r) => ({ threadId: r.threadId, status: r.status, outcome: r.outcome }));
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await app.close();
    await checkpointer.end();
    process.exit(0);
  });
}

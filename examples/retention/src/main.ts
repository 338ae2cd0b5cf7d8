// The retention worker as a process: `pnpm --filter @agentstate/example-retention worker`.
//   main.ts [--keep-latest 20] [--older-than 30d] [--every 1h] [--dry-run]
// Without --every: one pass, then exit. DATABASE_URL (schema AGENTSTATE_SCHEMA, default public),
// else the embedded database in ./.agentstate/pgdata.
import { parseArgs } from "node:util";
import { getCheckpointer } from "@agentstate/checkpointer";
import { parseDuration } from "@agentstate/recovery";
import { runRetention } from "./retention.js";
import { startRetentionWorker } from "./worker.js";

const { values } = parseArgs({
  options: {
    "keep-latest": { type: "string", default: "20" },
    "older-than": { type: "string", default: "30d" },
    every: { type: "string" },
    "dry-run": { type: "boolean", default: false },
  },
});
const checkpointer = await getCheckpointer({ schema: process.env.AGENTSTATE_SCHEMA });
const options = {
  checkpointer,
  keepLatest: Number(values["keep-latest"]),
  olderThan: values["older-than"],
  dryRun: values["dry-run"],
};

if (values.every) {
  const worker = startRetentionWorker({ ...options, everyMs: parseDuration(values.every) * 1000 });
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, async () => {
      await worker.stop();
      await checkpointer.end();
    });
  }
} else {
  await runRetention(options);
  await checkpointer.end();
}

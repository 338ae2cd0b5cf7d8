// `agentstate worker`: registers the command; the loop, HTTP endpoints and signal handling are
// in worker-run.ts, loaded only when the command runs (so `agentstate --help` stays fast).
import type { Command } from "commander";
import { action, duration, int } from "./args.js";
import type { WorkerCommandOptions } from "./worker-run.js";

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description(
      "long-running: resume drained threads at once and crashed ones as their lease expires; drains itself on SIGTERM",
    )
    .option(
      "--port <n>",
      "serve /healthz and /metrics on 127.0.0.1:<n> (0: any free port)",
      int("--port"),
    )
    .option(
      "--drain-timeout <duration>",
      "on SIGTERM/SIGINT, wait this long for running resumes to reach a step boundary",
      duration,
      25,
    )
    .option("--max-wait <duration>", "longest sleep between two looks at the ledger", duration, 10)
    .option("--no-listen", "poll for drained threads every second instead of LISTEN (poolers)")
    .option(
      "--listen-url <url>",
      "direct Postgres URL for LISTEN alone, when --database-url is a pooler (default: $AGENTSTATE_LISTEN_URL)",
    )
    .action(
      action(
        async (ctx, o: WorkerCommandOptions) => {
          const { runWorker } = await import("./worker-run.js");
          return runWorker(ctx, o);
        },
        undefined,
        "write",
      ),
    );
}

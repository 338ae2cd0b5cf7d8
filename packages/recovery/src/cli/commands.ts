// The `agentstate` program: global options, help text and exit codes, and every command
// registered from its own file (each loads its code only when it runs).
import { createRequire } from "node:module";
import { Command, Option } from "commander";
import { registerArchiveCommands } from "./archive-commands.js";
import { collect, duration, int } from "./args.js";
import { registerCompactCommands } from "./compact-commands.js";
import { registerDataCommands } from "./data-commands.js";
import { registerInspectCommands } from "./inspect-commands.js";
import { EXIT_CODES_HELP } from "./output.js";
import { registerRecoveryCommands } from "./recovery-commands.js";
import { registerWorkerCommand } from "./worker-command.js";

// src/cli and dist/cli both sit two levels below the package root.
const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

export function buildProgram(): Command {
  // exitOverride before any subcommand exists, so they inherit it: main maps errors to exit codes.
  const program = new Command("agentstate")
    .exitOverride()
    .description("Find LangGraph threads that stopped mid-run and resume them exactly once.")
    .version(version, "-V, --version", "print the version")
    .option(
      "--database-url <url>",
      "Postgres URL (default: $DATABASE_URL; else --data-dir, $AGENTSTATE_DATA_DIR or an existing ./.agentstate/pgdata)",
    )
    .option(
      "--schema <name>",
      "schema of the checkpoint tables (default: $AGENTSTATE_SCHEMA or public)",
    )
    .option(
      "--data-dir <dir>",
      "embedded database directory (used by default only if ./.agentstate/pgdata exists)",
    )
    .option("--graph <path:export>", "graph module, repeatable; id=path:export to name it", collect)
    .option("--config <file>", "langgraph.json to read graphs from (default: ./langgraph.json)")
    .option("--json", "machine-readable output on stdout")
    .option("-q, --quiet", "no progress or notes on stderr")
    .option("--log-json", "one JSON line per recovery on stderr (thread, node, attempt, outcome)")
    .option("--lease-seconds <n>", "lease length for resumed runs", int("--lease-seconds"))
    .option(
      "--grace <seconds>",
      "untracked threads count as crashed after this idle time",
      duration,
    )
    .option(
      "--max-attempts <n>",
      "attempts without progress before a thread is dead",
      int("--max-attempts"),
    )
    .addOption(
      new Option(
        "--tool-policy <policy>",
        "non-idempotent tool calls in flight at the crash",
      ).choices(["review", "error", "rerun"]),
    )
    .option("--idempotent <tool>", "tool name that is safe to re-run, repeatable", collect)
    .option("--concurrency <n>", "threads recovered at once", int("--concurrency"))
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError();

  registerDataCommands(program);
  registerRecoveryCommands(program);
  registerInspectCommands(program);
  registerArchiveCommands(program);
  registerCompactCommands(program);
  registerWorkerCommand(program);
  return program;
}

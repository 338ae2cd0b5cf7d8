// compact, expand: convert stored threads between full and compact storage, thin shells over the
// checkpointer's convertThreads(). The checkpointer loads inside the actions (fast --help).
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { action } from "./args.js";
import { EXIT, formatBytes, pairs } from "./output.js";

interface ConvertFlags {
  all?: boolean;
  dryRun?: boolean;
}

const DESCRIPTIONS = {
  compact:
    'store threads\' growing values once (as `storage: "compact"` writes them); `expand` undoes it',
  expand: "store compact threads whole again, in the format the official PostgresSaver reads",
} as const;

export function registerCompactCommands(program: Command): void {
  for (const direction of ["compact", "expand"] as const) {
    program
      .command(`${direction} [threadIds...]`)
      .description(DESCRIPTIONS[direction])
      .option("--all", "every thread, a page at a time")
      .option("--dry-run", "count the rows and bytes that would change; write nothing")
      .addHelpText(
        "after",
        "\nEach thread converts in one transaction; values read back identically either way.\n" +
          "Convert threads no compact-mode writer is appending to (idle or finished ones).",
      )
      .action(
        action(
          async (ctx, threadIds: string[], o: ConvertFlags) => {
            const { convertThreads } = await import("@agentstate/checkpointer");
            const totals = await convertThreads(ctx.saver, direction, {
              threadIds: threadIds.length > 0 ? threadIds : undefined,
              dryRun: o.dryRun,
              onThread: (r) =>
                ctx.out.note(
                  `${r.threadId}: ${r.rows} row(s), ${formatBytes(r.bytesBefore)} → ${formatBytes(r.bytesAfter)}`,
                ),
            });
            ctx.out.result({ direction, dryRun: Boolean(o.dryRun), ...totals }, () =>
              pairs([
                [o.dryRun ? "would convert" : "converted", `${totals.threads} thread(s)`],
                ["rows rewritten", totals.rows],
                ["bytes before", formatBytes(totals.bytesBefore)],
                ["bytes after", formatBytes(totals.bytesAfter)],
              ]),
            );
            return EXIT.OK;
          },
          (threadIds: string[], o: ConvertFlags) => {
            if (threadIds.length === 0 && !o.all) {
              throw new InvalidArgumentError("Give thread ids, or --all for every thread.");
            }
            if (threadIds.length > 0 && o.all) {
              throw new InvalidArgumentError("Give thread ids or --all, not both.");
            }
          },
          (_ids: string[], o: ConvertFlags) => (o.dryRun ? "read" : "write"),
        ),
      );
  }
}

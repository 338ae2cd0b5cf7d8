// inspect, history (--diff) and ui: thin shells over inspect(), history(), diffCheckpoints() and
// startDashboard(). All read-only except the dashboard's token-guarded recover buttons.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { refuseBinding } from "../ui/auth.js";
import { action, int } from "./args.js";
import type { Context } from "./context.js";
import { EXIT } from "./output.js";

/** The graphs, when --graph/--config/langgraph.json name any: exact classification and recovery. */
async function optionalService(ctx: Context) {
  const { openService } = await import("./context.js");
  return openService(ctx);
}

export function registerInspectCommands(program: Command): void {
  program
    .command("inspect <threadId>")
    .description(
      "a thread's run as a timeline: steps, writes, tool calls, interrupts, errors, ledger",
    )
    .option("--limit <n>", "steps to show (the newest)", int("--limit"), 100)
    .action(
      action(async (ctx, threadId: string, o: { limit: number }) => {
        const { inspectWith } = await import("../inspect.js");
        const { resolveRecoveryOptions } = await import("../options.js");
        const { recoveryOptions } = await import("./context.js");
        const { renderInspection } = await import("./inspect-render.js");
        const service = await optionalService(ctx);
        const options = service?.options ?? resolveRecoveryOptions(recoveryOptions(ctx.opts));
        const r = await inspectWith(
          ctx.saver,
          threadId,
          (graphId) => service?.graphs.get(graphId)?.handle,
          options,
          Math.max(1, o.limit),
        );
        ctx.out.result(r, () => renderInspection(r));
        return EXIT.OK;
      }),
    );

  program
    .command("history <threadId>")
    .description(
      "a thread's checkpoints (id, step, source, time, parent, nodes); --diff A B compares two",
    )
    .option("--limit <n>", "checkpoints to list (the newest)", int("--limit"), 50)
    .option(
      "--diff <checkpoints...>",
      "two checkpoint ids or step numbers: what changed from A to B",
    )
    .action(
      action(
        async (ctx, threadId: string, o: { limit: number; diff?: string[] }) => {
          const { diffCheckpoints, history } = await import("../inspect-history.js");
          const { renderDiff, renderHistory } = await import("./inspect-render.js");
          if (o.diff) {
            const d = await diffCheckpoints(threadId, o.diff[0]!, o.diff[1]!, ctx.saver);
            ctx.out.result(d, () => renderDiff(d));
          } else {
            const h = await history(threadId, ctx.saver, { limit: Math.max(1, o.limit) });
            ctx.out.result(h, () => renderHistory(h));
          }
          return EXIT.OK;
        },
        (_threadId: string, o: { diff?: string[] }) => {
          if (o.diff && o.diff.length !== 2) {
            throw new InvalidArgumentError(
              "--diff takes two checkpoints: --diff <A> <B> (ids or step numbers).",
            );
          }
        },
      ),
    );

  program
    .command("ui")
    .description(
      "a local dashboard: threads by state, stuck list, timelines, storage; recover, archive and restore buttons",
    )
    .option("--port <n>", "port (0 picks a free one)", int("--port"), 7077)
    .option("--host <host>", "address to listen on (a non-loopback one needs --token)", "127.0.0.1")
    .option(
      "--token <secret>",
      "token the page and API require (default: a random one, printed in the URL)",
    )
    .option("--read-only", "no recover buttons: every POST is refused")
    .option(
      "--archive-to <url>",
      "archive location for the Archive button (default: $AGENTSTATE_ARCHIVE_URL; none: no button)",
    )
    .action(
      action(
        async (
          ctx,
          o: { port: number; host: string; token?: string; readOnly?: boolean; archiveTo?: string },
        ) => {
          const { startDashboard } = await import("../ui/server.js");
          const service = await optionalService(ctx);
          const dashboard = await startDashboard({
            saver: ctx.saver,
            service,
            host: o.host,
            port: o.port,
            token: o.token,
            readOnly: Boolean(o.readOnly),
            archiveTo: o.archiveTo || process.env.AGENTSTATE_ARCHIVE_URL || undefined,
            target: `${ctx.target.kind} ${ctx.target.location} (schema ${ctx.saver.schema})`,
          });
          ctx.out.result(
            {
              url: dashboard.url,
              host: dashboard.host,
              port: dashboard.port,
              readOnly: Boolean(o.readOnly),
            },
            () => `agentstate dashboard: ${dashboard.url}\n(Ctrl-C to stop)`,
          );
          await new Promise<void>((stop) => {
            process.once("SIGINT", () => stop());
            process.once("SIGTERM", () => stop());
          });
          await dashboard.close();
          return EXIT.OK;
        },
        (o: { host: string; token?: string }) => {
          const refused = refuseBinding(o.host, o.token);
          if (refused) throw new InvalidArgumentError(refused);
        },
      ),
    );
}

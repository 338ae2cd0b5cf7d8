import { Command, InvalidArgumentError, Option } from "commander";
import type { StuckState } from "../detect.js";
import { findCandidates } from "../ledger.js";
import type { RecoverResult } from "../recover.js";
import {
  type DryRunResult,
  getRecoveryStats,
  parseDuration,
  type RecoveryService,
  type SweepError,
} from "../service.js";
import { type Context, openContext, openService } from "./context.js";
import { runDoctor } from "./doctor.js";
import { EXIT, EXIT_CODES_HELP, formatBytes, formatDate, table } from "./output.js";

const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a non-negative integer.`);
  return n;
};
const duration = (v: string) => {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * Runs an action with a connection and closes it; the action returns the exit code. `check`
 * validates the arguments first, so a usage error never waits for a database.
 */
function action<A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<number>,
  check?: (...args: A) => void,
) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    check?.(...(args.slice(0, -1) as A));
    const ctx = await openContext(cmd);
    try {
      process.exitCode = await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      await ctx.close();
    }
  };
}

async function requireService(ctx: Context, force = false): Promise<RecoveryService> {
  const service = await openService(ctx, { force });
  if (!service) {
    throw new InvalidArgumentError(
      "This command needs the graph: pass --graph ./src/agent.ts:graph, --config langgraph.json, or run where langgraph.json is.",
    );
  }
  return service;
}

async function deadCount(ctx: Context): Promise<number> {
  const [row] = await ctx.saver.run<{ n: number }>(
    "deadCount()",
    `SELECT count(*)::int AS n FROM ${ctx.saver.tables.runs} WHERE status = 'dead'`,
  );
  return Number(row?.n ?? 0);
}

const stuckRow = (s: StuckState) => [
  s.threadId,
  s.state,
  s.attempts,
  formatDate(s.lastCheckpointAt),
  s.next.join(","),
  s.pendingToolCalls.map((c) => `${c.name}${c.idempotent ? "" : "!"}`).join(","),
  s.reason,
];
const STUCK_HEADERS = [
  "THREAD",
  "STATE",
  "ATTEMPTS",
  "LAST CHECKPOINT",
  "NEXT",
  "IN-FLIGHT TOOLS",
  "REASON",
];

export function buildProgram(): Command {
  // exitOverride before any subcommand exists, so they inherit it: main maps errors to exit codes.
  const program = new Command("agentstate")
    .exitOverride()
    .description("Find LangGraph threads that stopped mid-run and resume them exactly once.")
    .option(
      "--database-url <url>",
      "Postgres URL (default: $DATABASE_URL, else the embedded database)",
    )
    .option(
      "--schema <name>",
      "schema of the checkpoint tables (default: $AGENTSTATE_SCHEMA or public)",
    )
    .option("--data-dir <dir>", "embedded database directory (default: ./.agentstate/pgdata)")
    .option("--graph <path:export>", "graph module, repeatable; id=path:export to name it", collect)
    .option("--config <file>", "langgraph.json to read graphs from (default: ./langgraph.json)")
    .option("--json", "machine-readable output on stdout")
    .option("-q, --quiet", "no progress or notes on stderr")
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

  program
    .command("stats")
    .description("checkpoint totals, sizes and run-ledger counts per status")
    .action(
      action(async (ctx) => {
        const s = await getRecoveryStats(ctx.saver);
        ctx.out.result(s, () =>
          [
            table(
              ["", ""],
              [
                ["database", `${ctx.target.kind} ${ctx.target.location}`],
                ["threads", s.uniqueThreads],
                ["checkpoints", s.totalCheckpoints],
                ["oldest", formatDate(s.oldestCheckpointAt)],
                ["newest", formatDate(s.newestCheckpointAt)],
                ["size", formatBytes(s.bytes.total)],
              ],
            ),
            "",
            table(["LEDGER STATUS", "THREADS"], Object.entries(s.ledger)),
          ].join("\n"),
        );
        return s.ledger.dead > 0 ? EXIT.DEAD : EXIT.OK;
      }),
    );

  program
    .command("threads")
    .description("threads by last activity, with their ledger status")
    .option("--limit <n>", "threads per page", int("--limit"), 50)
    .option("--after <threadId>", "page cursor (from the previous page)")
    .option("--inactive-for <duration>", "only threads idle this long, e.g. 7d", duration)
    .action(
      action(async (ctx, o: { limit: number; after?: string; inactiveFor?: number }) => {
        const page = await ctx.saver.listThreads({
          limit: o.limit,
          after: o.after,
          inactiveSince: o.inactiveFor ? new Date(Date.now() - o.inactiveFor * 1000) : undefined,
        });
        const ids = page.threads.map((t) => t.threadId);
        const ledger = await ctx.saver.run<{ thread_id: string; status: string; attempts: number }>(
          "threads",
          `SELECT thread_id, status, attempts FROM ${ctx.saver.tables.runs} WHERE thread_id = ANY($1)`,
          [ids],
        );
        const byId = new Map(ledger.map((r) => [r.thread_id, r]));
        const threads = page.threads.map((t) => ({
          ...t,
          status: byId.get(t.threadId)?.status ?? null,
          attempts: byId.get(t.threadId)?.attempts ?? 0,
        }));
        ctx.out.result({ threads, nextCursor: page.nextCursor ?? null }, () =>
          [
            table(
              ["THREAD", "LAST ACTIVITY", "CHECKPOINTS", "LEDGER"],
              threads.map((t) => [
                t.threadId,
                formatDate(t.lastActivityAt),
                t.checkpointCount,
                t.status ?? "-",
              ]),
            ),
            page.nextCursor ? `\nnext page: --after ${page.nextCursor}` : "",
          ].join(""),
        );
        return EXIT.OK;
      }),
    );

  program
    .command("stuck [threadIds...]")
    .description("detect only: list crashed, failed and dead threads (changes nothing)")
    .option("--older-than <duration>", "only threads idle at least this long, e.g. 10m", duration)
    .option("--limit <n>", "candidates to classify", int("--limit"), 100)
    .action(
      action(async (ctx, threadIds: string[], o: { olderThan?: number; limit: number }) => {
        const service = await openService(ctx);
        if (!service) {
          // Without the graph only the ledger can speak: expired leases are candidates.
          const candidates = await findCandidates(ctx.saver, {
            olderThanSeconds: o.olderThan ?? 0,
            limit: o.limit,
            includeUntracked: false,
            graceSeconds: 0,
            includeDeferred: true,
          });
          const dead = await deadCount(ctx);
          ctx.out.result(
            { exact: false, candidates, dead },
            () =>
              `${candidates.length} thread(s) with an expired lease (pass --graph for exact classification)\n` +
              table(
                ["THREAD", "GRAPH"],
                candidates.map((c) => [c.threadId, c.graphId]),
              ) +
              (dead ? `\n${dead} dead thread(s)` : ""),
          );
          return dead > 0 ? EXIT.DEAD : candidates.length > 0 ? EXIT.STUCK : EXIT.OK;
        }
        const states = threadIds.length
          ? await Promise.all(threadIds.map((id) => service.checkStuckState(id)))
          : await service.findStuckThreads({ olderThan: o.olderThan, limit: o.limit });
        const dead = threadIds.length
          ? states.filter((s) => s.state === "dead").length
          : await deadCount(ctx);
        const stuck = states.filter((s) => s.isStuck);
        ctx.out.result({ exact: true, threads: states, stuck: stuck.length, dead }, () =>
          states.length === 0
            ? "no stuck threads"
            : table(STUCK_HEADERS, states.map(stuckRow)) + (dead ? `\n${dead} dead thread(s)` : ""),
        );
        return dead > 0 ? EXIT.DEAD : stuck.some((s) => s.state !== "dead") ? EXIT.STUCK : EXIT.OK;
      }),
    );

  program
    .command("recover [threadIds...]")
    .description("resume stuck threads from their last checkpoint (exactly once across workers)")
    .option("--all", "sweep: find and recover every stuck thread")
    .option("--dry-run", "classify and say what would happen; change nothing")
    .option("--force", "re-drive dead threads, ignoring attempts and backoff")
    .option("--older-than <duration>", "with --all: only threads idle at least this long", duration)
    .action(
      action(
        async (
          ctx,
          threadIds: string[],
          o: { all?: boolean; dryRun?: boolean; force?: boolean; olderThan?: number },
        ) => {
          const service = await requireService(ctx, Boolean(o.force));
          let results: Array<RecoverResult | DryRunResult | SweepError>;
          if (o.all) {
            const sweep = await service.sweep({
              dryRun: o.dryRun,
              olderThan: o.olderThan,
              onProgress: (p) =>
                ctx.out.note(`[${p.done}/${p.total}] ${p.last.threadId}: ${describe(p.last)}`),
            });
            results = sweep.results;
            ctx.out.note(`swept ${sweep.scanned} thread(s) in ${sweep.durationMs} ms`);
          } else {
            results = [];
            for (const [i, id] of threadIds.entries()) {
              const r = o.dryRun
                ? await dryRunOne(service, id)
                : await service.recoverStuckSession(id);
              results.push(r);
              ctx.out.note(`[${i + 1}/${threadIds.length}] ${id}: ${describe(r)}`);
            }
          }
          const dead = o.all
            ? await deadCount(ctx)
            : results.filter((r) => r.status === "dead").length;
          ctx.out.result({ dryRun: Boolean(o.dryRun), results, dead }, () =>
            results.length === 0
              ? "nothing to recover"
              : table(
                  ["THREAD", "RESULT", "DETAIL"],
                  results.map((r) => [r.threadId, r.status, describe(r)]),
                ),
          );
          if (results.some((r) => r.status === "error")) return EXIT.ERROR;
          if (dead > 0) return EXIT.DEAD;
          return results.some(unfinished) ? EXIT.STUCK : EXIT.OK;
        },
        (threadIds: string[], o: { all?: boolean }) => {
          if (!o.all && threadIds.length === 0) {
            throw new InvalidArgumentError("Name thread ids, or pass --all to sweep.");
          }
          if (o.all && threadIds.length > 0) {
            throw new InvalidArgumentError("Give thread ids or --all, not both.");
          }
        },
      ),
    );

  program
    .command("prune")
    .description("retention: keep the newest N checkpoints per thread and/or drop idle threads")
    .option("--keep-latest <n>", "checkpoints to keep per thread", int("--keep-latest"))
    .option("--older-than <duration>", "delete threads idle this long, e.g. 30d", duration)
    .option("--dry-run", "count what would go, delete nothing")
    .action(
      action(
        async (ctx, o: { keepLatest?: number; olderThan?: number; dryRun?: boolean }) => {
          const r = await ctx.saver.prune({
            keepLatest: o.keepLatest,
            olderThan:
              o.olderThan !== undefined ? new Date(Date.now() - o.olderThan * 1000) : undefined,
            dryRun: o.dryRun,
            onProgress: (p) =>
              ctx.out.note(
                `scanned ${p.threadsScanned} thread(s), ${p.checkpointsDeleted} checkpoint(s)`,
              ),
          });
          ctx.out.result(r, () => table(["", ""], Object.entries(r)));
          return EXIT.OK;
        },
        (o: { keepLatest?: number; olderThan?: number }) => {
          if (o.keepLatest === undefined && o.olderThan === undefined) {
            throw new InvalidArgumentError("Give --keep-latest, --older-than, or both.");
          }
        },
      ),
    );

  program
    .command("setup")
    .description("create or upgrade the tables (locked migrations; safe to run concurrently)")
    .action(
      action(async (ctx) => {
        ctx.out.result(
          { ok: true, target: ctx.target },
          () => `tables are up to date (${ctx.target.kind} ${ctx.target.location})`,
        );
        return EXIT.OK;
      }),
    );

  program
    .command("doctor")
    .description("check the connection, schema, indexes, ledger and graphs")
    .action(action(async (ctx) => runDoctor(ctx)));

  return program;
}

async function dryRunOne(service: RecoveryService, threadId: string): Promise<DryRunResult> {
  const s = await service.checkStuckState(threadId);
  const status = !s.isStuck
    ? "skip"
    : !s.canRecover
      ? s.state === "dead"
        ? "skip"
        : "would_mark_dead"
      : s.retryAt
        ? "deferred"
        : "would_resume";
  return { threadId, status, reason: s.reason, before: s };
}

function unfinished(r: RecoverResult | DryRunResult | SweepError): boolean {
  if (r.status === "resumed")
    return (
      (r as RecoverResult).outcome !== "completed" && (r as RecoverResult).outcome !== "waiting"
    );
  return ["deferred", "would_resume", "would_mark_dead"].includes(r.status);
}

function describe(r: RecoverResult | DryRunResult | SweepError): string {
  if (r.status === "error") return `error: ${(r as SweepError).error}`;
  if (r.status === "resumed") {
    const rr = r as RecoverResult;
    return `resumed (attempt ${rr.attempts}) → ${rr.outcome}${rr.error ? `: ${rr.error}` : ""}`;
  }
  return `${r.status}: ${(r as RecoverResult).reason}`;
}

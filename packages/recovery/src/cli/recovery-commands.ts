// `agentstate stuck` and `agentstate recover`: thin shells over RecoveryService and the ledger's
// reads (without a graph, only the ledger can say which leases expired).
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { DryRunResult, RecoveryService, SweepError } from "../service.js";
import type { RecoverResult, StuckState } from "../types.js";
import { action, duration, int } from "./args.js";
import type { Context } from "./context.js";
import { EXIT, formatDate, table } from "./output.js";

async function requireService(ctx: Context, force = false): Promise<RecoveryService> {
  const { openService } = await import("./context.js");
  const service = await openService(ctx, { force });
  if (!service) {
    throw new InvalidArgumentError(
      "This command needs the graph: pass --graph ./src/agent.ts:graph, --config langgraph.json, or run where langgraph.json is.",
    );
  }
  return service;
}

async function deadCount(ctx: Context): Promise<number> {
  const { deadCount } = await import("../ledger/reads.js");
  return deadCount(ctx.saver);
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

/** stuck (detect only) and recover (ids or --all): thin shells over RecoveryService. */
export function registerRecoveryCommands(program: Command): void {
  program
    .command("stuck [threadIds...]")
    .description("detect only: list crashed, failed and dead threads (changes nothing)")
    .option("--older-than <duration>", "only threads idle at least this long, e.g. 10m", duration)
    .option("--limit <n>", "candidates to classify", int("--limit"), 100)
    .action(
      action(async (ctx, threadIds: string[], o: { olderThan?: number; limit: number }) => {
        const { openService } = await import("./context.js");
        const { findCandidates } = await import("../ledger/candidates.js");
        const { leaseSummary } = await import("../ledger/reads.js");
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
              `${candidates.length} thread(s) with an expired lease (pass --graph for exact classification)` +
              (candidates.length
                ? `\n${table(
                    ["THREAD", "GRAPH"],
                    candidates.map((c) => [c.threadId, c.graphId]),
                  )}`
                : "") +
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
        const leases = await leaseSummary(ctx.saver);
        // Only expired leases are classified; say when more were left out than --limit allows.
        const leftOut = threadIds.length ? 0 : Math.max(0, leases.expired - o.limit);
        ctx.out.result(
          {
            exact: true,
            threads: states,
            stuck: stuck.length,
            dead,
            leases,
            limit: o.limit,
            leftOut,
          },
          () =>
            [
              states.length === 0 ? "no stuck threads" : table(STUCK_HEADERS, states.map(stuckRow)),
              dead ? `${dead} dead thread(s)` : "",
              leases.live
                ? `${leases.live} thread(s) running under a live lease; the earliest expires ${formatDate(leases.earliestExpiry)} (in ${leases.secondsToEarliestExpiry}s): a run that crashed shows up here once its lease expires`
                : "",
              leftOut ? `${leftOut} more candidate(s) not classified: raise --limit` : "",
            ]
              .filter(Boolean)
              .join("\n"),
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
        (threadIds: string[], o: { all?: boolean; dryRun?: boolean }) => {
          if (!o.all && threadIds.length === 0) {
            throw new InvalidArgumentError("Name thread ids, or pass --all to sweep.");
          }
          if (o.all && threadIds.length > 0) {
            throw new InvalidArgumentError("Give thread ids or --all, not both.");
          }
        },
        (_ids: string[], o: { all?: boolean; dryRun?: boolean }) => (o.dryRun ? "read" : "write"),
      ),
    );
}

async function dryRunOne(service: RecoveryService, threadId: string): Promise<DryRunResult> {
  const { dryRunResult } = await import("../service.js");
  return dryRunResult(await service.checkStuckState(threadId));
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

// `agentstate stats | threads | prune | setup | doctor`: thin shells over the checkpointer's
// operations and the ledger's reads.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { action, duration, int } from "./args.js";
import { EXIT, formatBytes, formatDate, pairs, table } from "./output.js";

/** stats, threads, prune, setup, doctor: thin shells over the checkpointer and ledger. */
export function registerDataCommands(program: Command): void {
  program
    .command("stats")
    .description("checkpoint totals, sizes and run-ledger counts per status")
    .action(
      action(async (ctx) => {
        const { getRecoveryStats } = await import("../stats.js");
        const s = await getRecoveryStats(ctx.saver);
        ctx.out.result(s, () =>
          [
            pairs([
              ["database", `${ctx.target.kind} ${ctx.target.location}`],
              ["threads", s.uniqueThreads],
              ["archived", `${s.archivedThreads} thread(s), ${formatBytes(s.archivedBytes)}`],
              ["checkpoints", s.totalCheckpoints],
              ["oldest", formatDate(s.oldestCheckpointAt)],
              ["newest", formatDate(s.newestCheckpointAt)],
              ["size", formatBytes(s.bytes.total)],
            ]),
            "",
            table(["LEDGER STATUS", "THREADS"], Object.entries(s.ledger)),
          ].join("\n"),
        );
        return s.ledger.dead > 0 ? EXIT.DEAD : EXIT.OK;
      }),
    );

  program
    .command("threads")
    .description("threads in id order (paged with --after), with last activity and ledger status")
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
        const { ledgerStatuses } = await import("../ledger/records.js");
        const { archivedThreadCount } = await import("../inspect-sql.js");
        const byId = await ledgerStatuses(
          ctx.saver,
          page.threads.map((t) => t.threadId),
        );
        // Archived threads have no checkpoints here: counted apart, listed by `agentstate archives`.
        const archivedThreads = await archivedThreadCount(ctx.saver);
        const threads = page.threads.map((t) => ({
          ...t,
          status: byId.get(t.threadId)?.status ?? null,
          attempts: byId.get(t.threadId)?.attempts ?? 0,
        }));
        ctx.out.result({ threads, nextCursor: page.nextCursor ?? null, archivedThreads }, () =>
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
            archivedThreads
              ? `\n${archivedThreads} archived thread(s) not listed: agentstate archives`
              : "",
          ].join(""),
        );
        return EXIT.OK;
      }),
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
          ctx.out.result(r, () => pairs(Object.entries(r)));
          return EXIT.OK;
        },
        (o: { keepLatest?: number; olderThan?: number; dryRun?: boolean }) => {
          if (o.keepLatest === undefined && o.olderThan === undefined) {
            throw new InvalidArgumentError("Give --keep-latest, --older-than, or both.");
          }
        },
        (o: { keepLatest?: number; olderThan?: number; dryRun?: boolean }) =>
          o.dryRun ? "read" : "write",
      ),
    );

  program
    .command("setup")
    .description("create or upgrade the tables (locked migrations; safe to run concurrently)")
    .option("--print-sql", "print the pending migration SQL instead of applying it (for DBAs)")
    .action(
      action(
        async (ctx, o: { printSql?: boolean }) => {
          const { getSchemaStatus, pendingMigrationSql } = await import("@agentstate/checkpointer");
          const before = await getSchemaStatus(ctx.saver);
          if (o.printSql) {
            const sql = pendingMigrationSql(ctx.saver, before.version + 1);
            if (ctx.out.json) ctx.out.result({ pending: before.pending, sql }, () => "");
            else process.stdout.write(sql || "-- nothing pending\n");
            return EXIT.OK;
          }
          await ctx.saver.setup();
          const applied = before.pending;
          ctx.out.result(
            {
              ok: true,
              target: ctx.target,
              schema: before.schema,
              applied,
              version: before.latest,
            },
            () =>
              applied.length === 0
                ? `tables are up to date at v${before.latest} (schema ${before.schema}, ${ctx.target.kind} ${ctx.target.location})`
                : `applied v${applied[0]}–v${applied[applied.length - 1]} (${applied.length} migration(s)); now at v${before.latest} (schema ${before.schema}, ${ctx.target.kind} ${ctx.target.location})`,
          );
          return EXIT.OK;
        },
        undefined,
        (o: { printSql?: boolean }) => (o.printSql ? "inspect" : "setup"),
      ),
    );

  program
    .command("doctor")
    .description("check the connection, schema, indexes, ledger and graphs (changes nothing)")
    .action(async (_o: unknown, cmd: Command) => {
      const { runDoctor } = await import("./doctor.js");
      process.exitCode = await runDoctor(cmd);
    });
}

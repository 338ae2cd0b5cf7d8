// archive, restore, archives: the cold tier from the command line, thin shells over archive()
// and restore(). Heavy modules load inside the actions so `agentstate --help` stays fast.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { ArchiveResult } from "../archive/archive.js";
import type { RestoreResult } from "../archive/restore.js";
import { action, duration, int } from "./args.js";
import { EXIT, formatBytes, formatDate, pairs, table } from "./output.js";

const STATES = ["completed", "waiting", "failed", "crashed", "running", "drained", "dead"];
const state = (v: string, prev: string[] = []) => {
  if (!STATES.includes(v))
    throw new InvalidArgumentError(`--state must be one of ${STATES.join(", ")}.`);
  return [...prev, v];
};

interface ArchiveFlags {
  to?: string;
  olderThan?: number;
  state?: string[];
  dryRun?: boolean;
  batchSize?: number;
}

/** At most this many per-thread lines in the human output (--json has them all). */
const SHOWN = 50;

export function registerArchiveCommands(program: Command): void {
  program
    .command("archive [threadIds...]")
    .description(
      "move finished threads to cold storage, one verified file each, then delete them from Postgres",
    )
    .option(
      "--to <url>",
      "s3://bucket/prefix, azure://container/prefix or file:///dir (default: $AGENTSTATE_ARCHIVE_URL)",
    )
    .option("--older-than <duration>", "threads idle at least this long, e.g. 30d", duration)
    .option(
      "--state <state>",
      `state that qualifies by age, repeatable: ${STATES.join(", ")} (default: completed)`,
      state,
    )
    .option("--dry-run", "say what would be archived; write and delete nothing")
    .option("--batch-size <n>", "threads per query and per progress line", int("--batch-size"))
    .addHelpText(
      "after",
      "\nNamed threads are archived in any state except under a live lease; --older-than alone\n" +
        "archives only threads in --state (completed by default). S3 reads AWS_ENDPOINT_URL_S3,\n" +
        "AWS_REGION and the AWS credential chain; Azure reads AZURE_STORAGE_CONNECTION_STRING.",
    )
    .action(
      action(
        async (ctx, threadIds: string[], o: ArchiveFlags) => {
          const { archive } = await import("../archive/archive.js");
          const result = await archive(ctx.saver, {
            to: (o.to ?? process.env.AGENTSTATE_ARCHIVE_URL) as string,
            olderThan:
              o.olderThan !== undefined ? new Date(Date.now() - o.olderThan * 1000) : undefined,
            threadIds: threadIds.length ? threadIds : undefined,
            states: o.state as never,
            dryRun: o.dryRun,
            batchSize: o.batchSize || undefined,
            concurrency: ctx.opts.concurrency || undefined,
            onProgress: (p) => {
              const rate = p.elapsedMs > 0 ? (p.archived * 1000) / p.elapsedMs : 0;
              ctx.out.note(
                `scanned ${p.scanned}: archived ${p.archived} (${formatBytes(p.bytes)}), skipped ${p.skipped}, failed ${p.failed} — ${rate.toFixed(1)} threads/s`,
              );
            },
          });
          ctx.out.result(result, () => archiveText(result));
          return result.failed > 0 ? EXIT.ERROR : EXIT.OK;
        },
        (threadIds: string[], o: ArchiveFlags) => {
          if (!o.to && !process.env.AGENTSTATE_ARCHIVE_URL) {
            throw new InvalidArgumentError(
              "Give --to s3://bucket/prefix | azure://container/prefix | file:///dir (or set AGENTSTATE_ARCHIVE_URL).",
            );
          }
          if (threadIds.length === 0 && o.olderThan === undefined) {
            throw new InvalidArgumentError(
              "Give thread ids, --older-than <duration> (e.g. 30d), or both.",
            );
          }
        },
        (_ids: string[], o: ArchiveFlags) => (o.dryRun ? "read" : "write"),
      ),
    );

  program
    .command("restore <threadIds...>")
    .description("bring archived threads back into Postgres exactly as they were")
    .option("--from <url>", "read the files here instead of the location in the archive index")
    .action(
      action(
        async (ctx, threadIds: string[], o: { from?: string }) => {
          const { restore } = await import("../archive/restore.js");
          const result = await restore(ctx.saver, threadIds, {
            from: o.from,
            onProgress: (done, total) => ctx.out.note(`restored ${done}/${total}`),
          });
          ctx.out.result(result, () => restoreText(result));
          return result.failed > 0 ? EXIT.ERROR : EXIT.OK;
        },
        undefined,
        "write",
      ),
    );

  program
    .command("archives")
    .description("threads in the cold tier: where, how big, since when (changes nothing)")
    .option("--limit <n>", "threads per page", int("--limit"), 50)
    .option("--after <threadId>", "page cursor (from the previous page)")
    .action(
      action(async (ctx, o: { limit: number; after?: string }) => {
        const { listArchives } = await import("@agentstate/checkpointer");
        const page = await listArchives(ctx.saver, { limit: o.limit, after: o.after });
        ctx.out.result({ ...page, nextCursor: page.nextCursor ?? null }, () =>
          [
            table(
              ["THREAD", "ARCHIVED", "SIZE", "LOCATION"],
              page.archives.map((a) => [
                a.threadId,
                formatDate(a.archivedAt),
                formatBytes(a.bytes),
                `${a.location}/${a.objectKey}`,
              ]),
            ),
            page.nextCursor ? `\nnext page: --after ${page.nextCursor}` : "",
          ].join(""),
        );
        return EXIT.OK;
      }),
    );
}

function archiveText(r: ArchiveResult): string {
  const lines = [
    pairs([
      ["location", r.location],
      [
        r.dryRun ? "would archive" : "archived",
        r.dryRun ? r.threads.filter((t) => t.outcome === "would_archive").length : r.archived,
      ],
      ["skipped", r.skipped],
      ["failed", r.failed],
      ["scanned", r.scanned],
      ["written", `${formatBytes(r.bytes)} (rows: ${formatBytes(r.payloadBytes)})`],
      ["time", `${(r.elapsedMs / 1000).toFixed(1)} s`],
    ]),
  ];
  const shown = r.threads.filter((t) => t.outcome !== "archived").slice(0, SHOWN);
  if (shown.length) {
    lines.push(
      "",
      table(
        ["THREAD", "OUTCOME", "STATE", "WHY"],
        shown.map((t) => [t.threadId, t.outcome, t.state, t.error?.message ?? t.reason]),
      ),
    );
  }
  return lines.join("\n");
}

function restoreText(r: RestoreResult): string {
  return table(
    ["THREAD", "OUTCOME", "FROM / ERROR"],
    r.threads.map((t) => [
      t.threadId,
      t.outcome,
      t.error ? `[${t.error.code}] ${t.error.message}` : t.location,
    ]),
  );
}

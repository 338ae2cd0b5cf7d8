// The savers the differential suite runs on, and the background traffic of the "under load" target.

import { PGlite } from "@electric-sql/pglite";
import { emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import pg from "pg";
import { PostgresCheckpointer, type PostgresCheckpointerOptions } from "../../src/index.js";
import {
  DATABASE_URL,
  dropSchema,
  pgliteTarget,
  postgresTarget,
  uniqueSchema,
} from "../helpers.js";

export interface Opened {
  saver: PostgresCheckpointer;
  close(): Promise<void>;
  /** The background writers' live tally (under-load target only). */
  load?: LoadReport;
}

export interface SemanticsTarget {
  name: string;
  open(): Promise<Opened>;
}

export const postgres: SemanticsTarget = {
  name: "postgres",
  async open() {
    const { saver, dispose } = await postgresTarget.create();
    return { saver, close: dispose };
  },
};

/** A saver with `storage: "compact"`: every growing value is stored as appends to a chain. */
export function compactTarget(
  engine: "postgres" | "pglite",
  options: Omit<PostgresCheckpointerOptions, "schema" | "storage" | "endPool"> = {},
): SemanticsTarget {
  const chain = options.compactMaxChain ? `, chains of ${options.compactMaxChain}` : "";
  return {
    name: `${engine}-compact${chain}`,
    async open() {
      if (engine === "pglite") {
        const db = await PGlite.create("memory://");
        const saver = new PostgresCheckpointer(db, undefined, {
          ...options,
          storage: "compact",
          endPool: true,
        });
        await saver.setup();
        return { saver, close: () => saver.end() };
      }
      const schema = uniqueSchema("tc");
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 4 });
      const saver = new PostgresCheckpointer(pool, undefined, {
        ...options,
        schema,
        storage: "compact",
      });
      await saver.setup();
      return {
        saver,
        async close() {
          await dropSchema(schema, pool);
          await pool.end();
        },
      };
    },
  };
}

export const pglite: SemanticsTarget = {
  name: "pglite",
  async open() {
    const { saver, dispose } = await pgliteTarget.create();
    return { saver, close: dispose };
  },
};

/** What the background writers did, checked after the suite (they must not fail either). */
export interface LoadReport {
  writers: number;
  checkpoints: number;
  combinedStatements: number;
  errors: unknown[];
}

/**
 * `writers` other threads putting checkpoints and task writes through the same saver while the
 * scenarios run, so the scenarios' writes share combined statements (group commit) with theirs.
 */
export function startLoad(saver: PostgresCheckpointer, writers = 50) {
  let stopped = false;
  const report: LoadReport = { writers, checkpoints: 0, combinedStatements: 0, errors: [] };
  const unsubscribe = saver.onOperation((e) => {
    if (e.operation === "writeBatch") report.combinedStatements += 1;
  });
  const writer = async (i: number) => {
    const thread = `load-${i}`;
    let parent: string | undefined;
    for (let step = 0; !stopped; step += 1) {
      const checkpoint = { ...emptyCheckpoint(), id: uuid6(step) };
      checkpoint.channel_values = { count: step };
      checkpoint.channel_versions = { count: step + 1 };
      const config = {
        configurable: { thread_id: thread, checkpoint_ns: "", checkpoint_id: parent },
      };
      const metadata = { source: "loop" as const, step, parents: {} };
      const saved = await saver.put(config, checkpoint, metadata, { count: step + 1 });
      await saver.putWrites(saved, [["count", step + 1]], `task-${step}`, "~count");
      parent = checkpoint.id;
      report.checkpoints += 1;
      // A short pause keeps 50 writers from starving a 2-core machine while still overlapping.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  const running = Array.from({ length: writers }, (_, i) =>
    writer(i).catch((error) => {
      report.errors.push(error);
    }),
  );
  const stop = async () => {
    stopped = true;
    await Promise.all(running);
    unsubscribe();
  };
  return { report, stop };
}

export const postgresUnderLoad: SemanticsTarget = {
  name: "postgres-under-load",
  async open() {
    const { saver, dispose } = await postgresTarget.create();
    const { report, stop } = startLoad(saver);
    return {
      saver,
      load: report,
      async close() {
        await stop();
        await dispose();
      },
    };
  },
};

import { performance } from "node:perf_hooks";
import { dropSchema as dropSchemaOn, uniqueSchema } from "@agentstate/test-support/schema";
import pg from "pg";

/** Benches create and drop schemas, so they only ever talk to a server on this machine. */
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

export function databaseUrl(): string {
  const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch (cause) {
    throw new Error("DATABASE_URL must be a postgres:// URL for the benches.", { cause });
  }
  if (!LOOPBACK.has(host)) {
    throw new Error(
      `The benches only run against a loopback Postgres (127.0.0.1, localhost, ::1); DATABASE_URL points at "${host}".`,
    );
  }
  return url;
}

/** A schema name no other run or saver uses: `bench_<label>_<pid>_<random>`. */
export function freshSchema(label: string): string {
  return uniqueSchema(`bench_${label}`);
}

export function newPool(max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl(), max });
  // An idle client dropped by the server emits 'error'; unhandled it would end the bench.
  pool.on("error", () => {});
  return pool;
}

export function dropSchema(schema: string): Promise<void> {
  return dropSchemaOn(schema, databaseUrl());
}

/**
 * Calls `onSend` for each statement a pool sends, through pool.query and checked-out clients
 * alike; the function it returns, if any, is called when the statement's result came back.
 */
function onEachStatement(pool: pg.Pool, onSend: () => (() => void) | undefined): void {
  pool.on("connect", (client) => {
    const original = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (...args: unknown[]) => {
      const done = onSend();
      if (!done) return original(...args);
      // pg.Pool passes a callback (last argument, or `callback` on a query config); a direct
      // client.query returns a promise.
      const last = args.length - 1;
      const cb = args[last];
      if (typeof cb === "function") {
        args[last] = (...r: unknown[]) => {
          done();
          return (cb as (...x: unknown[]) => unknown)(...r);
        };
        return original(...args);
      }
      const config = args[0] as { callback?: (...x: unknown[]) => unknown } | null;
      if (config && typeof config === "object" && typeof config.callback === "function") {
        const inner = config.callback;
        config.callback = (...r: unknown[]) => {
          done();
          return inner(...r);
        };
      }
      const result = original(...args) as Promise<unknown> | undefined;
      result?.then?.(done, done);
      return result;
    };
  });
}

/** Counts the statements a pool sends (through pool.query and through checked-out clients). */
export class StatementCounter {
  count = 0;
  constructor(pool: pg.Pool) {
    onEachStatement(pool, () => {
      this.count += 1;
      return undefined;
    });
  }
}

/** A statement a pool sent: when it was handed to the client and when its result came back (ms). */
export interface TimedStatement {
  start: number;
  end: number;
}

/**
 * Records when each statement a pool sends starts and ends (performance.now()), for benches that
 * split a run's time into parts. Records nothing until `on` is set.
 */
export class StatementTimer {
  on = false;
  log: TimedStatement[] = [];
  constructor(pool: pg.Pool) {
    onEachStatement(pool, () => {
      if (!this.on) return undefined;
      const rec: TimedStatement = { start: performance.now(), end: Number.NaN };
      this.log.push(rec);
      return () => {
        rec.end = performance.now();
      };
    });
  }
}

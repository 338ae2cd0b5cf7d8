// The shared Postgres the server tests use: its URL, whether it answers, and CI's rule that an
// unreachable server fails the run (AGENTSTATE_REQUIRE_POSTGRES=1) instead of skipping tests.
import pg from "pg";

/**
 * The test database: `AGENTSTATE_TEST_DATABASE_URL`, else `DATABASE_URL`, else the local
 * trust-auth server the README and CI use.
 */
export const DATABASE_URL =
  process.env.AGENTSTATE_TEST_DATABASE_URL ??
  process.env.DATABASE_URL ??
  "postgres://postgres@127.0.0.1:5432/test";

/** CI sets this so an unreachable server fails the run instead of skipping the server tests. */
export function postgresRequired(): boolean {
  return process.env.AGENTSTATE_REQUIRE_POSTGRES === "1";
}

/** `url` without its password, for messages. */
function shown(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}

/** Why a server at `url` does not answer `SELECT 1` within `timeoutMs`; undefined when it does. */
async function failureOf(url: string, timeoutMs: number): Promise<Error | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  // A server going away mid-probe makes the client emit 'error'; unhandled it would kill the worker.
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Whether a server at `url` answers `SELECT 1` within `timeoutMs`. Never throws. */
export async function serverAnswers(url = DATABASE_URL, timeoutMs = 3000): Promise<boolean> {
  return (await failureOf(url, timeoutMs)) === undefined;
}

let probe: Promise<boolean> | undefined;

/**
 * Whether the test database answers (checked once per test file). When it does not: throws under
 * AGENTSTATE_REQUIRE_POSTGRES=1, so the file fails instead of skipping; otherwise prints a
 * one-line notice and resolves false, and the caller skips its server tests.
 */
export function postgresReachable(): Promise<boolean> {
  probe ??= failureOf(DATABASE_URL, 3000).then((failure) => {
    if (!failure) return true;
    if (postgresRequired()) {
      throw new Error(
        `AGENTSTATE_REQUIRE_POSTGRES=1 but Postgres at ${shown(DATABASE_URL)} is unreachable: ${failure.message}`,
      );
    }
    console.warn(
      `[agentstate] Postgres at ${shown(DATABASE_URL)} unreachable: server tests skipped.`,
    );
    return false;
  });
  return probe;
}

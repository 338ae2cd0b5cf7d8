// Connection strings: libpq key=value pairs work (pg itself reads only URLs); bad ones are
// refused with INVALID_CONFIG naming the problem, never a getaddrinfo error.

import { parseKeyValue, poolConfig } from "../src/conninfo.js";
import { CheckpointerError, getCheckpointer } from "../src/index.js";
import { DATABASE_URL, pgUp } from "./helpers.js";

describe("connection strings", () => {
  it("parses libpq key=value pairs, quotes and escapes included", () => {
    expect(
      parseKeyValue(`host=db port=6543 dbname=app user=me password='a b\\'c' sslmode=require`),
    ).toEqual({
      host: "db",
      port: "6543",
      dbname: "app",
      user: "me",
      password: "a b'c",
      sslmode: "require",
    });
    expect(poolConfig("host=db port=6543 dbname=app sslmode=verify-full", 3)).toEqual({
      max: 3,
      host: "db",
      port: 6543,
      database: "app",
      ssl: { rejectUnauthorized: true },
    });
  });

  it("refuses what it cannot map, by name", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(CheckpointerError);
        return [(e as CheckpointerError).code, (e as Error).message];
      }
      return undefined;
    };
    expect(code(() => poolConfig("host=db target_session_attrs=any", 1))?.[1]).toContain(
      '"target_session_attrs"',
    );
    expect(code(() => poolConfig("just-a-hostname", 1))?.[0]).toBe("INVALID_CONFIG");
    expect(code(() => poolConfig("host='db", 1))?.[1]).toContain("unterminated quote");
    expect(code(() => poolConfig("host=db port=x", 1))?.[1]).toContain("port must be a number");
    expect(code(() => poolConfig("postgres://u@h:port/db", 1))?.[0]).toBe("INVALID_CONFIG");
  });

  it.skipIf(!pgUp)("connects to the real server with key=value pairs", async () => {
    const url = new URL(DATABASE_URL);
    const kv = `host=${url.hostname} port=${url.port || 5432} dbname=${url.pathname.slice(1)} user=${decodeURIComponent(url.username)}${url.password ? ` password='${decodeURIComponent(url.password)}'` : ""}`;
    const saver = await getCheckpointer({ connectionString: kv, setup: false });
    try {
      const [row] = await saver.run<{ db: string }>("test", "SELECT current_database() AS db");
      expect(row?.db).toBe(url.pathname.slice(1));
    } finally {
      await saver.end();
    }
  });
});

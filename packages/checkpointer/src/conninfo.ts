// libpq connection strings: `postgres://…` URLs go to pg as they are; `key=value` strings
// ("host=db port=5432 dbname=app user=me password='a b'") are parsed here, since pg reads only URLs.
import type pg from "pg";
import { CheckpointerError } from "./errors.js";

/** libpq keywords we map to pg options; any other keyword is refused by name. */
const KEYWORDS = new Set([
  "host",
  "hostaddr",
  "port",
  "dbname",
  "user",
  "password",
  "sslmode",
  "application_name",
  "connect_timeout",
  "options",
]);

/** Splits `a=1 b='x y' c=it\'s` the way libpq does (single quotes, backslash escapes). */
export function parseKeyValue(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  const fail = (why: string): never => {
    throw new CheckpointerError(
      "INVALID_CONFIG",
      `Connection string not understood (${why}): expected postgres://user@host:port/db or key=value pairs such as "host=127.0.0.1 port=5432 dbname=app user=me".`,
    );
  };
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i] as string)) i += 1;
    if (i >= text.length) break;
    const eq = text.indexOf("=", i);
    if (eq < 0) fail(`"${text.slice(i, i + 20)}" has no "="`);
    const key = text.slice(i, eq).trim();
    if (!/^[a-z_]+$/.test(key)) fail(`bad keyword "${key.slice(0, 20)}"`);
    i = eq + 1;
    while (i < text.length && /[ \t]/.test(text[i] as string)) i += 1;
    let value = "";
    if (text[i] === "'") {
      i += 1;
      for (;;) {
        if (i >= text.length) fail(`unterminated quote in ${key}`);
        const c = text[i] as string;
        if (c === "\\" && i + 1 < text.length) {
          value += text[i + 1];
          i += 2;
        } else if (c === "'") {
          i += 1;
          break;
        } else {
          value += c;
          i += 1;
        }
      }
    } else {
      while (i < text.length && !/\s/.test(text[i] as string)) {
        if (text[i] === "\\" && i + 1 < text.length) i += 1;
        value += text[i];
        i += 1;
      }
    }
    out[key] = value;
  }
  return out;
}

/** pg.Pool options for a connection string (URL or key=value). */
export function poolConfig(connectionString: string, max: number): pg.PoolConfig {
  if (/^postgres(ql)?:\/\//i.test(connectionString)) {
    try {
      new URL(connectionString);
    } catch (cause) {
      throw new CheckpointerError(
        "INVALID_CONFIG",
        "The connection string is not a valid URL (check for unescaped characters in the password: percent-encode them).",
        { cause },
      );
    }
    return { connectionString, max };
  }
  const kv = parseKeyValue(connectionString);
  if (Object.keys(kv).length === 0) parseKeyValue("?"); // throws the usage message
  for (const key of Object.keys(kv)) {
    if (!KEYWORDS.has(key)) {
      throw new CheckpointerError(
        "INVALID_CONFIG",
        `Connection keyword "${key}" is not supported here (supported: ${[...KEYWORDS].join(", ")}); use a postgres:// URL for anything else.`,
      );
    }
  }
  const config: pg.PoolConfig = { max };
  if (kv.host ?? kv.hostaddr) config.host = kv.hostaddr ?? kv.host;
  if (kv.port) config.port = Number(kv.port);
  if (kv.dbname) config.database = kv.dbname;
  if (kv.user) config.user = kv.user;
  if (kv.password !== undefined) config.password = kv.password;
  if (kv.application_name) config.application_name = kv.application_name;
  if (kv.options) config.options = kv.options;
  if (kv.connect_timeout) config.connectionTimeoutMillis = Number(kv.connect_timeout) * 1000;
  const mode = kv.sslmode;
  if (mode === "disable" || mode === undefined) {
    // pg's default: no TLS.
  } else if (mode === "require" || mode === "prefer" || mode === "allow") {
    config.ssl = { rejectUnauthorized: false };
  } else if (mode === "verify-ca" || mode === "verify-full") {
    config.ssl = { rejectUnauthorized: true };
  } else {
    throw new CheckpointerError("INVALID_CONFIG", `Unknown sslmode "${mode}".`);
  }
  if (config.port !== undefined && !Number.isInteger(config.port)) {
    throw new CheckpointerError("INVALID_CONFIG", `port must be a number, got "${kv.port}".`);
  }
  return config;
}

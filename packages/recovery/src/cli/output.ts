// How the CLI speaks: exit codes, text or --json output, plain tables, and masking of passwords
// in anything printed.
/** Exit codes, for cron and alerting. Documented in `agentstate --help` and the README. */
export const EXIT = {
  /** Nothing to do, or everything that was stuck was recovered. */
  OK: 0,
  /** Error: bad configuration, database unreachable, graph failed to load. */
  ERROR: 1,
  /** Stuck threads found and not (yet) recovered: detect-only, --dry-run, backoff, failed again. */
  STUCK: 2,
  /** Dead threads present: they need a human (or `recover --force`). */
  DEAD: 3,
  /** Usage error (unknown command or option, bad argument). */
  USAGE: 64,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0   nothing to do, or every stuck thread was recovered
  1   error (bad configuration, database unreachable, graph failed to load)
  2   stuck threads found but not recovered (stuck, --dry-run, backoff pending, failed again)
  3   dead threads present (need a human, or: agentstate recover --force <thread>)
  64  usage error`;

/**
 * Removes passwords from anything about to be printed (URLs and key=value strings). The same
 * rules as the checkpointer's maskConnectionString, kept here so `--help` loads no database code.
 */
export function mask(text: string): string {
  return text
    .replace(/(postgres(?:ql)?:\/\/[^:/@\s]*:)([^@\s]*)@/gi, "$1***@")
    .replace(/(password\s*=\s*)('[^']*'|\S+)/gi, "$1***");
}

export interface Output {
  json: boolean;
  /** Writes a result: JSON to stdout in --json mode, otherwise the human form. */
  result(value: unknown, human: () => string): void;
  /** A line on stderr (progress, notes); silent with --quiet or --json. */
  note(line: string): void;
}

export function createOutput(json: boolean, quiet: boolean): Output {
  return {
    json,
    result(value, human) {
      // One line, stamped: `>> file` from cron stays JSON-lines and each run is dated.
      const stamped =
        value !== null && typeof value === "object" && !Array.isArray(value)
          ? { at: new Date().toISOString(), ...value }
          : value;
      const text = json ? JSON.stringify(stamped) : human();
      if (text) process.stdout.write(`${mask(text)}\n`);
    },
    note(line) {
      if (!json && !quiet) process.stderr.write(`${mask(line)}\n`);
    },
  };
}

/** A plain text table: columns sized to content, no dependency. */
export function table(
  headers: string[],
  rows: Array<Array<string | number | null | undefined>>,
): string {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? "" : String(c))));
  const widths = headers.map((h, i) =>
    Math.max(h.length, ...cells.map((r) => (r[i] ?? "").length)),
  );
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(headers), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}

/** Label/value lines, labels padded: for a single record (no header row). */
export function pairs(rows: Array<[string, string | number | null | undefined]>): string {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v ?? ""}`.trimEnd()).join("\n");
}

export function formatDate(d: Date | null | undefined): string {
  return d
    ? d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z")
    : "";
}

export function formatBytes(n: number): string {
  const units = ["B", "kB", "MB", "GB", "TB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

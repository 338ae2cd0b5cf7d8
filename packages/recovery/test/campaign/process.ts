// Parent side of the crash campaign, process level: spawns campaign children, reads their JSON
// events, and kills them (SIGKILL, SIGSTOP/SIGCONT) once every thread stands at its kill point.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { DATABASE_URL } from "./agent.js";
import type { ChildConfig, ChildEvent } from "./child.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, "../../../..");
export const CHILD = resolve(HERE, "child.ts");
export const CLI = resolve(ROOT, "packages/recovery/src/cli/main.ts");
export const AGENT_SPEC = `${resolve(HERE, "agent.ts")}:graph`;

let seq = 0;

/** A running campaign child. */
export class Child {
  readonly proc: ChildProcess;
  /** application_name of its Postgres connections (PGAPPNAME), to see when they are gone. */
  readonly appName: string;
  readonly events: ChildEvent[] = [];
  readonly exited: Promise<number | null>;
  private stderr = "";
  private waiters: Array<() => void> = [];

  constructor(readonly config: ChildConfig) {
    this.appName = `campaign-${process.pid}-${++seq}`;
    this.proc = spawn(
      process.execPath,
      ["--conditions=agentstate-source", "--import", "tsx", CHILD],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          DATABASE_URL,
          PGAPPNAME: this.appName,
          CAMPAIGN_CHILD: JSON.stringify(config),
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let buffer = "";
    this.proc.stdout?.on("data", (d: Buffer) => {
      buffer += d.toString();
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.startsWith("{")) this.events.push(JSON.parse(line) as ChildEvent);
        nl = buffer.indexOf("\n");
      }
      this.wake();
    });
    this.proc.stderr?.on("data", (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.exited = new Promise((r) =>
      this.proc.on("exit", (code) => {
        this.wake();
        r(code);
      }),
    );
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves when `done(events)` holds; rejects if the child exits first or after `timeoutMs`. */
  async until(what: string, done: (events: ChildEvent[]) => boolean, timeoutMs = 60_000) {
    const end = Date.now() + timeoutMs;
    while (!done(this.events)) {
      if (!this.alive) throw new Error(`child exited before ${what}:\n${this.stderr}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${this.stderr}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 1000).unref();
      });
    }
  }

  /** Threads that reached their kill point, and threads whose run ended. */
  stoppedAt(): Map<string, { point: string; backendPid?: number }> {
    const m = new Map<string, { point: string; backendPid?: number }>();
    for (const e of this.events) if (e.event === "point") m.set(e.thread, e);
    return m;
  }

  ended(): Map<string, Extract<ChildEvent, { event: "end" }>> {
    const m = new Map<string, Extract<ChildEvent, { event: "end" }>>();
    for (const e of this.events) if (e.event === "end") m.set(e.thread, e);
    return m;
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(sig);
  }

  output(): string {
    return this.stderr;
  }
}

/** One Postgres client for the parent's own probes. */
export async function probe<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  c.on("error", () => {});
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Waits until no server backend of the child is left: a statement the child sent before it died
 * (an inside kill point) has then committed or been rolled back, so the database is settled.
 */
export async function waitConnectionsGone(child: Child, timeoutMs = 60_000): Promise<void> {
  await probe(async (c) => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await c.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
        [child.appName],
      );
      if (rows[0]?.n === 0) return;
      if (Date.now() > end) throw new Error(`backends of ${child.appName} still there`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });
}

/**
 * Kills a child whose threads all stand at their kill points. Inside-abort points: the child is
 * stopped first (so it cannot react), the held statements' backends are terminated, then it is
 * killed; plain inside points: killed while the statement waits, which then commits server-side.
 */
export async function killAtPoints(child: Child): Promise<number> {
  const aborts = [...child.stoppedAt().values()].filter((p) => p.point.endsWith(":inside-abort"));
  if (aborts.length > 0) {
    child.signal("SIGSTOP");
    await probe(async (c) => {
      const pids = aborts.map((p) => p.backendPid);
      await c.query("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", [pids]);
      for (;;) {
        const { rows } = await c.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1::int[])",
          [pids],
        );
        if (rows[0]?.n === 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  }
  const at = Date.now();
  child.signal("SIGKILL");
  await child.exited;
  return at;
}

/** Runs the agentstate CLI from source; resolves with its exit code and output. */
export async function runCli(args: string[], env: Record<string, string> = {}) {
  const proc = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", "tsx", CLI, ...args],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL, ...env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  proc.stdout?.on("data", (d) => {
    stdout += d;
  });
  proc.stderr?.on("data", (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((r) => proc.on("exit", (c) => r(c)));
  return { code, stdout, stderr };
}

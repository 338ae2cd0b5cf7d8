// The cron example, end to end against real Postgres: runs crashed by SIGKILL are recovered by
// the job line of ./crontab run verbatim under /bin/sh (only the cd path, the log path and the
// database are swapped for the test's), and the systemd units pass `systemd-analyze verify`.
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { getCheckpointer, type PostgresCheckpointer } from "@agentstate/checkpointer";
import { checkStuckState, readRun, type StuckState } from "@agentstate/recovery";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import type { BaseMessage } from "@langchain/core/messages";
import { buildAgent } from "./src/agent.js";

const EXAMPLE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(EXAMPLE, "../..");
const SCHEMA = uniqueSchema("ex_cron");
const NODE_ARGS = ["--conditions=agentstate-source", "--import", "tsx"];

const saver: PostgresCheckpointer | undefined = (await postgresReachable())
  ? await getCheckpointer({ connectionString: DATABASE_URL, schema: SCHEMA })
  : undefined;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<Ran> {
  const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  return new Promise((r) => child.on("close", (code) => r({ code, stdout, stderr })));
}

const dbEnv = { DATABASE_URL, AGENTSTATE_SCHEMA: SCHEMA };

/** scripts/crash.ts: a durable run in a child, SIGKILLed once `killIn` starts. */
async function crash(threadId: string, killIn: string): Promise<void> {
  const args = ["--thread", threadId, "--kill-in", killIn, "--lease-seconds", "1"];
  const r = await run(
    process.execPath,
    [...NODE_ARGS, join(EXAMPLE, "scripts/crash.ts"), ...args],
    { ...process.env, ...dbEnv },
  );
  expect(r.code, r.stderr).toBe(0);
}

/** The job line of ./crontab, with the environment cron would give it. */
function crontabJob() {
  const lines = readFileSync(join(EXAMPLE, "crontab"), "utf8")
    .split("\n")
    .filter((l) => l.trim() && !l.trimStart().startsWith("#"));
  const isEnv = (l: string) => /^[A-Z_]+=/.test(l);
  const env = Object.fromEntries(
    lines.filter(isEnv).map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const jobs = lines.filter((l) => !isEnv(l));
  expect(jobs).toHaveLength(1);
  const m = /^((?:\S+\s+){5})(.+)$/.exec(jobs[0]!);
  expect(m?.[1]?.trim()).toBe("*/5 * * * *");
  const command = m![2]!;
  const cd = /^cd (\S+) && /.exec(command)?.[1];
  const log = />> (\S+) 2>&1/.exec(command)?.[1];
  expect(cd && log).toBeTruthy();
  return { env, command, cd: cd!, log: log! };
}

const tmp = mkdtempSync(join(tmpdir(), "agentstate-cron-"));
const LOG = join(tmp, "recover.log");
let logRead = 0;

/** One cron run: `sh -c <job>` in cron's sparse environment; returns what cron would mail. */
async function cronRun() {
  const job = crontabJob();
  const command = job.command.replace(`cd ${job.cd}`, `cd '${ROOT}'`).replaceAll(job.log, LOG);
  const env = {
    ...job.env,
    PATH: `${dirname(process.execPath)}:${job.env.PATH}`,
    HOME: homedir(),
    ...dbEnv,
  };
  const r = await run(job.env.SHELL ?? "/bin/sh", ["-c", command], env, tmp);
  // The log holds one pretty-printed JSON document per run; read this run's.
  const text = readFileSync(LOG, "utf8");
  const docs = text
    .slice(logRead)
    .split(/^(?=\{)/m)
    .filter((d) => d.trim());
  logRead = text.length;
  const result = JSON.parse(docs.at(-1) ?? "null") as {
    results: Array<{ threadId: string; status: string; outcome?: string }>;
  } | null;
  return { code: r.code, mail: r.stdout + r.stderr, result };
}

describe.skipIf(!saver)("examples/cron: agentstate recover --all from the crontab line", () => {
  const agent = buildAgent({ checkpointer: saver });

  afterAll(async () => {
    if (saver) await dropSchema(SCHEMA);
    await saver?.end();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function crashed(threadId: string): Promise<StuckState> {
    for (const end = Date.now() + 20_000; Date.now() < end; ) {
      const s = await checkStuckState(threadId, agent);
      if (s.state === "crashed") return s;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${threadId} never showed as crashed`);
  }

  /** The thread's final shape: step kinds, and each tool call's answer as [id, status]. */
  async function thread(threadId: string) {
    const state = await agent.graph.getState({ configurable: { thread_id: threadId } });
    const list = (state.values as { messages: BaseMessage[] }).messages;
    return {
      next: state.next,
      types: list.map((m) => m.getType()),
      answers: list
        .filter((m) => m.getType() === "tool")
        .map((m) => {
          const t = m as unknown as { tool_call_id: string; status?: string };
          return [t.tool_call_id, t.status ?? "success"];
        }),
      last: list.at(-1)?.content,
    };
  }

  it("resumes a run killed mid-tool (exit 0), then has nothing to do (exit 0)", async () => {
    await crash("cron-ok", "fetch_prices");
    const before = await crashed("cron-ok");
    expect(before.pendingToolCalls.map((c) => [c.id, c.idempotent])).toEqual([["fetch-1", true]]);

    const first = await cronRun();
    expect(first.code, first.mail).toBe(0);
    expect(first.mail).toBe(""); // cron mails nothing
    expect(first.result?.results).toEqual([
      expect.objectContaining({ threadId: "cron-ok", status: "resumed", outcome: "completed" }),
    ]);
    const after = await thread("cron-ok");
    expect(after.next).toEqual([]);
    expect(after.types).toEqual(["human", "ai", "tool", "ai", "tool", "ai"]);
    expect(after.answers).toEqual([
      ["fetch-1", "success"],
      ["send-1", "success"],
    ]);
    expect(after.last).toBe("The price report was sent to ops@example.com.");
    expect(await readRun(saver!, "cron-ok")).toMatchObject({ status: "completed", owner: null });

    const second = await cronRun();
    expect(second.code, second.mail).toBe(0);
    expect(second.mail).toBe("");
    expect(second.result?.results).toEqual([]);
  }, 120_000);

  it("exits 3 and mails an alert for a run killed while sending email; --force clears it", async () => {
    await crash("cron-dead", "send_report");
    const before = await crashed("cron-dead");
    expect(before.pendingToolCalls.map((c) => [c.id, c.idempotent])).toEqual([["send-1", false]]);

    const alert = await cronRun();
    expect(alert.code, alert.mail).toBe(3);
    expect(alert.mail.trim()).not.toBe(""); // the line cron mails to MAILTO
    expect(alert.result?.results).toEqual([
      expect.objectContaining({ threadId: "cron-dead", status: "dead" }),
    ]);
    expect(await readRun(saver!, "cron-dead")).toMatchObject({ status: "dead", needsReview: true });
    expect((await thread("cron-dead")).answers).toEqual([["fetch-1", "success"]]); // not resent
    // Every later run keeps alerting until a human acts.
    expect((await cronRun()).code).toBe(3);

    // The human checked the outbox: re-drive it; the email is answered "outcome unknown", not resent.
    const forced = await run(
      process.execPath,
      [
        ...NODE_ARGS,
        "packages/recovery/src/cli/main.ts",
        ...[
          "recover",
          "--force",
          "cron-dead",
          "--config",
          "examples/cron/langgraph.json",
          "--json",
        ],
      ],
      { ...process.env, ...dbEnv },
    );
    expect(forced.code, forced.stdout + forced.stderr).toBe(0);
    const done = await thread("cron-dead");
    expect(done.next).toEqual([]);
    expect(done.answers).toEqual([
      ["fetch-1", "success"],
      ["send-1", "error"],
    ]);
    expect(await readRun(saver!, "cron-dead")).toMatchObject({ status: "completed" });
    expect((await cronRun()).code).toBe(0);
  }, 180_000);
});

const analyze = spawnSync("systemd-analyze", ["--version"]).status === 0;
if (!analyze) console.warn("[examples/cron] systemd-analyze not found: unit verification skipped.");

describe.skipIf(!analyze)("examples/cron: systemd units", () => {
  it("pass systemd-analyze verify without a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "agentstate-units-"));
    try {
      for (const unit of ["agentstate-recover.service", "agentstate-recover.timer"]) {
        const text = readFileSync(join(EXAMPLE, "systemd", unit), "utf8");
        // verify checks that ExecStart's binary exists: point it at this machine's node.
        writeFileSync(join(dir, unit), text.replaceAll("/usr/bin/node", process.execPath));
      }
      const r = spawnSync(
        "systemd-analyze",
        ["verify", join(dir, "agentstate-recover.service"), join(dir, "agentstate-recover.timer")],
        { encoding: "utf8" },
      );
      expect(r.status, r.stderr).toBe(0);
      const ours = r.stderr.split("\n").filter((l) => l.includes("agentstate-recover"));
      expect(ours).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

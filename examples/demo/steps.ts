// The demo's steps as functions, so the end-to-end test runs exactly what `pnpm demo` runs.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  callId,
  configToEnv,
  countEffects,
  RESEARCH_PLAN,
  ResearchAgent,
  type ResearchConfig,
  readEffects,
  startLocalS3,
} from "@agentstate/example-research-agent";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const AGENT_DIR = join(ROOT, "examples/research-agent");
const CLI = join(ROOT, "packages/recovery/src/cli/main.ts");
const NODE_FLAGS = ["--conditions=agentstate-source", "--import", "tsx"];

export interface DemoOptions {
  /** Everything the demo writes goes here (embedded database, project files, bucket, counter). */
  home: string;
  /** Use this Postgres instead of the embedded database. */
  databaseUrl?: string;
  /** Schema on that Postgres. @default "agentstate_demo" */
  schema?: string;
  /** The tool call (1-based) in whose middle the first process is killed. @default 13 */
  killAtStep?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface CliRun {
  exitCode: number | null;
  json: Record<string, any>;
}

export interface DemoResult {
  threadId: string;
  killedAt: { callId: string; tool: string; pid: number };
  stuck: CliRun;
  recover: CliRun;
  finalAnswer: string;
  /** Every tool call of the plan with how many ToolMessages answer it in the final state. */
  answers: Array<{ callId: string; tool: string; answered: number }>;
  /** The research tools' side effects (web_search, analyze) per call, from the counter file. */
  toolCalls: Array<{
    callId: string;
    tool: string;
    started: number;
    done: number;
    processes: number;
  }>;
  projectFile: { path: string; exists: boolean; content: string };
  upload: { url: string; fetched: string };
  scratch: { inState: boolean; onDisk: boolean };
  checkpoints: number;
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  const home = resolve(options.home);
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const effectsFile = join(home, "effects.jsonl");
  rmSync(effectsFile, { force: true });
  const killAt = options.killAtStep ?? 13;
  const killCall = callId(killAt - 1);
  const threadId = `research-${Date.now()}`;

  log("starting a local S3-compatible server (s3rver) for /uploads/");
  const s3 = await startLocalS3(join(home, "s3"));
  const config: ResearchConfig = {
    databaseUrl: options.databaseUrl,
    schema: options.databaseUrl ? (options.schema ?? "agentstate_demo") : undefined,
    dataDir: join(home, "pgdata"),
    projectsDir: join(home, "projects"),
    s3: { endpoint: s3.endpoint, bucket: s3.bucket },
    effectsFile,
    leaseSeconds: 2,
  };
  try {
    log(
      `step 1-2: the agent runs in a child process; it is killed (SIGKILL) during tool call ${killAt} of ${RESEARCH_PLAN.length}`,
    );
    const killedAt = await runUntilKilled(config, threadId, killCall, log);

    // A crashed run holds its lease until it expires; only then is it distinguishable from a live one.
    await new Promise((r) => setTimeout(r, config.leaseSeconds * 1000 + 500));
    log("step 3: agentstate stuck (detect only)");
    const stuck = await cli(config, ["stuck"]);
    log("step 4: agentstate recover --all");
    const recover = await cli(config, ["recover", "--all"]);

    log("step 5: reading the outcome");
    const agent = await ResearchAgent.open(config);
    try {
      const state = await agent.state(threadId);
      const url = await agent.shareableUrl("/uploads/report.md");
      const checkpoints =
        (await agent.checkpointer.listThreads({ limit: 1000 })).threads.find(
          (t) => t.threadId === threadId,
        )?.checkpointCount ?? 0;
      const counts = countEffects(readEffects(effectsFile));
      const projectPath = join(config.projectsDir, "acme/notes.md");
      return {
        threadId,
        killedAt,
        stuck,
        recover,
        finalAnswer: String(state.messages.at(-1)?.content ?? ""),
        answers: RESEARCH_PLAN.map((p, i) => ({
          callId: callId(i),
          tool: p.name,
          answered: state.messages.filter(
            (m) =>
              m.getType() === "tool" && (m as { tool_call_id?: string }).tool_call_id === callId(i),
          ).length,
        })),
        toolCalls: [...counts.entries()].map(([id, c]) => ({
          callId: id,
          tool: c.tool,
          started: c.started,
          done: c.done,
          processes: c.pids.size,
        })),
        projectFile: {
          path: projectPath,
          exists: existsSync(projectPath),
          content: existsSync(projectPath) ? readFileSync(projectPath, "utf8") : "",
        },
        upload: { url, fetched: await (await fetch(url)).text() },
        scratch: {
          inState: Object.keys(state.files ?? {}).includes("/scratch/draft.txt"),
          onDisk:
            existsSync(join(config.projectsDir, "scratch/draft.txt")) ||
            existsSync(join(home, "scratch")),
        },
        checkpoints,
      };
    } finally {
      await agent.close();
    }
  } finally {
    await s3.stop();
  }
}

/** Starts the agent in a child process and SIGKILLs it once tool call `killCall` has started. */
async function runUntilKilled(
  config: ResearchConfig,
  threadId: string,
  killCall: string,
  log: (l: string) => void,
) {
  const env = {
    ...process.env,
    ...configToEnv({ ...config, slowCall: { callId: killCall, ms: 120_000 } }),
  };
  const child: ChildProcess = spawn(
    process.execPath,
    [...NODE_FLAGS, join(AGENT_DIR, "src/worker.ts"), threadId, "Research durable agent state."],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => {
    stderr += c.toString();
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  let reported = 0;
  for (let waited = 0; ; waited += 100) {
    const lines = readEffects(config.effectsFile!);
    for (const l of lines.slice(reported))
      if (l.phase === "done") log(`  tool call ${l.callId} ${l.tool} done`);
    reported = lines.length;
    const hit = lines.find((l) => l.callId === killCall && l.phase === "started");
    if (hit) {
      child.kill("SIGKILL");
      await exited;
      log(`  tool call ${killCall} ${hit.tool} started → SIGKILL to process ${hit.pid}`);
      return { callId: killCall, tool: hit.tool, pid: hit.pid };
    }
    if (child.exitCode !== null || waited > 180_000) {
      child.kill("SIGKILL");
      throw new Error(
        `the agent process ended before tool call ${killCall} (exit ${child.exitCode}):\n${stderr}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the real `agentstate` CLI with --json, as cron would. */
function cli(config: ResearchConfig, args: string[]): Promise<CliRun> {
  const env = { ...process.env, ...configToEnv(config) };
  const target = config.databaseUrl
    ? ["--database-url", config.databaseUrl, "--schema", config.schema ?? "public"]
    : ["--data-dir", config.dataDir];
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      CLI,
      ...args,
      "--config",
      join(AGENT_DIR, "langgraph.json"),
      "--json",
      "--lease-seconds",
      String(config.leaseSeconds),
      ...target,
    ],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on("data", (c: Buffer) => {
    err += c.toString();
  });
  return new Promise((resolvePromise, reject) => {
    child.once("exit", (code) => {
      try {
        resolvePromise({ exitCode: code, json: JSON.parse(out) });
      } catch {
        reject(
          new Error(`agentstate ${args.join(" ")} exited ${code} without JSON:\n${out}\n${err}`),
        );
      }
    });
  });
}

// pnpm demo: a deepagents research agent on durable state is killed at step 13 of 14, the real
// `agentstate` CLI finds it and recovers it, and nothing that completed runs twice.
import { resolve } from "node:path";
import { runDemo } from "./steps.js";

// The AWS SDK warns about Node 20 on every process; the demo's processes inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s`;
const databaseUrl = process.env.DATABASE_URL || undefined;
const home = resolve(process.env.AGENTSTATE_DEMO_HOME ?? ".agentstate/demo");

console.log("agentstate demo — durable state for a LangGraph research agent");
console.log(
  `database: ${databaseUrl ? "Postgres (DATABASE_URL)" : `embedded Postgres (PGlite) in ${home}/pgdata`}\n`,
);
const r = await runDemo({
  home,
  databaseUrl,
  log: (line) => console.log(`[${elapsed()}] ${line}`),
});

const crashed = r.stuck.json.threads?.find((t: { threadId: string }) => t.threadId === r.threadId);
const recovered = r.recover.json.results?.find(
  (t: { threadId: string }) => t.threadId === r.threadId,
);
const once = r.toolCalls.filter((c) => c.done === 1).length;
const rows: Array<[string, string]> = [
  ["thread", r.threadId],
  [
    "killed",
    `SIGKILL during tool call ${r.killedAt.callId} (${r.killedAt.tool}), process ${r.killedAt.pid}`,
  ],
  [
    "agentstate stuck",
    `exit ${r.stuck.exitCode}: ${crashed?.state ?? "?"}, in-flight: ${(crashed?.pendingToolCalls ?? []).map((c: { name: string; id: string }) => `${c.name} (${c.id})`).join(", ") || "none"}`,
  ],
  [
    "agentstate recover --all",
    `exit ${r.recover.exitCode}: ${recovered?.status ?? "?"} → ${recovered?.outcome ?? "?"}`,
  ],
  ["final answer", r.finalAnswer],
  [
    "tool calls answered",
    `${r.answers.filter((a) => a.answered === 1).length}/${r.answers.length} answered exactly once`,
  ],
  [
    "side-effect counter",
    `web_search/analyze effects completed exactly once: ${once}/${r.toolCalls.length}`,
  ],
  ...r.toolCalls
    .filter((c) => c.started > 1 || c.processes > 1)
    .map((c): [string, string] => [
      `  ${c.callId} ${c.tool}`,
      `started ${c.started}× (in flight at the crash), completed ${c.done}×`,
    ]),
  ["/projects/acme/notes.md", r.projectFile.exists ? `on disk: ${r.projectFile.path}` : "MISSING"],
  [
    "/uploads/report.md",
    `shareable URL (fetched ${r.upload.fetched.length} bytes): ${r.upload.url.slice(0, 60)}…`,
  ],
  [
    "/scratch/draft.txt",
    `${r.scratch.inState ? "in graph state" : "NOT in state"}, ${r.scratch.onDisk ? "ON DISK (wrong)" : "not on disk or in the bucket"}`,
  ],
  ["checkpoints", String(r.checkpoints)],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\n${"─".repeat(width + 2)}┬${"─".repeat(70)}`);
for (const [k, v] of rows) console.log(` ${k.padEnd(width)} │ ${v}`);
console.log(`${"─".repeat(width + 2)}┴${"─".repeat(70)}`);
console.log(`done in ${elapsed().trim()}`);

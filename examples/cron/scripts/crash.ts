// Makes something for the cron job to recover: starts a durable run of the agent in a child
// process and SIGKILLs that child while a tool is running, as an OOM kill or a deploy would.
//
//   crash.ts [--thread <id>] [--kill-in fetch_prices|send_report] [--lease-seconds <n>]
//
// Database: DATABASE_URL (schema AGENTSTATE_SCHEMA, default public), else the embedded one in
// AGENTSTATE_DATA_DIR or ./.agentstate/pgdata — the same rules the agentstate CLI follows.
// Prints one JSON line: { threadId, killedIn, leaseSeconds }. The thread counts as crashed once
// its lease has run out, `leaseSeconds` after the kill.
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getCheckpointer } from "@agentstate/checkpointer";
import { runDurably } from "@agentstate/recovery";
import { HumanMessage } from "@langchain/core/messages";
import { buildAgent } from "../src/agent.js";

const { values } = parseArgs({
  options: {
    thread: { type: "string", default: `report-${Date.now()}` },
    "kill-in": { type: "string", default: "fetch_prices" },
    "lease-seconds": { type: "string", default: "5" },
    child: { type: "boolean", default: false },
  },
});
const threadId = values.thread;
const killIn = values["kill-in"];
const leaseSeconds = Number(values["lease-seconds"]);

if (values.child) {
  // The doomed worker: a normal durable run that announces each tool it starts.
  const checkpointer = await getCheckpointer({ schema: process.env.AGENTSTATE_SCHEMA });
  const agent = buildAgent({ checkpointer });
  await runDurably(
    agent,
    { messages: [new HumanMessage("Send today's price report for sku-42 to ops@example.com.")] },
    {
      configurable: { thread_id: threadId },
      callbacks: [
        {
          handleToolStart(_tool, _input, _runId, _parent, _tags, _metadata, runName) {
            process.stdout.write(`${JSON.stringify({ toolStarted: runName })}\n`);
          },
        },
      ],
    },
    // graphId: the id in langgraph.json, so a sweep over several graphs picks the right one.
    { leaseSeconds, graphId: "agent" },
  );
  await checkpointer.end();
  process.stdout.write(`${JSON.stringify({ finished: true })}\n`);
} else {
  const child = spawn(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), "--child"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.includes(`"toolStarted":"${killIn}"`)) {
      child.kill("SIGKILL");
      break;
    }
  }
  const signal = await exited;
  if (signal !== "SIGKILL") {
    console.error(`the run finished before ${killIn} started: nothing was killed`);
    process.exit(1);
  }
  console.log(JSON.stringify({ threadId, killedIn: killIn, leaseSeconds }));
}

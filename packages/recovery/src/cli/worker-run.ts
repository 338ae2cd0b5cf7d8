// The body of `agentstate worker`: start RecoveryService's loop, serve /healthz and /metrics on
// 127.0.0.1, log as text or JSON lines, and on SIGTERM/SIGINT stop claiming, drain the running
// resumes and exit 0.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type CheckpointerMetrics, createMetrics } from "@agentstate/checkpointer";
import { InvalidArgumentError } from "commander";
import type { RecoverResult } from "../types.js";
import type { RecoveryWorker, WorkerEvent } from "../worker.js";
import { type Context, openService } from "./context.js";
import { EXIT } from "./output.js";

/** Options of the worker command (besides the global ones). */
export interface WorkerCommandOptions {
  port?: number;
  drainTimeout: number;
  maxWait: number;
  listen: boolean;
  listenUrl?: string;
}

function describe(e: WorkerEvent): string {
  switch (e.action) {
    case "started":
      return `worker started (${e.mode === "listen" ? "LISTEN for drains" : "polling for drains"})`;
    case "mode":
      return `wake-up mode: ${e.mode} (${e.reason})`;
    case "claimed":
      return `${e.threadId}: claimed (fence ${e.fence}, attempt ${e.attempts})`;
    case "error":
      return `${e.threadId ? `${e.threadId}: ` : ""}error: ${e.error}`;
    case "draining":
      return `stopping: draining ${e.inFlight} running resume(s)`;
    case "stopped":
      return `stopped: ${e.drained} drained, ${e.abandoned} left to lease expiry`;
    case "http":
      return `serving /healthz and /metrics on http://127.0.0.1:${e.port}`;
  }
}

function serve(
  port: number,
  worker: RecoveryWorker,
  metrics: CheckpointerMetrics | undefined,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/healthz") {
      const s = worker.stats;
      res.writeHead(s.draining ? 503 : 200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: s.draining ? "draining" : "ok", ...s }));
    } else if (req.url === "/metrics") {
      if (!metrics) {
        res.writeHead(501, { "content-type": "text/plain" });
        res.end("metrics need the optional dependency prom-client: npm i prom-client\n");
        return;
      }
      metrics.render().then(
        (text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        },
        (error: Error) => {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end(`${error.message}\n`);
        },
      );
    } else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found: try /healthz or /metrics\n");
    }
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** Waits for SIGTERM or SIGINT; the handlers replace Node's default exit for the drain. */
function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => () => {
      process.removeListener("SIGTERM", term);
      process.removeListener("SIGINT", int);
      resolve(sig);
    };
    const term = on("SIGTERM");
    const int = on("SIGINT");
    process.once("SIGTERM", term);
    process.once("SIGINT", int);
  });
}

export async function runWorker(ctx: Context, o: WorkerCommandOptions): Promise<number> {
  const service = await openService(ctx);
  if (!service) {
    throw new InvalidArgumentError(
      "The worker needs the graphs: pass --graph ./src/agent.ts:graph, --config langgraph.json, or run where langgraph.json is.",
    );
  }
  const json = Boolean(ctx.opts.logJson);
  const log = (e: WorkerEvent) =>
    json ? process.stderr.write(`${JSON.stringify(e)}\n`) : ctx.out.note(describe(e));
  let metrics: CheckpointerMetrics | undefined;
  if (o.port !== undefined) {
    try {
      metrics = await createMetrics(ctx.saver);
    } catch (error) {
      ctx.out.note(`/metrics disabled: ${(error as Error).message}`);
    }
  }
  const onResult = (r: RecoverResult) => {
    metrics?.recordRecovery(
      r.status === "resumed" ? (r.outcome ?? "resumed") : r.status,
      r.durationMs,
    );
    // With --log-json the recovery logger already wrote the decision as one JSON line.
    if (!json && r.status === "resumed") ctx.out.note(`${r.threadId}: resumed → ${r.outcome}`);
  };
  const stopping = nextSignal();
  const worker = await service.start({
    listen: o.listen,
    listenUrl: o.listenUrl ?? (process.env.AGENTSTATE_LISTEN_URL || undefined),
    maxWaitMs: o.maxWait * 1000,
    onEvent: log,
    onResult,
  });
  let server: Server | undefined;
  if (o.port !== undefined) {
    server = await serve(o.port, worker, metrics);
    log({
      event: "worker",
      at: new Date().toISOString(),
      action: "http",
      port: (server.address() as AddressInfo).port,
    });
  }
  await stopping;
  await service.stop({ drain: true, timeoutMs: o.drainTimeout * 1000 });
  server?.closeAllConnections();
  server?.close();
  metrics?.detach();
  // Graph modules may hold handles of their own (pools, timers): do not wait on them for long.
  setTimeout(() => process.exit(process.exitCode ?? EXIT.OK), 3000).unref();
  return EXIT.OK;
}

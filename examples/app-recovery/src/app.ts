// A small HTTP app (node:http on 127.0.0.1) that runs the support agent durably and recovers
// crashed threads itself: at startup, on a timer, and on request.
//
//   POST /threads/:id/messages  {"text": "..."}   run the agent on a new message (under a lease)
//   GET  /threads/:id/status                      checkStuckState + what a human is asked
//   POST /threads/:id/recover                     recoverStuckSession (a waiting thread: 409)
//   POST /threads/:id/resume    {"answer": "..."} the human's answer: Command({ resume })
//   GET  /metrics                                 Prometheus (createMetrics)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CheckpointerMetrics,
  createMetrics,
  type MetricsOptions,
  type PostgresCheckpointer,
} from "@agentstate/checkpointer";
import { errorCode, RecoveryService, runDurably } from "@agentstate/recovery";
import { HumanMessage } from "@langchain/core/messages";
import { Command } from "@langchain/langgraph";
import { buildSupportAgent } from "./agent.js";
import { recoverThread, type SweepReport, sweepOnce } from "./recovery.js";

export interface AppOptions {
  checkpointer: PostgresCheckpointer;
  /** @default 0 (a free port) */
  port?: number;
  /** Lease of each run: how long after a crash its thread counts as crashed. @default 30 */
  leaseSeconds?: number;
  /** Sweep again this often, for threads still leased at startup (0: never). @default 60000 */
  sweepIntervalMs?: number;
  /** Passed to the agent: how long an order lookup takes. @default 200 */
  lookupMs?: number;
  metrics?: MetricsOptions;
}

export interface App {
  url: string;
  /** What the startup sweep recovered (it runs before the server accepts requests). */
  startup: SweepReport;
  metrics: CheckpointerMetrics;
  close(): Promise<void>;
}

/** The ledger records this id with each run; a service with several graphs picks by it. */
const GRAPH_ID = "support";

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startApp(options: AppOptions): Promise<App> {
  const { checkpointer, leaseSeconds = 30, sweepIntervalMs = 60_000 } = options;
  const agent = buildSupportAgent({ checkpointer, lookupMs: options.lookupMs });
  const service = new RecoveryService({ [GRAPH_ID]: agent }, { leaseSeconds });
  const metrics = await createMetrics(checkpointer, options.metrics);
  const durable = { leaseSeconds, graphId: GRAPH_ID };
  const config = (threadId: string) => ({ configurable: { thread_id: threadId } });

  /** The thread as a client sees it: its state, the pending question, the last reply. */
  async function view(threadId: string) {
    const status = await service.checkStuckState(threadId); // THREAD_NOT_FOUND: 404
    const snapshot = await agent.graph.getState(config(threadId));
    const messages = (snapshot.values as { messages?: Array<{ content: unknown }> }).messages;
    return {
      threadId,
      state: status.state,
      isStuck: status.isStuck,
      reason: status.reason,
      inFlight: status.pendingToolCalls.map((c) => c.name),
      waitingFor: snapshot.tasks.flatMap((t) => (t.interrupts ?? []).map((i) => i.value)),
      reply: status.state === "completed" ? (messages?.at(-1)?.content ?? null) : null,
    };
  }

  const routes: Array<[string, RegExp, (id: string, body: any) => Promise<[number, unknown]>]> = [
    [
      "POST",
      /^\/threads\/([^/]+)\/messages$/,
      async (id, body) => {
        if (typeof body?.text !== "string") throw new HttpError(400, 'body: {"text": "..."}');
        await runDurably(agent, { messages: [new HumanMessage(body.text)] }, config(id), durable);
        return [200, await view(id)];
      },
    ],
    ["GET", /^\/threads\/([^/]+)\/status$/, async (id) => [200, await view(id)]],
    [
      "POST",
      /^\/threads\/([^/]+)\/recover$/,
      async (id) => {
        const result = await recoverThread(service, metrics, id);
        // waiting: a human has to answer (POST …/resume); already_running, dead: not now.
        const ok = result.status === "resumed" || result.status === "not_stuck";
        const { before: _before, ...rest } = result;
        return [ok ? 200 : 409, rest];
      },
    ],
    [
      "POST",
      /^\/threads\/([^/]+)\/resume$/,
      async (id, body) => {
        if (typeof body?.answer !== "string") throw new HttpError(400, 'body: {"answer": "..."}');
        const status = await service.checkStuckState(id);
        if (status.state !== "waiting") {
          throw new HttpError(409, `thread ${id} is ${status.state}, not waiting for an answer`);
        }
        await runDurably(agent, new Command({ resume: body.answer }), config(id), durable);
        return [200, await view(id)];
      },
    ],
  ];

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (req.method === "GET" && path === "/metrics") {
      res.writeHead(200, { "content-type": metrics.registry.contentType });
      res.end(await metrics.render());
      return;
    }
    for (const [method, pattern, fn] of routes) {
      const m = pattern.exec(path);
      if (!m || req.method !== method) continue;
      const [status, payload] = await fn(decodeURIComponent(m[1]!), await readJson(req));
      return send(res, status, payload);
    }
    send(res, 404, { error: `no route ${req.method} ${path}` });
  }

  const startup = await sweepOnce(service, metrics);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (error instanceof HttpError) return send(res, error.status, { error: error.message });
      const message = error instanceof Error ? error.message : String(error);
      if (errorCode(error) === "THREAD_NOT_FOUND") return send(res, 404, { error: message });
      // Another worker holds this thread's lease: try again later.
      if (errorCode(error) === "LEASE_HELD") return send(res, 409, { error: message });
      send(res, 500, { error: message });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  // Threads whose process died just before this one started are still leased at startup:
  // the timed sweep gets them once their lease runs out.
  let sweeping: Promise<unknown> | undefined;
  const timer =
    sweepIntervalMs > 0
      ? setInterval(() => {
          sweeping ??= sweepOnce(service, metrics)
            .catch((e) => console.error(`sweep failed: ${e}`))
            .finally(() => {
              sweeping = undefined;
            });
        }, sweepIntervalMs)
      : undefined;
  timer?.unref();

  return {
    url: `http://127.0.0.1:${port}`,
    startup,
    metrics,
    async close() {
      if (!server.listening) return;
      clearInterval(timer);
      await sweeping;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      metrics.detach();
    },
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = "";
  for await (const chunk of req) text += chunk;
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, "the body is not JSON");
  }
}

function send(res: ServerResponse, status: number, payload: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(payload));
}

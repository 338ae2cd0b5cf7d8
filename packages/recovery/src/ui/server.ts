// The dashboard's HTTP server (node:http only): the static page from src/ui/static, JSON GETs that
// only read, and token-guarded POSTs for recover / force-recover, archive and restore.
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { parseLocation } from "../archive/location.js";
import { mask } from "../cli/output.js";
import { errorCode, RecoveryError } from "../errors.js";
import type { RecoveryService } from "../service.js";
import * as api from "./api.js";
import { HttpError } from "./api.js";
import { hostHeaderAllowed, newToken, refuseBinding, tokenMatches } from "./auth.js";

export interface DashboardOptions {
  saver: PostgresCheckpointer;
  /** Graphs (as a service): exact stuck list and the recover buttons. Without: read-only views. */
  service?: RecoveryService;
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 7077 */
  port?: number;
  /** Required for every API call; generated when absent (only allowed on loopback hosts). */
  token?: string;
  /** Refuse every POST; the buttons are disabled. @default false */
  readOnly?: boolean;
  /** A label for the database (shown in the page). */
  target?: string;
  /**
   * Where the Archive button sends a thread (`s3://…`, `azure://…`, `file:///…`); without it the
   * page has no Archive button. Restore needs none: it reads the location from the archive index.
   */
  archiveTo?: string;
}

export interface Dashboard {
  /** The page's address, with the token. */
  url: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

// src/ui and dist/ui both sit two levels below the package root; the assets ship in src/ui/static.
const STATIC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../src/ui/static");
const ASSETS: Record<string, [string, string]> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/app.js": ["app.js", "text/javascript; charset=utf-8"],
  "/thread.js": ["thread.js", "text/javascript; charset=utf-8"],
  "/charts.js": ["charts.js", "text/javascript; charset=utf-8"],
  "/common.js": ["common.js", "text/javascript; charset=utf-8"],
  "/overview.js": ["overview.js", "text/javascript; charset=utf-8"],
  "/app.css": ["app.css", "text/css; charset=utf-8"],
};
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
  "Cache-Control": "no-store",
  "X-Frame-Options": "DENY",
};
const MAX_BODY = 16 * 1024;

/** The POST actions (token required, refused in read-only mode): path → handler of the JSON body. */
const ACTIONS: Record<
  string,
  (ctx: api.ApiContext, body: Record<string, unknown>) => Promise<unknown>
> = {
  "/api/recover": (ctx, body) => api.recover(ctx, threadParam(body.threadId), body.force === true),
  "/api/archive": (ctx, body) => api.archive(ctx, threadParam(body.threadId), body.force === true),
  "/api/restore": (ctx, body) => api.restore(ctx, threadParam(body.threadId)),
};

function send(res: ServerResponse, status: number, body: string, type: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "Content-Type": type });
  res.end(body);
}

const json = (res: ServerResponse, status: number, value: unknown) =>
  send(res, status, JSON.stringify(value), "application/json; charset=utf-8");

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  if (!String(req.headers["content-type"] ?? "").startsWith("application/json")) {
    throw new HttpError(
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      "Send a JSON body (Content-Type: application/json).",
    );
  }
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, "TOO_LARGE", "Request body too large.");
    chunks.push(chunk as Buffer);
  }
  try {
    const value = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    if (value && typeof value === "object" && !Array.isArray(value)) return value;
  } catch {
    // answered below
  }
  throw new HttpError(400, "BAD_REQUEST", "The body must be a JSON object.");
}

function threadParam(value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new HttpError(400, "BAD_REQUEST", "Give the thread id (id=… or threadId).");
  }
  return value;
}

/** Starts the dashboard; refuses a non-loopback host without a token. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? "127.0.0.1";
  const refused = refuseBinding(host, options.token);
  if (refused) throw new RecoveryError("INVALID_ARGUMENT", refused);
  const token = options.token ?? newToken();
  const ctx: api.ApiContext = {
    saver: options.saver,
    service: options.service,
    readOnly: options.readOnly ?? false,
    target: options.target ?? "",
    // Refused at start (ARCHIVE_LOCATION) rather than at the first click; credentials never appear.
    archiveTo: options.archiveTo ? parseLocation(options.archiveTo).location : undefined,
  };

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const q = url.searchParams;
    if (req.method === "GET" && url.pathname === "/api/overview") return api.overview(ctx);
    if (req.method === "GET" && url.pathname === "/api/threads") {
      const limit = Math.min(500, Math.max(1, Number(q.get("limit") ?? 100) || 100));
      return api.threads(ctx, q.get("state") || null, limit);
    }
    if (req.method === "GET" && url.pathname === "/api/thread")
      return api.thread(ctx, threadParam(q.get("id")));
    if (req.method === "GET" && url.pathname === "/api/history") {
      return api.threadHistory(ctx, threadParam(q.get("id")));
    }
    if (req.method === "GET" && url.pathname === "/api/diff") {
      const [a, b] = [q.get("a"), q.get("b")];
      if (!a || !b) throw new HttpError(400, "BAD_REQUEST", "Give two checkpoints: a=… and b=….");
      return api.diff(ctx, threadParam(q.get("id")), a, b);
    }
    if (req.method === "GET" && url.pathname === "/api/storage") return api.storage(ctx);
    const act = ACTIONS[url.pathname];
    if (act) {
      if (req.method !== "POST") throw new HttpError(405, "METHOD_NOT_ALLOWED", "POST only.");
      if (ctx.readOnly) {
        throw new HttpError(
          403,
          "READ_ONLY",
          "This dashboard is read-only (started with --read-only).",
        );
      }
      return act(ctx, await readJson(req));
    }
    res.setHeader("Allow", "GET, POST");
    throw new HttpError(404, "NOT_FOUND", `No endpoint ${url.pathname}.`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    if (!hostHeaderAllowed(req.headers.host, host)) {
      throw new HttpError(
        403,
        "FORBIDDEN_HOST",
        "This dashboard only answers to its loopback address.",
      );
    }
    const asset = ASSETS[url.pathname];
    if (asset && (req.method === "GET" || req.method === "HEAD")) {
      return send(res, 200, await readFile(resolve(STATIC_DIR, asset[0]), "utf8"), asset[1]);
    }
    if (!url.pathname.startsWith("/api/")) throw new HttpError(404, "NOT_FOUND", "Not found.");
    const given = req.headers["x-agentstate-token"];
    if (!tokenMatches(Array.isArray(given) ? given[0] : given, token)) {
      throw new HttpError(
        403,
        "FORBIDDEN",
        "Missing or wrong token: open the URL the dashboard printed.",
      );
    }
    json(res, 200, await route(req, res, url));
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const code = error instanceof HttpError ? error.code : (errorCode(error) ?? "ERROR");
      const status =
        error instanceof HttpError
          ? error.status
          : code === "THREAD_NOT_FOUND" || code === "CHECKPOINT_NOT_FOUND"
            ? 404
            : code === "INVALID_ARGUMENT" || code === "INVALID_CONFIG"
              ? 400
              : code === "LEASE_HELD" || code === "THREAD_EXISTS"
                ? 409
                : 500;
      const message = error instanceof Error ? error.message : String(error);
      if (!res.headersSent) json(res, status, { error: { code, message: mask(message) } });
      else res.end();
    });
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(options.port ?? 7077, host, () => {
      server.off("error", fail);
      ok();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/?token=${encodeURIComponent(token)}`,
    host,
    port,
    token,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

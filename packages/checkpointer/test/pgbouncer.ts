// A real PgBouncer in transaction mode on a free loopback port, in front of the test database:
// what most hosted Postgres looks like. Started in the foreground by the test and killed by it.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DATABASE_URL } from "./helpers.js";

/** Debian's package puts it here; `.ci/run` installs it. */
const BINARY = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"].find((p) => existsSync(p));

/** Whether a pgbouncer binary is installed (tests that need one skip without it, outside CI). */
export const pgbouncerInstalled = BINARY !== undefined;

export interface PgBouncer {
  /** The test database's URL with host and port swapped for PgBouncer's. */
  url: string;
  port: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Runs as root only with -u; the files it reads must then be readable by that user. */
function runAsUser(): string | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const user of ["postgres", "nobody"]) {
    try {
      execFileSync("id", ["-u", user], { stdio: "ignore" });
      return user;
    } catch {}
  }
  return undefined;
}

/**
 * Starts PgBouncer (pool_mode = transaction, auth_type = trust) forwarding to the test database's
 * server; resolves once its port accepts connections.
 */
export async function startPgBouncer(): Promise<PgBouncer> {
  if (!BINARY) throw new Error("pgbouncer is not installed: apt-get install -y pgbouncer");
  const target = new URL(DATABASE_URL);
  const database = target.pathname.replace(/^\//, "") || "postgres";
  const user = decodeURIComponent(target.username || "postgres");
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "agentstate-pgbouncer-"));
  const ini = join(dir, "pgbouncer.ini");
  writeFileSync(
    ini,
    [
      "[databases]",
      `${database} = host=${target.hostname} port=${target.port || 5432} dbname=${database}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${join(dir, "userlist.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 200",
      "default_pool_size = 10",
      // Drivers such as JDBC send it; node-postgres does not. Nothing else is ignored, so a
      // startup `options` (session settings) would be refused here rather than silently lost.
      "ignore_startup_parameters = extra_float_digits",
      `pidfile = ${join(dir, "pgbouncer.pid")}`,
      "",
    ].join("\n"),
  );
  writeFileSync(join(dir, "userlist.txt"), `"${user}" ""\n`);
  const asUser = runAsUser();
  if (asUser) execFileSync("chmod", ["-R", "a+rwX", dir]);
  const args = [...(asUser ? ["-u", asUser] : []), ini];
  const child: ChildProcess = spawn(BINARY, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (!(await accepts(port))) {
    if (gone) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`pgbouncer exited before listening on ${port}:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 25)); // poll the port, not a wait for readiness
  }
  const url = new URL(DATABASE_URL);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    port,
    async stop() {
      if (!gone) {
        child.kill("SIGINT"); // immediate shutdown
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

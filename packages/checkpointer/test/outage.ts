import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { serverAnswers } from "@agentstate/test-support/postgres";
import { DATABASE_URL } from "./helpers.js";

/** Stopping the local cluster needs pg_ctlcluster and root: true on the dev machines and in CI. */
export const canControlServer =
  existsSync("/etc/postgresql") &&
  process.getuid?.() === 0 &&
  /127\.0\.0\.1|localhost/.test(DATABASE_URL);

function cluster(action: "stop" | "start") {
  const version = readdirSync("/etc/postgresql")[0] ?? "15";
  const args = [
    "--skip-systemctl-redirect",
    version,
    "main",
    action,
    ...(action === "stop" ? ["-m", "fast"] : []),
  ];
  execFileSync("pg_ctlcluster", args, { stdio: "ignore" });
}

export const stopServer = () => cluster("stop");

/** Starts the cluster and waits until it answers queries. */
export async function startServer(): Promise<void> {
  try {
    cluster("start");
  } catch {
    // already running: pg_ctlcluster exits non-zero; the loop below is the real check
  }
  for (let i = 0; i < 100; i += 1) {
    if (await serverAnswers(DATABASE_URL)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("Postgres did not come back within 10 s");
}

// The local Postgres cluster behind DATABASE_URL, for the restart campaign: found by port with
// pg_lsclusters, stopped and started with pg_ctlcluster (root only, loopback URLs only).
import { execFileSync } from "node:child_process";
import { serverAnswers as answers } from "@agentstate/test-support/postgres";
import { DATABASE_URL } from "./agent.js";

export interface Cluster {
  version: string;
  name: string;
}

/** The cluster serving DATABASE_URL, if this process may stop and start it. */
export function localCluster(): Cluster | undefined {
  if (process.getuid?.() !== 0) return undefined;
  let url: URL;
  try {
    url = new URL(DATABASE_URL);
  } catch {
    return undefined;
  }
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(url.hostname)) return undefined;
  const port = url.port || "5432";
  let listing: string;
  try {
    listing = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" });
  } catch {
    return undefined;
  }
  for (const line of listing.split("\n")) {
    const [version, name, p] = line.trim().split(/\s+/);
    if (version && name && p === port) return { version, name };
  }
  return undefined;
}

export function clusterCtl(c: Cluster, action: "stop" | "start"): void {
  const extra = action === "stop" ? ["-m", process.env.AGENTSTATE_CAMPAIGN_STOP ?? "fast"] : [];
  try {
    execFileSync(
      "pg_ctlcluster",
      ["--skip-systemctl-redirect", c.version, c.name, action, ...extra],
      { stdio: "ignore" },
    );
  } catch {
    // "already running/stopped" exits non-zero; serverAnswers() is the real check
  }
}

export function serverAnswers(): Promise<boolean> {
  return answers(DATABASE_URL, 1000);
}

export async function waitServer(up: boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while ((await serverAnswers()) !== up) {
    if (Date.now() > end) throw new Error(`Postgres did not ${up ? "come back" : "go away"}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Test support for web pages: a real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core), the dashboard CLI as a child process, and screenshots saved as test artifacts.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { CLI, ROOT, type Spawned, spawnTs, waitFor } from "./helpers.js";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOTS = resolve(ROOT, ".vitest-results/screenshots");

/** Whether the browser is installed; in CI (AGENTSTATE_REQUIRE_BROWSER=1) a missing one fails. */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.AGENTSTATE_REQUIRE_BROWSER === "1" || process.env.CI) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  }
  console.warn(
    `[agentstate] ${CHROMIUM} missing: browser tests skipped (apt-get install chromium).`,
  );
  return false;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** A page that records dialogs (alert() from injected markup) and script errors. */
export async function openPage(browser: Browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const dialogs: string[] = [];
  const errors: string[] = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return { page, dialogs, errors };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = resolve(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface RunningDashboard {
  url: string;
  origin: string;
  token: string;
  process: Spawned;
  /** SIGTERM, then the exit code (0 = clean shutdown). */
  stop(): Promise<number | null>;
}

/** `agentstate <global> --json ui --port 0 <ui>` in a child process, once it printed its URL. */
export async function startDashboardCli(
  globalArgs: string[],
  uiArgs: string[] = [],
  env: Record<string, string> = {},
): Promise<RunningDashboard> {
  const p = spawnTs(CLI, [...globalArgs, "--json", "ui", "--port", "0", ...uiArgs], env);
  const line = await waitFor(
    async () => {
      if (p.child.exitCode !== null) throw new Error(`agentstate ui exited: ${p.output()}`);
      return p
        .stdout()
        .split("\n")
        .find((l) => l.includes('"url"'));
    },
    "the dashboard to print its URL",
    60_000,
  );
  const { url } = JSON.parse(line) as { url: string };
  const parsed = new URL(url);
  return {
    url,
    origin: parsed.origin,
    token: parsed.searchParams.get("token") ?? "",
    process: p,
    async stop() {
      p.child.kill("SIGTERM");
      return p.exited;
    },
  };
}

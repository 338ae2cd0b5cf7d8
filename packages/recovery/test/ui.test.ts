// The dashboard in a real headless Chromium: a SIGKILLed durable run shows up as stuck, the
// recover button finishes it and its timeline shows the recovery; force-recover re-drives a
// failed thread; the archive button moves a thread to a file:// location and restore brings it back
// identical; hostile thread ids stay text; tokens, read-only mode and host binding hold.
import { request } from "node:http";
import { resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { listArchives, readRun, runDurably } from "../src/index.js";
import { snapshot, tempArchiveDir } from "./archive-support.js";
import {
  browserAvailable,
  launchBrowser,
  openPage,
  type RunningDashboard,
  screenshot,
  startDashboardCli,
} from "./browser.js";
import { closeEffects, ensureEffectsTable } from "./fixtures/agent.js";
import { interruptGraph } from "./fixtures/graphs.js";
import {
  FIXTURES,
  leasesLapsed,
  postgresReachable,
  runCli,
  spawnTs,
  testSaver,
  uniqueSchema,
  waitFor,
} from "./helpers.js";

const up = (await postgresReachable()) && browserAvailable();
const XSS_ID = "<img src=x onerror=alert(1)>";
const QUOTE_ID = `it's "quoted" & </script><b>bold</b>`;
const cfg = (thread_id: string) => ({ configurable: { thread_id } });
const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

describe.skipIf(!up)("agentstate ui in a browser", () => {
  const schema = uniqueSchema("ui");
  let env: Awaited<ReturnType<typeof testSaver>>;
  let browser: Browser;
  let dash: RunningDashboard;
  let archiveDir: Awaited<ReturnType<typeof tempArchiveDir>>;
  const globals = ["--schema", schema, "--config", resolve(FIXTURES, "project/langgraph.json")];

  beforeAll(async () => {
    env = await testSaver(schema);
    archiveDir = await tempArchiveDir("ui");
    await ensureEffectsTable(schema);
    // A durable agent run SIGKILLed in the middle of a tool call.
    const child = spawnTs(resolve(FIXTURES, "run-agent.ts"), ["durable", "ui-crash"], {
      AGENT_FIXTURE: JSON.stringify({ schema, hangOn: "t1-write" }),
      RECOVERY_OPTIONS: JSON.stringify({ leaseSeconds: 1, heartbeatMs: 300, graphId: "agent" }),
    });
    await waitFor(async () => {
      const { rows } = await env.pool.query(
        `SELECT 1 FROM "${schema}".side_effects WHERE thread_id = 'ui-crash' AND phase = 'started'`,
      );
      return rows.length > 0;
    }, "the slow tool to start in the child");
    child.child.kill("SIGKILL");
    await child.exited;
    // A durable run that failed with a permanent error, and plain runs with hostile thread ids.
    const { makeGraph } = await import("./fixtures/project/steps.mjs");
    const steps = await makeGraph();
    steps.checkpointer = env.saver;
    process.env.STEPS_FAIL_AT = "step2";
    try {
      await expect(
        runDurably(steps, { log: [] }, cfg("ui-broken"), { graphId: "steps" }),
      ).rejects.toThrow("step2 is broken");
    } finally {
      delete process.env.STEPS_FAIL_AT;
    }
    for (const id of [XSS_ID, QUOTE_ID]) {
      await (steps as unknown as { invoke(i: unknown, c: unknown): Promise<unknown> }).invoke(
        { log: ["<img src=y onerror=alert(2)><script>alert(3)</script>"] },
        cfg(id),
      );
    }
    await leasesLapsed(env.pool, schema);
    [browser, dash] = await Promise.all([
      launchBrowser(),
      // The archive location comes from the environment's default (AGENTSTATE_ARCHIVE_URL).
      startDashboardCli(globals, [], {
        AGENT_FIXTURE: JSON.stringify({ schema }),
        AGENTSTATE_ARCHIVE_URL: archiveDir.url,
      }),
    ]);
  });
  afterAll(async () => {
    await browser?.close();
    if (dash) expect(await dash.stop()).toBe(0);
    await closeEffects();
    await env?.dispose();
    await archiveDir?.remove();
  });

  const text = async (page: Page, selector: string) =>
    (await page.locator(selector).first().textContent())?.trim();
  // Waits (no fixed sleep) until the element's whole text is `expected`.
  const untilText = (page: Page, selector: string, expected: string) =>
    page
      .locator(selector, {
        hasText: new RegExp(`^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`),
      })
      .waitFor();

  it("the overview counts threads by state, lists the stuck ones and draws storage charts", async () => {
    const { page, dialogs, errors } = await openPage(browser);
    await page.goto(dash.url);
    await page.locator('#app[data-page="overview"][data-ready]').waitFor();
    expect(new URL(page.url()).search).toBe(""); // the token left the address bar
    expect(await text(page, '.card[data-state="crashed"] .count')).toBe("1");
    expect(await text(page, '.card[data-state="failed"] .count')).toBe("1");
    expect(await text(page, '.card[data-state="untracked"] .count')).toBe("2");
    expect((await page.locator("#stuck a.thread").allTextContents()).sort()).toEqual([
      "ui-broken",
      "ui-crash",
    ]);
    const crashRow = page.locator("#stuck tbody tr", { hasText: "ui-crash" });
    expect(await crashRow.textContent()).toContain("slow_write t1-write");
    expect(await page.locator("svg.chart").count()).toBe(3);
    expect(await page.locator("#threads a.thread").allTextContents()).toEqual(
      expect.arrayContaining([XSS_ID, QUOTE_ID, "ui-crash", "ui-broken"]),
    );
    await screenshot(page, "dashboard-overview");
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the recover button finishes a crashed thread and the timeline shows the recovery", async () => {
    const { page, errors } = await openPage(browser);
    await page.goto(dash.url);
    await page.locator("#stuck a.thread", { hasText: "ui-crash" }).click();
    await untilText(page, "#thread-id", "ui-crash");
    expect(await text(page, "#thread-state")).toBe("crashed");
    const inFlight = await text(page, "#timeline tr.in-flight");
    expect(inFlight).toContain("slow_write t1-write");
    expect(inFlight).toContain("pending");
    await screenshot(page, "dashboard-thread-crashed");

    await page.locator(".actions button.recover").click();
    await untilText(page, "#thread-state", "completed");
    expect(await text(page, "#flash")).toContain("ui-crash: resumed → completed");
    expect(await text(page, "#timeline li.event")).toMatch(
      /^a recovery resumed the run here, from step 3/,
    );
    expect(await page.locator("#timeline tr.in-flight").count()).toBe(0);
    expect(await page.locator("#timeline tr").allTextContents()).toEqual(
      expect.arrayContaining([expect.stringContaining("All done")]),
    );
    await screenshot(page, "dashboard-thread-recovered");
    expect(await readRun(env.saver, "ui-crash")).toMatchObject({ status: "completed", fence: 2 });

    // The state diff of one step, then of two checkpoints picked in the list.
    await page.locator('#timeline tr[data-step="4"] button').click();
    await page.locator("#diff .diff").waitFor();
    expect(await text(page, "#diff")).toContain(
      "messages (changed)+ tool t1-lookup: result for beta",
    );
    await page.locator("#compare").click();
    await page.locator("#diff h3", { hasText: "→ step 5" }).waitFor();
    await screenshot(page, "dashboard-diff");
    expect(errors).toEqual([]);
    await page.close();
  });

  it("recover leaves a permanent failure dead; force recover re-drives it", async () => {
    const { page } = await openPage(browser);
    await page.goto(`${dash.url}#/thread/ui-broken`);
    await untilText(page, "#thread-id", "ui-broken");
    expect(await text(page, "#thread-state")).toBe("failed");
    expect(await text(page, "#thread-reason")).toContain("permanent error: step2 is broken");
    await page.locator(".actions button.recover").click();
    await untilText(page, "#thread-state", "dead");
    expect(await text(page, "#flash")).toContain("ui-broken: dead");
    await page.locator(".actions button.force-recover").click();
    await untilText(page, "#thread-state", "completed");
    expect(await readRun(env.saver, "ui-broken")).toMatchObject({
      status: "completed",
      graphId: "steps",
    });
    await page.close();
  });

  it("archive a completed thread from its page, find it under archived, restore it identical", async () => {
    const { makeGraph } = await import("./fixtures/project/steps.mjs");
    const steps = await makeGraph();
    steps.checkpointer = env.saver;
    await runDurably(steps, { log: [] }, cfg("ui-done"), { graphId: "steps" });
    const before = await snapshot(env.saver, "ui-done");
    const { page, dialogs, errors } = await openPage(browser);
    await page.goto(`${dash.url}#/thread/ui-done`);
    await untilText(page, "#thread-id", "ui-done");
    expect(await text(page, "#thread-state")).toBe("completed");
    const timeline = await page.locator("#timeline tbody tr").allTextContents();
    expect(timeline.length).toBeGreaterThan(2);

    await page.locator(".actions button.archive").click();
    await untilText(page, "#thread-state", "archived");
    expect(await text(page, "#flash")).toMatch(/^ui-done: archived to file:\/\/\//);
    expect(await text(page, "#thread-reason")).toContain(`archived to ${archiveDir.url}`);
    expect(await page.locator(".actions button.restore").isEnabled()).toBe(true);
    expect(await page.locator("#timeline").count()).toBe(0);
    await screenshot(page, "dashboard-thread-archived");
    expect(await archiveDir.files()).toHaveLength(1);
    await expect(env.saver.getTuple(cfg("ui-done"))).rejects.toMatchObject({ code: "ARCHIVED" });

    // The overview counts it under archived; the archived card lists it from the archive index.
    await page.goto(dash.url);
    await page.locator('#app[data-page="overview"][data-ready]').waitFor();
    expect(await text(page, '.card[data-state="archived"] .count')).toBe("1");
    await page.locator('.card[data-state="archived"]').click();
    await page.locator("#threads td.mono", { hasText: archiveDir.url }).waitFor();
    expect(await page.locator("#threads a.thread").allTextContents()).toEqual(["ui-done"]);
    await screenshot(page, "dashboard-archived-list");

    // Restore: the thread is back, its timeline and its rows exactly as before.
    await page.locator("#threads a.thread", { hasText: "ui-done" }).click();
    await untilText(page, "#thread-id", "ui-done");
    await page.locator(".actions button.restore").click();
    await untilText(page, "#thread-state", "completed");
    expect(await text(page, "#flash")).toBe(`ui-done: restored from ${archiveDir.url}`);
    expect(await page.locator("#timeline tbody tr").allTextContents()).toEqual(timeline);
    expect(await text(page, "#ledger")).toContain("restored");
    await screenshot(page, "dashboard-thread-restored");
    expect(await snapshot(env.saver, "ui-done")).toEqual(before);
    expect((await listArchives(env.saver)).archives).toEqual([]);

    // A waiting thread (its run unfinished) is refused until the user says "archive anyway".
    await interruptGraph(env.saver).invoke({ log: [] }, cfg("ui-wait"));
    await page.goto(`${dash.url}#/thread/ui-wait`);
    await untilText(page, "#thread-id", "ui-wait");
    const shown = await text(page, "#thread-state");
    await page.locator(".actions button.archive").click();
    await page.locator("#archive-confirm button.archive-anyway").waitFor();
    expect(await text(page, "#archive-confirm")).toContain(
      'Thread "ui-wait" is waiting: its run may be unfinished. Archive it anyway?',
    );
    expect(await text(page, "#thread-state")).toBe(shown);
    expect(await env.saver.getTuple(cfg("ui-wait"))).toBeDefined();
    await screenshot(page, "dashboard-archive-confirm");
    await page.locator("#archive-confirm button.archive-anyway").click();
    await untilText(page, "#thread-state", "archived");
    expect((await listArchives(env.saver)).archives.map((a) => a.threadId)).toEqual(["ui-wait"]);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();

    // Without the token both POSTs are refused and change nothing.
    for (const [path, threadId] of [
      ["/api/archive", "ui-done"],
      ["/api/restore", "ui-wait"],
    ]) {
      const post = await fetch(`${dash.origin}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ threadId, force: true }),
      });
      expect(post.status).toBe(403);
      expect((await errorOf(post)).code).toBe("FORBIDDEN");
    }
    expect((await listArchives(env.saver)).archives.map((a) => a.threadId)).toEqual(["ui-wait"]);
    expect(await env.saver.getTuple(cfg("ui-done"))).toBeDefined();
  });

  it("hostile thread ids and values are shown as text, never as markup", async () => {
    const { page, dialogs, errors } = await openPage(browser);
    for (const id of [XSS_ID, QUOTE_ID]) {
      await page.goto(`${dash.url}#/thread/${encodeURIComponent(id)}`);
      await untilText(page, "#thread-id", id);
      expect(await text(page, "#timeline")).toContain(
        '"<img src=y onerror=alert(2)><script>alert(3)</script>"',
      );
      expect(await page.locator("#app img, #app script, #thread-id *").count()).toBe(0);
      if (id === XSS_ID) await screenshot(page, "dashboard-hostile-id");
    }
    await page.goto(dash.url);
    await page.locator('#app[data-page="overview"][data-ready]').waitFor();
    expect(await page.locator("#app img").count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it("the API: no or wrong token → 403 (POST too, changing nothing); unknown thread → 404; foreign Host → 403", async () => {
    const api = (path: string, init: RequestInit = {}) => fetch(`${dash.origin}${path}`, init);
    expect((await api("/api/overview")).status).toBe(403);
    expect(
      (await api("/api/overview", { headers: { "X-Agentstate-Token": "wrong" } })).status,
    ).toBe(403);
    const fence = (await readRun(env.saver, "ui-broken"))?.fence;
    const post = await api("/api/recover", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ threadId: "ui-broken", force: true }),
    });
    expect(post.status).toBe(403);
    expect((await errorOf(post)).code).toBe("FORBIDDEN");
    expect((await readRun(env.saver, "ui-broken"))?.fence).toBe(fence);
    const auth = { "X-Agentstate-Token": dash.token };
    const missing = await api(`/api/thread?id=${encodeURIComponent("nope'\"<>")}`, {
      headers: auth,
    });
    expect(missing.status).toBe(404);
    expect((await errorOf(missing)).code).toBe("THREAD_NOT_FOUND");
    const form = await api("/api/recover", { method: "POST", headers: auth, body: "threadId=x" });
    expect(form.status).toBe(415);
    const page = await api("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    const rebound = await new Promise<number>((ok, fail) => {
      const req = request(`${dash.origin}/api/overview`, {
        headers: { Host: "evil.example", "X-Agentstate-Token": dash.token },
      });
      req
        .on("response", (res) => ok(res.statusCode ?? 0))
        .on("error", fail)
        .end();
    });
    expect(rebound).toBe(403);
  });

  it("--read-only without a graph: buttons disabled, POST refused with the right token", async () => {
    const token = "a-read-only-token-of-32-characters";
    const [ro, plain] = await Promise.all([
      startDashboardCli(
        ["--schema", schema],
        ["--read-only", "--token", token, "--archive-to", archiveDir.url],
      ),
      startDashboardCli(["--schema", schema]),
    ]);
    try {
      const { page } = await openPage(browser);
      await page.goto(`${ro.url}#/thread/ui-crash`);
      await untilText(page, "#thread-id", "ui-crash");
      expect(await page.locator(".actions button.recover").isDisabled()).toBe(true);
      expect(await page.locator(".actions button.force-recover").getAttribute("title")).toBe(
        "read-only dashboard (--read-only)",
      );
      expect(await text(page, "#thread-reason")).toBe("no pending work");
      expect(await page.locator(".actions button.archive").isDisabled()).toBe(true);
      expect(await page.locator(".actions button.archive").getAttribute("title")).toBe(
        "read-only dashboard (--read-only)",
      );
      await page.goto(`${ro.url}#/thread/ui-wait`);
      await untilText(page, "#thread-state", "archived");
      expect(await page.locator(".actions button.restore").isDisabled()).toBe(true);
      await screenshot(page, "dashboard-read-only-archived");
      // Without an archive location there is no Archive button, and a note says why.
      await page.goto(`${plain.url}#/thread/ui-crash`);
      await untilText(page, "#thread-id", "ui-crash");
      expect(await page.locator("button.archive").count()).toBe(0);
      expect(await text(page, "#archive-note")).toContain("--archive-to <url>");
      await page.goto(ro.url);
      await page.locator('#app[data-page="overview"][data-ready]').waitFor();
      expect(await page.textContent("#app")).toContain("From the ledger only");
      await page.close();
      const post = await fetch(`${ro.origin}/api/recover`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Agentstate-Token": token },
        body: JSON.stringify({ threadId: "ui-crash" }),
      });
      expect(post.status).toBe(403);
      expect((await errorOf(post)).code).toBe("READ_ONLY");
      for (const path of ["/api/archive", "/api/restore"]) {
        const refused = await fetch(`${ro.origin}${path}`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Agentstate-Token": token },
          body: JSON.stringify({ threadId: "ui-wait", force: true }),
        });
        expect(refused.status).toBe(403);
        expect((await errorOf(refused)).code).toBe("READ_ONLY");
      }
      expect((await listArchives(env.saver)).archives.map((a) => a.threadId)).toEqual(["ui-wait"]);
    } finally {
      expect(await ro.stop()).toBe(0);
      expect(await plain.stop()).toBe(0);
    }
  });

  it("refuses to listen beyond loopback without a token, and short tokens (exit 64, before connecting)", async () => {
    const nowhere = ["--database-url", "postgres://nobody@127.0.0.1:1/none"];
    const open = await runCli([...nowhere, "ui", "--host", "0.0.0.0"]);
    expect(open.code).toBe(64);
    expect(open.output).toContain("pass --token");
    expect((await runCli([...nowhere, "ui", "--token", "short"])).code).toBe(64);
  });
});

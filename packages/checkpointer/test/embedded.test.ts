import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { getCheckpointer } from "../src/index.js";
import { toolLoopGraph } from "./graphs.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const FIXTURE = resolve(import.meta.dirname, "fixtures/embedded-writer.ts");

function writer(
  dataDir: string,
  count?: number,
): { child: ChildProcess; done: (n: number) => Promise<void>; exit: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    [
      "--conditions=agentstate-source",
      "--import",
      "tsx",
      FIXTURE,
      dataDir,
      ...(count ? [String(count)] : []),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let finished = 0;
  const waiters: Array<[number, () => void]> = [];
  child.stdout!.on("data", (chunk: Buffer) => {
    finished += chunk
      .toString()
      .split("\n")
      .filter((l) => l.startsWith("done")).length;
    for (const [n, fn] of waiters) if (finished >= n) fn();
  });
  const exit = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return {
    child,
    exit,
    done: (n) => new Promise((r) => (finished >= n ? r() : waiters.push([n, r]))),
  };
}

describe("embedded default (PGlite in a data directory)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "agentstate-embedded-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("data written by one process is read and resumed by the next", async () => {
    const w = writer(join(dir, "db"), 2);
    expect(await w.exit).toBe(0);
    const saver = await getCheckpointer({ dataDir: join(dir, "db") });
    try {
      const graph = toolLoopGraph(saver, 3);
      const state = await graph.getState({ configurable: { thread_id: "t1" } });
      expect(state.next).toEqual([]);
      expect(state.values.messages.at(-1)?.content).toBe("finished");
      expect((await saver.listThreads()).threads.map((t) => t.threadId)).toEqual(["t0", "t1"]);
    } finally {
      await saver.end();
    }
  });

  it("survives SIGKILL mid-write: every finished thread is intact and the database opens", async () => {
    const w = writer(join(dir, "db"));
    await w.done(3);
    w.child.kill("SIGKILL");
    await w.exit;
    const saver = await getCheckpointer({ dataDir: join(dir, "db") });
    try {
      const graph = toolLoopGraph(saver, 3);
      for (const t of ["t0", "t1", "t2"]) {
        const state = await graph.getState({ configurable: { thread_id: t } });
        expect(state.values.messages.at(-1)?.content).toBe("finished");
      }
      // the thread that was in flight, if it got a checkpoint, resumes to the end
      const threads = (await saver.listThreads()).threads.map((t) => t.threadId);
      for (const t of threads) {
        const config = { configurable: { thread_id: t } };
        if ((await graph.getState(config)).next.length > 0) await graph.invoke(null, config);
        expect((await graph.getState(config)).values.messages.at(-1)?.content).toBe("finished");
      }
    } finally {
      await saver.end();
    }
  });
});

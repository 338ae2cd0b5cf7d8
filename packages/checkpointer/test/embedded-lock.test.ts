// One process per embedded data directory: a second opener is refused, a dead holder's lock is taken over.
import { type ChildProcess, spawn } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { CheckpointerError, getCheckpointer } from "../src/index.js";
import { LOCK_FILE, lockDataDir } from "../src/lock.js";
import { toolLoopGraph } from "./graphs.js";

const ROOT = resolve(import.meta.dirname, "../../..");
const HOLDER = resolve(import.meta.dirname, "fixtures/embedded-holder.ts");
const RACER = resolve(import.meta.dirname, "fixtures/lock-racer.ts");
const CLI = resolve(ROOT, "packages/recovery/src/cli/main.ts");

interface Child {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first output line matching `pattern`; rejects if the child exits first. */
  line(pattern: RegExp): Promise<string>;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

function start(file: string, args: string[]): Child {
  const child = spawn(
    process.execPath,
    ["--conditions=agentstate-source", "--import", "tsx", file, ...args],
    { cwd: ROOT, env: { ...process.env, DATABASE_URL: "" }, stdio: ["pipe", "pipe", "pipe"] },
  );
  children.push(child);
  let out = "";
  const waiters: Array<() => void> = [];
  const onData = (d: Buffer) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const line = (pattern: RegExp) =>
    new Promise<string>((resolveLine, reject) => {
      const check = () => {
        const found = out.split("\n").find((l) => pattern.test(l));
        if (found !== undefined) return resolveLine(found);
        if (child.exitCode !== null || child.signalCode !== null)
          return reject(new Error(`child exited before printing ${pattern}:\n${out}`));
        waiters.push(check);
      };
      child.once("exit", () => {
        for (const w of waiters.splice(0)) w();
      });
      check();
    });
  return { child, output: () => out, line, exited };
}

async function kill(c: Child): Promise<void> {
  c.child.kill("SIGKILL");
  await c.exited;
}

let dir: string;
let startedBefore = 0;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "agentstate-lock-"));
  startedBefore = children.length;
});
afterEach(() => {
  // Children a test started (a suite's shared holder started earlier is its own afterAll's job).
  for (const c of children.splice(startedBefore)) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("beside a process that holds the embedded data directory", () => {
  let holder: Child;
  let db: string;
  // One holder for the three steps below (each child opens PGlite: seconds of CPU).
  beforeAll(async () => {
    db = join(mkdtempSync(join(tmpdir(), "agentstate-lock-held-")), "db");
    holder = start(HOLDER, [db, "hold", "3"]);
    await holder.line(/^ready/);
  });
  afterAll(async () => {
    await kill(holder);
    rmSync(resolve(db, ".."), { recursive: true, force: true });
  });

  it("getCheckpointer() is refused with DATA_DIR_LOCKED naming the holder and the fix", async () => {
    const error = await getCheckpointer({ dataDir: db }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointerError);
    expect((error as CheckpointerError).code).toBe("DATA_DIR_LOCKED");
    const message = (error as Error).message;
    expect(message).toContain(`pid ${holder.child.pid} on host ${hostname()}`);
    expect(message).toContain("embedded-holder.ts");
    expect(message).toContain("DATABASE_URL");
  });

  it("the agentstate CLI prints the error and exits 1, without a stack or a WASM abort", async () => {
    const cli = start(CLI, ["stats", "--data-dir", db]);
    expect(await cli.exited).toBe(1);
    const output = cli.output();
    expect(output).toContain("error [DATA_DIR_LOCKED]");
    expect(output).toContain(`pid ${holder.child.pid}`);
    expect(output).not.toContain("Aborted");
    expect(output).not.toMatch(/\n\s+at /);
  });

  it("after the holder is SIGKILLed the next opener takes over and finds every acknowledged checkpoint", async () => {
    await kill(holder);
    expect(existsSync(join(db, LOCK_FILE))).toBe(true); // SIGKILL leaves it behind
    const saver = await getCheckpointer({ dataDir: db });
    try {
      const graph = toolLoopGraph(saver, 3);
      for (const t of ["t0", "t1", "t2"]) {
        const state = await graph.getState({ configurable: { thread_id: t } });
        expect(state.next).toEqual([]);
        expect(state.values.messages.at(-1)?.content).toBe("finished");
      }
    } finally {
      await saver.end();
    }
    expect(existsSync(join(db, LOCK_FILE))).toBe(false);
  });
});

describe("releasing the lock", () => {
  it("end() removes the lock file and the directory reopens; a second open in one process is refused", async () => {
    const db = join(dir, "db");
    const first = await getCheckpointer({ dataDir: db });
    const error = await getCheckpointer({ dataDir: db }).catch((e: unknown) => e);
    expect((error as CheckpointerError).code).toBe("DATA_DIR_LOCKED");
    expect((error as Error).message).toContain(`already open in this process (pid ${process.pid})`);
    expect(existsSync(join(db, LOCK_FILE))).toBe(true);
    await first.end();
    expect(existsSync(join(db, LOCK_FILE))).toBe(false);
    const second = await getCheckpointer({ dataDir: db });
    await second.end();
    expect(readdirSync(db).filter((f) => f.startsWith(LOCK_FILE))).toEqual([]);
  });

  it("a process that exits without end() leaves no lock file", async () => {
    const db = join(dir, "db");
    const child = start(HOLDER, [db, "exit", "0"]);
    expect(await child.exited).toBe(0);
    expect(existsSync(join(db, "PG_VERSION"))).toBe(true);
    expect(existsSync(join(db, LOCK_FILE))).toBe(false);
  });
});

describe("stale locks", () => {
  it("openers racing for a stale lock: exactly one wins, the others name the winner", async () => {
    const dead = start(RACER, [dir, "now"]);
    await dead.line(/^won/);
    await kill(dead);
    const racers = [0, 1, 2, 3].map(() => start(RACER, [dir]));
    await Promise.all(racers.map((r) => r.line(/^waiting/)));
    for (const r of racers) r.child.stdin!.write("go\n");
    const results = await Promise.all(racers.map((r) => r.line(/^(won|locked) /)));
    const winners = results.filter((l) => l.startsWith("won"));
    expect(winners).toHaveLength(1);
    const winnerPid = winners[0]!.split(" ")[1];
    for (const l of results.filter((x) => x.startsWith("locked"))) {
      expect(l).toContain("DATA_DIR_LOCKED");
      expect(l).toContain(`pid ${winnerPid} `);
    }
    expect(readdirSync(dir)).toEqual([LOCK_FILE]); // no takeover guard or temp file left
  });

  it("a lock from another host counts while its heartbeat is fresh and is taken over once stale", async () => {
    const path = join(dir, LOCK_FILE);
    const record = { pid: 1, hostname: "elsewhere", startedAt: "x", command: "app", token: "t" };
    writeFileSync(path, JSON.stringify(record));
    const error = await lockDataDir(dir).catch((e: unknown) => e);
    expect((error as CheckpointerError).code).toBe("DATA_DIR_LOCKED");
    expect((error as Error).message).toContain("pid 1 on host elsewhere");
    expect((error as Error).message).toContain("another host or in another container");
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(path, old, old);
    const lock = await lockDataDir(dir);
    expect(JSON.parse(readFileSync(path, "utf8")).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it("lockDataDir() on a missing directory fails with INVALID_CONFIG and does not create it", async () => {
    const missing = join(dir, "missing");
    const error = await lockDataDir(missing).catch((e: unknown) => e);
    expect((error as CheckpointerError).code).toBe("INVALID_CONFIG");
    expect(existsSync(missing)).toBe(false);
  });

  it("an unreadable lock file is respected while recent and taken over once old", async () => {
    const path = join(dir, LOCK_FILE);
    writeFileSync(path, "");
    const error = await lockDataDir(dir).catch((e: unknown) => e);
    expect((error as CheckpointerError).code).toBe("DATA_DIR_LOCKED");
    expect((error as Error).message).toContain("unreadable");
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(path, old, old);
    const lock = await lockDataDir(dir);
    lock.release();
    expect(readdirSync(dir)).toEqual([]);
  });
});

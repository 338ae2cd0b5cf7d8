// One process per embedded data directory: an exclusive lock file, stale-lock takeover, release on end/exit.
import { createHash, randomBytes } from "node:crypto";
import {
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { basename, join } from "node:path";
import { CheckpointerError } from "./errors.js";

/** Name of the lock file inside the data directory. */
export const LOCK_FILE = "agentstate.lock";
/** The holder touches its lock file this often, so a host that cannot check its pid can see it is alive. */
const HEARTBEAT_MS = 10_000;
/** A lock from another host/container (pid not checkable), or unreadable, is stale this long after its last touch. */
const STALE_MS = 60_000;
/** While another opener is halfway through taking over a stale lock: retry this often, this many times. */
const BUSY_WAIT_MS = 20;
const BUSY_RETRIES = 100;

/** What the lock file holds, as JSON. */
export interface LockRecord {
  pid: number;
  hostname: string;
  startedAt: string;
  command: string;
  /** Random: tells this holder's file from a later one with the same pid. */
  token: string;
  /** Linux: changes on reboot. */
  bootId?: string;
  /** Linux: the pid namespace (containers have their own); a pid is only checkable inside it. */
  pidNamespace?: string;
  /** Linux: the holder's start time (clock ticks since boot), to tell pid reuse. */
  processStart?: string;
}

export interface DataDirLock {
  /** Absolute path of the lock file. */
  readonly path: string;
  readonly record: LockRecord;
  /** Removes the lock file if it is still ours. Idempotent; also runs on process exit. */
  release(): void;
}

export interface LockDataDirOptions {
  /** Shown to a refused opener; defaults to this process's argv. Mask secrets before passing. */
  command?: string;
}

/** The holder as judged from its lock file: gone, or (possibly) still running. */
type Holder = { record?: LockRecord; ageMs: number; foreign: boolean };
type Verdict = Holder | "stale";

// Process-wide, shared by every copy of this package loaded in the process (ESM and CJS builds,
// two versions): a lock file with our own pid that no copy holds is a previous process's.
const HELD = Symbol.for("@agentstate/checkpointer.dataDirLocks");
const registry = globalThis as { [HELD]?: Map<string, DataDirLock> };
registry[HELD] ??= new Map();
const held = registry[HELD];
let exitHookInstalled = false;

/**
 * Takes the exclusive lock on an existing embedded data directory, or throws `DATA_DIR_LOCKED`
 * naming the holder. A lock whose holder is gone (dead pid on this host; on another host or in
 * another container, no heartbeat for 60 s) is taken over; when several openers race for a stale
 * lock, exactly one wins.
 */
export async function lockDataDir(
  dir: string,
  options: LockDataDirOptions = {},
): Promise<DataDirLock> {
  try {
    return await acquire(dir, options);
  } catch (error) {
    if (error instanceof CheckpointerError) throw error;
    throw new CheckpointerError(
      "INVALID_CONFIG",
      `Cannot lock the embedded data directory ${dir} (${(error as Error).message}): it must exist and be writable by this process.`,
      { cause: error },
    );
  }
}

async function acquire(dir: string, options: LockDataDirOptions): Promise<DataDirLock> {
  const real = realpathSync(dir);
  const path = join(real, LOCK_FILE);
  const record = ownRecord(options.command ?? commandLine());
  const body = `${JSON.stringify(record, null, 2)}\n`;
  for (let attempt = 0; ; attempt += 1) {
    // Checked on every attempt: another call in this process may have won while this one waited.
    const mine = held.get(real);
    if (mine) throw lockedError(real, mine.record, { sameProcess: true });
    const outcome = tryAcquire(path, body);
    if (outcome === "acquired") break;
    if (outcome !== "busy") throw lockedError(real, outcome.record, outcome);
    if (attempt >= BUSY_RETRIES) throw lockedError(real, undefined, {});
    await new Promise((r) => setTimeout(r, BUSY_WAIT_MS));
  }
  return hold(real, path, record, body);
}

function hold(real: string, path: string, record: LockRecord, body: string): DataDirLock {
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // Removed by hand: nothing to refresh; release() copes too.
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();
  let released = false;
  const lock: DataDirLock = {
    path,
    record,
    release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      held.delete(real);
      if (readOrUndefined(path) === body) unlinkQuietly(path);
    },
  };
  held.set(real, lock);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Sync unlink on a normal exit. SIGKILL (or a signal without a handler) leaves the file; the
    // next opener then sees a dead holder and takes over.
    process.on("exit", () => {
      for (const l of [...held.values()]) l.release();
    });
  }
  return lock;
}

/** One attempt: create the file, or judge the one that is there. */
function tryAcquire(path: string, body: string): "acquired" | "busy" | Holder {
  if (createExclusive(path, body)) return "acquired";
  const raw = readOrUndefined(path);
  if (raw === undefined) return "busy"; // released between our create and read: try again
  const verdict = judge(raw, path);
  if (verdict !== "stale") return verdict.record ? verdict : "busy";
  return replaceStale(path, raw, body) ? "acquired" : "busy";
}

/**
 * Replaces `target`, whose content `staleRaw` was judged stale, by `body` — only if we are the one
 * opener that creates the takeover guard for exactly that content. While we own the guard nobody
 * else may replace the target and nobody can create it (it exists), so after checking it still
 * holds `staleRaw`, one rename makes it ours. A guard left by a taker that died is itself a stale
 * lock, replaced the same way.
 */
function replaceStale(target: string, staleRaw: string, body: string): boolean {
  const guard = `${target}.${digest(staleRaw)}.takeover`;
  if (!createExclusive(guard, body)) {
    const guardRaw = readOrUndefined(guard);
    if (guardRaw === undefined || judge(guardRaw, guard) !== "stale") return false;
    if (!replaceStale(guard, guardRaw, body)) return false;
  }
  try {
    if (readOrUndefined(target) !== staleRaw) return false; // someone else won: the caller re-reads
    const temp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(temp, body, { flag: "wx" });
    try {
      renameSync(temp, target);
    } catch (error) {
      unlinkQuietly(temp);
      throw error;
    }
    return true;
  } finally {
    if (readOrUndefined(guard) === body) unlinkQuietly(guard);
  }
}

/** Whether the holder of a lock file (content `raw`) can still be running. */
function judge(raw: string, path: string): Verdict {
  const ageMs = Date.now() - mtimeMs(path);
  const record = parse(raw);
  // Unreadable: half-written (an opener between create and write) or damaged. Only age tells.
  if (!record) return ageMs > STALE_MS ? "stale" : { ageMs, foreign: true };
  const me = ownScope();
  const sameHost = record.hostname === me.hostname;
  const samePids = sameHost && record.pidNamespace === me.pidNamespace;
  if (samePids && record.bootId && me.bootId && record.bootId !== me.bootId) return "stale"; // rebooted
  if (!samePids || record.bootId !== me.bootId) {
    // Another host or container: its pids mean nothing here; its heartbeat does.
    return ageMs > STALE_MS ? "stale" : { record, ageMs, foreign: true };
  }
  // This process does not hold it (checked before): a previous process that had our pid.
  if (record.pid === process.pid) return "stale";
  if (!pidAlive(record.pid)) return "stale";
  const start = processStart(record.pid);
  if (record.processStart && start && start !== record.processStart) return "stale"; // pid reused
  return { record, ageMs, foreign: false };
}

function lockedError(
  dir: string,
  holder: LockRecord | undefined,
  how: { sameProcess?: boolean; foreign?: boolean; ageMs?: number },
): CheckpointerError {
  const fix =
    "Stop the other process first, or, to use one database from several processes, run a Postgres server and set DATABASE_URL (or pass connectionString).";
  const lockPath = join(dir, LOCK_FILE);
  if (how.sameProcess) {
    return new CheckpointerError(
      "DATA_DIR_LOCKED",
      `The embedded database in ${dir} is already open in this process (pid ${process.pid}). Share one checkpointer instance, or end() the first before opening it again.`,
    );
  }
  if (!holder) {
    return new CheckpointerError(
      "DATA_DIR_LOCKED",
      `The embedded database in ${dir} is locked by another process (the lock file ${lockPath} is being written or is unreadable; it counts as stale ${STALE_MS / 1000} s after its last change). ${fix}`,
    );
  }
  const who = `pid ${holder.pid} on host ${holder.hostname}, started ${holder.startedAt}: ${holder.command}`;
  const foreign = how.foreign
    ? ` That process is on another host or in another container, so its pid cannot be checked from here; its lock counts as stale ${STALE_MS / 1000} s after its last heartbeat (${Math.round((how.ageMs ?? 0) / 1000)} s ago), or delete ${lockPath} once you are sure it is gone.`
    : "";
  return new CheckpointerError(
    "DATA_DIR_LOCKED",
    `The embedded database in ${dir} is in use by another process (${who}). The embedded database (PGlite) allows one process per data directory: a second one would lose acknowledged checkpoints. ${fix}${foreign}`,
  );
}

/** Creates `path` holding `body`; false if it exists. A reader may briefly see it empty. */
function createExclusive(path: string, body: string): boolean {
  try {
    writeFileSync(path, body, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

function ownRecord(command: string): LockRecord {
  const scope = ownScope();
  return {
    pid: process.pid,
    hostname: scope.hostname,
    startedAt: new Date().toISOString(),
    command,
    token: randomBytes(8).toString("hex"),
    ...(scope.bootId ? { bootId: scope.bootId } : {}),
    ...(scope.pidNamespace ? { pidNamespace: scope.pidNamespace } : {}),
    ...(scope.processStart ? { processStart: scope.processStart } : {}),
  };
}

let scopeCache: Pick<LockRecord, "hostname" | "bootId" | "pidNamespace" | "processStart">;
function ownScope() {
  scopeCache ??= {
    hostname: hostname(),
    bootId: quietly(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim()),
    pidNamespace: quietly(() => readlinkSync("/proc/self/ns/pid")),
    processStart: processStart(process.pid),
  };
  return scopeCache;
}

/** Field 22 of /proc/<pid>/stat (after the parenthesised command name, which may hold spaces). */
function processStart(pid: number): string | undefined {
  return quietly(() => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  });
}

/** This process's argv, shortened, as a refused opener sees it. */
export function commandLine(): string {
  const [exe = "node", ...args] = process.argv;
  const text = [basename(exe), ...args].join(" ");
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

function parse(raw: string): LockRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockRecord>;
    if (typeof value?.pid === "number" && typeof value.hostname === "string")
      return value as LockRecord;
  } catch {
    // falls through: not a lock record
  }
  return undefined;
}

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

function mtimeMs(path: string): number {
  return quietly(() => statSync(path).mtimeMs) ?? Date.now();
}

function readOrUndefined(path: string): string | undefined {
  return quietly(() => readFileSync(path, "utf8"));
}

function unlinkQuietly(path: string): void {
  quietly(() => unlinkSync(path));
}

function quietly<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

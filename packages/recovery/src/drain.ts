// Graceful drain of durable runs: one RunControl per run and, when asked (`drainOn`), process
// signal handlers that stop every such run at its next superstep boundary and then let the
// signal end the process as it would have.
import { RunControl } from "@langchain/langgraph";
import { RecoveryError } from "./errors.js";
import { parseDuration } from "./util.js";

/** Drain options of `runDurably` / `streamDurably` (off unless given). */
export interface DrainOptions {
  /**
   * The run's control: `control.requestDrain(reason)` stops it at the next superstep boundary.
   * Taken from `config.control` if set there; else a new one.
   */
  control?: RunControl;
  /**
   * Signals on which this process drains its durable runs, e.g. `["SIGTERM", "SIGINT"]`. While
   * such a run is active the signal no longer ends the process at once: runs stop at their next
   * superstep boundary (the caller gets RecoveryError `DRAINED`), then, unless the app listens to
   * that signal itself, the signal is raised again and ends the process as it would have.
   * @default [] (library use: signals are the app's business)
   */
  drainOn?: NodeJS.Signals[];
  /**
   * How long a drain waits for runs to reach a boundary (seconds, or "25s"). Runs still busy
   * then (a tool that never returns) are not aborted: their lease is no longer renewed, the
   * signal is raised again, and a worker recovers them as crashed once the lease expires.
   * Default: under Kubernetes' 30 s termination grace period, so the drain ends before SIGKILL.
   * @default 25
   */
  drainTimeout?: number | string;
}

interface Entry {
  control: RunControl;
  timeoutMs: number;
  /** Called if the drain timed out while this run was still busy. */
  onTimeout: () => void;
}

interface SignalState {
  listener: () => void;
  entries: Set<Entry>;
  draining: boolean;
  timer?: NodeJS.Timeout;
}

const signals = new Map<NodeJS.Signals, SignalState>();

/** Resolves the control and drain timeout of a run; validates `drainOn`. */
export function drainSettings(
  options: DrainOptions,
  configControl: unknown,
): { control: RunControl; timeoutMs: number; drainOn: NodeJS.Signals[] } {
  const control =
    options.control ??
    (typeof (configControl as RunControl | undefined)?.requestDrain === "function"
      ? (configControl as RunControl)
      : new RunControl());
  const drainOn = options.drainOn ?? [];
  for (const s of drainOn) {
    if (typeof s !== "string" || !/^SIG[A-Z0-9]+$/.test(s) || s === "SIGKILL" || s === "SIGSTOP") {
      throw new RecoveryError(
        "INVALID_CONFIG",
        `drainOn must list catchable signal names such as "SIGTERM" or "SIGINT", got ${JSON.stringify(s)}.`,
      );
    }
  }
  let seconds: number;
  try {
    seconds = parseDuration(options.drainTimeout ?? 25);
  } catch (cause) {
    throw new RecoveryError("INVALID_CONFIG", `drainTimeout: ${(cause as Error).message}`);
  }
  return { control, timeoutMs: seconds * 1000, drainOn };
}

/**
 * Drains `control` when one of `on` arrives. Returns the function to call when the run ended.
 * A run registered after the signal arrived is drained at once (the process is shutting down).
 */
export function drainOnSignals(
  on: NodeJS.Signals[],
  control: RunControl,
  timeoutMs: number,
  onTimeout: () => void,
): () => void {
  if (on.length === 0) return () => {};
  const entry: Entry = { control, timeoutMs, onTimeout };
  for (const sig of on) {
    let state = signals.get(sig);
    if (!state) {
      const created: SignalState = {
        entries: new Set(),
        draining: false,
        listener: () => startDrain(sig, created),
      };
      state = created;
      signals.set(sig, state);
      process.on(sig, state.listener);
    }
    state.entries.add(entry);
    if (state.draining) control.requestDrain(sig);
  }
  return () => {
    for (const sig of on) {
      const state = signals.get(sig);
      if (!state) continue;
      state.entries.delete(entry);
      if (state.entries.size === 0) endDrain(sig, state);
    }
  };
}

function startDrain(sig: NodeJS.Signals, state: SignalState): void {
  if (state.draining) return;
  state.draining = true;
  let longest = 0;
  for (const e of state.entries) {
    e.control.requestDrain(sig);
    longest = Math.max(longest, e.timeoutMs);
  }
  state.timer = setTimeout(() => {
    for (const e of state.entries) e.onTimeout();
    endDrain(sig, state);
  }, longest);
}

/** Removes the handler; after a drain, raises the signal again unless the app handles it. */
function endDrain(sig: NodeJS.Signals, state: SignalState): void {
  clearTimeout(state.timer);
  process.removeListener(sig, state.listener);
  signals.delete(sig);
  if (!state.draining) return;
  // Let the callers' catch blocks run first; then behave as if we had never caught the signal.
  setImmediate(() => {
    if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
  });
}

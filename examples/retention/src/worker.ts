// Retention on a timer inside a long-running process (instead of cron): a pass now, then one
// every `everyMs`, never two at once.
import { type RetentionOptions, type RetentionReport, runRetention } from "./retention.js";

export interface RetentionWorkerOptions extends RetentionOptions {
  /** Time between the end of one pass and the start of the next. */
  everyMs: number;
  /** Called after each pass (e.g. to export metrics). */
  onRun?: (report: RetentionReport) => void;
  /** Called when a pass fails; the next one runs on schedule anyway. @default console.error */
  onError?: (error: unknown) => void;
}

export interface RetentionWorker {
  /** Stops the timer and waits for a pass in progress. */
  stop(): Promise<void>;
}

export function startRetentionWorker(options: RetentionWorkerOptions): RetentionWorker {
  const { everyMs, onRun, onError = console.error, ...retention } = options;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const pass = () => {
    running = runRetention(retention)
      .then((report) => onRun?.(report))
      .catch(onError)
      .finally(() => {
        running = undefined;
        // setTimeout after the pass, not setInterval: a slow pass never overlaps the next.
        if (!stopped) timer = setTimeout(pass, everyMs);
      });
  };
  pass();

  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

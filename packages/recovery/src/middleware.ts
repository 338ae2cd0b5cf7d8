// Recovery inside the app's own process: withRecovery() wraps a graph's stream so a transient
// failure mid-run is retried from the last checkpoint with backoff, and
// createErrorRecoveryMiddleware() is the in-node layer for createAgent (transient errors only).
import type { RunnableConfig } from "@langchain/core/runnables";
import type { ErrorKind } from "./classify.js";
import { defaultErrorKind } from "./classify.js";
import { streamDurably } from "./durable.js";
import { errorCode, isFenced } from "./errors.js";
import { type RecoverableGraph, resolveGraph } from "./graph.js";
import { backoffMs } from "./ledger/backoff.js";
import { type RecoveryOptions, resolveRecoveryOptions } from "./options.js";
import type { DurableConfig } from "./types.js";

/** Options of withRecovery(): the shared recovery options plus the stream-level retry budget. */
export interface WithRecoveryOptions extends RecoveryOptions {
  /** Resumes from the checkpoint after a failure, per stream() call. @default 3 */
  maxRetries?: number;
  /** Run each attempt under a lease (runDurably semantics) instead of a plain stream. @default false */
  durable?: boolean;
  /** Told about each retry (error, attempt number, delay). */
  onRetry?: (info: { error: unknown; attempt: number; delayMs: number }) => void;
}

type Streamable = RecoverableGraph & {
  stream(input: unknown, options?: Record<string, unknown>): Promise<AsyncIterable<unknown>>;
};

/**
 * Wraps `agent.stream()` (or a compiled graph's) so that a failure in the middle — a dropped
 * database connection, a transient model error that escaped the node — is retried from the last
 * checkpoint with backoff while the caller's `for await` simply continues. Permanent errors,
 * interrupts and lost leases surface unchanged. The returned object is the agent itself with
 * `stream` and `invoke` replaced.
 */
export function withRecovery<T extends Streamable>(agent: T, options: WithRecoveryOptions = {}): T {
  const o = resolveRecoveryOptions(options);
  const maxRetries = options.maxRetries ?? 3;
  const handle = resolveGraph(agent);
  const classify = (e: unknown): ErrorKind => (isFenced(e) ? "permanent" : o.classifyError(e));

  async function* recovering(input: unknown, config: DurableConfig): AsyncGenerator<unknown> {
    const threadConfig = { configurable: { ...config.configurable } } as RunnableConfig;
    // If the input never reached a checkpoint, a retry must send it again, not resume with null.
    const headBefore = await headOf(threadConfig);
    let next = input;
    for (let attempt = 0; ; attempt += 1) {
      try {
        const stream = options.durable
          ? await streamDurably(agent, next, config, options)
          : await agent.stream(next, { ...config, durability: config.durability ?? o.durability });
        for await (const chunk of stream) yield chunk;
        return;
      } catch (error) {
        if (
          attempt >= maxRetries ||
          classify(error) !== "transient" ||
          errorCode(error) === "LEASE_HELD"
        ) {
          throw error;
        }
        const delayMs = backoffMs(o, attempt + 1);
        options.onRetry?.({ error, attempt: attempt + 1, delayMs });
        await new Promise((r) => setTimeout(r, delayMs));
        const head = await headOf(threadConfig).catch(() => headBefore);
        next = head !== headBefore ? null : input;
      }
    }
  }

  async function headOf(config: RunnableConfig): Promise<string | undefined> {
    const tuple = await handle.saver.getTuple(config);
    return tuple?.checkpoint.id;
  }

  const stream = async (input: unknown, config: DurableConfig = {}) => recovering(input, config);
  const invoke = async (input: unknown, config: DurableConfig = {}) => {
    let last: unknown;
    for await (const chunk of recovering(input, { ...config, streamMode: "values" })) last = chunk;
    return last;
  };
  return new Proxy(agent, {
    get(target, prop, receiver) {
      if (prop === "stream") return stream;
      if (prop === "invoke") return invoke;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/**
 * A langchain `AgentMiddleware`, typed by what it must have so this package's public types do not
 * import the optional peer `langchain` (an app without it must type-check with skipLibCheck off).
 * `createAgent({ middleware })` accepts it as is.
 */
export interface RecoveryMiddleware {
  readonly name: string;
}

/** Options of createErrorRecoveryMiddleware(). */
export interface ErrorRecoveryMiddlewareOptions {
  /** Retries inside the model node. @default 2 */
  modelRetries?: number;
  /** Retries inside the tools node, for a tool that threw (right when a throw means no effect happened). @default 2 */
  toolRetries?: number;
  /** Tools (or names) whose calls may be retried in-node. @default every tool */
  tools?: Array<string | { name: string }>;
  /** @default 1000 */
  initialDelayMs?: number;
  /** Which errors are retried. @default defaultErrorKind(e) === "transient" */
  retryOn?: (error: Error) => boolean;
}

/**
 * The in-node layer for `createAgent({ middleware })`: langchain's own modelRetryMiddleware and
 * toolRetryMiddleware, set to retry only transient errors and to re-raise when they give up
 * (`onFailure: "error"`), so the stream-level layer (withRecovery) and the sweep see the error.
 * Async because `langchain` is an optional peer dependency, loaded only here.
 */
export async function createErrorRecoveryMiddleware(
  options: ErrorRecoveryMiddlewareOptions = {},
): Promise<RecoveryMiddleware[]> {
  const { modelRetryMiddleware, toolRetryMiddleware } = await import("langchain");
  const retryOn = options.retryOn ?? ((e: Error) => defaultErrorKind(e) === "transient");
  const common = {
    retryOn,
    initialDelayMs: options.initialDelayMs ?? 1000,
    onFailure: "error" as const,
  };
  return [
    modelRetryMiddleware({ ...common, maxRetries: options.modelRetries ?? 2 }),
    toolRetryMiddleware({
      ...common,
      maxRetries: options.toolRetries ?? 2,
      ...(options.tools
        ? { tools: options.tools.map((t) => (typeof t === "string" ? t : t.name)) }
        : {}),
    }),
  ];
}

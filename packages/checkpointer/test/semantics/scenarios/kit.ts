// Shared pieces of the scenario graphs: small states, node factories, reducers.
import { Annotation } from "@langchain/langgraph";

/** Appends: the reducer most graphs use for a visible trace of what ran. */
export const append = <T>() =>
  Annotation<T[]>({
    reducer: (a, b) => [...a, ...(Array.isArray(b) ? b : [b])],
    default: () => [],
  });

/** `log` (which nodes ran, in order) and a last-value `n`. */
export const LogState = Annotation.Root({
  log: append<string>(),
  n: Annotation<number>({ reducer: (_a, b) => b, default: () => 0 }),
});
export type Log = typeof LogState.State;

/** A node that logs its name and bumps n. */
export const mark = (name: string) => (s: Log) => ({ log: [name], n: s.n + 1 });

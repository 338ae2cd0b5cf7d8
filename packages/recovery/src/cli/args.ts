// Argument parsers of the CLI (integers, durations, repeatable flags) and `action`, which runs a
// command with a connection and turns its result into the exit code.
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { parseDuration } from "../util.js";
import type { Access, Context } from "./context.js";

export const int = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new InvalidArgumentError(`${name} must be a non-negative integer.`);
  return n;
};
export const duration = (v: string) => {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
};
export const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * Runs an action with a connection and closes it; the action returns the exit code. `check`
 * validates the arguments first, so a usage error never waits for a database. `access` says
 * whether the command only reads (the default), writes, or migrates (see openContext).
 */
export function action<A extends unknown[]>(
  fn: (ctx: Context, ...args: A) => Promise<number>,
  check?: (...args: A) => void,
  access: Access | ((...args: A) => Access) = "read",
) {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const own = args.slice(0, -1) as A;
    check?.(...own);
    // Loaded here, not at the top: `agentstate --help` must not load database or graph code.
    const { openContext } = await import("./context.js");
    const ctx = await openContext(cmd, typeof access === "function" ? access(...own) : access);
    try {
      process.exitCode = await fn(ctx, ...(args.slice(0, -1) as A));
    } finally {
      await ctx.close();
    }
  };
}

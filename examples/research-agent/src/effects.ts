import { appendFileSync, existsSync, readFileSync } from "node:fs";

/**
 * The side-effect counter: every tool execution appends a line here (started, then done), from
 * whichever process runs it. Reading it back shows what ran, and how often, across crashes.
 */
export interface EffectLine {
  tool: string;
  callId: string;
  phase: "started" | "done";
  pid: number;
}

export function recordEffect(file: string | undefined, line: Omit<EffectLine, "pid">): void {
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ ...line, pid: process.pid })}\n`);
}

export function readEffects(file: string): EffectLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EffectLine);
}

/** Per tool call: how many times it started and how many times its effect completed. */
export function countEffects(lines: EffectLine[]) {
  const byCall = new Map<
    string,
    { tool: string; started: number; done: number; pids: Set<number> }
  >();
  for (const l of lines) {
    const c = byCall.get(l.callId) ?? {
      tool: l.tool,
      started: 0,
      done: 0,
      pids: new Set<number>(),
    };
    c[l.phase] += 1;
    c.pids.add(l.pid);
    byCall.set(l.callId, c);
  }
  return byCall;
}

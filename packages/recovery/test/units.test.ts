import { CheckpointerError } from "@agentstate/checkpointer";
import { parseGraphSpec } from "../src/cli/graphs.js";
import { mask } from "../src/cli/output.js";
import {
  backoffMs,
  defaultErrorKind,
  parseDuration,
  resolveRecoveryOptions,
} from "../src/index.js";

describe("options", () => {
  it("has documented defaults and rejects nonsense", () => {
    const o = resolveRecoveryOptions();
    expect(o).toMatchObject({
      leaseSeconds: 30,
      heartbeatMs: 10_000,
      graceSeconds: 300,
      maxAttempts: 5,
      inFlightTools: "review",
      durability: "sync",
      force: false,
    });
    expect(o.owner).toMatch(/:\d+:[0-9a-f]{6}$/);
    expect(() => resolveRecoveryOptions({ leaseSeconds: 0 })).toThrow(/leaseSeconds/);
    expect(() => resolveRecoveryOptions({ maxAttempts: 1.5 })).toThrow(/maxAttempts/);
    expect(() => resolveRecoveryOptions({ jitter: 1 })).toThrow(/jitter/);
    expect(() => resolveRecoveryOptions({ inFlightTools: "maybe" as never })).toThrow(
      /inFlightTools/,
    );
  });

  it("backoff grows exponentially, is capped, and jitters within bounds", () => {
    const o = resolveRecoveryOptions({
      backoffInitialMs: 100,
      backoffFactor: 2,
      backoffMaxMs: 1000,
      jitter: 0,
    });
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffMs(o, a))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    const j = resolveRecoveryOptions({ backoffInitialMs: 1000, jitter: 0.2 });
    const samples = Array.from({ length: 200 }, () => backoffMs(j, 1));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...samples)).toBeLessThanOrEqual(1200);
    expect(new Set(samples).size).toBeGreaterThan(10);
  });

  it("parses durations", () => {
    expect(parseDuration("90")).toBe(90);
    expect(parseDuration("10m")).toBe(600);
    expect(parseDuration("2h")).toBe(7200);
    expect(parseDuration("1d")).toBe(86400);
    expect(parseDuration(5)).toBe(5);
    expect(() => parseDuration("soon")).toThrow(/Invalid duration/);
  });
});

describe("error classification", () => {
  it("treats connection loss, 429/5xx and timeouts as transient, the rest as permanent", () => {
    expect(defaultErrorKind(Object.assign(new Error("x"), { code: "ECONNRESET" }))).toBe(
      "transient",
    );
    expect(defaultErrorKind(new CheckpointerError("CONNECTION_LOST", "lost"))).toBe("transient");
    // By code, not by wording: the statement was cancelled and had no effect.
    expect(defaultErrorKind(new CheckpointerError("TIMEOUT", "cancelled"))).toBe("transient");
    expect(defaultErrorKind(Object.assign(new Error("slow down"), { status: 429 }))).toBe(
      "transient",
    );
    expect(defaultErrorKind(Object.assign(new Error("x"), { statusCode: 502 }))).toBe("transient");
    expect(defaultErrorKind({ name: "Error", message: "Request timed out" })).toBe("transient");
    expect(defaultErrorKind(new Error("wrapped", { cause: { status: 503 } }))).toBe("transient");
    expect(defaultErrorKind(new TypeError("x is not a function"))).toBe("permanent");
    expect(defaultErrorKind(Object.assign(new Error("bad request"), { status: 400 }))).toBe(
      "permanent",
    );
    expect(defaultErrorKind(new CheckpointerError("FENCED", "taken over"))).toBe("permanent");
  });
});

describe("CLI helpers", () => {
  it("parses graph specs like langgraph.json", () => {
    expect(parseGraphSpec("./src/agent.ts:graph", "/app")).toEqual({
      id: "graph",
      file: "/app/src/agent.ts",
      exportName: "graph",
    });
    expect(parseGraphSpec("support=./src/support.mjs:makeGraph", "/app")).toEqual({
      id: "support",
      file: "/app/src/support.mjs",
      exportName: "makeGraph",
    });
    expect(parseGraphSpec("/abs/agent.js", "/app", "agent")).toEqual({
      id: "agent",
      file: "/abs/agent.js",
      exportName: "graph",
    });
  });

  it("masks passwords in URLs and key=value strings, everywhere in a text", () => {
    const text = "a postgres://u:p1@h/db and postgresql://v:p2@h/db; host=h password=p3";
    const masked = mask(text);
    expect(masked).not.toMatch(/p1|p2|p3/);
    expect(masked).toContain("u:***@");
    expect(masked).toContain("v:***@");
  });
});

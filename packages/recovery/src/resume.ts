// What a durable run records in its ledger row so a resume by another process runs it the same
// way: the config it was started with (recursion limit, durability, the app's resumable
// configurable keys) and, until its first checkpoint exists, its input.
import type { SerializerProtocol } from "@langchain/langgraph-checkpoint";
import { RecoveryError } from "./errors.js";
import { threadConfig } from "./graph.js";
import type { DurableConfig, ResumeRecord } from "./types.js";

/** Inputs larger than this (serialized) are not stored; a run that dies before its first checkpoint is then dead. */
export const MAX_STORED_INPUT_BYTES = 256 * 1024;

function jsonValue(key: string, value: unknown): unknown {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch {
    text = undefined;
  }
  if (text === undefined || JSON.stringify(JSON.parse(text)) !== text) {
    throw new RecoveryError(
      "INVALID_ARGUMENT",
      `configurable.${key} is listed in resumableConfigKeys but is not plain JSON; a resume in another process could not pass it again. Pass a JSON value or drop the key from resumableConfigKeys.`,
    );
  }
  return JSON.parse(text);
}

/** What to store for a run started with `config` and `input`. */
export async function resumeRecord(
  config: DurableConfig,
  input: unknown,
  keys: readonly string[],
  durability: "sync" | "async" | "exit",
  serde: SerializerProtocol,
): Promise<ResumeRecord> {
  const stored: NonNullable<ResumeRecord["config"]> = {
    durability: config.durability ?? durability,
  };
  if (typeof config.recursionLimit === "number") stored.recursionLimit = config.recursionLimit;
  const configurable: Record<string, unknown> = {};
  for (const key of keys) {
    const value = config.configurable?.[key];
    if (value !== undefined) configurable[key] = jsonValue(key, value);
  }
  if (Object.keys(configurable).length > 0) stored.configurable = configurable;
  const record: ResumeRecord = { config: stored };
  if (input !== null && input !== undefined) record.input = await storedInput(input, serde);
  return record;
}

async function storedInput(
  input: unknown,
  serde: SerializerProtocol,
): Promise<ResumeRecord["input"]> {
  let dumped: [string, Uint8Array | string];
  try {
    dumped = await serde.dumpsTyped(input);
  } catch (error) {
    return {
      skipped: `not serializable: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const bytes = typeof dumped[1] === "string" ? Buffer.from(dumped[1]) : Buffer.from(dumped[1]);
  if (bytes.length > MAX_STORED_INPUT_BYTES) {
    return { skipped: `${bytes.length} bytes, over the ${MAX_STORED_INPUT_BYTES}-byte limit` };
  }
  return { type: dumped[0], data: bytes.toString("base64") };
}

/** The stream config of a resume: the thread, plus what the run was started with. */
export function resumeConfig(threadId: string, details: Record<string, unknown> | undefined) {
  const stored = (details as ResumeRecord | undefined)?.config;
  const base = threadConfig(threadId);
  return {
    ...(stored?.recursionLimit ? { recursionLimit: stored.recursionLimit } : {}),
    ...(stored?.durability ? { durability: stored.durability } : {}),
    configurable: { ...stored?.configurable, ...base.configurable },
  };
}

/** The stored input of a run that died before its first checkpoint, or why there is none. */
export async function loadStoredInput(
  details: Record<string, unknown> | undefined,
  serde: SerializerProtocol,
): Promise<{ input: unknown } | { missing: string }> {
  const input = (details as ResumeRecord | undefined)?.input;
  if (!input) return { missing: "its input was not stored (it started before this version)" };
  if ("skipped" in input) return { missing: `its input was not stored (${input.skipped})` };
  return { input: await serde.loadsTyped(input.type, Buffer.from(input.data, "base64")) };
}

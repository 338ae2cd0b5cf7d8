/**
 * JSONB cannot hold U+0000 in a string, so the official saver's insert fails on it. We keep the
 * official column types and encode only the strings that need it, reversibly:
 * a string (or object key) that contains NUL, or that happens to start with the marker itself,
 * is stored as MARKER + the string with "\" doubled and NUL written as "\0".
 * Everything else is stored untouched, so ordinary data stays readable by the official saver.
 */
const MARKER = "\u0001agentstate:nul\u0001";
const MARKER_JSON = "\\u0001agentstate:nul\\u0001";

function encodeString(s: string): string {
  if (!s.includes("\u0000") && !s.startsWith(MARKER)) return s;
  return MARKER + s.replace(/\\/g, "\\\\").replaceAll("\u0000", "\\0");
}

function decodeString(s: string): string {
  if (!s.startsWith(MARKER)) return s;
  return s
    .slice(MARKER.length)
    .replace(/\\(\\|0)/g, (_, c: string) => (c === "0" ? "\u0000" : "\\"));
}

function walk(value: unknown, map: (s: string) => string): unknown {
  if (typeof value === "string") return map(value);
  if (Array.isArray(value)) return value.map((v) => walk(v, map));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[map(k)] = walk(v, map);
    return out;
  }
  return value;
}

/** JSON text → JSON text safe for a JSONB column. Untouched (same string) in the common case. */
export function toJsonbText(json: string): string {
  if (!json.includes("\\u0000") && !json.includes(MARKER_JSON)) return json;
  return JSON.stringify(walk(JSON.parse(json), encodeString));
}

/** JSONB text (as read back) → the original JSON text. */
export function fromJsonbText(json: string): string {
  if (!json.includes(MARKER_JSON)) return json;
  return JSON.stringify(walk(JSON.parse(json), decodeString));
}

/** Parsed JSONB value → original value. */
export function parseJsonb<T>(json: string): T {
  const parsed = JSON.parse(json) as T;
  return json.includes(MARKER_JSON) ? (walk(parsed, decodeString) as T) : parsed;
}

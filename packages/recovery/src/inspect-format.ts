// Short, bounded previews of checkpoint values for inspect/history/the dashboard: messages as
// role + content + tool calls, anything else as truncated JSON. Never throws on odd values.

/** A message as inspect reports it (from a LangChain message instance or its serialized forms). */
export interface MessageView {
  id: string | null;
  /** human, ai, tool, system, … */
  type: string;
  content: string;
  toolCalls: Array<{ id: string; name: string; args: unknown }>;
  toolCallId: string | null;
  /** For tool messages: the tool's name; "error" status is kept. */
  name: string | null;
  status: string | null;
}

export const PREVIEW_CHARS = 80;

/** Cuts `text` to `max` characters, marking the cut. */
export function truncate(text: string, max = PREVIEW_CHARS): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/** JSON for previews: bigints, cycles and functions do not throw. */
export function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    const text = JSON.stringify(value, (_k, v) => {
      if (typeof v === "bigint") return v.toString();
      if (typeof v === "function") return `[function ${v.name || "anonymous"}]`;
      if (v && typeof v === "object") {
        if (seen.has(v)) return "[circular]";
        seen.add(v);
      }
      return v;
    });
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

const TYPES: Record<string, string> = {
  HumanMessage: "human",
  AIMessage: "ai",
  AIMessageChunk: "ai",
  ToolMessage: "tool",
  SystemMessage: "system",
  FunctionMessage: "function",
  ChatMessage: "chat",
  RemoveMessage: "remove",
};

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        typeof part === "string"
          ? part
          : typeof (part as { text?: unknown })?.text === "string"
            ? (part as { text: string }).text
            : `[${(part as { type?: string })?.type ?? "part"}]`,
      )
      .join(" ");
  }
  return content === undefined || content === null ? "" : safeJson(content);
}

/** Reads a message from an instance, an `lc` constructor object, or a plain {role|type, content}. */
export function asMessage(value: unknown): MessageView | undefined {
  if (!value || typeof value !== "object") return undefined;
  const v = value as Record<string, any>;
  let type: string | undefined;
  let fields: Record<string, any> = v;
  if (typeof v.getType === "function" || typeof v._getType === "function") {
    try {
      type = typeof v.getType === "function" ? v.getType() : v._getType();
    } catch {
      type = undefined;
    }
  } else if (v.lc === 1 && v.type === "constructor" && Array.isArray(v.id)) {
    type = TYPES[String(v.id[v.id.length - 1])];
    fields = (v.kwargs as Record<string, any>) ?? {};
  } else if (typeof v.role === "string" && "content" in v) {
    type = v.role === "user" ? "human" : v.role === "assistant" ? "ai" : v.role;
  } else if (
    typeof v.type === "string" &&
    "content" in v &&
    Object.values(TYPES).includes(v.type)
  ) {
    type = v.type;
  }
  if (!type) return undefined;
  const calls = Array.isArray(fields.tool_calls) ? fields.tool_calls : [];
  return {
    id: typeof fields.id === "string" ? fields.id : null,
    type,
    content: contentText(fields.content),
    toolCalls: calls.map((c: Record<string, unknown>) => ({
      id: String(c?.id ?? ""),
      name: String(c?.name ?? ""),
      args: c?.args,
    })),
    toolCallId: typeof fields.tool_call_id === "string" ? fields.tool_call_id : null,
    name: typeof fields.name === "string" ? fields.name : null,
    status: typeof fields.status === "string" ? fields.status : null,
  };
}

/** The messages of a value that is a list of messages (or one message), else undefined. */
export function asMessages(value: unknown): MessageView[] | undefined {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) return Array.isArray(value) ? [] : undefined;
  const out: MessageView[] = [];
  for (const item of list) {
    const m = asMessage(item);
    if (!m) return undefined;
    out.push(m);
  }
  return out;
}

/** One message in one line: `ai → lookup {"q":"alpha"}`, `tool t0-lookup: result for alpha`. */
export function describeMessage(m: MessageView, max = PREVIEW_CHARS): string {
  if (m.type === "tool") {
    const err = m.status === "error" ? " (error)" : "";
    return truncate(`tool ${m.toolCallId ?? "?"}${err}: ${m.content}`, max);
  }
  const calls = m.toolCalls.length
    ? ` → ${m.toolCalls.map((c) => `${c.name}(${truncate(safeJson(c.args ?? {}), 30)})`).join(", ")}`
    : "";
  const text = m.content ? ` ${JSON.stringify(truncate(m.content, max))}` : "";
  return truncate(`${m.type}${text}${calls}`, max + 20);
}

/** A short preview of any channel value. */
export function preview(value: unknown, max = PREVIEW_CHARS): string {
  const messages = asMessages(value);
  if (messages && messages.length > 0) {
    const shown = messages.slice(0, 3).map((m) => describeMessage(m, Math.min(max, 60)));
    const more = messages.length > 3 ? ` (+${messages.length - 3} more)` : "";
    return `${messages.length === 1 ? "" : `${messages.length} messages: `}${shown.join("; ")}${more}`;
  }
  if (typeof value === "string") return JSON.stringify(truncate(value, max));
  if (value instanceof Error) return truncate(`${value.name}: ${value.message}`, max);
  return truncate(safeJson(value), max);
}

/** Error values as LangGraph stores them ({message, name}) or anything else, in one line. */
export function describeError(value: unknown): string {
  if (value && typeof value === "object" && "message" in value) {
    const e = value as { name?: unknown; message?: unknown };
    const name = typeof e.name === "string" && e.name !== "Error" ? `${e.name}: ` : "";
    return truncate(`${name}${String(e.message)}`, 200);
  }
  return truncate(typeof value === "string" ? value : safeJson(value), 200);
}

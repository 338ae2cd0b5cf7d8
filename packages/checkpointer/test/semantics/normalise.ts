// Turns what a scenario observed into plain data two savers can be compared on. Only what
// legitimately differs between runs is rewritten: ids (checkpoint, task, message, interrupt) become
// labels in first-seen order, timestamps a placeholder, channel versions their rank along the
// checkpoint's ancestry. Everything else is kept, so any other difference shows.
import { createHash } from "node:crypto";
import { BaseCheckpointSaver, type CheckpointTuple } from "@langchain/langgraph-checkpoint";

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-([0-9a-f])[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
/** Interrupt ids: XXH3-128 of the task's namespace. */
const HEX32 = /\b[0-9a-f]{32}\b/g;
/** deepagents' summarization session id: random per run, whatever the saver. */
const SESSION = /\bsession_[0-9a-f]{8}\b/g;
const TIME_KEYS = new Set(["ts", "createdAt", "timestamp", "created_at"]);
/** Long strings are compared by length and digest: a 5 MB diff helps nobody. */
const LONG = 4096;
/** Message fields that repeat other fields (lc_kwargs) or are class plumbing. */
const SKIP_KEYS = new Set(["lc_kwargs", "lc_serializable", "lc_namespace"]);

export class Normaliser {
  private readonly labels = new Map<string, string>();
  private readonly counts: Record<string, number> = {};
  /** Objects being walked: a cycle is written as "<cycle>" instead of recursing forever. */
  private readonly walking = new Set<object>();

  /** The stable label of one id, assigned on first sight. */
  label(raw: string, kind: string): string {
    let label = this.labels.get(raw);
    if (label === undefined) {
      this.counts[kind] = (this.counts[kind] ?? 0) + 1;
      label = `<${kind}${this.counts[kind]}>`;
      this.labels.set(raw, label);
    }
    return label;
  }

  text(s: string): unknown {
    if (s.length > LONG) {
      return { $string: s.length, sha256: createHash("sha256").update(s).digest("hex") };
    }
    const uuidKind = (v: string) => (v === "6" ? "cp" : v === "5" ? "task" : "id");
    return s
      .replace(UUID, (m, version: string) => this.label(m.toLowerCase(), uuidKind(version)))
      .replace(HEX32, (m) => this.label(m, "int"))
      .replace(SESSION, (m) => this.label(m, "session"));
  }

  value(v: unknown, key?: string): unknown {
    if (v === null || v === undefined) return v;
    if (typeof v === "string") return key && TIME_KEYS.has(key) ? "<time>" : this.text(v);
    if (typeof v === "number" || typeof v === "boolean") return v;
    if (typeof v === "bigint") return { $bigint: v.toString() };
    if (typeof v === "function") return "<function>";
    if (typeof v === "symbol") return String(v);
    // Internal configurables carry the saver itself (subgraph debug payloads): not state.
    if (v instanceof BaseCheckpointSaver) return "<checkpointer>";
    if (this.walking.has(v)) return "<cycle>";
    this.walking.add(v);
    try {
      return this.object(v, key);
    } finally {
      this.walking.delete(v);
    }
  }

  private object(v: object, key?: string): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v instanceof Date) {
      return key && TIME_KEYS.has(key) ? "<time>" : { $date: v.getTime() };
    }
    if (ArrayBuffer.isView(v)) {
      const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
      return {
        $bytes: v.constructor.name,
        value: this.text(Buffer.from(bytes).toString("base64")),
      };
    }
    if (v instanceof Map) return { $map: [...v.entries()].map((e) => this.value(e)) };
    if (v instanceof Set) return { $set: [...v].map((x) => this.value(x)) };
    if (v instanceof Error) {
      return { $error: v.name, message: this.text(v.message) };
    }
    const out: Record<string, unknown> = {};
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null) out.$class = proto?.constructor?.name;
    for (const k of Object.keys(v as object).sort()) {
      if (SKIP_KEYS.has(k)) continue;
      const x = (v as Record<string, unknown>)[k];
      if (x === undefined) continue;
      out[this.text(k) as string] = this.value(x, k);
    }
    return out;
  }

  /**
   * Raw checkpoint tuples of one thread: grouped by namespace (list() order across namespaces is
   * the saver's own choice), versions replaced by their rank along each checkpoint's ancestry.
   */
  tuples(all: CheckpointTuple[]): unknown[] {
    const byNs = new Map<string, CheckpointTuple[]>();
    for (const t of all) {
      const ns = t.config.configurable?.checkpoint_ns ?? "";
      byNs.set(ns, [...(byNs.get(ns) ?? []), t]);
    }
    // Root first: its pending writes label the task ids the other namespaces are named after.
    const root = { ns: "", checkpoints: this.chain(byNs.get("") ?? []) };
    byNs.delete("");
    const rest = [...byNs.entries()].map(([ns, list]) => ({ ns: this.text(ns) as string, list }));
    rest.sort((a, b) => (a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0));
    return [root, ...rest.map(({ ns, list }) => ({ ns, checkpoints: this.chain(list) }))];
  }

  private chain(list: CheckpointTuple[]): unknown[] {
    const sorted = [...list].sort((a, b) => (a.checkpoint.id < b.checkpoint.id ? 1 : -1));
    const byId = new Map(sorted.map((t) => [t.checkpoint.id, t]));
    return sorted.map((t) => {
      // Every version each channel had on the way to this checkpoint, oldest first.
      const seen: Record<string, Array<number | string>> = {};
      for (let c: CheckpointTuple | undefined = t; c; ) {
        for (const [ch, ver] of Object.entries(c.checkpoint.channel_versions)) {
          seen[ch] = [...(seen[ch] ?? []), ver];
        }
        const up: string | undefined = c.parentConfig?.configurable?.checkpoint_id;
        c = up ? byId.get(up) : undefined;
      }
      const rank = (ch: string, ver: number | string) => {
        const distinct = [...new Set(seen[ch] ?? [])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const i = distinct.indexOf(ver);
        return i < 0 ? `?${typeof ver}` : `v${i + 1}`;
      };
      const cp = t.checkpoint;
      const versions = Object.fromEntries(
        Object.entries(cp.channel_versions).map(([ch, ver]) => [ch, rank(ch, ver)]),
      );
      const seenBy = Object.fromEntries(
        Object.entries(cp.versions_seen).map(([node, vs]) => [
          node,
          Object.fromEntries(Object.entries(vs).map(([ch, ver]) => [ch, rank(ch, ver)])),
        ]),
      );
      const parentId = t.parentConfig?.configurable?.checkpoint_id;
      const parent = parentId ? byId.get(parentId)?.checkpoint.channel_versions : undefined;
      const values = Object.fromEntries(
        Object.entries(cp.channel_values).filter(
          ([ch, value]) =>
            // A channel with no version was never written: blob-table savers store nothing for
            // it and LangGraph rebuilds it from its default (MemorySaver keeps that default).
            ch in cp.channel_versions &&
            // A version keeps one value in the blob layout: a DeltaChannel snapshot taken when
            // the version was made is returned again by the checkpoints that did not change it,
            // where MemorySaver keeps each checkpoint as LangGraph handed it (without it).
            !(isDeltaSnapshot(value) && parent?.[ch] === cp.channel_versions[ch]),
        ),
      );
      const out = this.value({
        config: t.config,
        parentConfig: t.parentConfig,
        metadata: t.metadata,
        checkpoint: {
          ...cp,
          channel_values: values,
          channel_versions: versions,
          versions_seen: seenBy,
        },
        pendingWrites: t.pendingWrites,
      }) as { pendingWrites: Array<[string, ...unknown[]]> };
      out.pendingWrites = orderResumesById(out.pendingWrites);
      return out;
    });
  }
}

function isDeltaSnapshot(v: unknown): boolean {
  return (v as { lg_name?: string } | null)?.lg_name === "DeltaSnapshot";
}

/**
 * Resumes given as a map of interrupt ids are stored under the interrupt id with an empty task
 * path, so they sort by that id: random per run (it hashes task ids, which hash checkpoint ids),
 * for MemorySaver as much as for us. They are put in the order of their labels instead.
 */
function orderResumesById(writes: Array<[string, ...unknown[]]>): Array<[string, ...unknown[]]> {
  const byId = (w: [string, ...unknown[]]) => w[0].startsWith("<int");
  const sorted = writes.filter(byId).sort((a, b) => labelNumber(a[0]) - labelNumber(b[0]));
  return writes.map((w) => (byId(w) ? (sorted.shift() as [string, ...unknown[]]) : w));
}

const labelNumber = (label: string) => Number(/\d+/.exec(label)?.[0] ?? 0);

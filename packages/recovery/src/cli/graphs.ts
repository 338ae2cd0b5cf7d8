// Loading graphs the way langgraph.json names them (`id=path:export`), with tsx for .ts modules,
// and attaching the command's checkpointer to each.
import { existsSync, readFileSync } from "node:fs";
import { dirname, extname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import { RecoveryError } from "../errors.js";
import type { RecoverableGraph } from "../graph.js";

/** One graph to load: `id` plus `path:export`, as in langgraph.json's "graphs". */
export interface GraphSpec {
  id: string;
  file: string;
  exportName: string;
}

/**
 * Parses `path:export`, `id=path:export` or `path` (export "graph", then default).
 * Paths are resolved against `baseDir` (the langgraph.json directory, or the working directory).
 */
export function parseGraphSpec(spec: string, baseDir: string, fallbackId?: string): GraphSpec {
  let id = fallbackId;
  let rest = spec;
  const eq = spec.indexOf("=");
  if (eq > 0 && !spec.slice(0, eq).includes("/")) {
    id = spec.slice(0, eq);
    rest = spec.slice(eq + 1);
  }
  // The export separator is the last ":" that is not part of a Windows drive letter.
  const colon = rest.lastIndexOf(":");
  const hasExport = colon > 1;
  const path = hasExport ? rest.slice(0, colon) : rest;
  const exportName = hasExport ? rest.slice(colon + 1) : "graph";
  if (!path || !exportName) {
    throw new RecoveryError(
      "INVALID_ARGUMENT",
      `Bad graph spec "${spec}": expected path/to/file.ts:exportName.`,
    );
  }
  const file = isAbsolute(path) ? path : resolve(baseDir, path);
  return { id: id ?? exportName, file, exportName };
}

/** The "graphs" of a langgraph.json, resolved against its directory. */
export function readLanggraphJson(configPath: string): GraphSpec[] {
  let parsed: { graphs?: Record<string, string | { path?: string }> };
  try {
    parsed = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (cause) {
    throw new RecoveryError(
      "INVALID_CONFIG",
      `Cannot read ${configPath}: ${(cause as Error).message}`,
      { cause },
    );
  }
  const graphs = parsed.graphs ?? {};
  return Object.entries(graphs).map(([id, value]) => {
    const spec = typeof value === "string" ? value : value?.path;
    if (!spec)
      throw new RecoveryError("INVALID_CONFIG", `Graph "${id}" in ${configPath} has no path.`);
    return parseGraphSpec(spec, dirname(configPath), id);
  });
}

/** --graph flags win; else --config; else ./langgraph.json when present; else none. */
export function graphSpecs(
  flags: string[] | undefined,
  configPath: string | undefined,
  cwd: string,
): GraphSpec[] {
  if (flags && flags.length > 0) return flags.map((f) => parseGraphSpec(f, cwd));
  const path = configPath ? resolve(cwd, configPath) : resolve(cwd, "langgraph.json");
  if (configPath && !existsSync(path)) {
    throw new RecoveryError("INVALID_CONFIG", `Config file ${path} not found.`);
  }
  return existsSync(path) ? readLanggraphJson(path) : [];
}

const TS_EXTENSIONS = new Set([".ts", ".mts", ".cts", ".tsx"]);

async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!existsSync(file))
    throw new RecoveryError("GRAPH_LOAD_FAILED", `Graph module ${file} not found.`);
  if (TS_EXTENSIONS.has(extname(file))) {
    // tsx compiles TypeScript on the fly, scoped to this import (no global loader left behind).
    const { tsImport } = await import("tsx/esm/api");
    return tsImport(pathToFileURL(file).href, import.meta.url);
  }
  return import(pathToFileURL(file).href);
}

function looksLikeGraph(value: unknown): value is RecoverableGraph {
  const v = value as { getState?: unknown; graph?: { getState?: unknown } } | null;
  return (
    typeof v === "object" &&
    v !== null &&
    (typeof v.getState === "function" || typeof v.graph?.getState === "function")
  );
}

/**
 * Imports a graph module and returns its export: a compiled graph or agent, or a (sync or async)
 * factory returning one, called with an empty config like LangGraph's own server does. The
 * checkpointer is attached by setting `graph.checkpointer = saver`, replacing any other.
 */
export async function loadGraph(
  spec: GraphSpec,
  saver: PostgresCheckpointer,
): Promise<RecoverableGraph> {
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(spec.file);
  } catch (cause) {
    if (cause instanceof RecoveryError) throw cause;
    throw new RecoveryError(
      "GRAPH_LOAD_FAILED",
      `Could not import ${spec.file}: ${(cause as Error).message}`,
      { cause },
    );
  }
  let value = mod[spec.exportName] ?? (spec.exportName === "graph" ? mod.default : undefined);
  if (value === undefined) {
    throw new RecoveryError(
      "GRAPH_LOAD_FAILED",
      `${spec.file} has no export "${spec.exportName}" (exports: ${Object.keys(mod).join(", ") || "none"}).`,
    );
  }
  if (typeof value === "function" && !looksLikeGraph(value)) {
    value = await (value as (config: unknown) => unknown)({ configurable: {} });
  }
  if (!looksLikeGraph(value)) {
    throw new RecoveryError(
      "GRAPH_LOAD_FAILED",
      `${spec.file}:${spec.exportName} is not a compiled graph, an agent, or a function returning one.`,
    );
  }
  (value as { checkpointer?: unknown }).checkpointer = saver;
  return value;
}

export async function loadGraphs(
  specs: GraphSpec[],
  saver: PostgresCheckpointer,
): Promise<Record<string, RecoverableGraph>> {
  const out: Record<string, RecoverableGraph> = {};
  for (const spec of specs) {
    if (out[spec.id])
      throw new RecoveryError("INVALID_CONFIG", `Two graphs are named "${spec.id}".`);
    out[spec.id] = await loadGraph(spec, saver);
  }
  return out;
}

// `langchain` (createAgent) and `deepagents` are not dependencies of the checkpointer package; the
// composite-backend package has both. They are loaded from there (ESM entry points), sharing the
// one @langchain/core and @langchain/langgraph-checkpoint of the workspace.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HOST = resolve(dirname(fileURLToPath(import.meta.url)), "../../../composite-backend");

/** The ESM entry of `name` as installed for the composite-backend package. */
export async function importFromWorkspace(name: string): Promise<any> {
  const require = createRequire(join(HOST, "package.json"));
  const manifest = require.resolve(`${name}/package.json`);
  const { exports } = JSON.parse(readFileSync(manifest, "utf8"));
  const root = exports["."];
  const entry =
    typeof root === "string" ? root : (root.import?.default ?? root.import ?? root.default);
  return import(pathToFileURL(join(dirname(manifest), entry)).href);
}

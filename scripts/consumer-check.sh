#!/usr/bin/env bash
# Consumer check: packs the three packages, installs the tarballs with npm into a fresh app outside
# the workspace, type-checks the READMEs' usage strictly (skipLibCheck off, optional peers absent),
# runs durable graphs (Postgres and embedded) and the `agentstate` CLI from the install.
# Run by .ci/run after the tests; about 1.5–2 minutes.
#
#   bash scripts/consumer-check.sh   uses DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test)
#   CONSUMER_KEEP=1                  keep the temporary app (its path is printed)
#   CONSUMER_PEERS=latest            newest peers instead of the versions the workspace tests with
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
SCHEMA="consumer_$$_$(date +%s)"
PACKAGES=(checkpointer composite-backend recovery)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/agentstate-consumer.XXXXXX")"
APP="$WORK/app"
STARTED=$SECONDS
STEP=0

cleanup() {
  local code=$?
  if [ -f "$APP/node_modules/pg/package.json" ]; then
    (cd "$APP" && SCHEMA="$SCHEMA" node -e '
      const pg = require("pg");
      const c = new pg.Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: 3000 });
      c.connect().then(() => c.query(`DROP SCHEMA IF EXISTS "${process.env.SCHEMA}" CASCADE`))
        .catch(() => {}).finally(() => c.end().catch(() => {}));' >/dev/null 2>&1) || true
  fi
  if [ "${CONSUMER_KEEP:-0}" = "1" ]; then
    echo "consumer check: apps kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$code"
}
trap cleanup EXIT

# step <title> <command…>: runs the command with its output in a log; on failure prints the log's
# tail and stops, so CI shows which step broke and why.
step() {
  local title=$1
  shift
  STEP=$((STEP + 1))
  local log="$WORK/logs/$STEP.log" start=$SECONDS code=0
  mkdir -p "$WORK/logs"
  # In the background so `set -e` holds inside the step (it is off for a command left of `||`).
  "$@" >"$log" 2>&1 &
  wait $! || code=$?
  if [ "$code" -ne 0 ]; then
    echo "consumer check: FAIL at step $STEP: $title (exit $code)"
    echo "---- last 80 lines of its output:"
    tail -n 80 "$log" | sed 's/^/  | /'
    echo "----"
    exit 1
  fi
  echo "  ok  $title ($((SECONDS - start)) s)"
}

fail() {
  echo "$*" >&2
  return 1
}

case "$(realpath "$WORK")/" in
"$ROOT"/*) fail "consumer check: the temporary apps must be outside the workspace ($WORK)" ;;
esac
export DATABASE_URL
echo "consumer check: apps in $WORK, schema \"$SCHEMA\""

# --- 1. pack --------------------------------------------------------------------------------------
pack() {
  mkdir -p "$WORK/tarballs"
  for p in "${PACKAGES[@]}"; do
    # prepack builds dist/ (a fresh clone has none); pnpm rewrites workspace:* to versions.
    (cd "$ROOT/packages/$p" && pnpm pack --pack-destination "$WORK/tarballs")
  done
}
step "pnpm pack ${PACKAGES[*]}" pack

inspect_tarballs() {
  local tgz files manifest
  for tgz in "$WORK"/tarballs/*.tgz; do
    files="$(tar -tzf "$tgz")"
    for f in package/dist/index.js package/dist/index.d.ts package/LICENSE package/README.md; do
      grep -qx "$f" <<<"$files" || fail "$(basename "$tgz") lacks $f"
    done
    manifest="$(tar -xOzf "$tgz" package/package.json)"
    if grep -q '"workspace:' <<<"$manifest"; then fail "$(basename "$tgz") keeps workspace: ranges"; fi
    if grep -q '"engines"' <<<"$manifest"; then :; else fail "$(basename "$tgz") has no engines"; fi
  done
  files="$(tar -tzf "$WORK"/tarballs/agentstate-recovery-*.tgz)"
  grep -qx package/dist/cli/main.js <<<"$files" || fail "the recovery tarball lacks dist/cli/main.js"
}
step "tarballs carry dist, types, LICENSE, README, engines; no workspace: ranges" inspect_tarballs

# --- 2. install into fresh npm apps ---------------------------------------------------------------
# peer <name>: name@version the workspace tests with (newest with CONSUMER_PEERS=latest).
peer() {
  if [ "${CONSUMER_PEERS:-}" = "latest" ]; then
    echo "$1"
    return
  fi
  (cd "$ROOT" && node -e '
    const name = process.argv[1];
    for (const dir of ["packages/recovery", "packages/composite-backend", "packages/checkpointer", "."]) {
      const p = require(`./${dir}/package.json`);
      const v = p.devDependencies?.[name] ?? p.dependencies?.[name];
      if (v) { console.log(`${name}@${v}`); process.exit(0); }
    }
    console.log(name);' "$1")
}

# tarballs <short names…>: the tarballs of those packages and of the @agentstate ones they need.
tarballs() {
  node -e '
    const { execFileSync } = require("node:child_process");
    const { readdirSync } = require("node:fs");
    const [dir, ...names] = process.argv.slice(1);
    const byName = {};
    for (const f of readdirSync(dir).filter((f) => f.endsWith(".tgz"))) {
      const m = JSON.parse(execFileSync("tar", ["-xOzf", `${dir}/${f}`, "package/package.json"]));
      byName[m.name] = { file: `${dir}/${f}`, deps: Object.keys(m.dependencies ?? {}) };
    }
    const out = new Set();
    const visit = (n) => {
      if (out.has(n)) return;
      if (!byName[n]) throw new Error(`no tarball for ${n}`);
      out.add(n);
      for (const d of byName[n].deps) if (d.startsWith("@agentstate/")) visit(d);
    };
    for (const n of names) visit(`@agentstate/${n}`);
    for (const n of out) console.log(byName[n].file);' "$WORK/tarballs" "$@"
}

# new_app <dir> <our packages…> -- <peers…>: an npm app with a strict tsconfig (skipLibCheck off).
new_app() {
  local dir=$1 ours=() deps=() list name
  shift
  while [ "$1" != "--" ]; do
    ours+=("$1")
    shift
  done
  shift
  list="$(tarballs "${ours[@]}")"
  mapfile -t deps <<<"$list"
  for name in "$@" typescript @types/node; do deps+=("$(peer "$name")"); done
  mkdir -p "$dir/src"
  cd "$dir"
  printf '{ "name": "%s", "private": true, "type": "module" }\n' "$(basename "$dir")" >package.json
  cat >tsconfig.json <<'JSON'
{
  "compilerOptions": {
    "target": "ES2022",
    "module": "NodeNext",
    "moduleResolution": "NodeNext",
    // DOM: LangGraph's own declarations name fetch types (HeadersInit); tsc --init includes it.
    "lib": ["ES2023", "DOM"],
    "types": ["node"],
    "strict": true,
    "noUncheckedIndexedAccess": true,
    "skipLibCheck": false,
    "outDir": "dist",
    "rootDir": "src"
  },
  "include": ["src"]
}
JSON
  echo "npm install ${deps[*]}"
  npm install --no-audit --no-fund --loglevel=warn "${deps[@]}"
  npm ls --depth=0
}

# The READMEs' app: all three packages with deepagents, langchain and pg; prom-client left out on
# purpose (an optional peer: the types must not need it).
full_app() {
  new_app "$APP" checkpointer composite-backend recovery -- \
    @langchain/langgraph @langchain/core deepagents langchain pg
  [ -x node_modules/.bin/agentstate ] || fail "npm did not link the agentstate bin"
  [ ! -d node_modules/prom-client ] || fail "prom-client got installed: the check without it is void"
}
step "npm install the three tarballs and their peers" full_app

# --- 3. the apps' code: README usage, type-checked strictly ---------------------------------------
cat >"$APP/src/graph.ts" <<'TS'
// A two-step graph with typed state: run durably by main.ts, loaded from source by the CLI (tsx).
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

export const State = Annotation.Root({
  topic: Annotation<string>,
  notes: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

export const workflow = new StateGraph(State)
  .addNode("research", async (s) => ({ notes: [`researched ${s.topic}`] }))
  .addNode("write", async (s) => ({ notes: [`wrote ${s.notes.length} notes`] }))
  .addEdge(START, "research")
  .addEdge("research", "write")
  .addEdge("write", END);

export const graph = workflow.compile();
TS

cat >"$APP/src/readme-checkpointer.ts" <<'TS'
// packages/checkpointer/README.md "Use", "Operations" and "Metrics", as a stranger types them.
import {
  CheckpointerError,
  createMetrics,
  type GetCheckpointerOptions,
  getCheckpointer,
  PostgresCheckpointer,
} from "@agentstate/checkpointer";
import pg from "pg";
import { workflow } from "./graph.js";

type IsAny<T> = 0 extends 1 & T ? true : false;
// The pool option is a real pg.Pool (it was `any` for an app without @types/pg).
export const poolIsTyped: IsAny<NonNullable<GetCheckpointerOptions["pool"]>> = false;

export async function readmeCheckpointer(input: { topic: string }) {
  const checkpointer = await getCheckpointer();
  const graph = workflow.compile({ checkpointer });
  await graph.invoke(input, { configurable: { thread_id: "t-1" } });
  await checkpointer.end();

  const official = PostgresCheckpointer.fromConnString(process.env.DATABASE_URL!, {
    schema: "public",
  });
  await official.setup();
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
  const saver = new PostgresCheckpointer(pool, undefined, { schema: "agents" });
  await getCheckpointer({ pool, schema: "agents" });

  await saver.getCheckpointStats();
  const { threads, nextCursor } = await saver.listThreads({ limit: 100 });
  await saver.listThreads({ orderBy: "lastActivity", limit: 20 });
  await saver.listThreads({ inactiveSince: new Date(Date.now() - 864e5) });
  await saver.deleteThread("t-1");
  await saver.prune({ keepLatest: 20 });
  await saver.prune({ olderThan: new Date(Date.now() - 30 * 864e5) });
  await saver.prune({ keepLatest: 5, threadIds: ["t-2"], dryRun: true });
  try {
    await saver.copyThread("t-1", "t-1-fork");
  } catch (error) {
    if (!(error instanceof CheckpointerError && error.code === "THREAD_EXISTS")) throw error;
  }

  // Compiles without prom-client installed: the registry type is structural.
  const metrics = await createMetrics(saver);
  const contentType: string = metrics.registry.contentType;
  const text: string = await metrics.render();
  return { threads, nextCursor, contentType, text };
}
TS

cat >"$APP/src/readme-composite.ts" <<'TS'
// packages/composite-backend/README.md: the routed backend, the config form, createDeepAgent.
import type { PostgresCheckpointer } from "@agentstate/checkpointer";
import {
  BlobBackend,
  CompositeBackend,
  createCompositeBackend,
  NFSBackend,
  S3BlobStore,
  StateBackend,
} from "@agentstate/composite-backend";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { createDeepAgent } from "deepagents";

export function readmeComposite(model: BaseChatModel, checkpointer: PostgresCheckpointer) {
  const backend = new CompositeBackend(new StateBackend(), {
    "/projects/": new NFSBackend({ rootDir: "/mnt/projects" }),
    "/documents/": new NFSBackend({ rootDir: "/mnt/documents" }),
    "/uploads/": new BlobBackend({
      store: new S3BlobStore({ bucket: "agent-files", prefix: "uploads/" }),
    }),
  });
  const fromConfig = createCompositeBackend({
    routes: {
      "/projects/": { type: "nfs", rootDir: "/mnt/projects" },
      "/uploads/": { type: "s3", bucket: "agent-files", prefix: "uploads/", region: "eu-west-1" },
      "/shared/": {
        type: "azure",
        connectionString: process.env.AZURE_STORAGE!,
        container: "shared",
      },
      "/custom/": new NFSBackend({ rootDir: "/mnt/custom" }),
    },
  });
  const prefixes: string[] = fromConfig.routePrefixes;
  const agent = createDeepAgent({ model, backend, checkpointer });
  return { agent, prefixes };
}
TS

cat >"$APP/src/readme-recovery.ts" <<'TS'
// packages/recovery/README.md and the root README: createAgent, runDurably, withRecovery, sweeps.
import { getCheckpointer } from "@agentstate/checkpointer";
import {
  createErrorRecoveryMiddleware,
  RecoveryService,
  runDurably,
  withRecovery,
} from "@agentstate/recovery";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { HumanMessage } from "@langchain/core/messages";
import { createAgent } from "langchain";

type IsAny<T> = 0 extends 1 & T ? true : false;

export async function readmeRecovery(model: BaseChatModel, thread_id: string) {
  const checkpointer = await getCheckpointer();
  const agent = createAgent({
    model,
    tools: [],
    checkpointer,
    middleware: await createErrorRecoveryMiddleware(),
  });

  const final = await runDurably(
    agent,
    { messages: [new HumanMessage("hi")] },
    { configurable: { thread_id } },
  );
  // Typed from the agent (its messages), not unknown or any.
  const finalIsTyped: IsAny<typeof final> = false;
  const last = final.messages.at(-1)?.content;

  const resilient = withRecovery(agent, { durable: true });
  const stream = await resilient.stream(
    { messages: [new HumanMessage("again")] },
    { configurable: { thread_id } },
  );
  for await (const chunk of stream) void chunk;

  const service = new RecoveryService({ agent });
  const swept = await service.sweep();
  return { finalIsTyped, last, swept };
}
TS

cat >"$APP/src/main.ts" <<'TS'
// What the consumer app runs: a durable graph on Postgres, its classification and stats, the
// composite backend on two directories, and createMetrics failing cleanly without prom-client.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CheckpointerError, createMetrics, getCheckpointer } from "@agentstate/checkpointer";
import { CompositeBackend, NFSBackend } from "@agentstate/composite-backend";
import { checkStuckState, getRecoveryStats, runDurably } from "@agentstate/recovery";
import { workflow } from "./graph.js";

const checkpointer = await getCheckpointer({
  connectionString: process.env.DATABASE_URL!,
  schema: process.env.AGENTSTATE_SCHEMA!,
});
try {
  const graph = workflow.compile({ checkpointer });
  const config = { configurable: { thread_id: "consumer-1" } };
  const final = await runDurably(graph, { topic: "durable agents" }, config);
  const notes: string[] = final.notes; // typed from the graph's state
  assert.deepEqual(notes, ["researched durable agents", "wrote 1 notes"]);

  const state = await checkStuckState("consumer-1", graph);
  assert.equal(state.state, "completed", state.reason);
  const stats = await getRecoveryStats(checkpointer);
  assert.equal(stats.uniqueThreads, 1);
  assert.equal(stats.ledger.completed, 1);

  await assert.rejects(
    createMetrics(checkpointer),
    (e) => e instanceof CheckpointerError && e.code === "INVALID_CONFIG",
  );

  const dir = mkdtempSync(join(tmpdir(), "agentstate-consumer-files-"));
  try {
    for (const d of ["scratch", "projects"]) mkdirSync(join(dir, d));
    const backend = new CompositeBackend(new NFSBackend({ rootDir: join(dir, "scratch") }), {
      "/projects/": new NFSBackend({ rootDir: join(dir, "projects") }),
    });
    const written = await backend.write("/projects/acme/report.md", "# Acme\n");
    assert.equal(written.error, undefined);
    assert.equal(written.path, "/projects/acme/report.md");
    assert.equal(readFileSync(join(dir, "projects/acme/report.md"), "utf8"), "# Acme\n");
    const read = await backend.read("/projects/acme/report.md");
    assert.match(String(read.content), /# Acme/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ ok: true, notes, checkpoints: stats.totalCheckpoints }));
} finally {
  await checkpointer.end();
}
TS

cat >"$APP/src/embedded.ts" <<'TS'
// The zero-setup path: a typed StateGraph run durably on the embedded database (PGlite).
import assert from "node:assert/strict";
import { getCheckpointer } from "@agentstate/checkpointer";
import { checkStuckState, runDurably } from "@agentstate/recovery";
import { Annotation, END, START, StateGraph } from "@langchain/langgraph";

const State = Annotation.Root({ count: Annotation<number> });
const checkpointer = await getCheckpointer({ dataDir: ":memory:" });
const graph = new StateGraph(State)
  .addNode("inc", async (s) => ({ count: s.count + 1 }))
  .addEdge(START, "inc")
  .addEdge("inc", END)
  .compile({ checkpointer });
const final = await runDurably(graph, { count: 41 }, { configurable: { thread_id: "m-1" } });
const count: number = final.count; // typed from the graph's state
assert.equal(count, 42);
assert.equal((await checkStuckState("m-1", graph)).state, "completed");
await checkpointer.end();
console.log(JSON.stringify({ ok: true, count }));
TS

cd "$APP"
# npx --no: never fetch a same-named package from the registry; `--` keeps tsc's flags its own.
step "tsc strict, skipLibCheck off, no prom-client: README usage and the app" npx --no -- tsc -p .

# An optional peer must stay optional for the types too: no public .d.ts of ours may import one
# (an app without it would fail to compile with skipLibCheck off).
no_optional_peer_types() {
  node -e '
    const fs = require("node:fs");
    const path = require("node:path");
    let bad = 0;
    for (const name of fs.readdirSync("node_modules/@agentstate")) {
      const root = `node_modules/@agentstate/${name}`;
      const pkg = require(`./${root}/package.json`);
      const optional = Object.entries(pkg.peerDependenciesMeta ?? {})
        .filter(([, meta]) => meta.optional).map(([peer]) => peer);
      const files = fs.readdirSync(`${root}/dist`, { recursive: true })
        .filter((f) => String(f).endsWith(".d.ts"));
      for (const f of files) {
        const text = fs.readFileSync(path.join(root, "dist", String(f)), "utf8");
        for (const peer of optional) {
          const re = new RegExp(`(from |import\\()["\x27]${peer}(/[^"\x27]*)?["\x27]`);
          if (re.test(text)) { console.error(`${pkg.name}: dist/${f} imports its optional peer ${peer}`); bad++; }
        }
      }
      console.log(`${pkg.name}: optional peers [${optional.join(", ")}] not in ${files.length} .d.ts files`);
    }
    process.exit(bad ? 1 : 0);'
}
step "public types import no optional peer (prom-client, langchain)" no_optional_peer_types
step "app: runDurably on the embedded database" node dist/embedded.js

# --- 4. run against Postgres, then the CLI from the install ---------------------------------------
export AGENTSTATE_SCHEMA="$SCHEMA"
cli() { npx --no -- agentstate "$@" --database-url "$DATABASE_URL" --schema "$SCHEMA"; }

step "npx agentstate setup" cli setup
step "app: runDurably on Postgres, checkStuckState, stats, composite backend" node dist/main.js

check_stats() {
  cli stats --json >"$WORK/stats.json"
  cat "$WORK/stats.json"
  node -e '
    const s = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    if (s.uniqueThreads !== 1 || !(s.totalCheckpoints >= 3) || s.ledger?.completed !== 1) {
      console.error("stats do not show the one completed run");
      process.exit(1);
    }' "$WORK/stats.json"
}
step "npx agentstate stats --json shows the run" check_stats
step "npx agentstate doctor --graph ./src/graph.ts:graph (TypeScript via tsx)" \
  cli doctor --graph ./src/graph.ts:graph
step "npx agentstate stuck --graph ./dist/graph.js:graph: nothing stuck" \
  cli stuck --graph ./dist/graph.js:graph

echo "consumer check: ok in $((SECONDS - STARTED)) s"

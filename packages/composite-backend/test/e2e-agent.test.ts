import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getCheckpointer } from "@agentstate/checkpointer";
import {
  type AzuriteServer,
  type S3Server,
  startAzurite,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { inOrder, ScriptedChatModel } from "@agentstate/test-support/models";
import { DATABASE_URL, postgresReachable } from "@agentstate/test-support/postgres";
import { dropSchema, uniqueSchema } from "@agentstate/test-support/schema";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { BaseMessage, ToolMessage } from "@langchain/core/messages";
import { createDeepAgent } from "deepagents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AzureBlobStore,
  BlobBackend,
  CompositeBackend,
  NFSBackend,
  S3BlobStore,
  StateBackend,
} from "../src/index.js";

const pgUp = await postgresReachable();
const schema = uniqueSchema("composite_e2e");
const PDF = new Uint8Array(
  Buffer.from("%PDF-1.4\n%\u00e2\u00e3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "latin1"),
);

let s3: S3Server;
let azurite: AzuriteServer;
let projects: string;
let documents: string;

async function makeBackend() {
  return new CompositeBackend(new StateBackend(), {
    "/projects/": new NFSBackend({ rootDir: projects }),
    "/documents/": new NFSBackend({ rootDir: documents }),
    "/uploads/": new BlobBackend({
      store: new S3BlobStore({ bucket: s3.bucket, prefix: "uploads/", client: s3.client() }),
    }),
    "/shared/": new BlobBackend({
      store: new AzureBlobStore({ containerClient: await azurite.container("shared") }),
    }),
  });
}

/** The thread's state values (deepagents' agent type resolves getState's result to never). */
async function stateOf(agent: unknown): Promise<{ files?: Record<string, unknown> }> {
  const graph = agent as {
    getState(config: object): Promise<{ values: { files?: Record<string, unknown> } }>;
  };
  return (await graph.getState({ configurable: { thread_id: "e2e-thread" } })).values;
}

const toolMessages = (messages: BaseMessage[]) =>
  messages.filter((message): message is ToolMessage => message.getType() === "tool");
const toolText = (messages: BaseMessage[], name: string) =>
  toolMessages(messages)
    .filter((message) => message.name === name)
    .map((message) =>
      typeof message.content === "string" ? message.content : JSON.stringify(message.content),
    );

beforeAll(async () => {
  [s3, azurite, projects, documents] = await Promise.all([
    startS3rver(),
    startAzurite(),
    mkdtemp(join(tmpdir(), "agentstate-e2e-projects-")),
    mkdtemp(join(tmpdir(), "agentstate-e2e-documents-")),
  ]);
});

afterAll(async () => {
  if (pgUp) await dropSchema(schema);
  await Promise.all([
    s3?.stop(),
    azurite?.stop(),
    rm(projects, { recursive: true, force: true }),
    rm(documents, { recursive: true, force: true }),
  ]);
});

describe.skipIf(!pgUp)(
  "createDeepAgent with the composite backend (scripted model, Postgres checkpoints)",
  () => {
    const config = { configurable: { thread_id: "e2e-thread" } };

    it("writes, reads, edits, lists, globs and greps across every route", async () => {
      const model = new ScriptedChatModel(
        inOrder([
          {
            tools: [
              {
                name: "write_file",
                args: {
                  file_path: "/projects/acme/report.md",
                  content: "# Acme\nquarterly revenue: 10\n",
                },
              },
              {
                name: "write_file",
                args: {
                  file_path: "/documents/policy.md",
                  content: "Policy v1\nquarterly review\n",
                },
              },
              {
                name: "write_file",
                args: {
                  file_path: "/uploads/report.pdf",
                  content: Buffer.from(PDF).toString("base64"),
                },
              },
              {
                name: "write_file",
                args: { file_path: "/shared/brief.md", content: "brief: quarterly draft\n" },
              },
              {
                name: "write_file",
                args: { file_path: "/scratch.txt", content: "scratch: quarterly todo\n" },
              },
            ],
          },
          {
            tools: [
              { name: "read_file", args: { file_path: "/projects/acme/report.md" } },
              {
                name: "edit_file",
                args: { file_path: "/documents/policy.md", old_string: "v1", new_string: "v2" },
              },
              {
                name: "edit_file",
                args: { file_path: "/shared/brief.md", old_string: "draft", new_string: "final" },
              },
              {
                name: "edit_file",
                args: { file_path: "/scratch.txt", old_string: "todo", new_string: "done" },
              },
              { name: "ls", args: { path: "/" } },
              { name: "glob", args: { pattern: "**/*.md" } },
              { name: "grep", args: { pattern: "quarterly", path: "/" } },
            ],
          },
          { text: "All done." },
        ]),
      );
      const checkpointer = await getCheckpointer({ connectionString: DATABASE_URL, schema });
      try {
        const agent = createDeepAgent({ model, backend: await makeBackend(), checkpointer });
        const result = await agent.invoke(
          { messages: [{ role: "user", content: "Organise the files." }] },
          config,
        );
        const messages = result.messages as BaseMessage[];

        expect(toolText(messages, "write_file")).toHaveLength(5);
        for (const text of toolText(messages, "write_file"))
          expect(text).toMatch(/^Successfully wrote to '/);
        expect(toolText(messages, "read_file")[0]).toContain("quarterly revenue: 10");
        expect(toolText(messages, "edit_file")).toEqual([
          "Successfully replaced 1 occurrence(s) in '/documents/policy.md'",
          "Successfully replaced 1 occurrence(s) in '/shared/brief.md'",
          "Successfully replaced 1 occurrence(s) in '/scratch.txt'",
        ]);
        const ls = toolText(messages, "ls")[0]!;
        for (const entry of [
          "/documents/ (directory)",
          "/projects/ (directory)",
          "/shared/ (directory)",
          "/uploads/ (directory)",
          "/scratch.txt",
        ]) {
          expect(ls).toContain(entry);
        }
        expect(toolText(messages, "glob")[0]!.split("\n").sort()).toEqual([
          "/documents/policy.md",
          "/projects/acme/report.md",
          "/shared/brief.md",
        ]);
        const grep = toolText(messages, "grep")[0]!;
        for (const hit of [
          "/scratch.txt",
          "/projects/acme/report.md",
          "/documents/policy.md",
          "/shared/brief.md",
        ]) {
          expect(grep).toContain(hit);
        }

        // Each file is where its route says: on disk, in the bucket, in the container, in state.
        expect(await readFile(join(projects, "acme/report.md"), "utf8")).toBe(
          "# Acme\nquarterly revenue: 10\n",
        );
        expect(await readFile(join(documents, "policy.md"), "utf8")).toBe(
          "Policy v2\nquarterly review\n",
        );
        const object = await s3
          .client()
          .send(new GetObjectCommand({ Bucket: s3.bucket, Key: "uploads/report.pdf" }));
        expect([...(await object.Body!.transformToByteArray())]).toEqual([...PDF]);
        const brief = await (await azurite.container("shared"))
          .getBlobClient("brief.md")
          .downloadToBuffer();
        expect(brief.toString()).toBe("brief: quarterly final\n");
        const files = (await stateOf(agent)).files as Record<string, { content: string }>;
        expect(Object.keys(files)).toEqual(["/scratch.txt"]);
        expect(files["/scratch.txt"]?.content).toBe("scratch: quarterly done\n");

        // The upload's write result carried a shareable URL; it serves the bytes over loopback.
        const pdfMessage = toolMessages(messages).find(
          (m) => m.name === "write_file" && String(m.content).includes("report.pdf"),
        );
        const url = (pdfMessage?.metadata as { shareableUrl?: string } | undefined)?.shareableUrl;
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
        const response = await fetch(url!);
        expect(response.status).toBe(200);
        expect([...new Uint8Array(await response.arrayBuffer())]).toEqual([...PDF]);
      } finally {
        await checkpointer.end();
      }
    });

    it("resumes the thread from its Postgres checkpoint and still sees the state-backed files", async () => {
      const model = new ScriptedChatModel(
        inOrder([
          {
            tools: [
              { name: "read_file", args: { file_path: "/scratch.txt" } },
              { name: "read_file", args: { file_path: "/documents/policy.md" } },
            ],
          },
          { text: "Resumed." },
        ]),
      );
      // A new saver (new pool) and a new agent: only Postgres carries the thread over.
      const checkpointer = await getCheckpointer({ connectionString: DATABASE_URL, schema });
      try {
        const agent = createDeepAgent({ model, backend: await makeBackend(), checkpointer });
        const before = { values: await stateOf(agent) };
        expect(Object.keys(before.values.files ?? {})).toEqual(["/scratch.txt"]);
        const result = await agent.invoke(
          { messages: [{ role: "user", content: "What did we do?" }] },
          config,
        );
        const reads = toolText(result.messages as BaseMessage[], "read_file");
        expect(reads.at(-2)).toContain("scratch: quarterly done");
        expect(reads.at(-1)).toContain("Policy v2");
        // The model saw the whole earlier conversation, restored from the checkpoint.
        expect(
          model.conversations[0]!.some(
            (message) => message.getType() === "human" && message.content === "Organise the files.",
          ),
        ).toBe(true);
      } finally {
        await checkpointer.end();
      }
    });
  },
);

import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { ContainerClient } from "@azure/storage-blob";
import { AzureBlobStore, BlobBackend, S3BlobStore } from "../src/index.js";
import type { Pair } from "./measure.js";

const TEXT = `${Array.from({ length: 200 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog`).join("\n")}\n`;
const BODY = new TextEncoder().encode(TEXT);
const GREP_OBJECTS = 20;

/** The same raw operations for either SDK, so both backends are compared like for like. */
interface RawSdk {
  get(key: string): Promise<{ text: string; etag: string }>;
  put(key: string, text: string, ifMatch?: string): Promise<void>;
  list(prefix: string, delimiter?: string): Promise<string[]>;
}

export function rawS3(client: S3Client, bucket: string): RawSdk {
  return {
    async get(key) {
      const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return { text: await response.Body!.transformToString(), etag: response.ETag ?? "" };
    },
    async put(key, text, ifMatch) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: text, IfMatch: ifMatch }),
      );
    },
    async list(prefix, delimiter) {
      const page = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: delimiter }),
      );
      return [
        ...(page.Contents ?? []).map((item) => item.Key!),
        ...(page.CommonPrefixes ?? []).map((item) => item.Prefix!),
      ];
    },
  };
}

export function rawAzure(container: ContainerClient): RawSdk {
  return {
    async get(key) {
      const response = await container.getBlobClient(key).download();
      const chunks: Buffer[] = [];
      for await (const chunk of response.readableStreamBody!) chunks.push(chunk as Buffer);
      return { text: Buffer.concat(chunks).toString("utf8"), etag: response.etag ?? "" };
    },
    async put(key, text, ifMatch) {
      await container
        .getBlockBlobClient(key)
        .upload(text, Buffer.byteLength(text), { conditions: { ifMatch } });
    },
    async list(prefix, delimiter) {
      const pages = delimiter
        ? container.listBlobsByHierarchy(delimiter, { prefix }).byPage({ maxPageSize: 1000 })
        : container.listBlobsFlat({ prefix }).byPage({ maxPageSize: 1000 });
      const { value } = await pages.next();
      const segment = value.segment as {
        blobItems: Array<{ name: string }>;
        blobPrefixes?: Array<{ name: string }>;
      };
      return [
        ...segment.blobItems.map((item) => item.name),
        ...(segment.blobPrefixes ?? []).map((item) => item.name),
      ];
    },
  };
}

export function s3Backend(client: S3Client, bucket: string): BlobBackend {
  return new BlobBackend({ store: new S3BlobStore({ bucket, prefix: "ours/", client }) });
}

export function azureBackend(container: ContainerClient): BlobBackend {
  return new BlobBackend({
    store: new AzureBlobStore({ containerClient: container, prefix: "ours/" }),
  });
}

/** Seeds identical data under raw/ and ours/ and returns the read/write/edit/ls/grep pairs. */
export async function blobPairs(raw: RawSdk, backend: BlobBackend): Promise<Pair[]> {
  await raw.put("raw/read.txt", TEXT);
  await backend.write("/read.txt", TEXT);
  for (let i = 0; i < GREP_OBJECTS; i++) {
    await raw.put(`raw/grep/g${i}.txt`, TEXT);
    await backend.write(`/grep/g${i}.txt`, TEXT);
  }
  let rawFlip = false;
  let oursFlip = false;
  return [
    { op: "read", raw: () => raw.get("raw/read.txt"), ours: () => backend.read("/read.txt") },
    {
      op: "write",
      raw: () => raw.put("raw/write.txt", TEXT),
      ours: () => backend.write("/write.txt", TEXT),
    },
    {
      op: "edit",
      raw: async () => {
        rawFlip = !rawFlip;
        const { text, etag } = await raw.get("raw/read.txt");
        const next = rawFlip
          ? text.replace("line 7:", "LINE 7:")
          : text.replace("LINE 7:", "line 7:");
        await raw.put("raw/read.txt", next, etag);
      },
      ours: () => {
        oursFlip = !oursFlip;
        return oursFlip
          ? backend.edit("/read.txt", "line 7:", "LINE 7:")
          : backend.edit("/read.txt", "LINE 7:", "line 7:");
      },
    },
    { op: "ls", raw: () => raw.list("raw/", "/"), ours: () => backend.ls("/") },
    {
      op: `grep (${GREP_OBJECTS} objects)`,
      raw: async () => {
        const keys = await raw.list("raw/grep/");
        let hits = 0;
        for (let i = 0; i < keys.length; i += 8) {
          const texts = await Promise.all(keys.slice(i, i + 8).map((key) => raw.get(key)));
          for (const { text } of texts)
            for (const line of text.split("\n")) if (line.includes("line 42:")) hits++;
        }
        return hits;
      },
      ours: () => backend.grep("line 42:", "/grep"),
    },
  ];
}

export { BODY };

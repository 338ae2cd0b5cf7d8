import { mkdirSync } from "node:fs";
import {
  BlobBackend,
  CompositeBackend,
  NFSBackend,
  S3BlobStore,
  StateBackend,
} from "@agentstate/composite-backend";
import { S3Client } from "@aws-sdk/client-s3";
import type { ResearchConfig } from "./config.js";

export interface ResearchBackend {
  backend: CompositeBackend;
  uploads: BlobBackend;
  close(): void;
}

/**
 * `/projects/` → the mounted directory (survives restarts), `/uploads/` → the bucket (shareable
 * URLs), everything else → graph state (checkpointed with the thread, gone with it).
 */
export function buildBackend(config: ResearchConfig): ResearchBackend {
  mkdirSync(config.projectsDir, { recursive: true });
  const client = new S3Client({
    endpoint: config.s3.endpoint,
    region: config.s3.region ?? "us-east-1",
    forcePathStyle: config.s3.endpoint !== undefined,
    // s3rver's fixed development credentials when talking to the local server; the SDK's chain otherwise
    credentials: config.s3.endpoint
      ? { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" }
      : undefined,
  });
  const uploads = new BlobBackend({
    store: new S3BlobStore({ bucket: config.s3.bucket, prefix: "uploads/", client }),
  });
  const backend = new CompositeBackend(new StateBackend(), {
    "/projects/": new NFSBackend({ rootDir: config.projectsDir }),
    "/uploads/": uploads,
  });
  return { backend, uploads, close: () => client.destroy() };
}

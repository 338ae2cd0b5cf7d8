import {
  type AzuriteServer,
  type S3Server,
  startAzurite,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { afterAll, beforeAll } from "vitest";
import { AzureBlobStore, BlobBackend, CompositeBackend, S3BlobStore } from "../src/index.js";
import { describeConformance } from "./conformance.js";
import { stateBackendWithoutGraph } from "./helpers/state.js";

let s3: S3Server;
let azurite: AzuriteServer;

beforeAll(async () => {
  [s3, azurite] = await Promise.all([startS3rver(), startAzurite()]);
});
afterAll(async () => {
  await Promise.all([s3?.stop(), azurite?.stop()]);
});

const s3Backend = (prefix: string) =>
  new BlobBackend({ store: new S3BlobStore({ bucket: s3.bucket, prefix, client: s3.client() }) });

describeConformance("BlobBackend on S3 (s3rver)", {
  setup: async () => ({ backend: s3Backend("conformance/"), base: "/" }),
  validatesPaths: true,
  absoluteGlobs: true,
});

describeConformance("BlobBackend on Azure (Azurite)", {
  setup: async () => ({
    backend: new BlobBackend({
      store: new AzureBlobStore({ containerClient: await azurite.container("conformance") }),
    }),
    base: "/",
  }),
  validatesPaths: true,
  absoluteGlobs: true,
});

describeConformance("CompositeBackend: S3 route /uploads/ and Azure route /shared/", {
  setup: async () => ({
    backend: new CompositeBackend(stateBackendWithoutGraph(), {
      "/uploads/": s3Backend("composite/"),
      "/uploads/azure/": new BlobBackend({
        store: new AzureBlobStore({
          containerClient: await azurite.container("composite"),
          prefix: "nested",
        }),
      }),
    }),
    base: "/uploads/",
  }),
  validatesPaths: true,
  absoluteGlobs: true,
});

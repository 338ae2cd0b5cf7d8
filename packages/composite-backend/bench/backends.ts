import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  startAzurite,
  startCountingProxy,
  startS3rver,
} from "@agentstate/test-support/blob-servers";
import { azureBackend, blobPairs, rawAzure, rawS3, s3Backend } from "./blob.js";
import { measure, type Pair, type Timing } from "./measure.js";
import { nfsPairs } from "./nfs.js";

export interface BenchRow extends Timing {
  backend: string;
  /** HTTP requests the backend sent for one call, by method (blob backends only). */
  requests?: string;
  rawRequests?: string;
}

export interface BenchOptions {
  /** Iterations per local-disk operation. @default 400 */
  nfsIterations?: number;
  /** Iterations per object-store operation. @default 60 */
  blobIterations?: number;
  /** Progress lines (one per operation) go here. @default stderr */
  log?: (line: string) => void;
}

const summarize = (methods: string[]) => {
  const counts = new Map<string, number>();
  for (const method of methods) counts.set(method, (counts.get(method) ?? 0) + 1);
  return [...counts].map(([method, count]) => `${count} ${method}`).join(" + ") || "0";
};

/** Runs each pair once through a counting proxy: real HTTP requests, whatever the SDK. */
async function countRequests(pairs: Pair[], proxy: { reset(): void; methods(): string[] }) {
  const counts = new Map<string, { ours: string; raw: string }>();
  for (const pair of pairs) {
    proxy.reset();
    await pair.ours();
    const ours = summarize(proxy.methods());
    proxy.reset();
    await pair.raw();
    counts.set(pair.op, { ours, raw: summarize(proxy.methods()) });
  }
  return counts;
}

export async function runBackendBenchmark(options: BenchOptions = {}): Promise<BenchRow[]> {
  const {
    nfsIterations = 400,
    blobIterations = 60,
    log = (line: string) => process.stderr.write(`${line}\n`),
  } = options;
  const rows: BenchRow[] = [];
  const root = await mkdtemp(join(tmpdir(), "agentstate-bench-"));
  const [s3, azurite] = await Promise.all([startS3rver("bench"), startAzurite()]);
  const [s3Proxy, azureProxy] = await Promise.all([
    startCountingProxy(s3.port),
    startCountingProxy(azurite.port),
  ]);
  try {
    for (const pair of await nfsPairs(root)) {
      rows.push({ backend: "NFSBackend vs fs.promises", ...(await measure(pair, nfsIterations)) });
      log(`nfs ${pair.op} done`);
    }
    const stores = [
      {
        name: "BlobBackend(S3) vs @aws-sdk/client-s3",
        direct: async () =>
          blobPairs(rawS3(s3.client(), s3.bucket), s3Backend(s3.client(), s3.bucket)),
        counted: async () =>
          blobPairs(
            rawS3(s3.client(s3Proxy.endpoint), s3.bucket),
            s3Backend(s3.client(s3Proxy.endpoint), s3.bucket),
          ),
        proxy: s3Proxy,
      },
      {
        name: "BlobBackend(Azure) vs @azure/storage-blob",
        direct: async () => {
          const container = await azurite.container("bench");
          return blobPairs(rawAzure(container), azureBackend(container));
        },
        counted: async () => {
          const container = await azurite.container("bench", azureProxy.endpoint);
          return blobPairs(rawAzure(container), azureBackend(container));
        },
        proxy: azureProxy,
      },
    ];
    for (const store of stores) {
      const counts = await countRequests(await store.counted(), store.proxy);
      for (const pair of await store.direct()) {
        const iterations = pair.op.startsWith("grep")
          ? Math.ceil(blobIterations / 3)
          : blobIterations;
        const count = counts.get(pair.op);
        rows.push({
          backend: store.name,
          ...(await measure(pair, iterations)),
          requests: count?.ours,
          rawRequests: count?.raw,
        });
        log(`${store.name} ${pair.op} done`);
      }
    }
  } finally {
    await Promise.all([s3Proxy.stop(), azureProxy.stop()]);
    await Promise.all([s3.stop(), azurite.stop(), rm(root, { recursive: true, force: true })]);
  }
  return rows;
}

export function formatTable(rows: BenchRow[]): string {
  const ms = (value: number) => value.toFixed(3);
  const lines = [
    "| backend | operation | raw median (ms) | backend median (ms) | ratio | requests (backend / raw) |",
    "|---|---|---:|---:|---:|---|",
  ];
  for (const row of rows) {
    const requests = row.requests === undefined ? "—" : `${row.requests} / ${row.rawRequests}`;
    lines.push(
      `| ${row.backend} | ${row.op} | ${ms(row.rawMedianMs)} | ${ms(row.oursMedianMs)} | ${row.ratio.toFixed(2)}× | ${requests} |`,
    );
  }
  return lines.join("\n");
}

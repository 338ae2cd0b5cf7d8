// Per-operation latency of the composite-backend file backends against the raw calls they are
// built on (fs.promises, @aws-sdk/client-s3, @azure/storage-blob), plus HTTP requests per call.
// Standalone: `npx tsx scripts/bench-backends.ts` (or `pnpm --filter @agentstate/composite-backend bench`).
import { pathToFileURL } from "node:url";
import {
  type BenchRow,
  formatTable,
  runBackendBenchmark,
} from "../packages/composite-backend/bench/backends.js";

export async function main(): Promise<BenchRow[]> {
  const rows = await runBackendBenchmark({
    nfsIterations: Number(process.env.BENCH_NFS_ITERATIONS ?? 400),
    blobIterations: Number(process.env.BENCH_BLOB_ITERATIONS ?? 60),
  });
  console.log(`\n## File backends (Node ${process.version}, ${process.platform})\n`);
  console.log(formatTable(rows));
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}

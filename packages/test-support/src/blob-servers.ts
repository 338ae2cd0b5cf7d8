// Local blob servers for tests and benches, on 127.0.0.1 only: s3rver (S3) and Azurite (Azure
// Blob Storage), each in its own process that the caller starts and stops; a counting proxy to put
// in front of either, and a closed port for "storage is down".
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import http, { type IncomingHttpHeaders } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { S3Client } from "@aws-sdk/client-s3";
import {
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";

/** Everything here listens on, and talks to, loopback only. */
const LOOPBACK = "127.0.0.1";

export interface S3Server {
  endpoint: string;
  port: number;
  bucket: string;
  /** A client for `endpoint` (or for another endpoint on the same server, e.g. a proxy). */
  client(endpoint?: string): S3Client;
  stop(): Promise<void>;
}

/**
 * Starts s3rver with one bucket. Objects live in `directory` when given (created if missing and
 * left in place), else in a temporary directory removed by `stop()`.
 */
export async function startS3rver(
  bucket = "agentstate-test",
  options: { directory?: string } = {},
): Promise<S3Server> {
  const owned = options.directory === undefined;
  const directory = options.directory ?? (await mkdtemp(join(tmpdir(), "s3rver-")));
  await mkdir(directory, { recursive: true });
  const runner = fileURLToPath(new URL("./s3rver-process.mjs", import.meta.url));
  const child = spawn(process.execPath, ["--openssl-legacy-provider", runner, directory, bucket], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const port = await waitForPort(child, /listening (\d+)/, "s3rver");
  const endpoint = `http://${LOOPBACK}:${port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    port,
    bucket,
    client(target = endpoint) {
      const client = new S3Client({
        endpoint: target,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      await stopChild(child);
      if (owned) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Resolves with the port a freshly spawned server prints once it listens. */
function waitForPort(child: ChildProcess, pattern: RegExp, name: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}):\n${output}`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** Azurite's published development account (not a secret). */
export const AZURITE_ACCOUNT = "devstoreaccount1";
export const AZURITE_KEY =
  "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

export interface AzuriteServer {
  port: number;
  /** Blob service URL for an endpoint on this server (or a proxy in front of it). */
  serviceUrl(endpoint?: string): string;
  connectionString(endpoint?: string): string;
  /** A container client (created on first use), authenticated with the account key so SAS works. */
  container(name: string, endpoint?: string): Promise<ContainerClient>;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<AzuriteServer> {
  const require = createRequire(import.meta.url);
  const main = require.resolve("azurite/dist/src/blob/main.js");
  const location = await mkdtemp(join(tmpdir(), "azurite-"));
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      "--blobHost",
      LOOPBACK,
      "--blobPort",
      "0",
      "--disableTelemetry",
      "--silent",
      "--inMemoryPersistence",
      // The SDK speaks a newer API version than this Azurite release knows; the subset used here is unchanged.
      "--skipApiVersionCheck",
    ],
    // In-memory persistence writes nothing, but a scratch cwd keeps any stray file out of the repo.
    { stdio: ["ignore", "pipe", "pipe"], cwd: location },
  );
  const port = await waitForPort(child, /listens on http:\/\/127\.0\.0\.1:(\d+)/, "Azurite");
  const base = `http://${LOOPBACK}:${port}`;
  const credential = new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY);
  const serviceUrl = (endpoint = base) => `${endpoint}/${AZURITE_ACCOUNT}`;
  return {
    port,
    serviceUrl,
    connectionString: (endpoint = base) =>
      `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${serviceUrl(endpoint)};`,
    async container(name, endpoint = base) {
      const container = new BlobServiceClient(serviceUrl(endpoint), credential).getContainerClient(
        name,
      );
      await container.createIfNotExists();
      return container;
    },
    async stop() {
      await stopChild(child);
      await rm(location, { recursive: true, force: true });
    },
  };
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * A loopback HTTP proxy in front of a storage server that records every request it forwards:
 * the request counts in tests and in the benchmark are real HTTP requests, whatever SDK made them.
 */
export interface CountingProxy {
  endpoint: string;
  requests: RecordedRequest[];
  reset(): void;
  /** Requests seen since the last reset, as "GET", "PUT", ... */
  methods(): string[];
  stop(): Promise<void>;
}

export async function startCountingProxy(upstreamPort: number): Promise<CountingProxy> {
  const agent = new http.Agent({ keepAlive: true });
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const upstream = http.request(
      {
        host: LOOPBACK,
        port: upstreamPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
        agent,
      },
      (response) => {
        res.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${LOOPBACK}:${port}`,
    requests,
    reset: () => {
      requests.length = 0;
    },
    methods: () => requests.map((request) => request.method),
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

/** A loopback port with nothing listening, for "storage is down" tests. */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Archive locations: the URL forms (s3://, azure://, file:///), how each maps to a store of
// @agentstate/composite-backend or a directory, and the one safe file name per thread.
import { createHash } from "node:crypto";
import { isAbsolute, posix } from "node:path";
import { pathToFileURL } from "node:url";
import { RecoveryError } from "../errors.js";
import type { ArchiveStore } from "../types.js";
import { FileArchiveStore } from "./file-store.js";

export interface ArchiveStoreOptions {
  /**
   * S3 client settings. Defaults: endpoint from AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (then
   * path-style addressing, as S3-compatible servers need), region from AWS_REGION or
   * AWS_DEFAULT_REGION (else us-east-1), credentials from the AWS SDK's default chain.
   */
  /** Extra S3 client settings (an `@aws-sdk/client-s3` S3ClientConfig: credentials, endpoint…). */
  s3?: Record<string, unknown>;
  /** Azure settings. @default connectionString from AZURE_STORAGE_CONNECTION_STRING */
  azure?: { connectionString?: string };
  /** Environment to read the defaults from. @default process.env */
  env?: Record<string, string | undefined>;
}

export type ParsedLocation =
  | { kind: "s3"; bucket: string; prefix: string; location: string }
  | { kind: "azure"; container: string; prefix: string; location: string }
  | { kind: "file"; dir: string; location: string };

const bad = (url: string, why: string) =>
  new RecoveryError(
    "ARCHIVE_LOCATION",
    `Archive location ${JSON.stringify(url)} is not usable: ${why}. ` +
      "Use s3://bucket/prefix, azure://container/prefix or file:///absolute/dir.",
  );

/** Control characters, backslash, and "." / ".." segments never belong in a location. */
function checkSegments(url: string, segments: string[]): void {
  for (const s of segments) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting them is the point
    if (/[\u0000-\u001f\u007f\\]/.test(s)) throw bad(url, "control characters or backslashes");
    if (s === "." || s === "..") throw bad(url, '"." and ".." path segments are not allowed');
  }
}

function prefixOf(url: string, raw: string | undefined): string {
  const segments = (raw ?? "").split("/").filter((s) => s !== "");
  checkSegments(url, segments);
  const prefix = segments.join("/");
  if (prefix.length > 512) throw bad(url, "the prefix is longer than 512 characters");
  return prefix;
}

/** Validates and normalizes a location URL; never touches the network or the disk. */
export function parseLocation(url: string): ParsedLocation {
  if (typeof url !== "string" || url.length === 0) throw bad(String(url), "empty");
  const s3 = /^s3:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(url);
  if (s3) {
    const bucket = s3[1] as string;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes("..")) {
      throw bad(url, `"${bucket}" is not a valid S3 bucket name`);
    }
    const prefix = prefixOf(url, s3[2]);
    return { kind: "s3", bucket, prefix, location: `s3://${bucket}${prefix ? `/${prefix}` : ""}` };
  }
  const az = /^azure:\/\/([^/?#]+)(?:\/([^?#]*))?$/.exec(url);
  if (az) {
    const container = az[1] as string;
    if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
      throw bad(url, `"${container}" is not a valid Azure container name`);
    }
    const prefix = prefixOf(url, az[2]);
    return {
      kind: "azure",
      container,
      prefix,
      location: `azure://${container}${prefix ? `/${prefix}` : ""}`,
    };
  }
  if (url.startsWith("file:")) {
    // Only absolute local paths: file:///dir or file://localhost/dir. The raw segments are
    // checked before any normalization, so "..", "%2e%2e" or an encoded "/" cannot climb out.
    const m = /^file:\/\/(?:localhost)?(\/[^?#]*)$/.exec(url);
    if (!m) throw bad(url, "file locations must be absolute and local (file:///dir)");
    const segments: string[] = [];
    for (const raw of (m[1] as string).split("/").filter((s) => s !== "")) {
      let s: string;
      try {
        s = decodeURIComponent(raw);
      } catch {
        throw bad(url, "malformed percent-encoding");
      }
      if (s.includes("/")) throw bad(url, "an encoded '/' in a path segment");
      segments.push(s);
    }
    checkSegments(url, segments);
    const dir = `/${segments.join("/")}`;
    if (!isAbsolute(dir) || posix.normalize(dir) !== dir) throw bad(url, "not a normal path");
    return { kind: "file", dir, location: pathToFileURL(dir).href };
  }
  throw bad(url, "unknown scheme");
}

/** The file name of a thread's archive: its id hashed, so no id can name another path. */
export function archiveKey(threadId: string): string {
  const h = createHash("sha256").update(threadId, "utf8").digest("hex");
  return `${h.slice(0, 2)}/${h}.jsonl.gz`;
}

/** Keys we write look like this; anything else (say, from a tampered index row) is refused. */
export function assertArchiveKey(key: string): string {
  if (!/^[0-9a-f]{2}\/[0-9a-f]{64}\.jsonl\.gz$/.test(key)) {
    throw new RecoveryError(
      "ARCHIVE_CORRUPT",
      `The archive index names the file ${JSON.stringify(key)}, which is not a key agentstate writes. Restore with --from <location> instead.`,
    );
  }
  return key;
}

/** Opens the store for a location URL (or returns a store passed in). */
export async function openArchiveStore(
  to: string | ArchiveStore,
  options: ArchiveStoreOptions = {},
): Promise<ArchiveStore> {
  if (typeof to !== "string") return to;
  const parsed = parseLocation(to);
  if (parsed.kind === "file") return new FileArchiveStore(parsed.dir, parsed.location);
  const env = options.env ?? process.env;
  // Loaded only for blob locations: the composite backend pulls in the cloud SDKs.
  // An optional peer: recovery users who never archive to a bucket do not install the SDKs.
  let backend: typeof import("@agentstate/composite-backend");
  try {
    backend = await import("@agentstate/composite-backend");
  } catch (cause) {
    throw new RecoveryError(
      "ARCHIVE_LOCATION",
      `Archive location ${parsed.location} needs @agentstate/composite-backend (its S3 and Azure stores): npm i @agentstate/composite-backend.`,
      { cause },
    );
  }
  const { S3BlobStore, AzureBlobStore } = backend;
  if (parsed.kind === "s3") {
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const clientConfig = {
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1",
      ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
      ...options.s3,
    };
    const store = new S3BlobStore({ bucket: parsed.bucket, prefix: parsed.prefix, clientConfig });
    return new BlobArchiveStore(store, parsed.location, `bucket "${parsed.bucket}"`);
  }
  const connectionString =
    options.azure?.connectionString ?? env.AZURE_STORAGE_CONNECTION_STRING ?? undefined;
  if (!connectionString) {
    throw new RecoveryError(
      "ARCHIVE_LOCATION",
      `Archive location ${parsed.location} needs Azure credentials: set AZURE_STORAGE_CONNECTION_STRING (or pass azure.connectionString).`,
    );
  }
  const store = new AzureBlobStore({
    connectionString,
    containerName: parsed.container,
    prefix: parsed.prefix,
  });
  return new BlobArchiveStore(store, parsed.location, `container "${parsed.container}"`);
}

interface BlobStoreLike {
  list(prefix: string, options?: { pageSize?: number }): Promise<unknown>;
  get(key: string): Promise<{ body: Uint8Array } | undefined>;
  put(key: string, body: Uint8Array, options?: { contentType?: string }): Promise<unknown>;
}

/** An S3 or Azure store of @agentstate/composite-backend, its errors said in archive terms. */
class BlobArchiveStore implements ArchiveStore {
  constructor(
    private readonly store: BlobStoreLike,
    readonly location: string,
    private readonly what: string,
  ) {}

  private fail(action: string, error: unknown): RecoveryError {
    const code = (error as { code?: string })?.code;
    const detail = (error as Error)?.message ?? String(error);
    const hint =
      code === "not_found"
        ? `the ${this.what} does not exist: create it first`
        : code === "permission_denied"
          ? "the credentials were refused: check them and that they allow List, Get and Put here"
          : "the service did not answer: check the endpoint, the network and the credentials";
    return new RecoveryError(
      "ARCHIVE_LOCATION",
      `${action} at ${this.location} failed (${detail}): ${hint}.`,
      { cause: error },
    );
  }

  async check(): Promise<void> {
    await this.store.list("", { pageSize: 1 }).catch((e) => {
      throw this.fail("Listing", e);
    });
  }

  async put(key: string, body: Uint8Array): Promise<void> {
    await this.store.put(key, body, { contentType: "application/gzip" }).catch((e) => {
      throw this.fail("Writing", e);
    });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const got = await this.store.get(key).catch((e) => {
      throw this.fail("Reading", e);
    });
    return got?.body;
  }
}

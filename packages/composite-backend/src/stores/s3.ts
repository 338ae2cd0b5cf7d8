// S3BlobStore: the BlobStore contract over @aws-sdk/client-s3; one request a call, presigned URLs.
import type { Readable } from "node:stream";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { CompositeBackendError } from "../errors.js";
import {
  type BlobGetOptions,
  type BlobListOptions,
  type BlobListPage,
  type BlobMeta,
  type BlobPutOptions,
  type BlobStore,
  normalizePrefix,
} from "./types.js";

export interface S3BlobStoreOptions {
  bucket: string;
  /** Key prefix all paths live under, e.g. "uploads/". @default "" */
  prefix?: string;
  /** An existing client. When omitted one is created from `clientConfig`. */
  client?: S3Client;
  /** Config for the client created when `client` is omitted (region, endpoint, credentials, forcePathStyle for S3-compatible servers). @default {} */
  clientConfig?: S3ClientConfig;
}

interface ServiceError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

/** SDK messages can name the bucket and endpoint; ours name the operation and status only. */
function s3Error(error: unknown, action: string): CompositeBackendError {
  const status = (error as ServiceError)?.$metadata?.httpStatusCode;
  const name = (error as ServiceError)?.name ?? "Error";
  const detail = `${action} failed (${status ?? "no response"} ${name})`;
  if (status === 412 || status === 409)
    return new CompositeBackendError("conflict", detail, { cause: error });
  if (status === 403 || status === 401)
    return new CompositeBackendError("permission_denied", detail, { cause: error });
  if (status === 404) return new CompositeBackendError("not_found", detail, { cause: error });
  return new CompositeBackendError("unavailable", detail, { cause: error });
}

const isMissing = (error: unknown) => {
  const name = (error as ServiceError)?.name;
  return name === "NoSuchKey" || name === "NotFound";
};

/**
 * BlobStore over S3 or any S3-compatible service. Conditional writes are sent as If-Match /
 * If-None-Match on PutObject: AWS S3 and most compatibles enforce them; a server that ignores
 * them (s3rver, some older gateways) silently turns conflict detection off.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(options: S3BlobStoreOptions) {
    if (!options?.bucket)
      throw new CompositeBackendError("invalid_config", "S3BlobStore needs a bucket");
    this.#bucket = options.bucket;
    this.#prefix = normalizePrefix(options.prefix);
    this.client = options.client ?? new S3Client(options.clientConfig ?? {});
  }

  #meta(
    key: string,
    size: number | undefined,
    lastModified: Date | undefined,
    etag: string | undefined,
  ): BlobMeta {
    return {
      key: key.slice(this.#prefix.length),
      size: size ?? 0,
      lastModified: lastModified ?? new Date(0),
      etag: etag ?? "",
    };
  }

  async list(prefix: string, options: BlobListOptions = {}): Promise<BlobListPage> {
    try {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: this.#prefix + prefix,
          Delimiter: options.delimiter,
          ContinuationToken: options.cursor,
          MaxKeys: options.pageSize ?? 1000,
        }),
      );
      return {
        blobs: (page.Contents ?? []).map((item) =>
          this.#meta(item.Key ?? "", item.Size, item.LastModified, item.ETag),
        ),
        prefixes: (page.CommonPrefixes ?? []).map((item) =>
          (item.Prefix ?? "").slice(this.#prefix.length),
        ),
        cursor: page.IsTruncated ? page.NextContinuationToken : undefined,
      };
    } catch (error) {
      throw s3Error(error, "List");
    }
  }

  async head(key: string): Promise<BlobMeta | undefined> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
      return {
        ...this.#meta(this.#prefix + key, head.ContentLength, head.LastModified, head.ETag),
        contentType: head.ContentType,
      };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw s3Error(error, "Head");
    }
  }

  async get(
    key: string,
    options: BlobGetOptions = {},
  ): Promise<{ body: Uint8Array; meta: BlobMeta } | undefined> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw s3Error(error, "Get");
    }
    const meta = {
      ...this.#meta(
        this.#prefix + key,
        response.ContentLength,
        response.LastModified,
        response.ETag,
      ),
      contentType: response.ContentType,
    };
    if (options.maxBytes !== undefined && meta.size > options.maxBytes) {
      // Headers are in; dropping the body stream aborts the transfer of the rest.
      (response.Body as Readable | undefined)?.destroy?.();
      throw new CompositeBackendError(
        "too_large",
        `Object is ${meta.size} bytes, over the ${options.maxBytes}-byte limit`,
      );
    }
    try {
      const body = await response.Body!.transformToByteArray();
      return { body, meta: { ...meta, size: body.byteLength } };
    } catch (error) {
      throw s3Error(error, "Get (body)");
    }
  }

  async put(
    key: string,
    body: Uint8Array,
    options: BlobPutOptions = {},
  ): Promise<{ etag: string }> {
    try {
      const result = await this.client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: this.#prefix + key,
          Body: body,
          ContentLength: body.byteLength,
          ContentType: options.contentType,
          IfMatch: options.ifMatch,
          IfNoneMatch: options.ifNoneMatch,
        }),
      );
      return { etag: result.ETag ?? "" };
    } catch (error) {
      throw s3Error(error, "Put");
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      );
    } catch (error) {
      if (isMissing(error)) return;
      throw s3Error(error, "Delete");
    }
  }

  async signedUrl(key: string, options: { expiresIn: number }): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({ Bucket: this.#bucket, Key: this.#prefix + key }),
      {
        expiresIn: options.expiresIn,
      },
    );
  }
}

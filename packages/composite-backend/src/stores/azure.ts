// AzureBlobStore: the BlobStore contract over @azure/storage-blob; one request per call, SAS URLs.
import {
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
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

export interface AzureBlobStoreOptions {
  /** An existing container client. Signed URLs (SAS) need it built with a StorageSharedKeyCredential. */
  containerClient?: ContainerClient;
  /** Used with `containerName` when `containerClient` is omitted. */
  connectionString?: string;
  containerName?: string;
  /** Blob-name prefix all paths live under, e.g. "shared/". @default "" */
  prefix?: string;
}

interface RestErrorLike {
  statusCode?: number;
  code?: string;
}

/** Azure messages include account URLs; ours name the operation and status only. */
function azureError(error: unknown, action: string): CompositeBackendError {
  const { statusCode, code } = (error ?? {}) as RestErrorLike;
  const detail = `${action} failed (${statusCode ?? "no response"} ${code ?? "Error"})`;
  if (statusCode === 412 || (statusCode === 409 && code === "BlobAlreadyExists")) {
    return new CompositeBackendError("conflict", detail, { cause: error });
  }
  if (statusCode === 403 || statusCode === 401)
    return new CompositeBackendError("permission_denied", detail, { cause: error });
  if (statusCode === 404) return new CompositeBackendError("not_found", detail, { cause: error });
  return new CompositeBackendError("unavailable", detail, { cause: error });
}

const isBlobMissing = (error: unknown) =>
  (error as RestErrorLike)?.statusCode === 404 &&
  (error as RestErrorLike)?.code !== "ContainerNotFound";

/** BlobStore over an Azure Blob Storage container (block blobs); SAS URLs for sharing. */
export class AzureBlobStore implements BlobStore {
  readonly container: ContainerClient;
  readonly #prefix: string;

  constructor(options: AzureBlobStoreOptions) {
    if (options?.containerClient) {
      this.container = options.containerClient;
    } else if (options?.connectionString && options.containerName) {
      this.container = BlobServiceClient.fromConnectionString(
        options.connectionString,
      ).getContainerClient(options.containerName);
    } else {
      throw new CompositeBackendError(
        "invalid_config",
        "AzureBlobStore needs a containerClient, or a connectionString and containerName",
      );
    }
    this.#prefix = normalizePrefix(options.prefix);
  }

  #meta(
    name: string,
    size: number | undefined,
    lastModified: Date | undefined,
    etag: string | undefined,
  ): BlobMeta {
    return {
      key: name.slice(this.#prefix.length),
      size: size ?? 0,
      lastModified: lastModified ?? new Date(0),
      etag: etag ?? "",
    };
  }

  async list(prefix: string, options: BlobListOptions = {}): Promise<BlobListPage> {
    const settings = { continuationToken: options.cursor, maxPageSize: options.pageSize ?? 1000 };
    const fullPrefix = this.#prefix + prefix;
    try {
      const pages = options.delimiter
        ? this.container
            .listBlobsByHierarchy(options.delimiter, { prefix: fullPrefix })
            .byPage(settings)
        : this.container.listBlobsFlat({ prefix: fullPrefix }).byPage(settings);
      const { value: page } = await pages.next();
      if (!page) return { blobs: [], prefixes: [] };
      const segment = page.segment as {
        blobItems: Array<{
          name: string;
          properties: {
            contentLength?: number;
            lastModified?: Date;
            etag?: string;
            contentType?: string;
          };
        }>;
        blobPrefixes?: Array<{ name: string }>;
      };
      return {
        blobs: segment.blobItems.map((item) => ({
          ...this.#meta(
            item.name,
            item.properties.contentLength,
            item.properties.lastModified,
            item.properties.etag,
          ),
          contentType: item.properties.contentType,
        })),
        prefixes: (segment.blobPrefixes ?? []).map((item) => item.name.slice(this.#prefix.length)),
        cursor: page.continuationToken || undefined,
      };
    } catch (error) {
      throw azureError(error, "List");
    }
  }

  async head(key: string): Promise<BlobMeta | undefined> {
    try {
      const props = await this.container.getBlobClient(this.#prefix + key).getProperties();
      return {
        ...this.#meta(this.#prefix + key, props.contentLength, props.lastModified, props.etag),
        contentType: props.contentType,
      };
    } catch (error) {
      if (isBlobMissing(error)) return undefined;
      throw azureError(error, "Head");
    }
  }

  async get(
    key: string,
    options: BlobGetOptions = {},
  ): Promise<{ body: Uint8Array; meta: BlobMeta } | undefined> {
    let response: Awaited<ReturnType<ReturnType<ContainerClient["getBlobClient"]>["download"]>>;
    try {
      // download() is one GET; downloadToBuffer() would add a HEAD first.
      response = await this.container.getBlobClient(this.#prefix + key).download();
    } catch (error) {
      if (isBlobMissing(error)) return undefined;
      throw azureError(error, "Get");
    }
    const meta: BlobMeta = {
      ...this.#meta(
        this.#prefix + key,
        response.contentLength,
        response.lastModified,
        response.etag,
      ),
      contentType: response.contentType,
    };
    const stream = response.readableStreamBody;
    if (options.maxBytes !== undefined && meta.size > options.maxBytes) {
      stream?.destroy?.();
      throw new CompositeBackendError(
        "too_large",
        `Object is ${meta.size} bytes, over the ${options.maxBytes}-byte limit`,
      );
    }
    try {
      const chunks: Buffer[] = [];
      if (stream) for await (const chunk of stream) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      return {
        body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength),
        meta: { ...meta, size: body.byteLength },
      };
    } catch (error) {
      throw azureError(error, "Get (body)");
    }
  }

  async put(
    key: string,
    body: Uint8Array,
    options: BlobPutOptions = {},
  ): Promise<{ etag: string }> {
    try {
      const result = await this.container
        .getBlockBlobClient(this.#prefix + key)
        .upload(body, body.byteLength, {
          blobHTTPHeaders: options.contentType
            ? { blobContentType: options.contentType }
            : undefined,
          conditions: { ifMatch: options.ifMatch, ifNoneMatch: options.ifNoneMatch },
        });
      return { etag: result.etag ?? "" };
    } catch (error) {
      throw azureError(error, "Put");
    }
  }

  async delete(key: string): Promise<void> {
    try {
      await this.container.getBlobClient(this.#prefix + key).deleteIfExists();
    } catch (error) {
      throw azureError(error, "Delete");
    }
  }

  async signedUrl(key: string, options: { expiresIn: number }): Promise<string> {
    const blob = this.container.getBlobClient(this.#prefix + key);
    if (!(blob.credential instanceof StorageSharedKeyCredential)) {
      throw new CompositeBackendError(
        "unsupported",
        "Signed URLs need a container client built with a StorageSharedKeyCredential",
      );
    }
    return blob.generateSasUrl({
      permissions: BlobSASPermissions.parse("r"),
      expiresOn: new Date(Date.now() + options.expiresIn * 1000),
    });
  }
}

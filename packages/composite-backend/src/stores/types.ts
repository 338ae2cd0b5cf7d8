// The BlobStore contract BlobBackend builds on: six methods, each one request.
/** What a store knows about one object. */
export interface BlobMeta {
  /** Key relative to the store's prefix. */
  key: string;
  size: number;
  lastModified: Date;
  /** Opaque version token, passed back verbatim as `ifMatch`. */
  etag: string;
  contentType?: string;
}

export interface BlobListOptions {
  /** "/" lists one level (objects and common prefixes); omitted lists everything below. */
  delimiter?: string;
  /** Continuation token from the previous page. */
  cursor?: string;
  /** Page size hint. @default 1000 */
  pageSize?: number;
}

export interface BlobListPage {
  blobs: BlobMeta[];
  /** Common prefixes (with the trailing delimiter), relative to the store's prefix. */
  prefixes: string[];
  /** Present when there is another page. */
  cursor?: string;
}

export interface BlobGetOptions {
  /** Refuse (code "too_large") an object bigger than this, without downloading it. */
  maxBytes?: number;
}

export interface BlobPutOptions {
  /** Write only if the object still has this etag (HTTP If-Match). */
  ifMatch?: string;
  /** "*": write only if the object does not exist (HTTP If-None-Match). */
  ifNoneMatch?: "*";
  contentType?: string;
}

/**
 * The small object-store contract BlobBackend is built on; each method is one HTTP request.
 * Missing objects are `undefined` from head/get and a no-op for delete. Failures throw
 * CompositeBackendError: "conflict" when a condition fails (412/409), "too_large",
 * "permission_denied", "unavailable" (network, 5xx), "not_found" (missing bucket/container).
 */
export interface BlobStore {
  list(prefix: string, options?: BlobListOptions): Promise<BlobListPage>;
  head(key: string): Promise<BlobMeta | undefined>;
  get(
    key: string,
    options?: BlobGetOptions,
  ): Promise<{ body: Uint8Array; meta: BlobMeta } | undefined>;
  put(key: string, body: Uint8Array, options?: BlobPutOptions): Promise<{ etag: string }>;
  delete(key: string): Promise<void>;
  /** A URL anyone can GET the object with until it expires; computed locally, no request. */
  signedUrl(key: string, options: { expiresIn: number }): Promise<string>;
}

/** Joins a store prefix and a key; prefixes are normalised to end with "/" (or be empty). */
export function normalizePrefix(prefix: string | undefined): string {
  if (!prefix) return "";
  const trimmed = prefix.replace(/^\/+/, "");
  return trimmed === "" || trimmed.endsWith("/") ? trimmed : `${trimmed}/`;
}

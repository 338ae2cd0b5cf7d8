// BlobBackend's options and their defaults, resolved once when the backend is built.
import { CompositeBackendError } from "../errors.js";
import type { BlobStore } from "../stores/types.js";

export interface BlobBackendOptions {
  /** Where the objects live: an S3BlobStore, an AzureBlobStore or any other BlobStore. */
  store: BlobStore;
  /** Largest object `read`/`edit`/download fetch. @default 10485760 (10 MiB) */
  maxReadBytes?: number;
  /** Largest content `write`/upload accept. @default 33554432 (32 MiB) */
  maxWriteBytes?: number;
  /** Most entries `ls` returns before reporting truncation. @default 10000 */
  maxListEntries?: number;
  /** Most files a glob returns. @default 10000 */
  maxGlobResults?: number;
  /** Most objects one glob or grep lists before stopping. @default 100000 */
  maxScanObjects?: number;
  /** Most objects one grep downloads. @default 1000 */
  maxGrepObjects?: number;
  /** Objects bigger than this are skipped by grep. @default 2097152 (2 MiB) */
  maxGrepObjectBytes?: number;
  /** Downloads one grep runs at once. @default 8 */
  grepConcurrency?: number;
  /** Hard cap on grep matches, whatever `maxCount` the caller passes. @default 10000 */
  maxGrepMatches?: number;
  /** Put a signed, expiring URL to the object in each write result's `metadata`. @default true */
  shareableUrls?: boolean;
  /** Lifetime of the URLs in write results, in seconds. @default 3600 */
  urlExpiresIn?: number;
  /** Let `delete("/")` remove every object under the store's prefix. Off, so one call cannot empty the bucket. @default false */
  allowRootDelete?: boolean;
}

export type ResolvedBlobOptions = Required<BlobBackendOptions>;

const MIB = 1024 * 1024;

export function resolveBlobOptions(options: BlobBackendOptions): ResolvedBlobOptions {
  if (!options?.store)
    throw new CompositeBackendError(
      "invalid_config",
      "BlobBackend needs a store (S3BlobStore, AzureBlobStore, ...)",
    );
  return {
    store: options.store,
    maxReadBytes: options.maxReadBytes ?? 10 * MIB,
    maxWriteBytes: options.maxWriteBytes ?? 32 * MIB,
    maxListEntries: options.maxListEntries ?? 10_000,
    maxGlobResults: options.maxGlobResults ?? 10_000,
    maxScanObjects: options.maxScanObjects ?? 100_000,
    maxGrepObjects: options.maxGrepObjects ?? 1_000,
    maxGrepObjectBytes: options.maxGrepObjectBytes ?? 2 * MIB,
    grepConcurrency: options.grepConcurrency ?? 8,
    maxGrepMatches: options.maxGrepMatches ?? 10_000,
    shareableUrls: options.shareableUrls ?? true,
    urlExpiresIn: options.urlExpiresIn ?? 3600,
    allowRootDelete: options.allowRootDelete ?? false,
  };
}

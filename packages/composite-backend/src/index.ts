// Public API of @agentstate/composite-backend: every export is named here.
export { StateBackend } from "deepagents";
export { BlobBackend, type ShareableUrl } from "./backends/blob.js";
export type { BlobBackendOptions } from "./backends/blob-options.js";
export { NFSBackend } from "./backends/nfs/backend.js";
export type { NFSBackendOptions, NfsFileSystem } from "./backends/nfs/options.js";
export { CompositeBackend, type CompositeBackendOptions } from "./composite.js";
export {
  type AzureRouteConfig,
  type CompositeBackendConfig,
  createCompositeBackend,
  type NfsRouteConfig,
  type RouteConfig,
  type S3RouteConfig,
} from "./config.js";
export {
  type BackendErrorCode,
  CompositeBackendError,
  type FileOperationFailure,
  isCompositeBackendError,
} from "./errors.js";
export { AzureBlobStore, type AzureBlobStoreOptions } from "./stores/azure.js";
export { S3BlobStore, type S3BlobStoreOptions } from "./stores/s3.js";
export type {
  BlobGetOptions,
  BlobListOptions,
  BlobListPage,
  BlobMeta,
  BlobPutOptions,
  BlobStore,
} from "./stores/types.js";

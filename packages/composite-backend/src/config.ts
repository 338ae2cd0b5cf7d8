// createCompositeBackend: a CompositeBackend and its NFS, S3 and Azure routes from a config object.
import type { S3ClientConfig } from "@aws-sdk/client-s3";
import type { AnyBackendProtocol } from "deepagents";
import { StateBackend } from "deepagents";
import { BlobBackend } from "./backends/blob.js";
import type { BlobBackendOptions } from "./backends/blob-options.js";
import { NFSBackend } from "./backends/nfs/backend.js";
import type { NFSBackendOptions } from "./backends/nfs/options.js";
import { CompositeBackend } from "./composite.js";
import { CompositeBackendError } from "./errors.js";
import { AzureBlobStore } from "./stores/azure.js";
import { S3BlobStore } from "./stores/s3.js";

type BlobTuning = Omit<BlobBackendOptions, "store">;

/** A mounted directory. */
export interface NfsRouteConfig extends NFSBackendOptions {
  type: "nfs";
}

/** An S3 (or S3-compatible) bucket, optionally under a key prefix. */
export interface S3RouteConfig extends BlobTuning {
  type: "s3";
  bucket: string;
  /** @default "" */
  prefix?: string;
  /** @default the SDK's resolution (AWS_REGION, config files) */
  region?: string;
  /** For S3-compatible services (MinIO, R2, ...). @default AWS */
  endpoint?: string;
  /** Path-style URLs, needed by most S3-compatible services. @default false */
  forcePathStyle?: boolean;
  /** @default the SDK's credential chain (env, profile, instance role) */
  credentials?: S3ClientConfig["credentials"];
}

/** An Azure Blob Storage container, optionally under a name prefix. */
export interface AzureRouteConfig extends BlobTuning {
  type: "azure";
  /** Must carry an account key for shareable (SAS) URLs. */
  connectionString: string;
  container: string;
  /** @default "" */
  prefix?: string;
}

export type RouteConfig = NfsRouteConfig | S3RouteConfig | AzureRouteConfig;

export interface CompositeBackendConfig {
  /** Backend for every path no route claims. @default new StateBackend() (files live in graph state, checkpointed with the thread) */
  default?: AnyBackendProtocol;
  /** Route prefix ("/projects/") → a config object, or a backend you built yourself. */
  routes: Record<string, RouteConfig | AnyBackendProtocol>;
  /**
   * Let `delete` empty a whole backend: `/`, a route's root, or a parent of a route. Also the
   * default of `allowRootDelete` for the nfs/s3/azure routes built here. @default false
   */
  allowRootDelete?: boolean;
}

function isRouteConfig(value: RouteConfig | AnyBackendProtocol): value is RouteConfig {
  return (
    typeof (value as { type?: unknown }).type === "string" &&
    typeof (value as { read?: unknown }).read !== "function"
  );
}

function buildRoute(prefix: string, config: RouteConfig): AnyBackendProtocol {
  switch (config.type) {
    case "nfs": {
      const { type: _type, ...options } = config;
      return new NFSBackend(options);
    }
    case "s3": {
      const {
        type: _type,
        bucket,
        prefix: keyPrefix,
        region,
        endpoint,
        forcePathStyle,
        credentials,
        ...tuning
      } = config;
      const store = new S3BlobStore({
        bucket,
        prefix: keyPrefix,
        clientConfig: { region, endpoint, forcePathStyle, credentials },
      });
      return new BlobBackend({ ...tuning, store });
    }
    case "azure": {
      const { type: _type, connectionString, container, prefix: namePrefix, ...tuning } = config;
      const store = new AzureBlobStore({
        connectionString,
        containerName: container,
        prefix: namePrefix,
      });
      return new BlobBackend({ ...tuning, store });
    }
    default:
      throw new CompositeBackendError(
        "invalid_config",
        `Route ${prefix}: unknown type ${JSON.stringify((config as { type: unknown }).type)} (expected "nfs", "s3" or "azure")`,
      );
  }
}

/**
 * Builds the usual layout from plain data (a config file, env):
 *
 * ```ts
 * createCompositeBackend({ routes: {
 *   "/projects/": { type: "nfs", rootDir: "/mnt/projects" },
 *   "/uploads/": { type: "s3", bucket: "agent-files", prefix: "uploads/" },
 * } })
 * ```
 * @throws CompositeBackendError (code "invalid_config") for an unknown type or a bad prefix.
 */
export function createCompositeBackend(config: CompositeBackendConfig): CompositeBackend {
  const routes: Record<string, AnyBackendProtocol> = {};
  const allowRootDelete = config?.allowRootDelete ?? false;
  for (const [prefix, route] of Object.entries(config?.routes ?? {})) {
    routes[prefix] = isRouteConfig(route)
      ? buildRoute(prefix, { allowRootDelete, ...route })
      : route;
  }
  return new CompositeBackend(config?.default ?? new StateBackend(), routes, { allowRootDelete });
}

// The route table: prefix validation, longest-prefix lookup, and full paths put back into results.
import type { AnyBackendProtocol, BackendProtocolV2 } from "deepagents";
import { adaptBackendProtocol } from "deepagents";
import { CompositeBackendError, describeThrown } from "./errors.js";
import { isWithin, parseVirtualPath, type VirtualPath } from "./paths.js";

/** A mounted backend: `/projects/` → NFSBackend. */
export interface Route {
  /** As registered: "/projects/". */
  readonly prefix: string;
  /** The route's directory as a path: "/projects". */
  readonly dir: string;
  readonly segments: readonly string[];
  readonly backend: BackendProtocolV2;
}

/** Where one path goes: the route (none for the default backend) and the path the backend sees. */
export interface Target {
  readonly route: Route | undefined;
  readonly backend: BackendProtocolV2;
  readonly inner: string;
}

const REQUIRED_METHODS = ["read", "write", "edit"] as const;

function checkBackend(backend: unknown, where: string): AnyBackendProtocol {
  const candidate = backend as Record<string, unknown> | null;
  const missing = REQUIRED_METHODS.filter((name) => typeof candidate?.[name] !== "function");
  if (!candidate || missing.length > 0) {
    throw new CompositeBackendError(
      "invalid_config",
      `${where} is not a deepagents backend (missing ${missing.join(", ") || "everything"})`,
    );
  }
  return candidate as unknown as AnyBackendProtocol;
}

/**
 * A prefix must name a directory exactly: "/projects/" — leading and trailing slash, no empty,
 * "." or ".." segments. Without the trailing slash "/abcd" would also capture "/abcde/...".
 */
function parseRoute(prefix: string, backend: unknown): Route {
  const vp = parseVirtualPath(prefix);
  const canonical = vp instanceof CompositeBackendError ? undefined : `${vp.path}/`;
  if (vp instanceof CompositeBackendError || prefix !== canonical || vp.segments.length === 0) {
    const hint =
      vp instanceof CompositeBackendError || vp.segments.length === 0
        ? ""
        : ` (did you mean "${vp.path}/"?)`;
    throw new CompositeBackendError(
      "invalid_config",
      `Route prefix ${JSON.stringify(prefix)} is invalid: it must start and end with "/", name at least one directory and contain no empty, "." or ".." segments${hint}`,
    );
  }
  return {
    prefix,
    dir: vp.path,
    segments: vp.segments,
    backend: adaptBackendProtocol(checkBackend(backend, `Route ${prefix}`)),
  };
}

export class RouteTable {
  readonly defaultBackend: BackendProtocolV2;
  /** Most specific (deepest) first, so the first match is the longest prefix. */
  readonly routes: readonly Route[];

  constructor(defaultBackend: AnyBackendProtocol, routes: Record<string, AnyBackendProtocol>) {
    this.defaultBackend = adaptBackendProtocol(checkBackend(defaultBackend, "The default backend"));
    this.routes = Object.entries(routes ?? {})
      .map(([prefix, backend]) => parseRoute(prefix, backend))
      .sort((a, b) => b.segments.length - a.segments.length || (a.prefix < b.prefix ? -1 : 1));
  }

  owner(vp: VirtualPath): Route | undefined {
    return this.routes.find((route) => isWithin(vp.path, route.dir));
  }

  target(vp: VirtualPath): Target {
    const route = this.owner(vp);
    if (!route) return { route, backend: this.defaultBackend, inner: vp.path };
    return {
      route,
      backend: route.backend,
      inner: `/${vp.segments.slice(route.segments.length).join("/")}`,
    };
  }

  /** Routes strictly below `vp` that are more specific than its owner (they shadow it). */
  nestedUnder(vp: VirtualPath, owner: Route | undefined): Route[] {
    return this.routes.filter(
      (route) =>
        route !== owner &&
        route.segments.length > vp.segments.length &&
        isWithin(route.dir, vp.path),
    );
  }

  /** True when a path reported by `owner`'s backend is really served by a more specific route. */
  shadowed(outerPath: string, owner: Route | undefined): boolean {
    const depth = owner?.segments.length ?? 0;
    return this.routes.some(
      (route) => route.segments.length > depth && isWithin(outerPath.replace(/\/$/, ""), route.dir),
    );
  }
}

/** Maps a path reported by a route's backend back into the composite namespace. */
export function outerPath(route: Route | undefined, inner: string): string {
  if (!route) return inner;
  if (inner === "/" || inner === "") return route.prefix;
  return route.dir + (inner.startsWith("/") ? inner : `/${inner}`);
}

/**
 * Backends word their errors with the path they were given; the caller gave the full path.
 * Only quoted occurrences are rewritten, so prose that happens to contain "/" is left alone.
 */
export function rewriteMessage(
  message: string,
  route: Route | undefined,
  inner: string,
  outer: string,
): string {
  if (!route || inner === outer) return message;
  return message.split(`'${inner}'`).join(`'${outer}'`);
}

/** Calls a backend, turning a throw (which would end the agent run) into an error message. */
export async function guarded<T extends { error?: string }>(
  call: () => T | Promise<T>,
  describe: string,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    return { error: `Error: ${describe} failed: ${describeThrown(error)}` } as T;
  }
}

// The dashboard's access rules: loopback by default, a token for every API call, tokens compared
// in constant time. Kept free of database code so the CLI can check flags before connecting.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** Tokens shorter than this are refused: the token is the only lock on a non-loopback dashboard. */
export const MIN_TOKEN_LENGTH = 16;

export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(given: string | undefined | null, expected: string): boolean {
  if (typeof given !== "string" || given.length === 0) return false;
  return timingSafeEqual(digest(given), digest(expected));
}

/** Why these flags cannot start a dashboard, or null when they can. */
export function refuseBinding(host: string, token: string | undefined): string | null {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    return `--token must be at least ${MIN_TOKEN_LENGTH} characters.`;
  }
  if (!isLoopback(host) && token === undefined) {
    return `--host ${host} is reachable from other machines: pass --token <secret> (at least ${MIN_TOKEN_LENGTH} characters) so only holders of the token can use the dashboard, or leave --host at 127.0.0.1.`;
  }
  return null;
}

/** Host headers a loopback-bound dashboard answers (refusing others defeats DNS rebinding). */
export function hostHeaderAllowed(header: string | undefined, boundHost: string): boolean {
  if (!isLoopback(boundHost)) return true;
  if (!header) return false;
  const name = header.startsWith("[")
    ? header.slice(0, header.indexOf("]") + 1)
    : header.split(":")[0]!;
  return isLoopback(name);
}

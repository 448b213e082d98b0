/**
 * Everything the emulator knows at run time: the directory, its signing key, its settings and the
 * grants it has handed out (codes, refresh tokens, device codes, browser sessions). Plain data in
 * maps; endpoint modules read and write it.
 */
import { createHash, type KeyObject, randomBytes, type X509Certificate } from "node:crypto";
import type { App, Directory, Tenant, User } from "./directory.js";
import { CONSUMERS_TENANT_ID } from "./directory.js";

/**
 * Token lifetimes and other behaviour of a running emulator; change them with {@link
 * ControlOperations.configure}.
 */
export interface EmulatorSettings {
  /** Access token lifetime in seconds (default 3599). */
  accessTokenLifetime: number;
  /** id_token lifetime in seconds (default 3600). */
  idTokenLifetime: number;
  /** Refresh token lifetime in seconds (default 90 days). */
  refreshTokenLifetime: number;
  /**
   * `refresh_in` to send, in seconds. Default: half the access token lifetime when that is at least
   * two hours (Entra sends it only for long-lived tokens); `0` never sends it.
   */
  refreshIn?: number;
  /** Device code polling interval in seconds (default 5). */
  deviceCodeInterval: number;
  /** Device code lifetime in seconds (default 900). */
  deviceCodeLifetime: number;
  /** Authorization code lifetime in seconds (default 600). */
  authCodeLifetime: number;
}

export const DEFAULT_SETTINGS: EmulatorSettings = {
  accessTokenLifetime: 3599,
  idTokenLifetime: 3600,
  refreshTokenLifetime: 90 * 24 * 3600,
  deviceCodeInterval: 5,
  deviceCodeLifetime: 900,
  authCodeLifetime: 600,
};

export interface AuthCodeGrant {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  userOid: string;
  tenantId: string;
  nonce?: string;
  codeChallenge?: string;
  codeChallengeMethod?: "S256" | "plain";
  authTime: number;
  claims?: string;
  expiresAt: number;
  redeemed: boolean;
}

export interface RefreshGrant {
  clientId: string;
  familyId?: string;
  userOid: string;
  tenantId: string;
  authTime: number;
  expiresAt: number;
  revoked: boolean;
}

export interface DeviceCodeGrant {
  deviceCode: string;
  userCode: string;
  clientId: string;
  tenantSegment: string;
  scopes: string[];
  expiresAt: number;
  interval: number;
  lastPollAt?: number;
  status: "pending" | "approved" | "denied" | "redeemed";
  denyError?: string;
  userOid?: string;
  tenantId?: string;
  authTime?: number;
}

export interface BrowserSession {
  /** Signed-in users, most recent first. */
  users: Array<{ oid: string; tenantId: string; authTime: number }>;
}

/** A fault waiting to match requests: an error status, a delay, or a dropped connection. */
export interface Fault {
  /** The id {@link ControlOperations.injectFault} returned. */
  id: string;
  /**
   * Endpoint name (token, authorize, devicecode, discovery, instance, jwks, userrealm, mex, wstrust,
   * logout, resource; for managed identity imds, app-service, service-fabric, azure-arc, cloud-shell,
   * machine-learning).
   */
  endpoint?: string;
  /** Match requests whose path contains this. */
  path?: string;
  /** Match requests whose form (or, at managed-identity endpoints, query) has this `client_id`. */
  clientId?: string;
  /** Answer with this HTTP status instead of the real response. */
  status?: number;
  /** Headers of that answer, e.g. `retry-after`. */
  headers?: Record<string, string>;
  /** Body of that answer: a string as text, anything else as JSON. */
  body?: unknown;
  /** Wait this long before answering (or dropping). */
  delayMs?: number;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Remaining matches; `"always"` until cleared. */
  times: number | "always";
}

/** A request a client sent, as the request log keeps it. */
export interface LoggedRequest {
  /** Position in the log, from 1. */
  id: number;
  /** When it arrived (ISO 8601). */
  time: string;
  /** The HTTP method. */
  method: string;
  /** The URL path. */
  path: string;
  /** The endpoint's name: `token`, `authorize`, `devicecode`, `discovery`... */
  endpoint: string;
  /** The query parameters. */
  query: Record<string, string>;
  /** The request headers; `authorization` and `cookie` redacted. */
  headers: Record<string, string>;
  /** The form fields of a form POST; `client_secret` and `password` redacted. */
  form?: Record<string, string>;
  /** The status it was answered with. */
  status?: number;
  /** The id of the fault that matched it, if any. */
  fault?: string;
}

export interface World {
  baseUrl: string;
  directory: Directory;
  signingKey: KeyObject;
  keyId: string;
  /** The emulator's CA: it also issues app certificates trusted by subject name (SNI). */
  ca: X509Certificate;
  settings: EmulatorSettings;
  codes: Map<string, AuthCodeGrant>;
  refreshTokens: Map<string, RefreshGrant>;
  deviceCodes: Map<string, DeviceCodeGrant>;
  sessions: Map<string, BrowserSession>;
  /** Pending sign-ins started at the authorize endpoint, by request id. */
  pendingAuthorize: Map<string, URLSearchParams>;
  consents: Map<string, Set<string>>;
  faults: Fault[];
  log: LoggedRequest[];
  /** Requests seen so far, on every listener: the next logged request's id is one more. */
  requestCount: number;
  /** Continuous access evaluation: user object id to the epoch second of the latest revocation event. */
  caeEvents: Map<string, number>;
}

export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}${randomBytes(bytes).toString("base64url")}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A stable GUID-shaped id derived from a name, so seeded users keep their object ids across runs. */
export function stableGuid(name: string): string {
  const h = createHash("sha256").update(name.toLowerCase()).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const RESERVED_TENANTS = ["common", "organizations", "consumers"] as const;
export type ReservedTenant = (typeof RESERVED_TENANTS)[number];

export function isReservedTenant(segment: string): segment is ReservedTenant {
  return (RESERVED_TENANTS as readonly string[]).includes(segment.toLowerCase());
}

export function findTenant(world: World, idOrDomain: string): Tenant | undefined {
  const wanted = idOrDomain.toLowerCase();
  return world.directory.tenants.find(
    (t) =>
      t.id.toLowerCase() === wanted ||
      t.domain.toLowerCase() === wanted ||
      (t.domains ?? []).some((d) => d.toLowerCase() === wanted) ||
      (t.federatedDomains ?? []).some((d) => d.toLowerCase() === wanted),
  );
}

/** The tenant an authority path segment names, or the reserved name; `undefined` for unknown tenants. */
export function resolveTenantSegment(world: World, segment: string): Tenant | ReservedTenant | undefined {
  if (isReservedTenant(segment)) return segment.toLowerCase() as ReservedTenant;
  if (segment.toLowerCase() === CONSUMERS_TENANT_ID) return "consumers";
  // The emulator's ADFS (`/adfs`) is the on-premises side of the directory's first tenant.
  if (segment.toLowerCase() === "adfs") return world.directory.tenants[0];
  return findTenant(world, segment);
}

export function findUser(world: World, username: string): User | undefined {
  const wanted = username.trim().toLowerCase();
  return world.directory.users.find((u) => u.username.toLowerCase() === wanted);
}

export function userOid(user: User): string {
  return user.oid ?? stableGuid(`user:${user.username}`);
}

export function userTenantId(world: World, user: User): string {
  return findTenant(world, user.tenant)?.id ?? user.tenant;
}

export function findUserByOid(world: World, oid: string): User | undefined {
  return world.directory.users.find((u) => userOid(u) === oid);
}

export function findApp(world: World, clientId: string): App | undefined {
  return world.directory.apps.find((a) => a.clientId === clientId);
}

/** Whether a user may sign in at an authority segment (a tenant, `common` or `organizations`). */
export function userAllowedAt(world: World, user: User, segment: Tenant | ReservedTenant): boolean {
  if (segment === "common" || segment === "organizations") return true;
  if (segment === "consumers") return false;
  return userTenantId(world, user) === segment.id;
}

/**
 * Tenant discovery (the OpenID configuration) and, for hosts Microsoft does not know, instance
 * discovery. Each runs once per app and authority (memoised), and the GETs are kept in the HTTP
 * cache for a day, so a CLI that persists `httpCache` skips them on later runs.
 * https://openid.net/specs/openid-connect-discovery-1_0.html
 */
import { ConfigurationError, MsalError } from "../errors.js";
import type { HttpConfig } from "../http/client.js";
import { fromHttpCache, send } from "../http/client.js";
import { joinSharedCall, type SharedCall, startSharedCall } from "../http/shared-call.js";
import { logs } from "../logging.js";
import { registerAliasGroup } from "./aliases.js";
import { type Authority, unknownAuthorityAdvice } from "./authority.js";

export interface Endpoints {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  deviceAuthorizationEndpoint?: string;
  endSessionEndpoint?: string;
  issuer?: string;
  /** The tenant segment of the token endpoint: the cache's `realm` (a GUID for Entra tenants named by domain). */
  realm: string;
}

export const DEFAULT_INSTANCE_DISCOVERY_ENDPOINT =
  "https://login.microsoftonline.com/common/discovery/instance";

export interface DiscoveryOptions {
  http: HttpConfig;
  /** `false` turns instance discovery off; a string is the endpoint to use. */
  instanceDiscovery: boolean | string;
  signal?: AbortSignal;
}

async function getJson(
  http: HttpConfig,
  url: string,
  signal?: AbortSignal,
): Promise<{ status: number; json: Record<string, unknown> | undefined }> {
  const started = Date.now();
  const response = await send(http, {
    method: "GET",
    url,
    headers: { accept: "application/json" },
    ...(signal ? { signal } : {}),
  });
  let json: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(response.body);
    if (typeof parsed === "object" && parsed !== null) json = parsed as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  if (logs(http.log, "info")) {
    // The query (instance discovery's) names the authority again; the path is what identifies the document.
    const { origin, pathname } = new URL(url);
    http.log(
      fromHttpCache(response) ? "verbose" : "info",
      fromHttpCache(response)
        ? `Discovery: ${origin}${pathname} remembered from the HTTP cache (HTTP ${response.status}).`
        : `Discovery: fetched ${origin}${pathname}: HTTP ${response.status} in ${Date.now() - started} ms.`,
    );
  }
  return { status: response.status, json };
}

async function tenantDiscoveryUrl(authority: Authority, options: DiscoveryOptions): Promise<string> {
  if (options.instanceDiscovery === false || authority.knownToMicrosoft || authority.knownToDeveloper)
    return authority.discoveryUrl;
  const endpoint =
    typeof options.instanceDiscovery === "string"
      ? options.instanceDiscovery
      : DEFAULT_INSTANCE_DISCOVERY_ENDPOINT;
  const query = new URLSearchParams({
    "api-version": "1.1",
    authorization_endpoint: `${authority.url}/oauth2/v2.0/authorize`,
  });
  const { json } = await getJson(options.http, `${endpoint}?${query}`, options.signal);
  if (json?.error === "invalid_instance") {
    throw new ConfigurationError(
      "authority",
      `The authority ${authority.url} is not a known Entra ID instance (invalid_instance). ${unknownAuthorityAdvice(authority)}`,
    );
  }
  if (Array.isArray(json?.metadata)) {
    for (const group of json.metadata as Array<{ aliases?: unknown }>) {
      if (Array.isArray(group.aliases)) registerAliasGroup(group.aliases.map(String));
    }
  }
  if (typeof json?.tenant_discovery_endpoint !== "string") {
    throw new MsalError(
      "instance_discovery_failed",
      `Instance discovery at ${endpoint} gave no tenant_discovery_endpoint for ${authority.url}.`,
    );
  }
  return json.tenant_discovery_endpoint;
}

export async function discoverEndpoints(authority: Authority, options: DiscoveryOptions): Promise<Endpoints> {
  const url = await tenantDiscoveryUrl(authority, options);
  const { status, json } = await getJson(options.http, url, options.signal);
  if (status >= 400 && status < 500) {
    throw new ConfigurationError(
      "authority",
      `Unable to get the configuration of authority ${authority.url}: ${url} answered HTTP ${status}${json?.error_description ? ` (${String(json.error_description).split(" Trace ID")[0]})` : ""}. Check the tenant id or domain; an Entra authority looks like https://login.microsoftonline.com/<tenant>.`,
    );
  }
  if (status !== 200 || !json) {
    throw new MsalError(
      "discovery_failed",
      `OpenID discovery at ${url} answered HTTP ${status}${json ? "" : " without JSON"}. Try again later.`,
    );
  }
  const {
    authorization_endpoint,
    token_endpoint,
    device_authorization_endpoint,
    end_session_endpoint,
    issuer,
  } = json;
  if (typeof authorization_endpoint !== "string" || typeof token_endpoint !== "string") {
    throw new MsalError(
      "discovery_failed",
      `The OpenID configuration at ${url} lacks authorization_endpoint or token_endpoint.`,
    );
  }
  const endpoints: Endpoints = {
    authorizationEndpoint: authorization_endpoint,
    tokenEndpoint: token_endpoint,
    realm: new URL(token_endpoint).pathname.split("/").filter(Boolean)[0] ?? authority.tenant,
  };
  if (typeof device_authorization_endpoint === "string")
    endpoints.deviceAuthorizationEndpoint = device_authorization_endpoint;
  if (typeof end_session_endpoint === "string") endpoints.endSessionEndpoint = end_session_endpoint;
  if (typeof issuer === "string") endpoints.issuer = issuer;
  return endpoints;
}

/**
 * Discovery memoised by URL: concurrent callers share one round trip; a failure is not remembered.
 * A caller's `signal` ends that caller's wait (it rejects with the signal's reason) and no other's.
 */
export interface MemoisedDiscovery {
  (authority: Authority, options: DiscoveryOptions): Promise<Endpoints>;
  /** Endpoints by authority URL once discovery has finished: a cache hit need not wait for a promise. */
  known: ReadonlyMap<string, Endpoints>;
}

/**
 * Authorities whose endpoints an app keeps. A multi-tenant daemon that names ever-new tenants
 * (`{ tenant }` per request) would otherwise grow this memo for as long as it runs, past any
 * `maxAccessTokens` bound on its token cache; past this many, the authority discovered longest ago
 * is forgotten and, if asked for again, discovered again (from the HTTP cache while it holds it).
 */
export const MAX_REMEMBERED_AUTHORITIES = 10_000;

/**
 * Discovery for an app: one round trip per authority however many callers ask at once, and the
 * endpoints of at most `limit` authorities kept.
 *
 * @example
 * ```ts
 * const discover = memoisedDiscovery();
 * const endpoints = await discover(authority, { http, instanceDiscovery: true, signal });
 * ```
 */
export function memoisedDiscovery(limit = MAX_REMEMBERED_AUTHORITIES): MemoisedDiscovery {
  /** Discoveries in flight: removed when they settle. */
  const pending = new Map<string, SharedCall<Endpoints>>();
  /** Finished discoveries, oldest first (a Map iterates in insertion order). */
  const done = new Map<string, Endpoints>();
  const discover = (authority: Authority, options: DiscoveryOptions) => {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const key = authority.url;
    const known = done.get(key);
    if (known !== undefined || pending.has(key)) {
      if (logs(options.http.log, "verbose"))
        options.http.log(
          "verbose",
          `Discovery: the endpoints of ${key} come from this app's earlier discovery (no request).`,
        );
      if (known !== undefined) return Promise.resolve(known);
    }
    let call = pending.get(key);
    if (!call) {
      // Shared by every caller: it stops only when all who wait for it have aborted (then it is
      // forgotten, as any failure is, and the next caller starts afresh).
      const started = startSharedCall((signal) =>
        discoverEndpoints(authority, {
          http: options.http,
          instanceDiscovery: options.instanceDiscovery,
          signal,
        }),
      );
      pending.set(key, started);
      started.promise.then(
        (endpoints) => {
          pending.delete(key);
          done.set(key, endpoints);
          if (done.size > limit) done.delete(done.keys().next().value as string);
        },
        () => pending.delete(key),
      );
      call = started;
    }
    return joinSharedCall(call, options.signal);
  };
  return Object.assign(discover, { known: done });
}

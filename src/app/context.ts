/**
 * The context every flow receives: the app's identity, authority, cache, HTTP configuration,
 * credential, telemetry and logging, made once from the options. Flows are functions of
 * (context, request); the application classes only hold a context.
 */
import { type Authority, parseAuthority, parseOidcAuthority } from "../authority/authority.js";
import { type DiscoveryOptions, type Endpoints, memoisedDiscovery } from "../authority/discovery.js";
import type { AccessTokenSlot } from "../cache/queries.js";
import { TokenCache } from "../cache/token-cache.js";
import type { ClientAuthenticator } from "../credentials/client-auth.js";
import type { HttpConfig } from "../http/client.js";
import { joinSharedCall, type SharedCall, startSharedCall } from "../http/shared-call.js";
import { newTelemetryState, type TelemetryState } from "../http/telemetry.js";
import { hidingPiiInUrls, type LogSink, logSink } from "../logging.js";
import { VERSION } from "../version.js";
import { type ClientApplicationOptions, DEFAULT_AUTHORITY, DEFAULT_TIMEOUT_MS } from "./options.js";
import type { Platform } from "./platform.js";

export interface AppContext {
  clientId: string;
  authority: Authority;
  options: ClientApplicationOptions;
  cache: TokenCache;
  http: HttpConfig;
  /** Client authentication fields; undefined for public clients. */
  clientAuth: ClientAuthenticator | undefined;
  telemetry: TelemetryState;
  log: LogSink;
  enablePiiLog: boolean;
  platform: Platform;
  /** Requests under way, by what they ask: identical concurrent requests share one. */
  inflight: Map<string, SharedCall<unknown>>;
  /** The authority's endpoints; `signal` ends this caller's wait, not the shared discovery. */
  discover(authority: Authority, signal?: AbortSignal): Promise<Endpoints>;
  /** Discovered endpoints by authority URL, once discovery has finished: no waiting for them. */
  knownEndpoints: ReadonlyMap<string, Endpoints>;
  /** Authorities of per-request tenants, parsed once. */
  tenantAuthorities: Map<string, Authority>;
  /** Where the cache keeps the app's own tokens, by authority URL (see AccessTokenQuery.slot). */
  appTokenSlots: Map<string, AccessTokenSlot>;
  /**
   * The app's own authority's endpoints once discovered, and its slot for app tokens: kept on the
   * context itself, so that a cache hit reads as few objects as it can (a daemon serving many
   * tenants keeps one app per tenant, and its hits are bound by memory reads, not by work).
   */
  ownEndpoints: Endpoints | undefined;
  ownAppTokenSlot: AccessTokenSlot;
  /** Headers every token request carries. */
  defaultHeaders: Record<string, string>;
  /** `defaultHeaders` with `accept: application/json`: a token request's headers start as a copy of it. */
  tokenRequestHeaders: Readonly<Record<string, string>>;
  /** States of auth code flows already redeemed: a replayed response is refused. */
  redeemedStates: BoundedSet;
}

/** A set that forgets its oldest members past a size, so a long-running web app does not grow it forever. */
export class BoundedSet {
  readonly #items = new Set<string>();
  constructor(readonly limit: number) {}
  has(item: string): boolean {
    return this.#items.has(item);
  }
  add(item: string): void {
    this.#items.add(item);
    if (this.#items.size > this.limit) this.#items.delete(this.#items.values().next().value as string);
  }
}

export function createContext(
  clientId: string,
  options: ClientApplicationOptions,
  platform: Platform,
  extra: { defaultRetryAfterSeconds: number; clientAuth?: (authority: Authority) => ClientAuthenticator },
): AppContext {
  const authority = options.oidcAuthority
    ? parseOidcAuthority(options.oidcAuthority)
    : parseAuthority(String(options.authority ?? DEFAULT_AUTHORITY), {
        validateAuthority: options.validateAuthority ?? true,
      });
  const timeoutMs = options.timeout ?? DEFAULT_TIMEOUT_MS;
  const enablePiiLog = options.enablePiiLog ?? false;
  // The HTTP layer names the URLs it requests, and user realm discovery's carries the user name.
  const log = options.logger ? hidingPiiInUrls(logSink(options.logger), enablePiiLog) : logSink(undefined);
  const transport: { proxy?: string; ca?: string | string[]; timeoutMs: number } = { timeoutMs };
  if (options.proxy) transport.proxy = options.proxy;
  if (options.ca) transport.ca = options.ca;
  const http: HttpConfig = {
    fetch: options.fetch ?? platform.createFetch(transport),
    timeoutMs,
    defaultRetryAfterSeconds: extra.defaultRetryAfterSeconds,
    cache: options.httpCache ?? new Map(),
    log,
  };
  if (options.proxy) http.proxy = options.proxy;
  if (platform.sha256Hex) http.hash = platform.sha256Hex;
  const discover = memoisedDiscovery();
  const discoveryOptions: DiscoveryOptions = {
    http,
    instanceDiscovery: options.validateAuthority === false ? false : (options.instanceDiscovery ?? true),
  };
  const defaultHeaders: Record<string, string> = {
    "x-client-sku": "msal.ts",
    "x-client-ver": VERSION,
    "x-client-os": platform.os,
    "x-ms-lib-capability": "retry-after, h429",
  };
  if (options.appName) defaultHeaders["x-app-name"] = options.appName;
  if (options.appVersion) defaultHeaders["x-app-ver"] = options.appVersion;
  // The fields a cache hit reads come first, so that they share a cache line.
  return {
    clientId,
    authority,
    ownEndpoints: undefined,
    ownAppTokenSlot: {},
    cache: options.tokenCache ?? new TokenCache(),
    telemetry: newTelemetryState(),
    options,
    http,
    clientAuth: extra.clientAuth?.(authority),
    log,
    enablePiiLog,
    platform,
    inflight: new Map(),
    discover: (a, signal) => discover(a, signal ? { ...discoveryOptions, signal } : discoveryOptions),
    knownEndpoints: discover.known,
    tenantAuthorities: new Map(),
    appTokenSlots: new Map(),
    defaultHeaders,
    tokenRequestHeaders: { accept: "application/json", ...defaultHeaders },
    redeemedStates: new BoundedSet(10_000),
  };
}

/**
 * Runs `work` once for concurrent callers with the same key; later callers share its result. Each
 * caller's `signal` ends only that caller's wait; `work` gets a signal that aborts when every
 * caller still waiting has aborted (src/http/shared-call.ts).
 */
export function singleFlight<T>(
  ctx: AppContext,
  key: string,
  work: (signal: AbortSignal) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let call = ctx.inflight.get(key) as SharedCall<T> | undefined;
  if (!call) {
    // Joined first by this caller: without a signal, nothing can ever abort the work.
    const started = startSharedCall(work, signal !== undefined);
    ctx.inflight.set(key, started);
    const forget = () => {
      if (ctx.inflight.get(key) === started) ctx.inflight.delete(key);
    };
    started.promise.then(forget, forget);
    call = started;
  }
  return joinSharedCall(call, signal);
}

/** Pieces every flow uses: which authority a request goes to, cache hits as results, token requests. */
import type { AppContext } from "../app/context.js";
import { type Authority, parseAuthority, withTenant } from "../authority/authority.js";
import type { Endpoints } from "../authority/discovery.js";
import { homeAccountId, type TokenCacheEvent } from "../cache/event.js";
import { userPartition, withCacheAccess } from "../cache/plugin.js";
import type { AccessTokenHit, AccessTokenQuery } from "../cache/queries.js";
import type { RefreshTokenEntity } from "../cache/schema.js";
import { currentTelemetry, lastTelemetry, recordOutcome } from "../http/telemetry.js";
import { logs, piiText } from "../logging.js";
import { type IdTokenExpectations, validateIdToken } from "../protocol/id-token.js";
import { postTokenRequest, type TokenRequest } from "../protocol/token-request.js";
import type { TokenResult, TokenSuccess } from "../protocol/token-result.js";
import { type Account, publicAccount } from "./accounts.js";
import { type PreparedExtras, popMismatch, withQuery } from "./token-extras.js";

/** Access tokens within this many seconds of expiry are not served (MSAL's 5-minute buffer). */
export const EXPIRY_BUFFER_SECONDS = 300;

/**
 * Sends one request to another tenant or authority than the app's (multi-tenant apps); leave both out to use
 * the app's.
 */
export interface AuthorityOverride {
  /** A tenant (id or domain) for this request instead of the app's: multi-tenant apps. */
  tenant?: string;
  /** A whole authority URL for this request. */
  authority?: string;
}

export function requestAuthority(ctx: AppContext, request: AuthorityOverride): Authority {
  if (request.authority === undefined && request.tenant === undefined) return ctx.authority;
  const validateAuthority = ctx.options.validateAuthority ?? true;
  // The app's own authority (as a flow object records it) keeps its kind: an OIDC issuer is no Entra URL.
  if (request.authority?.replace(/\/+$/, "") === ctx.authority.url) return ctx.authority;
  if (request.authority) return parseAuthority(request.authority, { validateAuthority });
  if (request.tenant) {
    let authority = ctx.tenantAuthorities.get(request.tenant);
    if (!authority) {
      authority = withTenant(ctx.authority, request.tenant, { validateAuthority });
      if (ctx.tenantAuthorities.size < 10_000) ctx.tenantAuthorities.set(request.tenant, authority);
    }
    return authority;
  }
  return ctx.authority;
}

/** The authority's endpoints: at once when known, else by discovery. */
export function endpointsOf(
  ctx: AppContext,
  authority: Authority,
  signal?: AbortSignal,
): Endpoints | Promise<Endpoints> {
  const own = authority === ctx.authority;
  if (own && ctx.ownEndpoints !== undefined) return ctx.ownEndpoints;
  const known = ctx.knownEndpoints.get(authority.url);
  if (known === undefined) return ctx.discover(authority, signal);
  if (own) ctx.ownEndpoints = known;
  return known;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/**
 * Whether a cached token is past its `refresh_on` (spec 3.6): still valid, but due for renewal. A
 * `refresh_on` that is not a number counts as due, not as never.
 */
export function dueForRefresh(entry: { refresh_on?: unknown }, now: number): boolean {
  return entry.refresh_on !== undefined && !(Number(entry.refresh_on) >= now);
}

/** A cache hit as MSAL returns it: only the token, its type, its lifetime and where it came from. */
export function cacheHitResult(hit: AccessTokenHit, now = nowSeconds()): TokenSuccess {
  const entry = hit.entry;
  const result: TokenSuccess = {
    access_token: entry.secret,
    token_type: entry.token_type ?? "Bearer",
    expires_in: hit.expiresOn - now,
    token_source: "cache",
  };
  if (entry.refresh_on !== undefined) result.refresh_on = Number(entry.refresh_on);
  return result;
}

export interface TokenCall {
  ctx: AppContext;
  endpoints: Endpoints;
  /** Where to POST, when not the discovered token endpoint (regional endpoints). */
  postUrl?: string;
  form: Record<string, string | undefined>;
  api: string;
  reason: number;
  correlationId?: string;
  signal?: AbortSignal;
  /** `false`: the request is never sent twice (a password grant: each attempt counts towards lockout). */
  retry?: false;
  /** What the cache needs besides the response; `undefined` skips the cache. */
  cacheEvent?: Omit<TokenCacheEvent, "response" | "tokenEndpoint" | "clientId">;
  /** Extra request headers (CCS routing: `X-AnchorMailbox`). */
  headers?: Record<string, string>;
  /** How to check an id_token in the response (the client id is always checked). */
  idToken?: Omit<IdTokenExpectations, "clientId">;
  /** A refresh: the refresh token used, whose entry gets the new secret instead of a new entry. */
  refreshedToken?: RefreshTokenEntity;
  /** The cache partition the tokens belong to; default: the user's, from the response. */
  partitionKey?: string;
  /** Errors that are a normal step of the flow (a device code poll's `authorization_pending`): logged at verbose. */
  expectedErrors?: ReadonlySet<string>;
  /** The caller's `data`, query parameters, headers and PoP key binding (see `prepareExtras`). */
  extras?: PreparedExtras;
}

/** The account entry a response was cached under, in the shape `getAccounts` returns. */
function cachedAccount(
  ctx: AppContext,
  result: TokenSuccess,
  home: string,
  environment: string,
): Account | undefined {
  const entries = ctx.cache.findAccounts({ homeAccountId: home, environment });
  const tenant = result.id_token_claims?.tid;
  const entry = entries.find((e) => e.realm === tenant) ?? entries.at(-1);
  return entry ? publicAccount(entry) : undefined;
}

/** Sends a token request with the client's authentication and telemetry, and caches a success. */
export async function requestToken(call: TokenCall): Promise<TokenResult> {
  const { ctx, endpoints } = call;
  const correlationId = call.correlationId ?? crypto.randomUUID();
  const started = logs(ctx.log, "verbose") ? Date.now() : 0;
  const auth = ctx.clientAuth ? await ctx.clientAuth(endpoints.tokenEndpoint) : {};
  const extras = call.extras;
  const tokenEndpoint = withQuery(call.postUrl ?? endpoints.tokenEndpoint, extras?.query);
  // Built by assignment in order of precedence, not by spreading several objects into one: that
  // took a tenth of a forced request's CPU. `data` may add fields but never replaces the client's
  // authentication; the caller's headers never replace the correlation id or telemetry.
  const form: Record<string, string | undefined> = { client_id: ctx.clientId };
  Object.assign(form, call.form);
  if (extras?.form) Object.assign(form, extras.form);
  form.client_info = "1";
  Object.assign(form, auth);
  // Object.assign, not a spread: adding properties to an object made by `{ ...x }` costs microseconds
  // each in V8 (a map of its own per object), Object.assign's copy takes them as any literal does.
  const headers: Record<string, string> = Object.assign({}, ctx.tokenRequestHeaders);
  if (extras?.headers) Object.assign(headers, extras.headers);
  headers["client-request-id"] = correlationId;
  headers["x-client-current-telemetry"] = currentTelemetry(call.api, call.reason);
  headers["x-client-last-telemetry"] = lastTelemetry(ctx.telemetry);
  if (call.headers) Object.assign(headers, call.headers);
  const request: TokenRequest = { tokenEndpoint, form, headers };
  if (call.signal) request.signal = call.signal;
  if (call.retry === false) request.retry = false;
  const { result, raw } = await postTokenRequest(ctx.http, request);
  recordOutcome(ctx.telemetry, call.api, correlationId, result.error);
  if (result.error) {
    const level = call.expectedErrors?.has(result.error) ? "verbose" : "warning";
    if (logs(ctx.log, level))
      ctx.log(
        level,
        `Token request failed: ${result.error}${result.status !== undefined ? `, HTTP ${result.status}` : ""} (${requestText(call, tokenEndpoint, correlationId, started)}).`,
      );
    return result;
  }
  const mismatch = popMismatch(extras, result);
  if (mismatch) return mismatch;
  if (typeof result.id_token === "string") {
    // Checked before anything is cached: a token that fails validation must not be used later.
    const issuer = ctx.authority.kind === "adfs" ? undefined : endpoints.issuer;
    result.id_token_claims = validateIdToken(result.id_token, {
      clientId: ctx.clientId,
      ...(issuer ? { issuer } : {}),
      ...call.idToken,
    });
  }
  if (call.cacheEvent && raw) {
    // `raw` is this call's own parse of the body, used by nothing after this: no copy unless changed.
    const newRefreshToken = call.refreshedToken ? raw.refresh_token : undefined;
    let response = raw;
    if (typeof newRefreshToken === "string") {
      response = Object.assign({}, raw);
      delete response.refresh_token;
    }
    const event = Object.assign({}, call.cacheEvent) as TokenCacheEvent;
    if (extras?.keyId !== undefined) event.data = { ...call.cacheEvent.data, key_id: extras.keyId };
    if (extras?.authScheme) event.authScheme = extras.authScheme;
    event.clientId = ctx.clientId;
    event.tokenEndpoint = endpoints.tokenEndpoint;
    event.response = response;
    const refreshed = call.refreshedToken;
    const home = homeAccountId(result, result.id_token_claims) ?? undefined;
    const partition = call.partitionKey ?? (home === undefined ? undefined : userPartition(home));
    const createsAccount = home !== undefined && !call.cacheEvent.skipAccountCreation;
    await withCacheAccess(ctx.cache, partition, () => {
      ctx.cache.add(event);
      if (refreshed && typeof newRefreshToken === "string")
        ctx.cache.updateRefreshToken(refreshed, newRefreshToken);
      if (createsAccount) {
        const account = cachedAccount(ctx, result, home, call.cacheEvent?.environment ?? ctx.authority.host);
        if (account) result.account = account;
      }
    });
  }
  if (logs(ctx.log, "info")) {
    const user = result.id_token_claims?.preferred_username;
    const whose = typeof user === "string" ? ` for ${piiText(user, ctx.enablePiiLog)}` : "";
    ctx.log(
      "info",
      `Token obtained from the identity provider${whose} (${requestText(call, tokenEndpoint, correlationId, started)}).`,
    );
  }
  return result;
}

/** What a line about a token request says of it: grant, endpoint (never its query), correlation id, time taken. */
function requestText(call: TokenCall, tokenEndpoint: string, correlationId: string, started: number): string {
  const { origin, pathname } = new URL(tokenEndpoint);
  const took = started ? `, ${Date.now() - started} ms` : "";
  return `grant ${call.form.grant_type ?? "unknown"}, POST ${origin}${pathname}, correlation id ${correlationId}${took}`;
}

/** Why a flow did not look in the cache, for its verbose line. */
export function skipReason(request: { forceRefresh?: boolean; claimsChallenge?: string }): string {
  return request.claimsChallenge
    ? "a claims challenge skips the cache"
    : request.forceRefresh
      ? "forceRefresh skips the cache"
      : "the cache is skipped";
}

/**
 * Looks up an access token; at verbose it also says what it found: a hit and when it expires, or
 * why there is none. The lookup itself removes an expired token, so for that line the matching one
 * is first asked for whatever its expiry (as of time 0 every token is valid). Without verbose lines
 * it is the plain lookup, with nothing built or looked up twice.
 */
export function lookupAccessToken(
  ctx: AppContext,
  query: AccessTokenQuery,
  now: number,
  flow: string,
): AccessTokenHit | undefined {
  if (!logs(ctx.log, "verbose")) return ctx.cache.findAccessTokenHit(query, now);
  const stored = ctx.cache.findAccessTokenHit(query, 0);
  const hit = ctx.cache.findAccessTokenHit(query, now);
  const scopes = scopeParameter(query.scopes);
  if (hit !== undefined) {
    ctx.log(
      "verbose",
      `${flow}: cache hit for ${scopes}: the access token expires in ${hit.expiresOn - now} s.`,
    );
    return hit;
  }
  const why =
    stored === undefined
      ? "no access token for these scopes"
      : stored.expiresOn < now
        ? `the access token expired ${now - stored.expiresOn} s ago`
        : `the access token expires in ${stored.expiresOn - now} s, within the ${EXPIRY_BUFFER_SECONDS} s before expiry when it is no longer served`;
  ctx.log("verbose", `${flow}: cache miss for ${scopes}: ${why}.`);
  return undefined;
}

/** Scopes as the `scope` parameter: sorted and space-joined, as MSAL Python sends them. */
export function scopeParameter(scopes: Iterable<string>): string {
  return [...new Set(scopes)].sort().join(" ");
}

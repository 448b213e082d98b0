/**
 * Client credentials: an app's own token (spec section 3.7). The cache first, unless the caller
 * forces a refresh or brings a claims challenge; a token past its `refresh_on` is returned at once
 * and renewed in the background; identical concurrent requests share one network call.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
 */
import { type AppContext, singleFlight } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import type { Authority } from "../authority/authority.js";
import type { Endpoints } from "../authority/discovery.js";
import { appPartition, coordinatedRequest, withCacheAccess } from "../cache/plugin.js";
import type { AccessTokenHit, AccessTokenQuery, AccessTokenSlot } from "../cache/queries.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { logs } from "../logging.js";
import { mergeClaims } from "../protocol/token-request.js";
import type { TokenResult } from "../protocol/token-result.js";
import {
  type AuthorityOverride,
  cacheHitResult,
  dueForRefresh,
  EXPIRY_BUFFER_SECONDS,
  endpointsOf,
  lookupAccessToken,
  nowSeconds,
  requestAuthority,
  requestToken,
  scopeParameter,
  skipReason,
} from "./common.js";
import {
  finishResult,
  NO_EXTRAS,
  type PopRequestOptions,
  type PreparedExtras,
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

/** Options of {@link ConfidentialClientApplication.acquireTokenForClient}. */
export interface ClientCredentialRequest extends AuthorityOverride, TokenRequestOptions, PopRequestOptions {
  /** Skip the cache and ask the identity provider for a new token. */
  forceRefresh?: boolean;
  /** The claims challenge from a resource's `WWW-Authenticate` header; skips the cache. */
  claimsChallenge?: string;
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

/** Where the token request goes: the regional endpoint when a region is in use. */
export type RegionalEndpoint = (authority: Authority, endpoints: Endpoints) => Promise<string | undefined>;

export async function acquireTokenForClient(
  ctx: AppContext,
  scopes: string[],
  request: ClientCredentialRequest,
  regionalEndpoint: RegionalEndpoint,
): Promise<TokenResult> {
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  const prepared = prepareExtras(ctx, request);
  const extras = prepared instanceof Promise ? await prepared : prepared;
  request.signal?.throwIfAborted();
  const authority = requestAuthority(ctx, request);
  const known = endpointsOf(ctx, authority, request.signal);
  const endpoints = known instanceof Promise ? await known : known;
  const skipCache = request.forceRefresh || request.claimsChallenge;
  const now = nowSeconds();
  if (skipCache && logs(ctx.log, "verbose"))
    ctx.log("verbose", `Client credentials: ${skipReason(request)} for ${scopeParameter(scopes)}.`);
  const hit = skipCache ? undefined : cachedAppToken(ctx, authority, endpoints, scopes, now, extras);
  const found = hit instanceof Promise ? await hit : hit;
  // The request's state is gathered only for a call that goes to the network.
  if (found === undefined)
    return finishResult(
      extras,
      await send(
        { ctx, authority, endpoints, scopes, request, regionalEndpoint, extras },
        skipCache ? REFRESH_REASON.forceRefresh : REFRESH_REASON.absent,
      ),
    );
  ctx.telemetry.cacheHits++;
  if (dueForRefresh(found.entry, now)) {
    // Renew in the background: this caller, and everyone until the new token lands, gets the valid one.
    ctx.log(
      "verbose",
      "Client credentials: the cached access token is past its refresh_on; renewing it in the background.",
    );
    send(
      { ctx, authority, endpoints, scopes, request, regionalEndpoint, extras },
      REFRESH_REASON.aging,
    ).catch((error: unknown) => ctx.log("warning", `Background refresh failed: ${String(error)}`));
  }
  return finishResult(extras, cacheHitResult(found, now));
}

/** The app's cached token for `scopes`; without persistence, at once (a hit then costs no promise but the call's own). */
function cachedAppToken(
  ctx: AppContext,
  authority: Authority,
  endpoints: Endpoints,
  scopes: string[],
  now: number,
  extras: PreparedExtras,
): AccessTokenHit | undefined | Promise<AccessTokenHit | undefined> {
  const query: AccessTokenQuery = {
    clientId: ctx.clientId,
    homeAccountId: null,
    environment: authority.host,
    realm: endpoints.realm,
    scopes,
    minValiditySeconds: EXPIRY_BUFFER_SECONDS,
  };
  // A slot belongs to the app's plain bucket; PoP tokens are in another. Set, not spread: a hit allocates the query only.
  if (extras.tokenType === undefined) query.slot = appTokenSlot(ctx, authority);
  else query.tokenType = extras.tokenType;
  if (extras.keyId !== undefined) query.keyId = extras.keyId;
  if (!ctx.cache.plugin) return lookupAccessToken(ctx, query, now, "Client credentials");
  return withCacheAccess(ctx.cache, appPartition(ctx.clientId, endpoints.realm), () =>
    lookupAccessToken(ctx, query, now, "Client credentials"),
  );
}

function appTokenSlot(ctx: AppContext, authority: Authority): AccessTokenSlot | undefined {
  if (authority === ctx.authority) return ctx.ownAppTokenSlot;
  let slot = ctx.appTokenSlots.get(authority.url);
  if (slot === undefined && ctx.appTokenSlots.size < 10_000) {
    slot = {};
    ctx.appTokenSlots.set(authority.url, slot);
  }
  return slot;
}

/** After another instance's request: the app's token when it is cached and not yet due for renewal. */
async function freshAppToken(call: ClientCredentialCall): Promise<TokenResult | undefined> {
  const now = nowSeconds();
  const hit = await cachedAppToken(call.ctx, call.authority, call.endpoints, call.scopes, now, call.extras);
  if (hit === undefined || dueForRefresh(hit.entry, now)) return undefined;
  call.ctx.telemetry.cacheHits++;
  return cacheHitResult(hit, now);
}

interface ClientCredentialCall {
  ctx: AppContext;
  authority: Authority;
  endpoints: Endpoints;
  scopes: string[];
  request: ClientCredentialRequest;
  regionalEndpoint: RegionalEndpoint;
  extras: PreparedExtras;
}

/** The token request; identical concurrent ones share one network call. */
function send(call: ClientCredentialCall, reason: number): Promise<TokenResult> {
  const { ctx, authority, endpoints, scopes, request } = call;
  const claims = mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge);
  const requestKey = `client_credentials\n${authority.url}\n${scopeParameter(scopes)}\n${claims ?? ""}\n${reason === REFRESH_REASON.forceRefresh}\n${call.extras.flightKey}`;
  return singleFlight(
    ctx,
    requestKey,
    (signal) => {
      const partitionKey = appPartition(ctx.clientId, endpoints.realm);
      const post = async () =>
        requestToken({
          ctx,
          endpoints,
          postUrl: (await call.regionalEndpoint(authority, endpoints)) ?? endpoints.tokenEndpoint,
          form: { grant_type: "client_credentials", scope: scopeParameter(scopes), claims },
          api: API_ID.forClient,
          reason,
          ...(request.correlationId ? { correlationId: request.correlationId } : {}),
          signal,
          cacheEvent: { scopes, environment: authority.host, grantType: "client_credentials" },
          partitionKey,
          ...(call.extras === NO_EXTRAS ? {} : { extras: call.extras }),
        });
      // A forced request wants a new token: instances sharing the cache coordinate only misses.
      if (reason === REFRESH_REASON.forceRefresh) return post();
      return coordinatedRequest(ctx.cache, {
        partitionKey,
        requestKey,
        send: post,
        lookupAgain: () => freshAppToken(call),
        signal,
      });
    },
    request.signal,
  );
}

/**
 * Silent acquisition (spec section 4): a cached access token when one is valid for 5 more minutes;
 * otherwise the account's refresh tokens, newest first, trying the FOCI family's when this app is
 * (or may be) in a family. A token past its `refresh_on` is returned at once and renewed in the
 * background. Environment aliases need no second pass: the cache's indexes span alias groups.
 */
import { type AppContext, singleFlight } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import type { Authority } from "../authority/authority.js";
import type { Endpoints } from "../authority/discovery.js";
import { coordinatedRequest, userPartition, withCacheAccess } from "../cache/plugin.js";
import type { AccessTokenHit, AccessTokenQuery } from "../cache/queries.js";
import type { AccountEntity, RefreshTokenEntity } from "../cache/schema.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { piiText } from "../logging.js";
import { mergeClaims } from "../protocol/token-request.js";
import type { TokenFailure, TokenResult, TokenSuccess } from "../protocol/token-result.js";
import { resultAccount } from "./accounts.js";
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
import { decorateScopes } from "./scopes.js";
import {
  finishResult,
  NO_EXTRAS,
  type PopRequestOptions,
  type PreparedExtras,
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

/**
 * An account as `getAccounts` returns it (or a cache entry of one); only `home_account_id` is
 * required. The fields are picked by name: `Partial<AccountEntity>` would carry the entity's index
 * signature, which the `Account` interface `getAccounts` returns does not have (not assignable).
 */
export type AccountRef = Pick<AccountEntity, "home_account_id"> &
  Partial<
    Pick<
      AccountEntity,
      "environment" | "realm" | "local_account_id" | "username" | "authority_type" | "account_source"
    >
  >;

/** Options of {@link ClientApplication.acquireTokenSilent}. */
export interface SilentRequest extends AuthorityOverride, TokenRequestOptions, PopRequestOptions {
  /** Skip cached access tokens and redeem the refresh token for a new one. */
  forceRefresh?: boolean;
  /**
   * The claims challenge from a resource's `WWW-Authenticate` header (or conditional access), sent with the
   * request. Skips cached access tokens.
   */
  claimsChallenge?: string;
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

/** Suberrors that mean "sign in again" carry no further classification (spec section 4.1). */
const PLAIN_SUBERRORS = new Set([
  "bad_token",
  "token_expired",
  "protection_policy_required",
  "client_mismatch",
  "device_authentication_failed",
]);

interface RefreshContext {
  ctx: AppContext;
  authority: Authority;
  endpoints: Endpoints;
  account: AccountRef;
  scopes: string[];
  claims: string | undefined;
  reason: number;
  request: SilentRequest;
  extras: PreparedExtras;
}

export async function acquireTokenSilentWithError(
  ctx: AppContext,
  scopes: string[],
  account: AccountRef | null | undefined,
  request: SilentRequest,
): Promise<TokenResult | null> {
  if (!account) return null;
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
  let hit: AccessTokenHit | undefined;
  if (!skipCache) {
    const query = userTokenQuery(ctx, account, authority, endpoints, scopes, extras);
    // Without persistence the lookup is synchronous: a hit costs no promise besides the call's own.
    hit = ctx.cache.plugin
      ? await withCacheAccess(ctx.cache, userPartition(account.home_account_id), () =>
          lookupAccessToken(ctx, query, now, "Silent"),
        )
      : lookupAccessToken(ctx, query, now, "Silent");
  }
  const aging = hit !== undefined && dueForRefresh(hit.entry, now);
  if (hit !== undefined) {
    ctx.telemetry.cacheHits++;
    if (!aging) return finishResult(extras, hitResult(ctx, hit, now, account, authority.host));
  }
  // Only a call that goes to the network (now or in the background) gathers the refresh's state.
  // A background renewal outlives the call, so the call's signal is not its caller's.
  const refresh = (reason: number, signal?: AbortSignal) =>
    refreshWithFamily(
      {
        ctx,
        authority,
        endpoints,
        account,
        scopes,
        claims: mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge),
        reason,
        request,
        extras,
      },
      signal,
    );
  if (hit === undefined) {
    ctx.log(
      "verbose",
      `Silent: ${skipCache ? skipReason(request) : "no valid access token in the cache"} for account ${piiText(account.home_account_id, ctx.enablePiiLog)}; redeeming a refresh token.`,
    );
    const refreshed = await refresh(
      skipCache ? REFRESH_REASON.forceRefresh : REFRESH_REASON.absent,
      request.signal,
    );
    return refreshed && finishResult(extras, withAccount(ctx, refreshed, account, authority.host));
  }
  ctx.log(
    "verbose",
    "Silent: the cached access token is past its refresh_on; renewing it in the background.",
  );
  refresh(REFRESH_REASON.aging).catch((error: unknown) =>
    ctx.log("warning", `Background refresh failed: ${String(error)}`),
  );
  return finishResult(extras, hitResult(ctx, hit, now, account, authority.host));
}

/** A cache hit as a result, with the account it is for. */
function hitResult(
  ctx: AppContext,
  hit: AccessTokenHit,
  now: number,
  account: AccountRef,
  environment: string,
): TokenSuccess {
  const result = cacheHitResult(hit, now);
  const found = resultAccount(ctx, account, environment);
  if (found) result.account = found;
  return result;
}

/**
 * A success with the account it is for (see `TokenSuccess.account`). A refresh's result is shared
 * by the calls that joined it, so it gets a copy rather than the caller's account written into it.
 */
function withAccount(
  ctx: AppContext,
  result: TokenResult,
  account: AccountRef,
  environment: string,
): TokenResult {
  if (result.error) return result;
  const found = resultAccount(ctx, account, environment);
  if (!found) return result;
  // Object.assign, not `{ ...result, account }`: V8 makes a spread followed by a property cost microseconds.
  const copy = Object.assign({}, result);
  copy.account = found;
  return copy;
}

/** Spec 4.3: an app the cache has never seen tries family tokens first; a family member its family's; then its own. */
async function refreshWithFamily(r: RefreshContext, callerSignal?: AbortSignal): Promise<TokenResult | null> {
  const key = `silent\n${r.authority.url}\n${r.account.home_account_id}\n${scopeParameter(r.scopes)}\n${r.claims ?? ""}\n${r.reason}\n${r.extras.flightKey}`;
  return singleFlight(
    r.ctx,
    key,
    (signal) => {
      const refresh = () => refreshOnce(r, signal);
      // A forced refresh wants a new token: instances sharing the cache coordinate only misses.
      if (r.reason === REFRESH_REASON.forceRefresh) return refresh();
      return coordinatedRequest(r.ctx.cache, {
        partitionKey: userPartition(r.account.home_account_id),
        requestKey: key,
        send: refresh,
        lookupAgain: () => freshUserToken(r),
        signal,
      });
    },
    callerSignal,
  );
}

/** The cache query for an account's access token for `scopes` (built by assignment: a hit allocates only it). */
function userTokenQuery(
  ctx: AppContext,
  account: AccountRef,
  authority: Authority,
  endpoints: Endpoints,
  scopes: string[],
  extras: PreparedExtras,
): AccessTokenQuery {
  const query: AccessTokenQuery = {
    clientId: ctx.clientId,
    homeAccountId: account.home_account_id,
    environment: authority.host,
    realm: endpoints.realm,
    scopes,
    minValiditySeconds: EXPIRY_BUFFER_SECONDS,
  };
  if (extras.tokenType !== undefined) query.tokenType = extras.tokenType;
  if (extras.keyId !== undefined) query.keyId = extras.keyId;
  return query;
}

/** After another instance's refresh: the account's token when it is cached and not yet due for renewal. */
async function freshUserToken(r: RefreshContext): Promise<TokenResult | undefined> {
  const { ctx, authority, account } = r;
  const now = nowSeconds();
  const query = userTokenQuery(ctx, account, authority, r.endpoints, r.scopes, r.extras);
  const hit = await withCacheAccess(ctx.cache, userPartition(account.home_account_id), () =>
    lookupAccessToken(ctx, query, now, "Silent"),
  );
  if (hit === undefined || dueForRefresh(hit.entry, now)) return undefined;
  ctx.telemetry.cacheHits++;
  return hitResult(ctx, hit, now, account, authority.host);
}

/** One refresh: family tokens, then the app's own. */
async function refreshOnce(r: RefreshContext, signal: AbortSignal): Promise<TokenResult | null> {
  const { ctx, authority, account } = r;
  // Literals, not `{ ...base, familyId }`: V8 makes a spread followed by a property cost microseconds.
  const homeAccountId = account.home_account_id;
  const environment = authority.host;
  const { metadata, family, familyOfOne, own } = await withCacheAccess(
    ctx.cache,
    userPartition(account.home_account_id),
    () => {
      const metadata = ctx.cache.getAppMetadata(authority.host, ctx.clientId);
      return {
        metadata,
        familyOfOne: metadata
          ? []
          : ctx.cache.findRefreshTokens({ homeAccountId, environment, familyId: "1" }),
        family: metadata?.family_id
          ? ctx.cache.findRefreshTokens({ homeAccountId, environment, familyId: metadata.family_id })
          : [],
        own: ctx.cache.findRefreshTokens({ homeAccountId, environment, clientId: ctx.clientId }),
      };
    },
  );
  if (!metadata) {
    const viaFamily = await tryRefreshTokens(r, familyOfOne, true, signal);
    if (viaFamily && !("error" in viaFamily)) return viaFamily;
  }
  let last: TokenResult | null = null;
  if (metadata?.family_id) {
    last = await tryRefreshTokens(r, family, false, signal);
    if (last && !("error" in last)) return last;
  }
  const result = classify((await tryRefreshTokens(r, own, false, signal)) ?? last);
  if (result === null)
    ctx.log(
      "verbose",
      `Silent: no refresh token of this app for account ${piiText(account.home_account_id, ctx.enablePiiLog)}; the user must sign in.`,
    );
  return result;
}

async function tryRefreshTokens(
  r: RefreshContext,
  tokens: RefreshTokenEntity[],
  stopOnClientMismatch: boolean,
  signal: AbortSignal,
): Promise<TokenResult | null> {
  let last: TokenResult | null = null;
  for (const rt of tokens) {
    last = await requestToken({
      ctx: r.ctx,
      endpoints: r.endpoints,
      form: {
        grant_type: "refresh_token",
        refresh_token: rt.secret,
        scope: scopeParameter(decorateScopes(r.scopes, r.ctx.options.excludeScopes)),
        claims: r.claims,
      },
      headers: { "X-AnchorMailbox": `Oid:${r.account.home_account_id.replace(".", "@")}` },
      ...(r.extras === NO_EXTRAS ? {} : { extras: r.extras }),
      api: API_ID.silent,
      reason: r.reason,
      refreshedToken: rt,
      ...(r.request.correlationId ? { correlationId: r.request.correlationId } : {}),
      signal,
      // A refresh never creates an account: one removed meanwhile stays removed.
      cacheEvent: {
        scopes: decorateScopes(r.scopes, r.ctx.options.excludeScopes),
        environment: r.authority.host,
        skipAccountCreation: true,
      },
    });
    if (!last.error) return last;
    if (stopOnClientMismatch && last.suberror === "client_mismatch") break;
  }
  return last;
}

/** OAuth errors after which only the user can help: sign in interactively (with the claims, if any). */
const INTERACTION_ERRORS = new Set([
  "invalid_grant",
  "interaction_required",
  "login_required",
  "consent_required",
]);

/**
 * Marks whether a failure needs the user (`requires_interaction`) or may pass on retry, and adds
 * MSAL Python's `classification` of the suberror.
 */
function classify(result: TokenResult | null): TokenResult | null {
  if (!result || !("error" in result)) return result;
  const failure = result as TokenFailure;
  failure.requires_interaction = INTERACTION_ERRORS.has(failure.error);
  if (typeof failure.suberror === "string")
    failure.classification = PLAIN_SUBERRORS.has(failure.suberror) ? "" : failure.suberror;
  return failure;
}

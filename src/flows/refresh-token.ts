/**
 * `acquireTokenByRefreshToken`: brings a refresh token obtained elsewhere (another library, an
 * older app) into the cache by redeeming it once (spec section 3.6). The new refresh token is a
 * new cache entry; a failed redemption changes nothing.
 */
import type { AppContext } from "../app/context.js";
import { validateScopes } from "../app/options.js";
import { ArgumentError } from "../errors.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import type { TokenResult } from "../protocol/token-result.js";
import { type AuthorityOverride, requestAuthority, requestToken, scopeParameter } from "./common.js";
import { decorateScopes } from "./scopes.js";
import { NO_EXTRAS, prepareExtras, type TokenRequestOptions } from "./token-extras.js";

/** Options of {@link ClientApplication.acquireTokenByRefreshToken}. */
export interface RefreshTokenRequest extends AuthorityOverride, TokenRequestOptions {
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

export async function acquireTokenByRefreshToken(
  ctx: AppContext,
  refreshToken: string,
  scopes: string[],
  request: RefreshTokenRequest,
): Promise<TokenResult> {
  if (typeof refreshToken !== "string" || refreshToken === "")
    throw new ArgumentError("refreshToken", "refreshToken must be a non-empty string.");
  validateScopes(scopes);
  const extras = await prepareExtras(ctx, request);
  const authority = requestAuthority(ctx, request);
  const endpoints = await ctx.discover(authority, request.signal);
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  return requestToken({
    ctx,
    endpoints,
    form: { grant_type: "refresh_token", refresh_token: refreshToken, scope: scopeParameter(decorated) },
    api: API_ID.byRefreshToken,
    reason: REFRESH_REASON.forceRefresh,
    ...(request.correlationId ? { correlationId: request.correlationId } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    cacheEvent: { scopes: decorated, environment: authority.host },
    ...(extras === NO_EXTRAS ? {} : { extras }),
  });
}

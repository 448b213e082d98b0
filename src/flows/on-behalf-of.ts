/**
 * On-behalf-of: a web API exchanges the access token it was called with for a token to a
 * downstream API (spec section 3.8). Tokens are cached under a hash of the incoming assertion
 * (never the assertion itself), so repeated calls with the same assertion hit the cache.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow
 */
import { type AppContext, singleFlight } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import { coordinatedRequest, oboPartition, withCacheAccess } from "../cache/plugin.js";
import { ArgumentError } from "../errors.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { logs } from "../logging.js";
import { encodeBase64Url } from "../protocol/base64.js";
import { mergeClaims } from "../protocol/token-request.js";
import type { TokenResult } from "../protocol/token-result.js";
import {
  type AuthorityOverride,
  cacheHitResult,
  EXPIRY_BUFFER_SECONDS,
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
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** Options of {@link ConfidentialClientApplication.acquireTokenOnBehalfOf}. */
export interface OnBehalfOfRequest extends AuthorityOverride, TokenRequestOptions, PopRequestOptions {
  /** Skip the cache and ask the identity provider for a new token. */
  forceRefresh?: boolean;
  /**
   * The claims challenge from a resource's `WWW-Authenticate` header (or conditional access), sent with the
   * request. Skips the cache.
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

/** base64url SHA-256 of the assertion, as msal-node stores it. */
export async function assertionHash(assertion: string): Promise<string> {
  return encodeBase64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(assertion))),
  );
}

export async function acquireTokenOnBehalfOf(
  ctx: AppContext,
  userAssertion: string,
  scopes: string[],
  request: OnBehalfOfRequest,
): Promise<TokenResult> {
  if (typeof userAssertion !== "string" || userAssertion === "") {
    throw new ArgumentError(
      "userAssertion",
      "userAssertion must be the access token your API was called with (the bearer token), a non-empty string.",
    );
  }
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  request.signal?.throwIfAborted();
  const authority = requestAuthority(ctx, request);
  const [endpoints, hash, extras] = await Promise.all([
    ctx.discover(authority, request.signal),
    assertionHash(userAssertion),
    prepareExtras(ctx, request),
  ]);
  const claims = mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge);
  const skipCache = request.forceRefresh || request.claimsChallenge;
  const lookup = async () => {
    const now = nowSeconds();
    const query = {
      clientId: ctx.clientId,
      homeAccountId: null,
      userAssertionHash: hash,
      environment: authority.host,
      realm: endpoints.realm,
      scopes,
      minValiditySeconds: EXPIRY_BUFFER_SECONDS,
      ...(extras.tokenType !== undefined ? { tokenType: extras.tokenType } : {}),
      ...(extras.keyId !== undefined ? { keyId: extras.keyId } : {}),
    };
    const hit = await withCacheAccess(ctx.cache, oboPartition(hash), () =>
      lookupAccessToken(ctx, query, now, "On-behalf-of"),
    );
    if (hit === undefined) return undefined;
    ctx.telemetry.cacheHits++;
    return cacheHitResult(hit, now);
  };
  if (!skipCache) {
    const hit = await lookup();
    if (hit) return finishResult(extras, hit);
  }
  if (skipCache && logs(ctx.log, "verbose"))
    ctx.log("verbose", `On-behalf-of: ${skipReason(request)} for ${scopeParameter(scopes)}.`);
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  const requestKey = `obo\n${authority.url}\n${hash}\n${scopeParameter(scopes)}\n${claims ?? ""}\n${Boolean(skipCache)}\n${extras.flightKey}`;
  const result = await singleFlight(
    ctx,
    requestKey,
    (signal) => {
      const send = () =>
        requestToken({
          ctx,
          endpoints,
          form: {
            grant_type: JWT_BEARER_GRANT,
            assertion: userAssertion,
            requested_token_use: "on_behalf_of",
            scope: scopeParameter(decorated),
            claims,
          },
          api: API_ID.onBehalfOf,
          reason: skipCache ? REFRESH_REASON.forceRefresh : REFRESH_REASON.notSilent,
          ...(request.correlationId ? { correlationId: request.correlationId } : {}),
          signal,
          cacheEvent: { scopes: decorated, environment: authority.host, userAssertionHash: hash },
          partitionKey: oboPartition(hash),
          ...(extras === NO_EXTRAS ? {} : { extras }),
        });
      // A forced request wants a new token: instances sharing the cache coordinate only misses.
      if (skipCache) return send();
      return coordinatedRequest(ctx.cache, {
        partitionKey: oboPartition(hash),
        requestKey,
        send,
        lookupAgain: lookup,
        signal,
      });
    },
    request.signal,
  );
  return finishResult(extras, result);
}

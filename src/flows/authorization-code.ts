/**
 * The older auth code APIs (spec section 3.2), for apps that manage state and PKCE themselves:
 * `getAuthorizationRequestUrl` builds the URL (a raw nonce, no PKCE unless given) and
 * `acquireTokenByAuthorizationCode` redeems a code. Prefer `initiateAuthCodeFlow`.
 */
import type { AppContext } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import { ArgumentError } from "../errors.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { mergeClaims } from "../protocol/token-request.js";
import type { TokenResult } from "../protocol/token-result.js";
import { type AuthCodeFlowRequest, authorizeUrl, signInParameters } from "./auth-code.js";
import { requestAuthority, requestToken, scopeParameter } from "./common.js";
import { decorateScopes } from "./scopes.js";
import {
  finishResult,
  NO_EXTRAS,
  type PopRequestOptions,
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

/**
 * Options of {@link ClientApplication.getAuthorizationRequestUrl}: those of {@link AuthCodeFlowRequest}, plus
 * the values {@link ClientApplication.initiateAuthCodeFlow} would make itself.
 */
export interface AuthorizationUrlRequest extends AuthCodeFlowRequest {
  /** The `nonce` to send, as is; the id_token must carry it. */
  nonce?: string;
  /** `response_type`; default `code`. */
  responseType?: string;
  /** The PKCE code challenge (RFC 7636); recommended for every client. */
  codeChallenge?: string;
  /** How {@link AuthorizationUrlRequest.codeChallenge} was made from the verifier; default `S256`. */
  codeChallengeMethod?: "S256" | "plain";
}

export async function getAuthorizationRequestUrl(
  ctx: AppContext,
  scopes: string[],
  request: AuthorizationUrlRequest,
): Promise<string> {
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  const endpoints = await ctx.discover(requestAuthority(ctx, request));
  return authorizeUrl(endpoints.authorizationEndpoint, {
    client_id: ctx.clientId,
    response_type: request.responseType ?? "code",
    redirect_uri: request.redirectUri,
    scope: scopeParameter([
      ...decorateScopes(scopes, ctx.options.excludeScopes),
      ...(request.extraScopesToConsent ?? []),
    ]),
    state: request.state,
    nonce: request.nonce,
    ...signInParameters(ctx, request),
    code_challenge: request.codeChallenge,
    code_challenge_method: request.codeChallenge ? (request.codeChallengeMethod ?? "S256") : undefined,
    ...request.extraQueryParameters,
  });
}

/**
 * Options of {@link ClientApplication.acquireTokenByAuthorizationCode}: what the authorize request was sent
 * with.
 */
export interface AuthorizationCodeRequest extends TokenRequestOptions, PopRequestOptions {
  /** The redirect URI the authorize request was sent with. */
  redirectUri?: string;
  /** The nonce you sent; the id_token must carry it. */
  nonce?: string;
  /** The PKCE code verifier whose challenge the authorize request carried. */
  codeVerifier?: string;
  /**
   * The claims challenge from a resource's `WWW-Authenticate` header (or conditional access), sent with the
   * request.
   */
  claimsChallenge?: string;
  /** A whole authority URL for this request instead of the app's. */
  authority?: string;
  /** A tenant (id or domain) for this request instead of the app's. */
  tenant?: string;
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

export async function acquireTokenByAuthorizationCode(
  ctx: AppContext,
  code: string,
  scopes: string[],
  request: AuthorizationCodeRequest,
): Promise<TokenResult> {
  if (typeof code !== "string" || code === "")
    throw new ArgumentError(
      "code",
      "code must be the authorization code from the redirect, a non-empty string.",
    );
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  const extras = await prepareExtras(ctx, request);
  const authority = requestAuthority(ctx, request);
  const endpoints = await ctx.discover(authority, request.signal);
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  const result = await requestToken({
    ctx,
    endpoints,
    form: {
      grant_type: "authorization_code",
      code,
      redirect_uri: request.redirectUri,
      scope: scopeParameter(decorated),
      code_verifier: request.codeVerifier,
      claims: mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge),
    },
    ...(request.nonce !== undefined ? { idToken: { nonce: request.nonce } } : {}),
    api: API_ID.authorizationCode,
    reason: REFRESH_REASON.notSilent,
    ...(request.correlationId ? { correlationId: request.correlationId } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    cacheEvent: { scopes: decorated, environment: authority.host, grantType: "authorization_code" },
    ...(extras === NO_EXTRAS ? {} : { extras }),
  });
  return finishResult(extras, result);
}

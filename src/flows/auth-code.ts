/**
 * The authorization code flow with PKCE (spec section 3.1): `initiateAuthCodeFlow` makes the
 * authorize URL and a flow object for the app to keep (in the web session), and
 * `acquireTokenByAuthCodeFlow` checks the response against it (state, replay, scopes) before
 * redeeming the code and checking the id_token (nonce, `max_age`).
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow
 */
import type { AppContext } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import { ArgumentError, AuthFlowError } from "../errors.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { decodePart } from "../protocol/jwt.js";
import { pkcePair, randomString, sha256Hex } from "../protocol/pkce.js";
import { mergeClaims } from "../protocol/token-request.js";
import { oauthErrorCode, type TokenFailure, type TokenResult } from "../protocol/token-result.js";
import { type AuthorityOverride, requestAuthority, requestToken, scopeParameter } from "./common.js";
import { decorateScopes } from "./scopes.js";
import {
  finishResult,
  NO_EXTRAS,
  type PopRequestOptions,
  prepareExtras,
  type TokenRequestOptions,
} from "./token-extras.js";

/**
 * How the authorize endpoint returns its response to the redirect URI: in the `query` string, in the URL
 * `fragment`, or as a `form_post` (a POST the server side can read).
 */
export type ResponseMode = "query" | "fragment" | "form_post";

/**
 * Values of the `prompt` option (OpenID Connect Core section 3.1.2.1, and Entra ID's `create`).
 *
 * @example
 * ```ts
 * const flow = app.initiateAuthCodeFlow(["User.Read"], { redirectUri: "http://localhost:3000/callback", prompt: Prompt.SELECT_ACCOUNT });
 * ```
 */
export const Prompt = {
  /** `prompt=none`: no interaction; fails with `login_required` or `interaction_required` if it is needed. */
  NONE: "none",
  /** `prompt=login`: the user enters credentials again, even with a session. */
  LOGIN: "login",
  /** `prompt=consent`: the consent page is shown even when consent was given. */
  CONSENT: "consent",
  /** `prompt=select_account`: the account picker is shown. */
  SELECT_ACCOUNT: "select_account",
  /** `prompt=create`: the sign-up page (External ID self-service sign-up). */
  CREATE: "create",
} as const;

/**
 * A `prompt` value: `"none"`, `"login"`, `"consent"`, `"select_account"` or `"create"`; a misspelt one
 * is a compile error.
 *
 * @example
 * ```ts
 * const prompt: Prompt = account ? Prompt.NONE : Prompt.SELECT_ACCOUNT;
 * ```
 */
export type Prompt = (typeof Prompt)[keyof typeof Prompt];

/**
 * Options of {@link ClientApplication.initiateAuthCodeFlow}: where the response goes and how the user signs
 * in.
 */
export interface AuthCodeFlowRequest extends AuthorityOverride {
  /** Where the authorize endpoint sends the user back: one of the app registration's redirect URIs. */
  redirectUri?: string;
  /** Default: 32 random characters. */
  state?: string;
  /** `Prompt.LOGIN`, `Prompt.CONSENT`, `Prompt.SELECT_ACCOUNT`, `Prompt.NONE`, `Prompt.CREATE`. */
  prompt?: Prompt;
  /** The username to prefill (`login_hint`), e.g. of the account being signed in again. */
  loginHint?: string;
  /** `domain_hint`: skips home realm discovery, e.g. `consumers` or a federated domain. */
  domainHint?: string;
  /**
   * The claims challenge from a resource's `WWW-Authenticate` header (or conditional access), sent with the
   * request.
   */
  claimsChallenge?: string;
  /** Seconds: the user must have signed in this recently (the id_token's `auth_time` is checked). */
  maxAge?: number;
  /** How the response comes back (`response_mode`); default: the query string. */
  responseMode?: ResponseMode;
  /** Scopes of other resources to consent to now, without a token for them. */
  extraScopesToConsent?: string[];
  /** More authorize parameters (`ui_locales`, `acr_values`...). */
  extraQueryParameters?: Record<string, string>;
}

/** What the app keeps between sending the user to sign in and getting the response. Plain JSON. */
export interface AuthCodeFlow {
  /** The `state` sent; the response must carry it back. */
  state: string;
  /** The redirect URI sent; redeeming the code sends it again. */
  redirect_uri?: string;
  /** The decorated scopes the flow asked for. */
  scope: string[];
  /** The URL to send the user to. */
  auth_uri: string;
  /** The PKCE code verifier (RFC 7636) redeeming the code proves possession of; keep it server-side. */
  code_verifier: string;
  /** The raw nonce; the authorize request carried its SHA-256 hex. */
  nonce: string;
  /** The `max_age` sent, checked against the id_token's `auth_time`. */
  max_age?: number;
  /** The claims challenge sent, sent again when the code is redeemed. */
  claims_challenge?: string;
  /** The authority the flow was started against. */
  authority: string;
}

/** The authorize endpoint's query string (or the fragment/form post), as a plain object. */
export type AuthResponse = Record<string, string | undefined>;

/** The authorize parameters both ways of building the URL take from the request as they are. */
export function signInParameters(
  ctx: AppContext,
  request: AuthCodeFlowRequest,
): Record<string, string | undefined> {
  return {
    login_hint: request.loginHint,
    prompt: request.prompt,
    domain_hint: request.domainHint,
    claims: mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge),
    max_age: request.maxAge !== undefined ? String(request.maxAge) : undefined,
    response_mode: request.responseMode,
  };
}

/** Authorize endpoints are discovered per authority, so the flow stays in the cloud it started in. */
export async function initiateAuthCodeFlow(
  ctx: AppContext,
  scopes: string[],
  request: AuthCodeFlowRequest,
): Promise<AuthCodeFlow> {
  validateScopes(scopes);
  validateClaimsChallenge(request.claimsChallenge);
  const authority = requestAuthority(ctx, request);
  const endpoints = await ctx.discover(authority);
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  const { verifier, challenge } = await pkcePair();
  const state = request.state ?? randomString(32);
  const nonce = randomString(32);
  const params: Record<string, string | undefined> = {
    client_id: ctx.clientId,
    response_type: "code",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
    redirect_uri: request.redirectUri,
    scope: scopeParameter([...decorated, ...(request.extraScopesToConsent ?? [])]),
    nonce: await sha256Hex(nonce),
    client_info: "1",
    ...signInParameters(ctx, request),
    // CCS routing: lets Entra send the request to the user's home region (spec section 2.6).
    "X-AnchorMailbox": request.loginHint ? `UPN:${request.loginHint}` : undefined,
    ...request.extraQueryParameters,
  };
  const flow: AuthCodeFlow = {
    state,
    scope: decorated,
    auth_uri: authorizeUrl(endpoints.authorizationEndpoint, params),
    code_verifier: verifier,
    nonce,
    authority: authority.url,
  };
  if (request.redirectUri) flow.redirect_uri = request.redirectUri;
  if (request.maxAge !== undefined) flow.max_age = request.maxAge;
  if (request.claimsChallenge) flow.claims_challenge = request.claimsChallenge;
  return flow;
}

export function authorizeUrl(endpoint: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") query.set(k, v);
  return `${endpoint}${endpoint.includes("?") ? "&" : "?"}${query}`;
}

/** Options of {@link ClientApplication.acquireTokenByAuthCodeFlow}. */
export interface RedeemRequest extends TokenRequestOptions, PopRequestOptions {
  /** Scopes to redeem the code for: a subset of the flow's. Default: the flow's. */
  scopes?: string[];
  /**
   * A correlation id (a GUID) sent as `client-request-id`, to find this request in the identity provider's
   * logs; default: a new one.
   */
  correlationId?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

/** `Oid:<uid>@<utid>` from the response's `client_info`, for CCS routing. */
function anchorMailbox(clientInfo: string | undefined): Record<string, string> {
  if (!clientInfo) return {};
  try {
    const { uid, utid } = decodePart(clientInfo);
    return uid && utid ? { "X-AnchorMailbox": `Oid:${uid}@${utid}` } : {};
  } catch {
    return {};
  }
}

export async function acquireTokenByAuthCodeFlow(
  ctx: AppContext,
  flow: AuthCodeFlow,
  authResponse: AuthResponse,
  request: RedeemRequest,
): Promise<TokenResult> {
  if (
    typeof flow !== "object" ||
    flow === null ||
    typeof authResponse !== "object" ||
    authResponse === null
  ) {
    throw new ArgumentError(
      "flow",
      "Pass the flow object initiateAuthCodeFlow returned and the authorization response's parameters as an object.",
    );
  }
  if (typeof flow.state !== "string" || flow.state === "")
    throw new ArgumentError(
      "flow",
      "The auth code flow has no state: pass the object initiateAuthCodeFlow returned, unchanged.",
    );
  if (authResponse.state !== flow.state) {
    throw new AuthFlowError(
      "state_mismatch",
      "The authorization response's state does not match the flow's: the response belongs to another sign-in or was forged. Start the sign-in again.",
    );
  }
  const wanted = request.scopes ? decorateScopes(request.scopes, ctx.options.excludeScopes) : flow.scope;
  const outside = wanted.filter((s) => !flow.scope.includes(s));
  if (outside.length > 0) {
    throw new AuthFlowError(
      "scope_mismatch",
      `The scopes ${outside.join(", ")} were not part of the sign-in request (${flow.scope.join(" ")}); ask for them when starting the flow.`,
    );
  }
  if (authResponse.error !== undefined) {
    // Only the OAuth error fields: nothing else an attacker put in the response is echoed.
    const failure: TokenFailure = { error: oauthErrorCode(authResponse.error) };
    if (authResponse.error_description !== undefined)
      failure.error_description = authResponse.error_description;
    if (authResponse.error_uri !== undefined) failure.error_uri = authResponse.error_uri;
    return failure;
  }
  if (typeof authResponse.code !== "string" || authResponse.code === "") {
    throw new ArgumentError("authResponse", 'The authorization response must contain "code" or "error".');
  }
  if (ctx.redeemedStates.has(flow.state)) {
    throw new AuthFlowError(
      "auth_response_replayed",
      "This authorization response was already redeemed: each sign-in response can be used once. Start the sign-in again.",
    );
  }
  const extras = await prepareExtras(ctx, request);
  ctx.redeemedStates.add(flow.state);
  const authority = requestAuthority(ctx, { authority: flow.authority });
  const endpoints = await ctx.discover(authority, request.signal);
  // RFC 9207: a provider that names itself in the response must be the one the flow went to (mix-up defence).
  if (
    authResponse.iss !== undefined &&
    endpoints.issuer !== undefined &&
    !endpoints.issuer.includes("{") &&
    authResponse.iss !== endpoints.issuer
  ) {
    throw new AuthFlowError(
      "issuer_mismatch",
      `The authorization response comes from ${authResponse.iss}, not from ${endpoints.issuer} where the sign-in started. Start the sign-in again.`,
    );
  }
  const result = await requestToken({
    ctx,
    endpoints,
    form: {
      grant_type: "authorization_code",
      code: authResponse.code,
      redirect_uri: flow.redirect_uri,
      scope: scopeParameter(wanted),
      code_verifier: flow.code_verifier,
      claims: mergeClaims(ctx.options.clientCapabilities, flow.claims_challenge),
    },
    headers: anchorMailbox(authResponse.client_info),
    idToken: {
      nonce: await sha256Hex(flow.nonce),
      ...(flow.max_age !== undefined ? { maxAge: flow.max_age } : {}),
    },
    api: API_ID.authorizationCode,
    reason: REFRESH_REASON.notSilent,
    ...(request.correlationId ? { correlationId: request.correlationId } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
    cacheEvent: { scopes: wanted, environment: authority.host, grantType: "authorization_code" },
    ...(extras === NO_EXTRAS ? {} : { extras }),
  });
  return finishResult(extras, result);
}

/**
 * What the `acquireToken*` methods return. Results keep the OAuth wire names, as MSAL Python's
 * dictionaries do: a success has `access_token`, a failure has `error`. A server's OAuth error is a
 * result, never an exception.
 */
import type { Account } from "../flows/accounts.js";
import type { IdTokenClaims } from "./jwt.js";

/** The characters of a string, as a union (tail-recursive, so long strings do not hit TypeScript's depth limit). */
type CharactersOf<S extends string, Found extends string = never> = S extends `${infer First}${infer Rest}`
  ? CharactersOf<Rest, Found | First>
  : Found;

/**
 * A character an OAuth `error` code may start with: RFC 6749 section 5.2 allows printable ASCII
 * except `"` and `\\`.
 */
type ErrorCodeStart =
  CharactersOf<" !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~">;

/**
 * An OAuth `error` code (RFC 6749 section 5.2, RFC 8628 section 3.5, OpenID Connect Core section
 * 3.1.2.6, and msal-ts's own `invalid_response`): the known ones by name, and any other code a
 * server sends. It is never empty, which is what lets `if (result.error)` tell a failure from a
 * success.
 *
 * @example
 * ```ts
 * function needsUser(code: OAuthErrorCode): boolean {
 *   return code === "interaction_required" || code === "consent_required" || code === "login_required";
 * }
 * ```
 */
export type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "access_denied"
  | "server_error"
  | "temporarily_unavailable"
  | "interaction_required"
  | "login_required"
  | "consent_required"
  | "account_selection_required"
  | "authorization_pending"
  | "slow_down"
  | "expired_token"
  | "invalid_response"
  | `${ErrorCodeStart}${string}`;

/**
 * A server's `error` value as an {@link OAuthErrorCode}: an empty one (which no server should send,
 * and which would read as "no error") becomes `invalid_response`.
 */
export function oauthErrorCode(value: string): OAuthErrorCode {
  return value === "" ? "invalid_response" : (value as OAuthErrorCode);
}

/**
 * What a success never has: `error` and the fields that go with it. Declaring them (as `never`)
 * lets `result.error` be read on a {@link TokenResult} before it is narrowed; see
 * docs/migrate-from-msal-node.md for how each check narrows.
 */
interface NoError {
  /**
   * Never set on a success: declared so that `result.error` can be read on a {@link TokenResult} before it is
   * narrowed.
   */
  error?: never;
  [errorField: `error_${string}`]: never;
}

/**
 * A token the call obtained or found in the cache. The fields keep the OAuth wire names, as MSAL
 * Python's dictionaries do. Fields the server sent that msal-ts does not know are under
 * `additional_fields`; a misspelt field name is a compile error.
 *
 * @example
 * ```ts
 * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * if (!result.error) console.log(result.token_type, result.expires_in, result.token_source);
 * ```
 */
export interface TokenSuccess extends NoError {
  /** The access token, to send as `Authorization: <token_type> <access_token>`. */
  access_token: string;
  /** `Bearer`, or the type of a proof-of-possession or SSH certificate token. */
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Epoch seconds after which the token should be refreshed proactively (from `refresh_in`). */
  refresh_on?: number;
  /** Seconds the token stays usable when the identity provider is down (Entra ID's `ext_expires_in`). */
  ext_expires_in?: number;
  /** The scopes the token was granted, space-separated. */
  scope?: string;
  /** The refresh token, when the server issued one (user flows; it is cached too). */
  refresh_token?: string;
  /** The id_token (a JWT), for sign-ins with the `openid` scope (user flows add it). */
  id_token?: string;
  /** The id_token's claims, validated (audience, issuer, nonce, lifetime) before the result is returned. */
  id_token_claims?: IdTokenClaims;
  /** Entra ID's `client_info`: base64url JSON with the user's `uid` and `utid`. */
  client_info?: string;
  /** The family id of a FOCI app (`"1"`). */
  foci?: string;
  /** Where the token came from: the network or the cache. */
  token_source: "identity_provider" | "cache";
  /**
   * The signed-in user, in the shape `getAccounts()` returns: on user sign-ins (auth code, device
   * code, interactive, username/password), refreshes and silent calls. An msal-ts extension:
   * MSAL Python's result has no account; use this one with `acquireTokenSilent` instead of
   * looking the user up again.
   */
  account?: Account;
  /** Fields the server sent that are not above (their wire names and values as sent). */
  additional_fields?: Record<string, unknown>;
}

/**
 * A server's OAuth error, or a failure msal-ts reports the same way (`invalid_response`,
 * `server_error`). It is a result, never an exception. A field the server sent that is not below
 * is under `additional_fields`.
 *
 * @example
 * ```ts
 * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * if (result.error) console.error(result.error, result.error_description, result.correlation_id);
 * ```
 */
export interface TokenFailure {
  /** The OAuth error code, e.g. `invalid_grant` or `interaction_required`; never empty. */
  error: OAuthErrorCode;
  /** What went wrong, in words; from Entra ID it starts with the AADSTS code. */
  error_description?: string;
  /** Entra ID's AADSTS numbers (`[50126]` for AADSTS50126). */
  error_codes?: number[];
  /** A page about the error, when the server gave one. */
  error_uri?: string;
  /** The request's correlation id: quote it when asking the identity provider's support. */
  correlation_id?: string;
  /** Entra ID's id of the request in its logs. */
  trace_id?: string;
  /** When the server answered, as it wrote it. */
  timestamp?: string;
  /** Entra ID's refinement of `error`: `basic_action`, `consent_required`, `bad_token`, ... */
  suberror?: string;
  /** A claims challenge to send with the next interactive or silent request (`claimsChallenge`). */
  claims?: string;
  /** Silent calls: MSAL Python's reading of `suberror` (empty for the suberrors that need no special handling). */
  classification?: string;
  /** For a request msal-ts did not send because the server asked it to wait: seconds left. */
  retry_after?: number;
  /** The HTTP status of the response the failure came from. */
  status?: number;
  /** Silent calls: `true` when only an interactive sign-in can help (the refresh token is no longer accepted). */
  requires_interaction?: boolean;
  /** Fields the server sent that are not above (their wire names and values as sent). */
  additional_fields?: Record<string, unknown>;
}

/**
 * What a token call returns: a {@link TokenSuccess}, or a {@link TokenFailure} (a result, never an
 * exception). Narrow it with `"error" in result`, `if (result.error)` or {@link isTokenError}.
 */
export type TokenResult = TokenSuccess | TokenFailure;

/**
 * Whether a result is a failure: a token result, or anything else a call may answer with a
 * failure instead (`initiateDeviceFlow`'s `DeviceFlow | TokenFailure`). In the other branch the
 * type is what the call gives on success.
 *
 * @example
 * ```ts
 * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * if (isTokenError(result)) console.error(result.error, result.error_description);
 * else callApi(result.access_token);
 *
 * const flow = await publicApp.initiateDeviceFlow(["User.Read"]);
 * if (isTokenError(flow)) throw new Error(flow.error_description);
 * console.log(flow.message);
 * ```
 */
export function isTokenError<T extends object = TokenSuccess>(
  result: T | TokenFailure | null | undefined,
): result is TokenFailure {
  return typeof result === "object" && result !== null && typeof (result as TokenFailure).error === "string";
}

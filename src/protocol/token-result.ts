/**
 * What the `acquireToken*` methods return. Results keep the OAuth wire names, as MSAL Python's
 * dictionaries do: a success has `access_token`, a failure has `error`. A server's OAuth error is a
 * result, never an exception.
 */
import type { IdTokenClaims } from "./jwt.js";

export interface TokenSuccess {
  /** The access token, to send as `Authorization: <token_type> <access_token>`. */
  access_token: string;
  /** `Bearer`, or the type of a proof-of-possession or SSH certificate token. */
  token_type: string;
  /** Seconds until the access token expires. */
  expires_in: number;
  /** Epoch seconds after which the token should be refreshed proactively (from `refresh_in`). */
  refresh_on?: number;
  ext_expires_in?: number;
  scope?: string;
  /** The refresh token, when the server issued one (user flows; it is cached too). */
  refresh_token?: string;
  /** The id_token (a JWT), for sign-ins with the `openid` scope (user flows add it). */
  id_token?: string;
  id_token_claims?: IdTokenClaims;
  client_info?: string;
  foci?: string;
  /** Where the token came from: the network or the cache. */
  token_source: "identity_provider" | "cache";
  /** Other fields the server sent. */
  [field: string]: unknown;
}

export interface TokenFailure {
  /**
   * Never set on a success: declared so that `result.error` can be read on a {@link TokenResult} before it is
   * narrowed.
   */
  error: string;
  /** What went wrong, in words; from Entra ID it starts with the AADSTS code. */
  error_description?: string;
  error_codes?: number[];
  /** The request's correlation id: quote it when asking the identity provider's support. */
  correlation_id?: string;
  /** Entra ID's id of the request in its logs. */
  trace_id?: string;
  /** When the server answered, as it wrote it. */
  timestamp?: string;
  suberror?: string;
  claims?: string;
  /** For a request msal-ts did not send because the server asked it to wait: seconds left. */
  retry_after?: number;
  /** The HTTP status of the response the failure came from. */
  status?: number;
  /** Silent calls: `true` when only an interactive sign-in can help (the refresh token is no longer accepted). */
  requires_interaction?: boolean;
  [field: string]: unknown;
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

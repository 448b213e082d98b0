/**
 * What any token request may carry besides its grant (spec sections 1.9, 3.10, 3.11): `data`
 * fields added to the form (SSH certificates, external-key PoP), query parameters and headers, and
 * a proof-of-possession scheme whose key the request names in `req_cnf`. Prepared once per call:
 * the form fields, the cache lookup's key binding, a single-flight key part, and how a raw result
 * becomes the caller's (a PoP token signed into an SHR for this very HTTP request).
 */
import type { AppContext } from "../app/context.js";
import { ArgumentError } from "../errors.js";
import { PopAuthScheme } from "../pop/auth-scheme.js";
import {
  defaultPopKeyStore,
  type PopKey,
  type PopKeyStore,
  popRequestConfirmation,
} from "../pop/key-store.js";
import { signHttpRequest } from "../pop/shr.js";
import type { TokenFailure, TokenResult, TokenSuccess } from "../protocol/token-result.js";

/** Options every acquire call takes to shape its token request. */
export interface TokenRequestOptions {
  /**
   * Extra fields of the token request's form, e.g. an SSH certificate's `token_type: "ssh-cert"`,
   * `key_id` and `req_cnf` (see `sshCertificateRequestData`). The access token is cached with the
   * `key_id`, and a request with another `key_id` does not find it.
   */
  data?: Record<string, string>;
  /** Query parameters added to the token endpoint's URL (e.g. `dc` or `slice` for Entra test slices). */
  extraQueryParameters?: Record<string, string>;
  /** Headers added to the token request; the library's own (`client-request-id`, telemetry) win. */
  headers?: Record<string, string>;
}

/** The proof-of-possession options of the acquire calls where MSAL Python takes `auth_scheme`. */
export interface PopRequestOptions {
  /**
   * Ask for a proof-of-possession token for one HTTP request: the result's `access_token` is then a
   * signed HTTP request (send it as `Authorization: PoP <access_token>`) and `token_type` is `pop`.
   */
  authScheme?: PopAuthScheme;
  /** Where the PoP key comes from; default: a key made for this application and kept in memory. */
  popKeyStore?: PopKeyStore;
}

/** A call's extras, worked out once. */
export interface PreparedExtras {
  /** Fields added to the form after the grant's own. */
  form?: Record<string, string>;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** What the cache stores and looks up with (`key_id`); PoP tokens are keyed apart from Bearer ones. */
  keyId?: string;
  tokenType?: "pop";
  /** Set for a PoP scheme: the cached entry is an `AccessToken_With_AuthScheme`. */
  authScheme?: "pop";
  /** Distinguishes this call's network request from a Bearer one in single-flight keys. */
  flightKey: string;
  /** Turns a raw success (the server's token) into the caller's result. */
  finish?: (result: TokenSuccess) => Promise<TokenSuccess>;
}

export const NO_EXTRAS: PreparedExtras = Object.freeze({ flightKey: "" }) as PreparedExtras;

/** MSAL Python's `_validate_ssh_cert_input_data`: an SSH certificate request names its key. */
export function validateTokenData(data: Record<string, string> | undefined): void {
  if (data === undefined) return;
  if (typeof data !== "object" || data === null)
    throw new ArgumentError("data", "data must be an object of string fields to add to the token request.");
  if (data.token_type === "ssh-cert") {
    if (!data.req_cnf)
      throw new ArgumentError(
        "data",
        "When requesting an SSH certificate, you must include a string parameter named 'req_cnf' containing the public key in JWK format (https://tools.ietf.org/html/rfc7517).",
      );
    if (!data.key_id)
      throw new ArgumentError(
        "data",
        "When requesting an SSH certificate, you must include a string parameter named 'key_id' which identifies the key in the 'req_cnf' argument.",
      );
  }
}

/**
 * The extras of one call; synchronous (and shared) when there are none, so a plain cache hit costs
 * nothing more. Throws `ArgumentError` for SSH-certificate data that lacks `key_id` or `req_cnf`.
 */
export function prepareExtras(
  ctx: AppContext,
  request: TokenRequestOptions & PopRequestOptions,
): PreparedExtras | Promise<PreparedExtras> {
  const { data, extraQueryParameters: query, headers, authScheme } = request;
  if (data === undefined && query === undefined && headers === undefined && authScheme === undefined)
    return NO_EXTRAS;
  validateTokenData(data);
  const prepared: PreparedExtras = { flightKey: "" };
  if (data !== undefined) {
    prepared.form = { ...data };
    if (data.key_id !== undefined) prepared.keyId = String(data.key_id);
    if (data.token_type === "pop") prepared.tokenType = "pop";
  }
  if (query !== undefined) prepared.query = query;
  if (headers !== undefined) prepared.headers = headers;
  // Calls that send different requests never share one.
  prepared.flightKey = JSON.stringify([data ?? null, query ?? null, headers ?? null]);
  if (authScheme === undefined) return prepared;
  // A look-alike object would sign an SHR for no URL: only the checked class is taken.
  if (!(authScheme instanceof PopAuthScheme))
    throw new ArgumentError(
      "authScheme",
      "authScheme must be a PopAuthScheme: new PopAuthScheme(method, url, nonce).",
    );
  const store = request.popKeyStore ?? defaultPopKeyStore(ctx);
  return store.getKey().then((key) => withPop(prepared, authScheme, key));
}

function withPop(prepared: PreparedExtras, scheme: PopAuthScheme, key: PopKey): PreparedExtras {
  prepared.form = { ...prepared.form, token_type: "pop", req_cnf: popRequestConfirmation(key.kid) };
  prepared.keyId = key.kid;
  prepared.tokenType = "pop";
  prepared.authScheme = "pop";
  prepared.flightKey = `pop:${key.kid}\n${prepared.flightKey}`;
  prepared.finish = async (result) => ({
    ...result,
    access_token: await signHttpRequest(result.access_token, scheme, key),
    token_type: "pop",
  });
  return prepared;
}

/** A result as the caller gets it: a PoP success signed for its request, anything else as it is. */
export function finishResult(
  extras: PreparedExtras,
  result: TokenResult,
): Promise<TokenResult> | TokenResult {
  if (extras.finish === undefined || result.error) return result;
  return extras.finish(result as TokenSuccess);
}

/** A token endpoint with the call's extra query parameters. */
export function withQuery(url: string, query: Record<string, string> | undefined): string {
  if (query === undefined) return url;
  const parsed = new URL(url);
  for (const [name, value] of Object.entries(query)) parsed.searchParams.set(name, value);
  return parsed.toString();
}

/**
 * A server that ignored a PoP request answers with a Bearer token: that is a failure of the request
 * (the token is neither cached nor handed out as PoP), not a token.
 */
export function popMismatch(
  extras: PreparedExtras | undefined,
  result: TokenSuccess,
): TokenFailure | undefined {
  if (extras?.authScheme !== "pop" || String(result.token_type).toLowerCase() === "pop") return undefined;
  return {
    error: "invalid_response",
    error_description: `A proof-of-possession token was requested but the identity provider answered with token_type ${result.token_type}: it does not issue PoP tokens for this app or resource. Request without authScheme.`,
  };
}

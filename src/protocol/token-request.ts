/**
 * Token endpoint requests and responses (RFC 6749 section 5): sends the form, and turns what comes
 * back into a result: success, the server's OAuth error, or a failure that says what went wrong
 * with the response itself. Transport failures are thrown as `NetworkError`.
 */
import { type HttpConfig, send } from "../http/client.js";
import type { HttpRequest, HttpResponse } from "../http/types.js";
import { oauthErrorCode, type TokenFailure, type TokenResult, type TokenSuccess } from "./token-result.js";

export interface TokenRequest {
  tokenEndpoint: string;
  form: Record<string, string | undefined>;
  headers: Record<string, string>;
  signal?: AbortSignal;
  /** `false`: never sent twice (a password grant: each attempt counts towards lockout). */
  retry?: false;
}

/** Empty and absent fields are left out, as MSAL Python drops every falsy value. */
function compact(form: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in form) {
    const v = form[k];
    if (v !== undefined && v !== "") out[k] = v;
  }
  return out;
}

export interface TokenExchange {
  result: TokenResult;
  /** The response JSON as the server sent it, for the cache (it needs `refresh_in`, which results turn into `refresh_on`). */
  raw?: Record<string, unknown>;
}

export async function postTokenRequest(http: HttpConfig, request: TokenRequest): Promise<TokenExchange> {
  const headers =
    "accept" in request.headers ? request.headers : { accept: "application/json", ...request.headers };
  const sent: HttpRequest = {
    method: "POST",
    url: request.tokenEndpoint,
    headers,
    form: compact(request.form),
  };
  if (request.signal) sent.signal = request.signal;
  if (request.retry === false) sent.retry = false;
  const response = await send(http, sent);
  return tokenResult(response, request.tokenEndpoint);
}

/** The body as a JSON object, or `undefined` (not JSON, or JSON that is not an object: `null`, an array). */
export function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function tokenResult(response: HttpResponse, endpoint: string, now = Date.now()): TokenExchange {
  const json = jsonObject(response.body);
  const result = json ? responseToResult(json, response) : malformed(response, endpoint);
  if (response.throttledUntil !== undefined && result.error) {
    const seconds = Math.max(1, Math.ceil((response.throttledUntil - now) / 1000));
    result.retry_after = seconds;
    result.error_description = `${result.error_description ?? result.error} (msal-ts did not send this request: the server asked to wait after an identical request failed; try again in ${seconds} s.)`;
  }
  return json ? { result, raw: json } : { result };
}

/** Token response fields a success carries under their own names, with the type each must have. */
const SUCCESS_FIELDS: Record<string, "string" | "number"> = {
  scope: "string",
  refresh_token: "string",
  id_token: "string",
  client_info: "string",
  foci: "string",
  ext_expires_in: "number",
};

/** Error response fields a failure carries under their own names (RFC 6749 section 5.2, Entra ID's extras). */
const FAILURE_FIELDS: Record<string, "string" | "numbers"> = {
  error_description: "string",
  error_uri: "string",
  correlation_id: "string",
  trace_id: "string",
  timestamp: "string",
  suberror: "string",
  claims: "string",
  error_codes: "numbers",
};

/** Fields the library reads itself and does not pass on (`refresh_in` becomes `refresh_on`). */
const CONSUMED_FIELDS = new Set(["access_token", "token_type", "expires_in", "refresh_in", "error"]);

function fitsType(value: unknown, type: "string" | "number" | "numbers"): boolean {
  if (type === "numbers") return Array.isArray(value) && value.every((n) => typeof n === "number");
  // Entra ID's v1 endpoints send numbers as strings ("3599").
  if (type === "number")
    return (
      typeof value === "number" ||
      (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value)))
    );
  return typeof value === "string";
}

/**
 * Copies the known fields of `json` onto `result` and the rest under `additional_fields`. A known
 * field of the wrong type goes there too, so that what a server sent is never lost nor mistyped.
 * Fields starting with `_` are the emulator's and identity providers' private ones and are dropped.
 */
function sortFields(
  json: Record<string, unknown>,
  known: Record<string, "string" | "number" | "numbers">,
  result: Record<string, unknown>,
): void {
  let additional: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(json)) {
    if (CONSUMED_FIELDS.has(key) || key.startsWith("_") || value === undefined) continue;
    const type = known[key];
    if (type !== undefined && fitsType(value, type)) {
      result[key] = type === "number" ? Number(value) : value;
    } else {
      additional ??= {};
      additional[key] = value;
    }
  }
  if (additional) result.additional_fields = additional;
}

/**
 * An OAuth error response (RFC 6749 section 5.2) as a failure; a JSON object without an `error`
 * is an `invalid_response`. Its fields go where {@link sortFields} puts them.
 */
export function errorResponseToFailure(json: Record<string, unknown>, status: number): TokenFailure {
  const failure: TokenFailure = {
    error: typeof json.error === "string" ? oauthErrorCode(json.error) : "invalid_response",
  };
  sortFields(json, FAILURE_FIELDS, failure as unknown as Record<string, unknown>);
  failure.status = status;
  return failure;
}

function responseToResult(json: Record<string, unknown>, response: HttpResponse): TokenResult {
  if (typeof json.error === "string" && json.error !== "")
    return errorResponseToFailure(json, response.status);
  if (response.status >= 300 || typeof json.access_token !== "string") {
    return {
      error: response.status >= 500 ? "server_error" : "invalid_response",
      error_description: `The token endpoint answered HTTP ${response.status} without an access token or an OAuth error.`,
      status: response.status,
    };
  }
  const success: TokenSuccess = {
    access_token: json.access_token,
    token_type: typeof json.token_type === "string" ? json.token_type : "Bearer",
    expires_in: Number(json.expires_in ?? 0),
    token_source: "identity_provider",
  };
  sortFields(json, SUCCESS_FIELDS, success as unknown as Record<string, unknown>);
  if (json.refresh_in !== undefined)
    success.refresh_on = Math.floor(Date.now() / 1000) + Number(json.refresh_in);
  return success;
}

function malformed(response: HttpResponse, endpoint: string): TokenFailure {
  const excerpt = response.body.slice(0, 120).replace(/\s+/g, " ");
  return {
    error: response.status >= 500 ? "server_error" : "invalid_response",
    error_description: `The token endpoint ${new URL(endpoint).origin}${new URL(endpoint).pathname} answered HTTP ${response.status} with a body that is not a JSON object${excerpt ? `: "${excerpt}${response.body.length > 120 ? "..." : ""}"` : " (empty)"}. A proxy or gateway may have answered instead of the identity provider.`,
    status: response.status,
  };
}

/**
 * The `claims` parameter: the caller's claims challenge with the app's client capabilities added
 * as `access_token.xms_cc` (spec section 2.5).
 */
export function mergeClaims(
  capabilities: readonly string[] | undefined,
  claimsChallenge: string | undefined,
): string | undefined {
  if (!capabilities || capabilities.length === 0) return claimsChallenge;
  const claims = claimsChallenge
    ? (JSON.parse(claimsChallenge) as Record<string, Record<string, unknown>>)
    : {};
  claims.access_token = { ...claims.access_token, xms_cc: { values: [...capabilities] } };
  return JSON.stringify(claims);
}

/**
 * What the sources share: requests as plain data, the query they add to an endpoint, and how a
 * token response becomes a result (spec section 3.14, "Success mapping"). A body that is not a JSON
 * object, or a success without a token or lifetime, becomes an `invalid_response` (or, on a 5xx,
 * `server_error`) result, as the token endpoint's do: it is what the endpoint said, not a mistake
 * of the caller.
 */
import type { HttpResponse } from "../http/types.js";
import { jsonObject } from "../protocol/token-request.js";
import type { TokenFailure } from "../protocol/token-result.js";
import type { DetectedSource, ManagedIdentitySource } from "./detect-source.js";
import type { ManagedIdentity } from "./identity.js";

/** A token as a source's endpoint gave it, before the cache gives it its `refresh_on`. */
export interface ManagedIdentityToken {
  access_token: string;
  /** Seconds until it expires. */
  expires_in: number;
  token_type: string;
  /** The resource, when the endpoint names it. */
  resource?: string;
  /** Seconds after which to renew it, when the endpoint says. */
  refresh_in?: number;
}

/** What a source answers: a token or the endpoint's error. */
export type SourceResult = ManagedIdentityToken | TokenFailure;

export const isFailure = (result: SourceResult): result is TokenFailure =>
  typeof (result as TokenFailure).error === "string";

/** One request to a managed identity endpoint. */
export interface SourceRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  form?: Record<string, string>;
}

/** What a source needs to build and send its request. */
export interface SourceCall {
  detected: DetectedSource;
  identity: ManagedIdentity;
  resource: string;
  /** Token revocation: hex SHA-256 of the cached token a claims challenge found wanting. */
  revokedTokenHash?: string;
  /** Client capabilities (`cp1`), sent as `xms_cc` where the source takes them. */
  clientCapabilities?: readonly string[];
  /** Sends a request (throttling, retries and the caller's signal are the sender's). */
  send(request: SourceRequest): Promise<HttpResponse>;
  now(): number;
  /** Where the source logs what the caller should know (an identity the source ignores). */
  warn(message: string): void;
}

/** `endpoint` with `params` set in its query (its other parameters kept); undefined values left out. */
export function withQuery(endpoint: string, params: Record<string, string | undefined>): string {
  const url = new URL(endpoint);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/** The query parameter of a user-assigned identity, under the names a source gives each kind. */
export function identityParameter(
  identity: ManagedIdentity,
  names: { ClientId: string; ObjectId: string; ResourceId: string },
): Record<string, string> {
  if (identity.idType === "SystemAssigned" || identity.id === null) return {};
  return { [names[identity.idType]]: identity.id };
}

export { jsonObject };

const integer = (value: unknown): number | undefined => {
  if (typeof value !== "number" && (typeof value !== "string" || value.trim() === "")) return undefined;
  const n = Math.trunc(Number(value));
  return Number.isFinite(n) ? n : undefined;
};

/** A result saying the endpoint's answer is not what the source sends. */
export function invalidResponse(
  source: ManagedIdentitySource,
  response: HttpResponse,
  what: string,
): TokenFailure {
  const excerpt = response.body.slice(0, 120).replace(/\s+/g, " ");
  return {
    error: response.status >= 500 ? "server_error" : "invalid_response",
    error_description: `The ${source} managed identity endpoint answered HTTP ${response.status} with ${what}${excerpt ? `: "${excerpt}${response.body.length > 120 ? "..." : ""}"` : " (an empty body)"}. Something other than the managed identity endpoint may have answered.`,
    status: response.status,
  };
}

/**
 * A success response as a result: `access_token`, a lifetime from `lifetime` (`expires_on`, epoch
 * seconds, or `expires_in`, seconds; the other one is used when the source sends only that),
 * `token_type` (default `Bearer` unless `tokenTypeRequired`), `resource`, and `refresh_in` when sent.
 */
export function tokenFromResponse(
  source: ManagedIdentitySource,
  response: HttpResponse,
  now: number,
  options: { lifetime: "expires_on" | "expires_in"; tokenTypeRequired?: boolean },
): SourceResult {
  const payload = jsonObject(response.body);
  if (!payload) return invalidResponse(source, response, "a body that is not a JSON object");
  const token = payload.access_token;
  const expiresOn = integer(payload.expires_on);
  const expiresIn = integer(payload.expires_in);
  const fromOn = expiresOn !== undefined ? expiresOn - now : undefined;
  const lifetime = options.lifetime === "expires_on" ? (fromOn ?? expiresIn) : (expiresIn ?? fromOn);
  if (typeof token !== "string" || token === "" || lifetime === undefined)
    return invalidResponse(source, response, "no access_token or no expires_on/expires_in");
  if (options.tokenTypeRequired && typeof payload.token_type !== "string")
    return invalidResponse(source, response, "no token_type");
  const result: ManagedIdentityToken = {
    access_token: token,
    expires_in: lifetime,
    token_type: typeof payload.token_type === "string" ? payload.token_type : "Bearer",
  };
  if (typeof payload.resource === "string") result.resource = payload.resource;
  const refreshIn = integer(payload.refresh_in);
  if (refreshIn !== undefined) result.refresh_in = refreshIn;
  return result;
}

const FAILURE_FIELDS = [
  "error_description",
  "error_uri",
  "correlation_id",
  "trace_id",
  "timestamp",
  "suberror",
  "claims",
];

/**
 * An OAuth-shaped error body (`error`, `error_description`, ...) as a failure: the known string
 * fields under their names, the rest under `additional_fields`.
 */
export function oauthFailure(payload: Record<string, unknown>, status: number): TokenFailure {
  const failure: TokenFailure = {
    error:
      typeof payload.error === "string" && payload.error
        ? (payload.error as TokenFailure["error"])
        : "invalid_request",
    status,
  };
  let additional: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(payload)) {
    if (name === "error") continue;
    if (name === "error_codes" && Array.isArray(value) && value.every((n) => typeof n === "number"))
      failure.error_codes = value;
    else if (FAILURE_FIELDS.includes(name) && typeof value === "string")
      (failure as unknown as Record<string, unknown>)[name] = value;
    else {
      additional ??= {};
      additional[name] = value;
    }
  }
  if (additional) failure.additional_fields = additional;
  return failure;
}

/** Whether an HTTP status is a success. */
export const succeeded = (response: HttpResponse): boolean => response.status >= 200 && response.status < 300;

/**
 * Device code sign-in (RFC 8628; spec section 3.4): `initiateDeviceFlow` gets a code and the
 * message to show the user; `acquireTokenByDeviceFlow` polls at the server's interval (5 s more
 * after each `slow_down`) until the user finishes, the code expires (the caller may set
 * `flow.expires_at = 0` to stop, as in MSAL Python), or the signal aborts.
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code
 */
import type { AppContext } from "../app/context.js";
import { validateClaimsChallenge, validateScopes } from "../app/options.js";
import { ArgumentError } from "../errors.js";
import { send } from "../http/client.js";
import { API_ID, REFRESH_REASON } from "../http/telemetry.js";
import { pause } from "../pause.js";
import { errorResponseToFailure, jsonObject, mergeClaims } from "../protocol/token-request.js";
import type { TokenFailure, TokenResult } from "../protocol/token-result.js";
import { type AuthorityOverride, requestAuthority, requestToken, scopeParameter } from "./common.js";
import { decorateScopes } from "./scopes.js";
import { NO_EXTRAS, prepareExtras, type TokenRequestOptions } from "./token-extras.js";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";

/** RFC 8628 section 3.2: the interval to use when the server gives none (or none that can be used). */
const DEFAULT_INTERVAL_SECONDS = 5;
/** The shortest wait between polls, whatever the server or the caller's flow object says. */
const MIN_INTERVAL_SECONDS = 1;

/**
 * The seconds to wait between polls. A server's interval may be a JSON number or a numeric string
 * (`"3"` is honoured, as MSAL Python's `int(...)` does); one that is missing, zero, negative, not
 * finite or not a number would have us poll in a tight loop, so it becomes 5 s, and anything below
 * one second becomes one second.
 */
function pollingInterval(value: unknown): number {
  const seconds =
    typeof value === "number"
      ? value
      : typeof value === "string" && value.trim() !== ""
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) return DEFAULT_INTERVAL_SECONDS;
  return Math.max(MIN_INTERVAL_SECONDS, Math.trunc(seconds));
}

/** A pending poll, or one asked to slow down, is the flow working as meant (RFC 8628 section 3.5): not worth a warning. */
const PENDING = new Set(["authorization_pending", "slow_down"]);

/** A device flow in progress. `message` is what to show the user. */
export interface DeviceFlow {
  /** The code the user enters at {@link DeviceFlow.verification_uri}. */
  user_code: string;
  /** The code polling redeems; keep it to yourself. */
  device_code: string;
  /** Where the user signs in, e.g. `https://microsoft.com/devicelogin`. */
  verification_uri: string;
  /** The server's instructions for the user (the URL and the code): show it as it is. */
  message: string;
  /** Seconds between polls. */
  interval: number;
  /** Seconds the code is valid for, from when it was issued. */
  expires_in: number;
  /** Epoch seconds after which polling stops; set it to 0 to stop early. */
  expires_at: number;
  /** The correlation id the flow's requests are sent with. */
  correlation_id: string;
  /** The scopes asked for and the authority, for the token request. */
  scope: string[];
  /** The authority URL the flow was started against (and polls). */
  authority: string;
  /** Fields the server sent that are not above (their wire names and values as sent). */
  additional_fields?: Record<string, unknown>;
  /** A flow is never an error: declared so that `if (flow.error)` narrows `DeviceFlow | TokenFailure`. */
  error?: never;
  [errorField: `error_${string}`]: never;
}

export async function initiateDeviceFlow(
  ctx: AppContext,
  scopes: string[],
  request: AuthorityOverride & { signal?: AbortSignal },
): Promise<DeviceFlow | TokenFailure> {
  validateScopes(scopes);
  const authority = requestAuthority(ctx, request);
  const endpoints = await ctx.discover(authority, request.signal);
  if (!endpoints.deviceAuthorizationEndpoint) {
    throw new ArgumentError(
      "scopes",
      `The authority ${authority.url} publishes no device_authorization_endpoint: it does not support the device code flow.`,
    );
  }
  const correlationId = crypto.randomUUID();
  const decorated = decorateScopes(scopes, ctx.options.excludeScopes);
  const response = await send(ctx.http, {
    method: "POST",
    url: endpoints.deviceAuthorizationEndpoint,
    headers: { ...ctx.defaultHeaders, accept: "application/json", "client-request-id": correlationId },
    form: { client_id: ctx.clientId, scope: scopeParameter(decorated) },
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const json = jsonObject(response.body);
  if (json === undefined) {
    return {
      error: "invalid_response",
      error_description: `The device authorization endpoint answered HTTP ${response.status} without a JSON object.`,
      status: response.status,
    };
  }
  if (typeof json.user_code !== "string") return errorResponseToFailure(json, response.status);
  const interval = pollingInterval(json.interval);
  const expiresIn = Math.trunc(Number(json.expires_in ?? 1800)) || 1800;
  const flow: DeviceFlow = {
    user_code: json.user_code,
    device_code: String(json.device_code),
    verification_uri: String(json.verification_uri ?? json.verification_url ?? ""),
    message: String(
      json.message ??
        `To sign in, open ${String(json.verification_uri)} and enter the code ${json.user_code}.`,
    ),
    interval,
    expires_in: expiresIn,
    expires_at: Date.now() / 1000 + expiresIn,
    correlation_id: correlationId,
    scope: decorated,
    authority: authority.url,
  };
  const additional = Object.entries(json).filter(([key]) => !DEVICE_AUTHORIZATION_FIELDS.has(key));
  if (additional.length > 0) flow.additional_fields = Object.fromEntries(additional);
  return flow;
}

/** The fields of a device authorization response (RFC 8628 section 3.2) a flow carries under its own names. */
const DEVICE_AUTHORIZATION_FIELDS = new Set([
  "user_code",
  "device_code",
  "verification_uri",
  "message",
  "interval",
  "expires_in",
]);

/**
 * Waits `seconds` in one-second steps, stopping early when the flow is stopped or the signal aborts.
 * `false` when the flow expired (or was stopped) by the end of the wait: no poll is sent after that.
 */
async function waitForNextPoll(flow: DeviceFlow, seconds: number, signal?: AbortSignal): Promise<boolean> {
  for (let waited = 0; waited < seconds; waited++) {
    if (flow.expires_at < Date.now() / 1000) return false;
    await pause(1000, signal);
  }
  return flow.expires_at >= Date.now() / 1000;
}

/** Options of {@link PublicClientApplication.acquireTokenByDeviceFlow}. */
export interface DeviceFlowRequest extends TokenRequestOptions {
  /** The claims challenge from a resource's `WWW-Authenticate` header, sent with the request. */
  claimsChallenge?: string;
  /** Stops polling. */
  signal?: AbortSignal;
}

export async function acquireTokenByDeviceFlow(
  ctx: AppContext,
  flow: DeviceFlow,
  request: DeviceFlowRequest,
): Promise<TokenResult> {
  if (typeof flow !== "object" || flow === null || typeof flow.device_code !== "string") {
    throw new ArgumentError("flow", "Pass the flow initiateDeviceFlow returned (it has a device_code).");
  }
  validateClaimsChallenge(request.claimsChallenge);
  const extras = await prepareExtras(ctx, request);
  const authority = requestAuthority(ctx, { authority: flow.authority });
  const endpoints = await ctx.discover(authority, request.signal);
  const claims = mergeClaims(ctx.options.clientCapabilities, request.claimsChallenge);
  for (;;) {
    request.signal?.throwIfAborted();
    const result = await requestToken({
      ctx,
      endpoints,
      // `code` repeats the device code: older Entra deployments read that name.
      form: { grant_type: DEVICE_CODE_GRANT, device_code: flow.device_code, code: flow.device_code, claims },
      api: API_ID.deviceFlow,
      reason: REFRESH_REASON.notSilent,
      correlationId: flow.correlation_id,
      ...(request.signal ? { signal: request.signal } : {}),
      cacheEvent: { scopes: flow.scope, environment: authority.host, grantType: DEVICE_CODE_GRANT },
      expectedErrors: PENDING,
      ...(extras === NO_EXTRAS ? {} : { extras }),
    });
    if (!("error" in result) || (result.error !== "authorization_pending" && result.error !== "slow_down"))
      return result;
    // The flow object is the caller's (it may have been stored and loaded, or edited): its interval
    // is checked again before every wait.
    flow.interval = pollingInterval(flow.interval) + (result.error === "slow_down" ? 5 : 0);
    if (!(await waitForNextPoll(flow, flow.interval, request.signal))) return result;
  }
}

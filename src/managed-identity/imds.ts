/**
 * The Azure instance metadata service (IMDS): VMs, scale sets, AKS nodes, and the default when the
 * environment names no other source (spec section 3.14). Unlike MSAL Python, a 404, 410, 429 or
 * 5xx is retried with exponential back-off, as Entra's IMDS guidance asks
 * (https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling):
 * IMDS answers 404 while the identity is being assigned and 410 while it is being updated.
 */
import type { HttpResponse } from "../http/types.js";
import type { LogSink } from "../logging.js";
import { pause } from "../pause.js";
import type { TokenFailure } from "../protocol/token-result.js";
import {
  identityParameter,
  invalidResponse,
  jsonObject,
  oauthFailure,
  type SourceCall,
  type SourceRequest,
  type SourceResult,
  succeeded,
  tokenFromResponse,
  withQuery,
} from "./response.js";

export const IMDS_API_VERSION = "2018-02-01";

export async function imdsToken(call: SourceCall): Promise<SourceResult> {
  const url = withQuery(call.detected.endpoint, {
    "api-version": IMDS_API_VERSION,
    resource: call.resource,
    ...identityParameter(call.identity, {
      ClientId: "client_id",
      ObjectId: "object_id",
      ResourceId: "msi_res_id",
    }),
  });
  const response = await call.send({ method: "GET", url, headers: { Metadata: "true" } });
  if (succeeded(response)) return tokenFromResponse("Imds", response, call.now(), { lifetime: "expires_in" });
  return imdsError(response);
}

/** IMDS sends OAuth's `error` and `error_description`: passed on as they are. */
export function imdsError(response: HttpResponse): TokenFailure {
  const payload = jsonObject(response.body);
  if (!payload) return invalidResponse("Imds", response, "an error body that is not a JSON object");
  return oauthFailure(payload, response.status);
}

/**
 * How IMDS requests are retried. Waits grow from `firstDelayMs`, doubling, up to `maxDelayMs`; a
 * `Retry-After` longer than `maxDelayMs` ends the retries (the answer is returned, and throttling
 * holds identical requests back for that long).
 */
export interface ImdsRetryPolicy {
  /** Retries after the first attempt (default 3; 0 turns retrying off). */
  maxRetries?: number;
  /** The first wait, in milliseconds (default 1000). */
  firstDelayMs?: number;
  /** The longest wait, in milliseconds (default 8000). */
  maxDelayMs?: number;
}

const RETRIED = (status: number) => status === 404 || status === 410 || status === 429 || status >= 500;

/** `send`, retried on the statuses IMDS asks callers to retry. */
export function retryingImds(
  send: (request: SourceRequest) => Promise<HttpResponse>,
  policy: ImdsRetryPolicy,
  log: LogSink,
  signal?: AbortSignal,
): (request: SourceRequest) => Promise<HttpResponse> {
  const maxRetries = Math.max(0, Math.floor(policy.maxRetries ?? 3));
  const first = Math.max(0, policy.firstDelayMs ?? 1000);
  const longest = Math.max(first, policy.maxDelayMs ?? 8000);
  return async (request) => {
    for (let retry = 0; ; retry++) {
      const response = await send(request);
      if (!RETRIED(response.status) || retry >= maxRetries) return response;
      const header = response.headers["retry-after"];
      const asked = header !== undefined && /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : 0;
      if (asked > longest) return response;
      const delay = Math.max(asked, Math.min(longest, first * 2 ** retry));
      log(
        "warning",
        `IMDS answered HTTP ${response.status}; retry ${retry + 1} of ${maxRetries} in ${delay} ms.`,
      );
      await pause(delay, signal);
    }
  };
}

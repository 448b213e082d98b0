/**
 * Azure Cloud Shell: `MSI_ENDPOINT` without `MSI_SECRET`, or `AZUREPS_HOST_ENVIRONMENT` starting with
 * `cloud-shell`. A POST with the resource in the form (spec section 3.12); only the signed-in user's
 * identity, so user-assigned identities are refused.
 * https://learn.microsoft.com/azure/cloud-shell/msi-authorization
 */
import type { HttpResponse } from "../http/types.js";
import type { TokenFailure } from "../protocol/token-result.js";
import { ManagedIdentityError } from "./errors.js";
import {
  invalidResponse,
  jsonObject,
  oauthFailure,
  type SourceCall,
  type SourceResult,
  succeeded,
  tokenFromResponse,
} from "./response.js";

export async function cloudShellToken(call: SourceCall): Promise<SourceResult> {
  if (call.identity.idType !== "SystemAssigned") {
    throw new ManagedIdentityError(
      "user_assigned_not_supported",
      "Cloud Shell gives tokens for the signed-in user only; it has no user-assigned managed identities. Use new SystemAssignedManagedIdentity() in Cloud Shell.",
    );
  }
  const response = await call.send({
    method: "POST",
    url: call.detected.endpoint,
    headers: { Metadata: "true" },
    form: { resource: call.resource },
  });
  if (succeeded(response))
    return tokenFromResponse("CloudShell", response, call.now(), { lifetime: "expires_on" });
  return cloudShellError(response);
}

/** `{"error":{"code","message"}}` (MSAL Python's reading), or OAuth's `error` and `error_description`, as a result. */
export function cloudShellError(response: HttpResponse): TokenFailure {
  const payload = jsonObject(response.body);
  if (!payload) return invalidResponse("CloudShell", response, "an error body that is not a JSON object");
  const error = payload.error;
  if (typeof error !== "object" || error === null) return oauthFailure(payload, response.status);
  const { code, message } = error as { code?: unknown; message?: unknown };
  const failure: TokenFailure = {
    error: typeof code === "string" && code ? (code as TokenFailure["error"]) : "invalid_request",
    status: response.status,
  };
  if (typeof message === "string" && message) failure.error_description = message;
  return failure;
}

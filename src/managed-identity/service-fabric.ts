/**
 * Service Fabric: `IDENTITY_ENDPOINT`, `IDENTITY_HEADER` and `IDENTITY_SERVER_THUMBPRINT` (spec
 * section 3.14). The endpoint's certificate is self-signed; the transport accepts only the one whose
 * thumbprint the host names (src/node/managed-identity-tls.ts), which MSAL Python does not check.
 * https://learn.microsoft.com/azure/service-fabric/how-to-managed-identity-service-fabric-app-code
 */
import type { HttpResponse } from "../http/types.js";
import type { TokenFailure } from "../protocol/token-result.js";
import {
  invalidResponse,
  jsonObject,
  type SourceCall,
  type SourceResult,
  succeeded,
  tokenFromResponse,
  withQuery,
} from "./response.js";

export const SERVICE_FABRIC_API_VERSION = "2019-07-01-preview";

export async function serviceFabricToken(call: SourceCall): Promise<SourceResult> {
  // The cluster's application manifest chooses the identity; the endpoint has no parameter for it.
  if (call.identity.idType !== "SystemAssigned")
    call.warn(
      "Service Fabric: the user-assigned identity is chosen by the application's manifest, not by the request; the id given to UserAssignedManagedIdentity is not sent.",
    );
  const url = withQuery(call.detected.endpoint, {
    "api-version": SERVICE_FABRIC_API_VERSION,
    resource: call.resource,
    token_sha256_to_refresh: call.revokedTokenHash,
    xms_cc: call.clientCapabilities?.length ? call.clientCapabilities.join(",") : undefined,
  });
  const response = await call.send({ method: "GET", url, headers: { Secret: call.detected.secret ?? "" } });
  if (succeeded(response))
    return tokenFromResponse("ServiceFabric", response, call.now(), {
      lifetime: "expires_on",
      tokenTypeRequired: true,
    });
  return serviceFabricError(response);
}

const ERRORS: Record<string, string> = {
  SecretHeaderNotFound: "unauthorized_client",
  ManagedIdentityNotFound: "invalid_client",
  ArgumentNullOrEmpty: "invalid_scope",
};

/** `{"error":{"code":...}}` mapped to an OAuth error; the description is the body as sent. */
export function serviceFabricError(response: HttpResponse): TokenFailure {
  const payload = jsonObject(response.body);
  if (!payload) return invalidResponse("ServiceFabric", response, "an error body that is not a JSON object");
  const code = (payload.error as { code?: unknown } | undefined)?.code;
  return {
    error: ((typeof code === "string" ? ERRORS[code] : undefined) ??
      "invalid_request") as TokenFailure["error"],
    error_description: response.body,
    status: response.status,
  };
}

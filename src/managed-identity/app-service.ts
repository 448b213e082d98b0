/**
 * App Service, Azure Functions and Azure Automation: `IDENTITY_ENDPOINT` and `IDENTITY_HEADER`
 * (spec section 3.14). https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 */
import type { HttpResponse } from "../http/types.js";
import type { TokenFailure } from "../protocol/token-result.js";
import {
  identityParameter,
  invalidResponse,
  jsonObject,
  type SourceCall,
  type SourceResult,
  succeeded,
  tokenFromResponse,
  withQuery,
} from "./response.js";

export const APP_SERVICE_API_VERSION = "2019-08-01";

export async function appServiceToken(call: SourceCall): Promise<SourceResult> {
  const url = withQuery(call.detected.endpoint, {
    "api-version": APP_SERVICE_API_VERSION,
    resource: call.resource,
    ...identityParameter(call.identity, {
      ClientId: "client_id",
      ObjectId: "object_id",
      ResourceId: "mi_res_id",
    }),
    token_sha256_to_refresh: call.revokedTokenHash,
    xms_cc: call.clientCapabilities?.length ? call.clientCapabilities.join(",") : undefined,
  });
  const response = await call.send({
    method: "GET",
    url,
    headers: { "X-IDENTITY-HEADER": call.detected.secret ?? "", Metadata: "true" },
  });
  if (succeeded(response))
    return tokenFromResponse("AppService", response, call.now(), { lifetime: "expires_on" });
  return appServiceError(response);
}

/** `{"statusCode":500,"message":"..."}` becomes `invalid_scope` with "500, ..." (MSAL Python's mapping). */
export function appServiceError(response: HttpResponse): TokenFailure {
  const payload = jsonObject(response.body);
  if (!payload) return invalidResponse("AppService", response, "an error body that is not a JSON object");
  const statusCode = payload.statusCode ?? response.status;
  const message = typeof payload.message === "string" ? payload.message : response.body;
  return { error: "invalid_scope", error_description: `${statusCode}, ${message}`, status: response.status };
}

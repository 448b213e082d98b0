/**
 * Azure Machine Learning compute: `MSI_ENDPOINT` and `MSI_SECRET` (spec section 3.14). Its client
 * id parameter is `clientid`. For the system-assigned identity the compute sets
 * `DEFAULT_IDENTITY_CLIENT_ID`, which is sent as `clientid` (as msal-node does).
 * https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication
 */
import type { HttpResponse } from "../http/types.js";
import type { TokenFailure } from "../protocol/token-result.js";
import {
  identityParameter,
  type SourceCall,
  type SourceResult,
  succeeded,
  tokenFromResponse,
  withQuery,
} from "./response.js";

export const MACHINE_LEARNING_API_VERSION = "2017-09-01";

export async function machineLearningToken(call: SourceCall): Promise<SourceResult> {
  const identity =
    call.identity.idType === "SystemAssigned"
      ? { clientid: call.detected.defaultClientId }
      : identityParameter(call.identity, {
          ClientId: "clientid",
          ObjectId: "object_id",
          ResourceId: "msi_res_id",
        });
  const url = withQuery(call.detected.endpoint, {
    "api-version": MACHINE_LEARNING_API_VERSION,
    resource: call.resource,
    ...identity,
  });
  const response = await call.send({ method: "GET", url, headers: { secret: call.detected.secret ?? "" } });
  if (succeeded(response))
    return tokenFromResponse("MachineLearning", response, call.now(), { lifetime: "expires_on" });
  return machineLearningError(response);
}

/**
 * Every error is `invalid_scope` with the body as its description (MSAL Python writes the body as a
 * Python dict; msal-ts keeps the JSON the endpoint sent).
 */
export function machineLearningError(response: HttpResponse): TokenFailure {
  return { error: "invalid_scope", error_description: response.body, status: response.status };
}

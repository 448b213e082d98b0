/**
 * The Azure Machine Learning compute identity endpoint (the 2017 MSI protocol):
 * `GET $MSI_ENDPOINT?api-version=2017-09-01&resource=R` with `secret: $MSI_SECRET`. A user-assigned
 * identity is chosen by client id only, as `clientid`; the compute's own identity is the one
 * `DEFAULT_IDENTITY_CLIENT_ID` names (msal-node sends it as `clientid`) or no `clientid` at all.
 * Success carries `expires_on` in epoch seconds as a string; errors are `{"error", "message"}`.
 * https://learn.microsoft.com/azure/machine-learning/how-to-identity-based-service-authentication
 */
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { findUserAssigned } from "./identities.js";
import {
  isKnownResource,
  type ManagedIdentityState,
  managedIdentityToken,
  unknownResourceMessage,
} from "./tokens.js";

export const MACHINE_LEARNING_API_VERSION = "2017-09-01";

const failure = (status: number, error: string, message: string) => json(status, { error, message });

export function machineLearningEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  if (req.method !== "GET") return failure(405, "invalid_request", "Use GET at MSI_ENDPOINT.");
  const secret = req.headers.secret;
  if (!secret) return failure(401, "unauthorized_client", "The secret header is missing: send MSI_SECRET.");
  if (secret !== state.secrets.machineLearning)
    return failure(401, "unauthorized_client", "The secret header does not match MSI_SECRET.");
  const query = req.url.searchParams;
  const apiVersion = query.get("api-version") ?? "";
  if (apiVersion !== MACHINE_LEARNING_API_VERSION)
    return failure(
      400,
      "invalid_request",
      `The api-version "${apiVersion}" is not supported: use ${MACHINE_LEARNING_API_VERSION}.`,
    );
  const resource = query.get("resource");
  if (!resource) return failure(400, "invalid_request", "The resource parameter is required.");
  const other = ["client_id", "object_id", "principal_id", "msi_res_id", "mi_res_id"].find((p) =>
    query.has(p),
  );
  if (other)
    return failure(
      400,
      "invalid_request",
      `Azure Machine Learning chooses a user-assigned identity by client id only, as "clientid"; "${other}" is not supported.`,
    );
  const host = state.catalog.systemAssigned.machineLearning;
  const clientId = query.get("clientid");
  const identity =
    !clientId || clientId.toLowerCase() === host.clientId.toLowerCase()
      ? host
      : findUserAssigned(state.catalog, { kind: "clientId", id: clientId });
  if (!identity)
    return failure(
      400,
      "invalid_request",
      `No managed identity with client id ${clientId} is on this compute.`,
    );
  if (!isKnownResource(state, resource))
    return failure(400, "invalid_resource", unknownResourceMessage(state, resource));
  const token = managedIdentityToken(state, identity, host, { source: "machineLearning", resource });
  return json(200, {
    access_token: token.accessToken,
    expires_on: String(token.expiresOn),
    resource: token.resource,
    token_type: "Bearer",
    client_id: identity.clientId,
  });
}

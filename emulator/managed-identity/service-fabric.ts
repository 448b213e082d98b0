/**
 * The Service Fabric managed identity token service, on its own HTTPS listener with the cluster's
 * own certificate (apps check it against `IDENTITY_SERVER_THUMBPRINT`):
 * `GET $IDENTITY_ENDPOINT?api-version=2019-07-01-preview&resource=R` with `secret: $IDENTITY_HEADER`.
 * The identity is the one the cluster assigned to the application, chosen by the secret, so
 * identity query parameters are ignored. It honours `xms_cc` and `token_sha256_to_refresh`.
 * Success carries `expires_on` as a number; errors are `{"error": {"correlationId", "code", "message"}}`.
 * https://learn.microsoft.com/azure/service-fabric/how-to-managed-identity-service-fabric-app-code
 */
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import {
  capabilitiesFrom,
  isKnownResource,
  type ManagedIdentityState,
  managedIdentityToken,
  unknownResourceMessage,
} from "./tokens.js";

export const SERVICE_FABRIC_API_VERSION = "2019-07-01-preview";

const failure = (req: EmuRequest, status: number, code: string, message: string) =>
  json(status, { error: { correlationId: req.correlationId, code, message } });

export function serviceFabricEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  if (req.method !== "GET") return failure(req, 405, "MethodNotAllowed", "Use GET at the token endpoint.");
  const secret = req.headers.secret;
  if (!secret)
    return failure(req, 400, "SecretHeaderNotFound", "Secret is not found in the request headers.");
  if (secret !== state.secrets.serviceFabric)
    return failure(
      req,
      401,
      "ManagedIdentityNotFound",
      "Managed Identity not found for the specified application host (the secret matches none).",
    );
  const query = req.url.searchParams;
  const apiVersion = query.get("api-version") ?? "";
  if (apiVersion !== SERVICE_FABRIC_API_VERSION)
    return failure(
      req,
      400,
      "InvalidApiVersion",
      `The api-version '${apiVersion}' is not supported. Supported version is '${SERVICE_FABRIC_API_VERSION}'.`,
    );
  const resource = query.get("resource");
  if (!resource)
    return failure(req, 400, "ArgumentNullOrEmpty", "The parameter 'resource' cannot be null or empty.");
  if (!isKnownResource(state, resource))
    return failure(req, 400, "InvalidResource", unknownResourceMessage(state, resource));
  const identity = state.catalog.systemAssigned.serviceFabric;
  const revoked = query.get("token_sha256_to_refresh");
  const token = managedIdentityToken(state, identity, identity, {
    source: "serviceFabric",
    resource,
    capabilities: capabilitiesFrom(query),
    ...(revoked ? { revokedTokenHash: revoked } : {}),
  });
  return json(200, {
    token_type: "Bearer",
    access_token: token.accessToken,
    expires_on: token.expiresOn,
    resource: token.resource,
  });
}

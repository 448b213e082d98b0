/**
 * The App Service (also Functions, Container Apps, Automation) identity endpoint:
 * `GET $IDENTITY_ENDPOINT?api-version=2019-08-01&resource=R` with `X-IDENTITY-HEADER:
 * $IDENTITY_HEADER`; a user-assigned identity by `client_id`, `principal_id` (alias `object_id`)
 * or `mi_res_id`. It honours `xms_cc` and `token_sha256_to_refresh`. Success carries `expires_on`
 * in epoch seconds as a string; errors are `{"statusCode", "message", "correlationId"}`.
 * https://learn.microsoft.com/azure/app-service/overview-managed-identity#rest-endpoint-reference
 */
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { findUserAssigned, selectorFrom } from "./identities.js";
import {
  capabilitiesFrom,
  isKnownResource,
  type ManagedIdentityState,
  managedIdentityToken,
  unknownResourceMessage,
} from "./tokens.js";

export const APP_SERVICE_API_VERSION = "2019-08-01";

const failure = (req: EmuRequest, status: number, message: string) =>
  json(status, { statusCode: status, message, correlationId: req.correlationId });

export function appServiceEndpoint(req: EmuRequest, state: ManagedIdentityState): EmuResponse {
  if (req.method !== "GET") return failure(req, 405, "Use GET at the identity endpoint.");
  const header = req.headers["x-identity-header"];
  if (!header) return failure(req, 400, "The X-IDENTITY-HEADER header is missing.");
  if (header !== state.secrets.appService)
    return failure(req, 401, "The X-IDENTITY-HEADER header does not match IDENTITY_HEADER.");
  const query = req.url.searchParams;
  const apiVersion = query.get("api-version") ?? "";
  if (apiVersion !== APP_SERVICE_API_VERSION)
    return failure(
      req,
      400,
      `The api-version "${apiVersion}" is not supported at IDENTITY_ENDPOINT: use ${APP_SERVICE_API_VERSION}.`,
    );
  const resource = query.get("resource");
  if (!resource) return failure(req, 400, "The resource parameter is required.");
  const selector = selectorFrom(query, {
    clientId: ["client_id"],
    objectId: ["principal_id", "object_id"],
    resourceId: ["mi_res_id"],
  });
  if (selector === "ambiguous")
    return failure(req, 400, "Name one identity: client_id, principal_id (object_id) or mi_res_id.");
  const host = state.catalog.systemAssigned.appService;
  const identity = selector ? findUserAssigned(state.catalog, selector) : host;
  if (!identity) return failure(req, 400, "Unable to load the requested managed identity.");
  if (!isKnownResource(state, resource)) return failure(req, 400, unknownResourceMessage(state, resource));
  const revoked = query.get("token_sha256_to_refresh");
  const token = managedIdentityToken(state, identity, host, {
    source: "appService",
    resource,
    capabilities: capabilitiesFrom(query),
    ...(revoked ? { revokedTokenHash: revoked } : {}),
  });
  return json(200, {
    access_token: token.accessToken,
    expires_on: String(token.expiresOn),
    resource: token.resource,
    token_type: "Bearer",
    client_id: identity.clientId,
  });
}

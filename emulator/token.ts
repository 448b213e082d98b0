/**
 * The token endpoint, `POST {tenant}/oauth2/v2.0/token`: checks the client, then hands the request to
 * the grant's handler (user grants in `grants-user.ts`, app grants in `grants-app.ts`).
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
 */
import { authenticateClient, requestClientId } from "./client-auth.js";
import { entraError } from "./errors.js";
import type { FederatedSts } from "./federation.js";
import { clientCredentialsGrant, onBehalfOfGrant } from "./grants-app.js";
import {
  authorizationCodeGrant,
  deviceCodeGrant,
  passwordGrant,
  refreshTokenGrant,
  samlBearerGrant,
} from "./grants-user.js";
import { type EmuRequest, type EmuResponse, errorResponse, json } from "./http.js";
import { findApp, resolveTenantSegment, type World } from "./world.js";

export const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
export const JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
export const SAML11_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:saml1_1-bearer";
export const SAML2_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:saml2-bearer";

export function tokenEndpoint(
  req: EmuRequest,
  world: World,
  segment: string,
  sts: FederatedSts,
): EmuResponse {
  const ctx = { correlationId: req.correlationId, baseUrl: world.baseUrl };
  const tenant = resolveTenantSegment(world, segment);
  if (!tenant) {
    return errorResponse(
      entraError(
        ctx,
        "invalid_request",
        90002,
        `Tenant '${segment}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
      ),
    );
  }
  const grantType = req.form.get("grant_type");
  if (!grantType) {
    return errorResponse(
      entraError(
        ctx,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      ),
    );
  }
  const clientId = requestClientId(req);
  if (!clientId) {
    return errorResponse(
      entraError(
        ctx,
        "invalid_request",
        900144,
        "The request body must contain the following parameter: 'client_id'.",
      ),
    );
  }
  const app = findApp(world, clientId);
  if (!app) {
    return errorResponse(
      entraError(
        ctx,
        "unauthorized_client",
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      ),
    );
  }
  const authError = authenticateClient(req, world, app);
  if (authError) return errorResponse(authError);
  const grant = { req, world, app, tenant, segment };
  const result = (() => {
    switch (grantType) {
      case "authorization_code":
        return authorizationCodeGrant(grant);
      case "refresh_token":
        return refreshTokenGrant(grant);
      case "password":
        return passwordGrant(grant);
      case DEVICE_CODE_GRANT:
      case "device_code": // Entra also takes the short name, which msal-node sends.
        return deviceCodeGrant(grant);
      case SAML11_BEARER_GRANT:
      case SAML2_BEARER_GRANT:
        return samlBearerGrant(grant, grantType, sts);
      case "client_credentials":
        return clientCredentialsGrant(grant);
      case JWT_BEARER_GRANT:
        return onBehalfOfGrant(grant);
      default:
        return {
          error: entraError(
            ctx,
            "unsupported_grant_type",
            70003,
            `The app requested an unsupported grant type '${grantType}'.`,
          ),
        };
    }
  })();
  return "error" in result ? errorResponse(result.error) : json(200, result.tokens);
}

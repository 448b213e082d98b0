/**
 * The token endpoint, `POST {tenant}/oauth2/v2.0/token`: checks the client, then hands the request to
 * the grant's handler (user grants in `grants-user.ts`, app grants in `grants-app.ts`).
 * https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow#redeem-a-code-for-an-access-token
 */
import { authenticateClient, requestClientId } from "./client-auth.js";
import { type EntraError, type ErrorContext, entraError } from "./errors.js";
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
import { decodeJwt } from "./jwt.js";
import { bindToKey, popRequest } from "./pop.js";
import { issueSshCertificate, SSH_CERT_SCOPE, type SshCertRequest, sshCertRequest } from "./ssh.js";
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
  const binding = tokenBinding(req.form, ctx);
  if ("status" in binding) return errorResponse(binding);
  const grant = { req: binding.kind === "ssh" ? withoutSshScope(req) : req, world, app, tenant, segment };
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
  if ("error" in result) return errorResponse(result.error);
  return json(200, boundTokens(world, binding, result.tokens));
}

/**
 * What the token is bound to, from the request's `token_type`: nothing (Bearer), a key (`pop` with
 * `req_cnf`), or an SSH public key to certify (`ssh-cert` with `key_id` and `req_cnf`).
 * MSAL Python sends these as extra form fields (its `data` argument).
 */
type TokenBinding =
  | { kind: "bearer" }
  | { kind: "pop"; kid: string }
  | { kind: "ssh"; request: SshCertRequest };

function tokenBinding(form: URLSearchParams, ctx: ErrorContext): TokenBinding | EntraError {
  const tokenType = (form.get("token_type") ?? "bearer").toLowerCase();
  if (tokenType === "bearer") return { kind: "bearer" };
  if (tokenType === "pop") {
    const pop = popRequest(form, ctx);
    return "status" in pop ? pop : { kind: "pop", kid: pop.kid };
  }
  if (tokenType === "ssh-cert") {
    if (!(form.get("scope") ?? "").split(/\s+/).includes(SSH_CERT_SCOPE))
      return entraError(
        ctx,
        "invalid_request",
        90100,
        `The 'token_type' parameter is empty or not valid: ssh-cert is issued for the scope ${SSH_CERT_SCOPE} only.`,
      );
    const request = sshCertRequest(form, ctx);
    return "status" in request ? request : { kind: "ssh", request };
  }
  return entraError(
    ctx,
    "invalid_request",
    90100,
    `The 'token_type' parameter is empty or not valid: '${tokenType}' is not bearer, pop or ssh-cert.`,
  );
}

// The grants parse scopes for resources the directory knows; the SSH certificate service is not one
// of them, so the grant runs for Graph and the certificate replaces its access token afterwards.
const SSH_STAND_IN_SCOPE = "https://graph.microsoft.com/.default";

function withoutSshScope(req: EmuRequest): EmuRequest {
  const form = new URLSearchParams(req.form);
  const scope = (form.get("scope") ?? "")
    .split(/\s+/)
    .map((s) => (s === SSH_CERT_SCOPE ? SSH_STAND_IN_SCOPE : s));
  form.set("scope", scope.join(" "));
  return { ...req, form };
}

function boundTokens(
  world: World,
  binding: TokenBinding,
  tokens: Record<string, unknown>,
): Record<string, unknown> {
  if (binding.kind === "bearer") return tokens;
  if (binding.kind === "pop") return bindToKey(world, tokens, binding.kid);
  const claims = decodeJwt(String(tokens.access_token))?.payload ?? {};
  const principal = String(claims.preferred_username ?? claims.oid);
  const lifetime = Number(tokens.expires_in);
  const scope = String(tokens.scope ?? "")
    .split(" ")
    .map((s) => (s === SSH_STAND_IN_SCOPE ? SSH_CERT_SCOPE : s))
    .join(" ");
  return {
    ...tokens,
    token_type: "ssh-cert",
    ...(tokens.scope !== undefined ? { scope } : {}),
    access_token: issueSshCertificate(world, binding.request, { principal, lifetime }),
  };
}

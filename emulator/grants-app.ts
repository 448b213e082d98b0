/** Grants for confidential apps acting as themselves (client credentials) or for a user (on-behalf-of). */
import { isConfidential } from "./directory.js";
import {
  fail,
  type GrantOutcome,
  type GrantRequest,
  isOutcome,
  missingParameter,
  requestedScopes,
} from "./grant.js";
import { issueAppToken, issuerFor, issueUserTokens } from "./issue.js";
import { decodeJwt, verifyJwtSignature } from "./jwt.js";
import { findUserByOid, nowSeconds } from "./world.js";

function requireConfidential(g: GrantRequest): GrantOutcome | undefined {
  if (isConfidential(g.app)) return undefined;
  return fail(
    g,
    "invalid_client",
    7000218,
    "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
  );
}

/** https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow */
export function clientCredentialsGrant(g: GrantRequest): GrantOutcome {
  const notConfidential = requireConfidential(g);
  if (notConfidential) return notConfidential;
  if (typeof g.tenant === "string") {
    return fail(
      g,
      "invalid_request",
      900023,
      `Specified tenant identifier '${g.segment}' is not valid for the client credentials flow: use a tenant id or domain, not common, organizations or consumers.`,
    );
  }
  const scope = g.req.form.get("scope");
  if (!scope) return missingParameter(g, "scope");
  const scopes = requestedScopes(g);
  if (isOutcome(scopes)) return scopes;
  if (scopes.permissions.length !== 1 || scopes.permissions[0] !== ".default" || scopes.oidc.size > 0) {
    return fail(
      g,
      "invalid_scope",
      1002012,
      `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  return {
    tokens: issueAppToken(g.world, g.app, g.tenant.id, scopes, g.req.form.get("claims") ?? undefined),
  };
}

/** https://learn.microsoft.com/entra/identity-platform/v2-oauth2-on-behalf-of-flow */
export function onBehalfOfGrant(g: GrantRequest): GrantOutcome {
  const notConfidential = requireConfidential(g);
  if (notConfidential) return notConfidential;
  if (g.req.form.get("requested_token_use") !== "on_behalf_of") {
    return fail(
      g,
      "invalid_request",
      900144,
      "The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.",
    );
  }
  const assertion = g.req.form.get("assertion");
  if (!assertion) return missingParameter(g, "assertion");
  const jwt = decodeJwt(assertion);
  if (!jwt || !verifyJwtSignature(jwt, g.world.signingKey)) {
    return fail(
      g,
      "invalid_grant",
      50013,
      "Assertion failed signature validation. The assertion was not issued by this identity provider.",
    );
  }
  const { payload } = jwt;
  const expected = [g.app.clientId, `api://${g.app.clientId}`];
  if (!expected.includes(String(payload.aud))) {
    return fail(
      g,
      "invalid_grant",
      500131,
      `Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '${String(payload.aud)}' and the expected audience is '${g.app.clientId}' or one of the Application Id URIs of this application.`,
    );
  }
  if (typeof payload.exp !== "number" || payload.exp < nowSeconds()) {
    return fail(g, "invalid_grant", 500133, "Assertion is not within its valid time range.");
  }
  const tenantId = String(payload.tid);
  if (payload.iss !== issuerFor(g.world, tenantId) || payload.idtyp === "app") {
    return fail(
      g,
      "invalid_grant",
      50013,
      "Assertion failed signature validation. The assertion is not a user's access token from this identity provider.",
    );
  }
  const user = findUserByOid(g.world, String(payload.oid));
  if (!user)
    return fail(
      g,
      "invalid_grant",
      50034,
      "The user account in the assertion does not exist in the directory.",
    );
  const scopes = requestedScopes(g);
  if (isOutcome(scopes)) return scopes;
  const claims = g.req.form.get("claims") ?? undefined;
  return {
    tokens: issueUserTokens(g.world, {
      app: g.app,
      user,
      scopes,
      authTime: typeof payload.iat === "number" ? payload.iat : nowSeconds(),
      clientInfo: g.req.form.get("client_info") === "1",
      ...(claims ? { claims } : {}),
    }),
  };
}

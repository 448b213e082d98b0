// @ts-check
/**
 * An Express web API that validates its caller's bearer token and then calls a downstream API as
 * that user (the on-behalf-of flow): it exchanges the caller's token for one to the downstream API.
 *
 *   node samples/web-api-obo.mjs
 *   curl -H "Authorization: Bearer <token for api://<client id>/access_as_user>" http://localhost:4000/me
 *
 * Validation follows RFC 6750 and Entra's guidance for protected APIs: the signature against the
 * keys the authority publishes (its OpenID configuration's `jwks_uri`), `iss`, `aud` (this API),
 * `exp`/`nbf`, and the delegated scope in `scp`. A bad token gets 401 with a `WWW-Authenticate`
 * header saying why; a good one without the scope gets 403.
 * https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-tokens
 *
 * Configuration (environment; the defaults are the emulator's seeded middle-tier API, see README.md):
 *   MSAL_AUTHORITY      https://login.microsoftonline.com/<tenant id> for Entra ID: the API's own
 *                       tenant, whose issuer the tokens must name (not organizations or common)
 *   MSAL_CLIENT_ID      this API's application (client) id
 *   MSAL_CLIENT_SECRET  one of its client secrets
 *   API_SCOPE           the scope callers must hold, default access_as_user
 *   MSAL_SCOPES         the downstream API's scopes, space-separated, default User.Read (Graph)
 *   DOWNSTREAM_API_URL  the downstream API; default the emulator's test resource for a localhost
 *                       authority, https://graph.microsoft.com/v1.0/me otherwise
 *   MSAL_CA_FILE        a PEM file of an extra CA to trust (the emulator's `caFile`) for msal-ts;
 *                       jose and fetch need NODE_EXTRA_CA_CERTS
 *   PORT                default 4000 (0: any free port)
 */
import { readFileSync } from "node:fs";
import express from "express";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";
import { ConfidentialClientApplication, isTokenError } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "66666666-6666-4666-8666-666666666666";
const clientSecret = env.MSAL_CLIENT_SECRET ?? "middle-tier-secret-value";
const requiredScope = env.API_SCOPE ?? "access_as_user";
const downstreamScopes = (env.MSAL_SCOPES ?? "User.Read").split(" ");
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);
const downstreamUrl =
  env.DOWNSTREAM_API_URL ??
  (isLocalhost ? new URL("/_emulator/resource", authority).href : "https://graph.microsoft.com/v1.0/me");

// Where the tokens this API accepts come from: the authority's OpenID configuration names the
// issuer and the signing keys. v2.0 tokens carry the client id as `aud`; v1.0 ones `api://<id>`.
// (On Entra ID, set the app's requestedAccessTokenVersion to 2 so that callers get v2.0 tokens.)
const configuration = await fetch(`${authority}/v2.0/.well-known/openid-configuration`).then(
  async (response) => {
    if (!response.ok) throw new Error(`${authority}: OpenID configuration answered ${response.status}`);
    return /** @type {{ issuer: string, jwks_uri: string }} */ (await response.json());
  },
);
// Fetched on first use and again when a token names a key it does not know (key rollover).
const keys = createRemoteJWKSet(new URL(configuration.jwks_uri));
const audiences = [clientId, `api://${clientId}`];
console.log(`Accepting tokens from ${configuration.issuer} for ${clientId}`);

// One application for all callers: on-behalf-of tokens are cached per incoming token, so a
// client that calls again with the same token costs no round trip to the identity provider.
const msal = new ConfidentialClientApplication(clientId, {
  authority,
  clientCredential: clientSecret,
  validateAuthority: !isLocalhost,
  ...(ca ? { ca } : {}),
});

/**
 * Why a token was refused, in words for the `error_description` of the challenge (RFC 6750
 * section 3: a quoted string, so no double quotes or backslashes).
 * @param {unknown} error
 */
function refusal(error) {
  if (error instanceof errors.JWTExpired) return "The token has expired.";
  if (error instanceof errors.JWTClaimValidationFailed)
    return `The token's ${error.claim} claim is not accepted here.`;
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWSSignatureVerificationFailed)
    return "The token is not signed by the authority's keys.";
  if (error instanceof errors.JOSEError) return "The token is not a valid JWT.";
  throw error;
}

/**
 * @param {import("express").Response} res
 * @param {number} status
 * @param {string} challenge the `WWW-Authenticate` value
 * @param {Record<string, string>} body
 */
const refuse = (res, status, challenge, body) =>
  res.status(status).set("www-authenticate", challenge).json(body);

const app = express();
app.disable("x-powered-by");

app.get("/me", async (req, res) => {
  const incoming = /^Bearer\s+(\S+)$/i.exec(req.get("authorization") ?? "")?.[1];
  // No credentials at all: a challenge without an error code (RFC 6750 section 3.1).
  if (!incoming) {
    console.log("Refused a request without a token");
    return refuse(res, 401, "Bearer", {
      error: "unauthorized",
      error_description: "Send an access token: Authorization: Bearer <token>.",
    });
  }
  let claims;
  try {
    const verified = await jwtVerify(incoming, keys, {
      issuer: configuration.issuer,
      audience: audiences,
      algorithms: ["RS256"],
      requiredClaims: ["exp", "tid", "oid"],
    });
    claims = verified.payload;
  } catch (error) {
    const description = refusal(error);
    console.log(`Refused a token: ${description}`);
    return refuse(res, 401, `Bearer error="invalid_token", error_description="${description}"`, {
      error: "invalid_token",
      error_description: description,
    });
  }
  // Only delegated tokens with this API's scope: an app-only token (`roles`, no `scp`) has no user
  // to act on behalf of.
  const granted = typeof claims.scp === "string" ? claims.scp.split(" ") : [];
  if (!granted.includes(requiredScope)) {
    console.log(`Refused a token without the ${requiredScope} scope`);
    return refuse(res, 403, `Bearer error="insufficient_scope", scope="${requiredScope}"`, {
      error: "insufficient_scope",
      error_description: `The token lacks the ${requiredScope} scope.`,
    });
  }

  const result = await msal.acquireTokenOnBehalfOf(incoming, downstreamScopes);
  if (isTokenError(result)) {
    console.log(`On-behalf-of refused: ${result.error}`);
    // A `claims` challenge (Conditional Access, e.g. MFA for the downstream API) goes back to the
    // client, which signs the user in again with it; any other refusal means a new token is needed.
    const challenge = result.claims
      ? `Bearer error="insufficient_claims", claims="${Buffer.from(result.claims).toString("base64")}"`
      : `Bearer error="invalid_token", error_description="The token cannot be used on behalf of its user."`;
    return refuse(res, 401, challenge, {
      error: result.error,
      error_description: result.error_description ?? "",
    });
  }
  const called = await fetch(downstreamUrl, { headers: { authorization: `Bearer ${result.access_token}` } });
  const body = await called.json();
  console.log(
    `Called the downstream API for ${claims.oid}: token from ${result.token_source}, answered ${called.status}`,
  );
  res.json({ token_source: result.token_source, downstream: { status: called.status, body } });
});

/** Express 5 passes a rejected handler's error here. @type {import("express").ErrorRequestHandler} */
const onError = (error, _req, res, _next) => {
  console.error(error);
  res.status(500).json({ error: "internal error; see the server's log" });
};
app.use(onError);

const server = app.listen(Number(env.PORT ?? 4000), "127.0.0.1", (error) => {
  if (error) throw error;
  const address = server.address();
  console.log(`Listening on http://localhost:${typeof address === "object" && address ? address.port : ""}`);
});
// Ctrl-C, or a service manager's SIGTERM: stop taking connections, let open requests finish, exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close());

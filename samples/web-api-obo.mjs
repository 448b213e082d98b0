// @ts-check
/**
 * A web API that calls a downstream API as its caller (the on-behalf-of flow): it takes the bearer
 * token its client sent and exchanges it for a token to the downstream API, for the same user.
 *
 *   node samples/web-api-obo.mjs
 *   curl -H "Authorization: Bearer <token for api://<client id>/access_as_user>" http://localhost:4000/me
 *
 * It runs on node:http with a router of a few lines so that it needs nothing but msal-ts. With
 * Express, the `routes` entry is `app.get("/me", handler)` and the bearer check is your
 * authentication middleware (e.g. one built on the jose package).
 *
 * Configuration (environment; the defaults are the emulator's seeded middle-tier API, see README.md):
 *   MSAL_AUTHORITY      https://login.microsoftonline.com/<tenant id> for Entra ID
 *   MSAL_CLIENT_ID      this API's application (client) id
 *   MSAL_CLIENT_SECRET  one of its client secrets
 *   MSAL_SCOPES         the downstream API's scopes, space-separated, default User.Read (Graph)
 *   DOWNSTREAM_API_URL  called with the new token when set, e.g. https://graph.microsoft.com/v1.0/me
 *   MSAL_CA_FILE        a PEM file of an extra CA to trust (the emulator's `caFile`)
 *   PORT                default 4000 (0: any free port)
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { ConfidentialClientApplication, isTokenError } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "66666666-6666-4666-8666-666666666666";
const clientSecret = env.MSAL_CLIENT_SECRET ?? "middle-tier-secret-value";
const scopes = (env.MSAL_SCOPES ?? "User.Read").split(" ");
const downstream = env.DOWNSTREAM_API_URL;
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);

// One application for all callers: on-behalf-of tokens are cached per incoming token, so a
// client that calls again with the same token costs no round trip to the identity provider.
const app = new ConfidentialClientApplication(clientId, {
  authority,
  clientCredential: clientSecret,
  validateAuthority: !isLocalhost,
  ...(ca ? { ca } : {}),
});

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
function json(res, status, body, headers = {}) {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(`${JSON.stringify(body)}\n`);
}

/**
 * @typedef {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => Promise<void>} Handler
 * @type {Record<string, Handler>}
 */
const routes = {
  "GET /me": async (req, res) => {
    const incoming = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (!incoming) return json(res, 401, { error: "no bearer token" }, { "www-authenticate": "Bearer" });
    // This sample does not validate the incoming token; a real API must, before acting on it:
    // signature against the tenant's published keys, `iss`, `aud` (this API), `exp` and the scope,
    // with a JOSE library. (The exchange below fails for a token not issued to this API, but
    // authorization decisions must not wait for it.)
    const result = await app.acquireTokenOnBehalfOf(incoming, scopes);
    if (isTokenError(result)) {
      // invalid_grant: the caller's token was refused. A `claims` challenge (Conditional Access)
      // goes back to the client, which signs the user in again with it.
      const challenge = result.claims
        ? `Bearer error="insufficient_claims", claims="${Buffer.from(result.claims).toString("base64")}"`
        : "Bearer";
      return json(res, 401, { error: result.error }, { "www-authenticate": challenge });
    }
    if (!downstream) return json(res, 200, { token_source: result.token_source });
    const called = await fetch(downstream, { headers: { authorization: `Bearer ${result.access_token}` } });
    const body = await called.json();
    json(res, 200, { token_source: result.token_source, downstream: { status: called.status, body } });
  },
};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const handler = routes[`${req.method} ${url.pathname}`];
  if (!handler) return json(res, 404, { error: "not found" });
  handler(req, res).catch((error) => {
    console.error(error);
    if (!res.headersSent) json(res, 500, { error: "internal error; see the server's log" });
  });
});
server.listen(Number(env.PORT ?? 4000), "127.0.0.1", () => {
  const address = server.address();
  console.log(`Listening on http://localhost:${typeof address === "object" && address ? address.port : ""}`);
});
// Ctrl-C, or a service manager's SIGTERM: stop taking connections, let open requests finish, exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close());

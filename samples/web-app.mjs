// @ts-check
/**
 * A web app that signs users in with the auth code flow (PKCE, state and nonce are handled by
 * initiateAuthCodeFlow / acquireTokenByAuthCodeFlow) and then gets tokens for them silently.
 *
 *   node samples/web-app.mjs      then open http://localhost:3000
 *
 * It runs on node:http with a router of a few lines so that it needs nothing but msal-ts. With
 * Express, each entry of `routes` is an `app.get(path, handler)`, and the `sessions` map with its
 * `sid` cookie is what express-session provides as `req.session` (with a shared store such as
 * Redis when the app runs on more than one instance).
 *
 * Configuration (environment; the defaults are the emulator's seeded web app, see README.md):
 *   MSAL_AUTHORITY      https://login.microsoftonline.com/<tenant id> for Entra ID
 *   MSAL_CLIENT_ID      the app registration's application (client) id
 *   MSAL_CLIENT_SECRET  one of its client secrets
 *   MSAL_SCOPES         space-separated, default User.Read
 *   MSAL_CA_FILE        a PEM file of an extra CA to trust (the emulator's `caFile`)
 *   PORT                default 3000 (0: any free port); the redirect URI is
 *                       http://localhost:<port>/auth/callback and must be registered
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { ConfidentialClientApplication, isTokenError, MsalError } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "44444444-4444-4444-8444-444444444444";
const clientSecret = env.MSAL_CLIENT_SECRET ?? "web-app-secret-value";
const scopes = (env.MSAL_SCOPES ?? "User.Read").split(" ");
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);
/** Where the identity provider sends the browser back: set once the server knows its port. */
let redirectUri = "";

// One application for all users: its cache holds every signed-in user's tokens, and each session
// keeps the account that picks its own user's tokens out of it.
const app = new ConfidentialClientApplication(clientId, {
  authority,
  clientCredential: clientSecret,
  validateAuthority: !isLocalhost,
  ...(ca ? { ca } : {}),
});

/** @typedef {{ flow?: import("msal-ts").AuthCodeFlow, account?: import("msal-ts").Account }} Session */
/** @type {Map<string, Session>} In memory, unbounded: a sample. Use a real session store in production. */
const sessions = new Map();

/** @param {import("node:http").IncomingMessage} req */
function sessionIdOf(req) {
  return /(?:^|;\s*)sid=([\w-]+)/.exec(req.headers.cookie ?? "")?.[1];
}

/**
 * A new session and its cookie. SameSite=Lax lets the cookie come back on the identity provider's
 * redirect (a top-level GET); add `Secure` when the app is served over HTTPS, as it must be in production.
 * @param {import("node:http").ServerResponse} res
 * @param {Session} session
 */
function startSession(res, session) {
  const id = randomBytes(24).toString("base64url");
  sessions.set(id, session);
  res.setHeader("set-cookie", `sid=${id}; Path=/; HttpOnly; SameSite=Lax`);
}

/** @param {string} text */
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * @param {import("node:http").ServerResponse} res
 * @param {number} status
 * @param {string} body HTML
 */
function page(res, status, body) {
  res.writeHead(status, { "content-type": "text/html; charset=utf-8" }).end(`<!doctype html>\n${body}\n`);
}

/** @param {import("node:http").ServerResponse} res @param {string} location */
function redirect(res, location) {
  res.writeHead(302, { location }).end();
}

/**
 * @typedef {(req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse,
 *   url: URL, session: Session | undefined) => Promise<void>} Handler
 * @type {Record<string, Handler>}
 */
const routes = {
  "GET /": async (_req, res, _url, session) => {
    if (!session?.account) return page(res, 200, '<p>Not signed in. <a href="/signin">Sign in</a></p>');
    // Every request that needs a token asks the cache first: a valid token comes back as is, an
    // expired one is refreshed with the refresh token, and null means the user must sign in again.
    const result = await app.acquireTokenSilent(scopes, session.account);
    if (!result) return redirect(res, "/signin");
    // Call the API here with `Authorization: Bearer ${result.access_token}`.
    page(
      res,
      200,
      `<p>Signed in as ${escapeHtml(session.account.username)}; token from ${result.token_source}. ` +
        '<a href="/signout">Sign out</a></p>',
    );
  },

  "GET /signin": async (req, res) => {
    const flow = await app.initiateAuthCodeFlow(scopes, { redirectUri });
    // The flow holds the PKCE verifier, state and nonce: keep it server side, never in the page.
    const oldId = sessionIdOf(req);
    if (oldId) sessions.delete(oldId);
    startSession(res, { flow });
    redirect(res, flow.auth_uri);
  },

  "GET /auth/callback": async (req, res, url, session) => {
    const flow = session?.flow;
    if (!session || !flow)
      return page(res, 400, '<p>No sign-in in progress. <a href="/signin">Sign in</a></p>');
    delete session.flow;
    let result;
    try {
      result = await app.acquireTokenByAuthCodeFlow(flow, Object.fromEntries(url.searchParams));
    } catch (error) {
      // A response that does not belong to this flow (state mismatch, replayed code, bad nonce).
      if (error instanceof MsalError)
        return page(res, 400, `<p>Sign-in refused: ${escapeHtml(error.message)}</p>`);
      throw error;
    }
    if (isTokenError(result))
      return page(
        res,
        401,
        `<p>Sign-in failed: ${escapeHtml(`${result.error}: ${result.error_description}`)}</p>`,
      );
    const username = result.id_token_claims?.preferred_username;
    const [account] = username ? await app.getAccounts({ username }) : [];
    if (!account) return page(res, 500, "<p>The sign-in returned no account.</p>");
    // A fresh session id once the user is signed in, so that an id seen before sign-in is worthless.
    const oldId = sessionIdOf(req);
    if (oldId) sessions.delete(oldId);
    startSession(res, { account });
    redirect(res, "/");
  },

  "GET /signout": async (req, res, _url, session) => {
    if (session?.account) await app.removeAccount(session.account);
    const id = sessionIdOf(req);
    if (id) sessions.delete(id);
    res.setHeader("set-cookie", "sid=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    // Also end the identity provider's session, which then sends the browser back here.
    const back = new URL("/", redirectUri).toString();
    redirect(res, `${authority}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(back)}`);
  },
};

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://localhost");
  const handler = routes[`${req.method} ${url.pathname}`];
  if (!handler) return page(res, 404, "<p>Not found.</p>");
  const id = sessionIdOf(req);
  handler(req, res, url, id ? sessions.get(id) : undefined).catch((error) => {
    console.error(error);
    if (!res.headersSent) page(res, 500, "<p>Something went wrong; see the server's log.</p>");
  });
});
server.listen(Number(env.PORT ?? 3000), "127.0.0.1", () => {
  const address = server.address();
  const origin = `http://localhost:${typeof address === "object" && address ? address.port : ""}`;
  redirectUri = env.MSAL_REDIRECT_URI ?? `${origin}/auth/callback`;
  console.log(`Listening on ${origin}`);
});
// Ctrl-C, or a service manager's SIGTERM: stop taking connections, let open requests finish, exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close());

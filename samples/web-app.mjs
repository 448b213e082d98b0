// @ts-check
/**
 * An Express web app that signs users in with the auth code flow and then calls an API for them
 * with tokens from the cache. initiateAuthCodeFlow / acquireTokenByAuthCodeFlow handle PKCE, state
 * and nonce; express-session keeps the flow between the two, then the signed-in account.
 *
 *   node samples/web-app.mjs      then open http://localhost:3000
 *
 * Routes: `/` says who is signed in; `/signin` starts the flow; `/auth/callback` is the redirect
 * URI; `/profile` calls the API with a token from acquireTokenSilent; `/signout` forgets the user.
 *
 * Configuration (environment; the defaults are the emulator's seeded web app, see README.md):
 *   MSAL_AUTHORITY      https://login.microsoftonline.com/<tenant id> for Entra ID
 *   MSAL_CLIENT_ID      the app registration's application (client) id
 *   MSAL_CLIENT_SECRET  one of its client secrets
 *   MSAL_SCOPES         the API's scopes, space-separated, default User.Read (Graph)
 *   API_URL             the API /profile calls; default the emulator's test resource for a
 *                       localhost authority, https://graph.microsoft.com/v1.0/me otherwise
 *   MSAL_CA_FILE        a PEM file of an extra CA to trust (the emulator's `caFile`)
 *   SESSION_SECRET      signs the session cookie; default a random one (sessions end with the process)
 *   PORT                default 3000 (0: any free port); the redirect URI is
 *                       http://localhost:<port>/auth/callback and must be registered
 *   MSAL_REDIRECT_URI   the redirect URI, when the app runs behind a proxy
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import express from "express";
import session from "express-session";
import { ConfidentialClientApplication, isTokenError, MsalError, TokenCache } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "44444444-4444-4444-8444-444444444444";
const clientSecret = env.MSAL_CLIENT_SECRET ?? "web-app-secret-value";
const scopes = (env.MSAL_SCOPES ?? "User.Read").split(" ");
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);
const apiUrl =
  env.API_URL ??
  (isLocalhost ? new URL("/_emulator/resource", authority).href : "https://graph.microsoft.com/v1.0/me");
/** Where the identity provider sends the browser back: set once the server knows its port. */
let redirectUri = "";

// One application and one cache for all users, as docs/caching.md advises for a web app on one
// instance: every user's tokens sit in one bounded in-memory cache, and each session keeps the
// home_account_id that picks its own user's tokens out of it (never `getAccounts()[0]`, which is
// whoever signed in first). On several instances, use a DistributedTokenCache over Redis instead:
// it reads and writes one partition per user, and a shared session store (e.g. connect-redis).
const msal = new ConfidentialClientApplication(clientId, {
  authority,
  clientCredential: clientSecret,
  validateAuthority: !isLocalhost,
  tokenCache: new TokenCache({ maxAccessTokens: 10_000 }),
  ...(ca ? { ca } : {}),
});

/**
 * What this app keeps in a session: the flow while a sign-in is under way, then who signed in.
 * All plain JSON, so any session store can hold it. (In TypeScript, declare these fields by
 * augmenting express-session's `SessionData` interface instead of this cast.)
 * @typedef {{ authCodeFlow?: import("msal-ts").AuthCodeFlow, homeAccountId?: string,
 *   name?: string }} SignInState
 * @param {import("express").Request} req
 */
const sessionOf = (req) => /** @type {SignInState} */ (/** @type {unknown} */ (req.session));

/** express-session's callback methods as promises. @param {import("express").Request} req */
const regenerate = (req) =>
  new Promise((resolve, reject) => req.session.regenerate((error) => (error ? reject(error) : resolve(0))));
/** @param {import("express").Request} req */
const destroy = (req) =>
  new Promise((resolve, reject) => req.session.destroy((error) => (error ? reject(error) : resolve(0))));

/** @param {string} text */
const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** @param {string} body HTML */
const page = (body) => `<!doctype html>\n${body}\n`;

const app = express();
app.disable("x-powered-by");
app.use(
  session({
    secret: env.SESSION_SECRET ?? randomBytes(32).toString("base64url"),
    name: "sid",
    resave: false,
    // No cookie until a sign-in starts.
    saveUninitialized: false,
    // SameSite=Lax lets the cookie come back on the identity provider's redirect (a top-level
    // GET). Served over HTTPS, as it must be in production, set `secure: true`.
    cookie: { httpOnly: true, sameSite: "lax" },
  }),
);

app.get("/", (req, res) => {
  const { homeAccountId, name } = sessionOf(req);
  if (!homeAccountId) return res.send(page('<p>Not signed in. <a href="/signin">Sign in</a></p>'));
  res.send(
    page(
      `<p>Signed in as ${escapeHtml(name ?? "")}. ` +
        '<a href="/profile">Call the API</a> <a href="/signout">Sign out</a></p>',
    ),
  );
});

app.get("/signin", async (req, res) => {
  // Ask for the API's scopes now so that the user consents once and the first call hits the cache.
  const flow = await msal.initiateAuthCodeFlow(scopes, { redirectUri });
  // The flow holds the PKCE verifier, state and nonce: it stays server side, never in the page.
  sessionOf(req).authCodeFlow = flow;
  console.log("Sign-in: sending the browser to the identity provider");
  res.redirect(flow.auth_uri);
});

app.get("/auth/callback", async (req, res) => {
  const state = sessionOf(req);
  const flow = state.authCodeFlow;
  if (!flow)
    return res.status(400).send(page('<p>No sign-in in progress. <a href="/signin">Sign in</a></p>'));
  delete state.authCodeFlow;
  const authResponse = Object.fromEntries(new URL(req.originalUrl, "http://localhost").searchParams);
  let result;
  try {
    result = await msal.acquireTokenByAuthCodeFlow(flow, authResponse);
  } catch (error) {
    // A response that does not belong to this flow (state mismatch, replayed code, bad nonce).
    if (!(error instanceof MsalError)) throw error;
    return res.status(400).send(page(`<p>Sign-in refused: ${escapeHtml(error.message)}</p>`));
  }
  if (isTokenError(result))
    return res
      .status(401)
      .send(page(`<p>Sign-in failed: ${escapeHtml(`${result.error}: ${result.error_description}`)}</p>`));
  // The signed-in user's account, as getAccounts() would list it: in a cache shared by every
  // user, this is how the app knows who just signed in.
  const { account } = result;
  if (!account) return res.status(500).send(page("<p>The sign-in returned no account.</p>"));
  // A new session id once the user is signed in, so that an id seen before sign-in is worthless.
  await regenerate(req);
  const signedIn = sessionOf(req);
  signedIn.homeAccountId = account.home_account_id;
  signedIn.name = String(result.id_token_claims?.name ?? account.username);
  console.log(`Signed in: ${account.username}`);
  res.redirect("/");
});

app.get("/profile", async (req, res) => {
  const { homeAccountId, name } = sessionOf(req);
  if (!homeAccountId) return res.redirect("/signin");
  // Every request that needs a token asks the cache: a valid token comes back as is, one close to
  // expiry is refreshed with the refresh token, and null means the user must sign in again.
  const result = await msal.acquireTokenSilent(scopes, { home_account_id: homeAccountId });
  if (!result) return res.redirect("/signin");
  const api = await fetch(apiUrl, { headers: { authorization: `Bearer ${result.access_token}` } });
  const body = await api.text();
  console.log(`API call for ${name}: token from ${result.token_source}, API answered ${api.status}`);
  res.send(
    page(
      `<p>Signed in as ${escapeHtml(name ?? "")}; token from ${result.token_source}.</p>\n` +
        `<p>The API answered ${api.status}:</p>\n<pre>${escapeHtml(body)}</pre>`,
    ),
  );
});

app.get("/signout", async (req, res) => {
  const { homeAccountId } = sessionOf(req);
  // Forget the user's tokens here, end the session, then end the identity provider's session,
  // which sends the browser back to the home page.
  if (homeAccountId) await msal.removeAccount({ home_account_id: homeAccountId });
  await destroy(req);
  res.clearCookie("sid", { path: "/" });
  console.log("Signed out");
  const back = new URL("/", redirectUri).href;
  res.redirect(`${authority}/oauth2/v2.0/logout?post_logout_redirect_uri=${encodeURIComponent(back)}`);
});

/** Express 5 passes a rejected handler's error here. @type {import("express").ErrorRequestHandler} */
const onError = (error, _req, res, _next) => {
  console.error(error);
  res.status(500).send(page("<p>Something went wrong; see the server's log.</p>"));
};
app.use(onError);

const server = app.listen(Number(env.PORT ?? 3000), "127.0.0.1", (error) => {
  if (error) throw error;
  const address = server.address();
  const origin = `http://localhost:${typeof address === "object" && address ? address.port : ""}`;
  redirectUri = env.MSAL_REDIRECT_URI ?? `${origin}/auth/callback`;
  console.log(`Listening on ${origin}`);
});
// Ctrl-C, or a service manager's SIGTERM: stop taking connections, let open requests finish, exit.
for (const signal of ["SIGINT", "SIGTERM"]) process.once(signal, () => server.close());

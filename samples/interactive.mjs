// @ts-check
/**
 * A desktop app that signs the user in through the system browser: msal-ts listens on
 * http://localhost:<free port>, opens the browser at the sign-in page, and receives the response
 * there (auth code flow with PKCE). Then it asks again and gets the cached token.
 *
 *   node samples/interactive.mjs               opens the system browser
 *   node samples/interactive.mjs --no-browser  prints the sign-in URL for you to open
 *
 * Configuration (environment; the defaults are the emulator's seeded desktop app, see README.md):
 *   MSAL_AUTHORITY   https://login.microsoftonline.com/organizations (or your tenant) for Entra ID
 *   MSAL_CLIENT_ID   the app registration's application (client) id, with the redirect URI
 *                    http://localhost registered ("Mobile and desktop applications")
 *   MSAL_SCOPES      space-separated, default User.Read
 *   MSAL_CA_FILE     a PEM file of an extra CA to trust (the emulator's `caFile`)
 */
import { readFileSync } from "node:fs";
import { BrowserUnavailableError, isTokenError, PublicClientApplication } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "11111111-1111-4111-8111-111111111111";
const scopes = (env.MSAL_SCOPES ?? "User.Read").split(" ");
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);

const app = new PublicClientApplication(clientId, {
  authority,
  validateAuthority: !isLocalhost,
  ...(ca ? { ca } : {}),
});

const printUrl = process.argv.includes("--no-browser");
let result;
try {
  result = await app.acquireTokenInteractive(scopes, {
    // Give up if the user has not finished within two minutes.
    timeout: 120_000,
    // Without a browser here (an SSH session), show the URL: the browser must run on this machine,
    // as the response comes back to a listener on localhost.
    ...(printUrl ? { openBrowser: (url) => console.log(`Open this URL to sign in: ${url}`) } : {}),
  });
} catch (error) {
  if (error instanceof BrowserUnavailableError) {
    console.error(`${error.message}\nTry --no-browser, or the device code sample.`);
    process.exit(1);
  }
  throw error;
}
if (isTokenError(result)) {
  console.error(`Sign-in failed: ${result.error}: ${result.error_description}`);
  process.exit(1);
}
console.log(`Signed in as ${result.account?.username}; token from ${result.token_source}`);

const again = await app.acquireTokenSilent(scopes, result.account);
console.log(`Silent call: ${again ? `token from ${again.token_source}` : "nothing cached, sign in again"}`);

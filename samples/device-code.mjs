// @ts-check
/**
 * A command-line tool that signs the user in with the device code flow: it prints a code, the
 * user enters it on another device's browser, and the tool gets the tokens. Then it asks again
 * and gets the cached token, as every later run of a real tool would with a persisted cache.
 *
 *   node samples/device-code.mjs
 *
 * Configuration (environment; the defaults are the emulator's seeded desktop app, see README.md):
 *   MSAL_AUTHORITY   https://login.microsoftonline.com/organizations (or your tenant) for Entra ID
 *   MSAL_CLIENT_ID   the app registration's application (client) id (a public client:
 *                    "Allow public client flows" on)
 *   MSAL_SCOPES      space-separated, default User.Read
 *   MSAL_CA_FILE     a PEM file of an extra CA to trust (the emulator's `caFile`)
 */
import { readFileSync } from "node:fs";
import { isTokenError, PublicClientApplication } from "msal-ts";

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

const flow = await app.initiateDeviceFlow(scopes);
if (isTokenError(flow)) {
  console.error(`Could not start the sign-in: ${flow.error}: ${flow.error_description}`);
  process.exit(1);
}
// The server's own words: where to go and which code to enter.
console.log(flow.message);

// Polls at the server's interval until the user finishes, declines, or the code expires; Ctrl-C
// stops the polling at once.
const stop = new AbortController();
process.once("SIGINT", () => stop.abort());
const result = await app.acquireTokenByDeviceFlow(flow, { signal: stop.signal });
if (isTokenError(result)) {
  console.error(`Sign-in failed: ${result.error}: ${result.error_description}`);
  process.exit(1);
}
console.log(`Signed in as ${result.account?.username}; token from ${result.token_source}`);

// Later calls go through the cache with the signed-in account.
const again = await app.acquireTokenSilent(scopes, result.account);
console.log(`Silent call: ${again ? `token from ${again.token_source}` : "nothing cached, sign in again"}`);

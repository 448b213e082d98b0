// @ts-check
/**
 * A daemon (a service with no user): gets an app-only token with the client credentials grant and a
 * client secret, then asks again and gets the cached token without a network call.
 *
 *   node samples/daemon.mjs
 *
 * Configuration (environment; the defaults are the emulator's seeded daemon app, see README.md):
 *   MSAL_AUTHORITY      https://login.microsoftonline.com/<tenant id> for Entra ID
 *   MSAL_CLIENT_ID      the app registration's application (client) id
 *   MSAL_CLIENT_SECRET  one of its client secrets
 *   MSAL_SCOPES         space-separated; an app-only token asks for `<resource>/.default`
 *   MSAL_CA_FILE        a PEM file of an extra CA to trust (the emulator's `caFile`)
 */
import { readFileSync } from "node:fs";
import { ConfidentialClientApplication, isTokenError } from "msal-ts";

const env = process.env;
const authority = env.MSAL_AUTHORITY ?? "https://localhost:8443/contoso.onmicrosoft.com";
const clientId = env.MSAL_CLIENT_ID ?? "55555555-5555-4555-8555-555555555555";
const clientSecret = env.MSAL_CLIENT_SECRET ?? "daemon-app-secret-value";
const scopes = (env.MSAL_SCOPES ?? "https://graph.microsoft.com/.default").split(" ");
const ca = env.MSAL_CA_FILE ? readFileSync(env.MSAL_CA_FILE, "utf8") : undefined;
// The emulator is not a Microsoft cloud host, so it is trusted without instance discovery. Keep
// validation on for every real authority.
const isLocalhost = ["localhost", "127.0.0.1"].includes(new URL(authority).hostname);

// One application object for the life of the process: its in-memory cache is what makes the
// second call free. (Persist the cache, or share it with DistributedTokenCache, across processes.)
const app = new ConfidentialClientApplication(clientId, {
  authority,
  clientCredential: clientSecret,
  validateAuthority: !isLocalhost,
  ...(ca ? { ca } : {}),
});

for (const call of ["First", "Second"]) {
  const result = await app.acquireTokenForClient(scopes);
  // A server's refusal (wrong secret, unknown scope) is a result with `error`, not an exception.
  if (isTokenError(result)) {
    console.error(`${call} call failed: ${result.error}: ${result.error_description}`);
    process.exitCode = 1;
    break;
  }
  console.log(`${call} call: token from ${result.token_source}, expires in ${result.expires_in} s`);
}

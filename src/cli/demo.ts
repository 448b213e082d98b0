/**
 * `msal-ts demo` (what `npm start` runs): starts the embedded Entra ID emulator and walks a newcomer
 * through device code sign-in, an app token, a managed identity token, the cache, a refresh and the
 * accounts, with the library's public API. Nothing leaves this machine.
 */
import { startEmulator } from "../../emulator/index.js";
import {
  ConfidentialClientApplication,
  decodePart,
  getManagedIdentitySource,
  isTokenError,
  ManagedIdentityClient,
  nodeManagedIdentityPlatform,
  PublicClientApplication,
  SystemAssignedManagedIdentity,
  type TokenResult,
  type TokenSuccess,
} from "../node/index.js";
import { bold, cyan, dim, green, type Terminal } from "./terminal.js";

/** Access tokens live just past MSAL's 5-minute refresh margin, so the demo can show a refresh. */
const SHORT_LIFETIME_SECONDS = 306;
const WAIT_FOR_EXPIRY_MS = 7000;

function check(result: TokenResult | null, what: string): asserts result is TokenSuccess {
  if (!result || isTokenError(result))
    throw new Error(
      `${what} failed: ${result ? `${result.error} ${result.error_description ?? ""}` : "no token"}`,
    );
}

export async function runDemo(t: Terminal): Promise<number> {
  const say = (text = "") => t.out.write(`${text}\n`);
  const step = (n: number, title: string) => say(`\n${bold(t, `${n}. ${title}`)}`);
  const emulator = await startEmulator({
    settings: { deviceCodeInterval: 1, accessTokenLifetime: SHORT_LIFETIME_SECONDS },
    managedIdentity: true,
  });
  try {
    const tenant = emulator.directory.tenants[0];
    const desktop = emulator.directory.apps.find((a) => a.kind === "public");
    const daemon = emulator.directory.apps.find((a) => a.kind === "daemon");
    const alice = emulator.directory.users.find((u) => u.kind === "managed");
    if (!tenant || !desktop || !daemon?.secret || !alice)
      throw new Error("the emulator's seeded directory is incomplete");
    const authority = `${emulator.url}/${tenant.domain}`;
    const common = { authority, validateAuthority: false, ca: emulator.caPem };
    say(
      bold(t, "msal-ts demo: sign-in and tokens against a local Entra ID emulator (no tenant, no network)."),
    );
    say(`The emulator runs at ${emulator.url}; the apps below use the authority ${authority}.`);

    step(1, "Device code sign-in: a CLI asks for a code and shows the user the identity provider's message:");
    const app = new PublicClientApplication(desktop.clientId, common);
    const flow = await app.initiateDeviceFlow(["User.Read"]);
    if ("error" in flow) throw new Error(`initiateDeviceFlow failed: ${flow.error}`);
    say(`   ${cyan(t, flow.message)}`);
    say(dim(t, `   (The demo signs in as ${alice.username} for you, as a person would on that page.)`));
    setTimeout(() => emulator.approveDeviceCode(flow.user_code, alice.username), 1000);
    const signIn = await app.acquireTokenByDeviceFlow(flow);
    check(signIn, "Device code sign-in");
    say(
      `   ${green(t, "Signed in")} as ${String(signIn.id_token_claims?.name)} <${String(signIn.id_token_claims?.preferred_username)}>; scopes "${signIn.scope}".`,
    );

    step(2, "A silent call: the token comes from the cache, with no network request.");
    const [account] = await app.getAccounts();
    const cached = await app.acquireTokenSilent(["User.Read"], account);
    check(cached, "Silent call");
    say(`   token_source: ${cached.token_source}, valid for ${cached.expires_in} s more.`);

    step(
      3,
      "A refresh after expiry: msal-ts renews tokens 5 minutes before they expire, with the refresh token.",
    );
    say(
      dim(
        t,
        `   (The emulator issued ${SHORT_LIFETIME_SECONDS}-second tokens; waiting ${WAIT_FOR_EXPIRY_MS / 1000} s for this one to enter that window.)`,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, WAIT_FOR_EXPIRY_MS));
    const refreshed = await app.acquireTokenSilent(["User.Read"], account);
    check(refreshed, "Refresh");
    say(
      `   token_source: ${refreshed.token_source}; a new access token: ${refreshed.access_token !== cached.access_token ? "yes" : "no"}.`,
    );

    step(
      4,
      "An app token: a daemon authenticates with its own secret (client credentials), then hits the cache.",
    );
    const daemonApp = new ConfidentialClientApplication(daemon.clientId, {
      ...common,
      clientCredential: daemon.secret,
    });
    const first = await daemonApp.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
    const second = await daemonApp.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
    check(first, "Client credentials");
    check(second, "Client credentials from the cache");
    say(`   first: ${first.token_source}, second: ${second.token_source}.`);

    step(
      5,
      "A managed identity: code running on Azure gets tokens with no secret at all. The emulator plays App Service:",
    );
    // The variables App Service sets; an app on Azure reads them from process.env.
    const env = emulator.managedIdentity.environment("appService");
    const onAppService = { ...nodeManagedIdentityPlatform, env: () => env };
    say(
      dim(
        t,
        `   (IDENTITY_ENDPOINT=${env.IDENTITY_ENDPOINT} and IDENTITY_HEADER are set: getManagedIdentitySource() is "${getManagedIdentitySource(onAppService)}".)`,
      ),
    );
    const identity = new ManagedIdentityClient(new SystemAssignedManagedIdentity(), {}, onAppService);
    const arm = "https://management.azure.com";
    const miFirst = await identity.acquireTokenForClient({ resource: arm });
    const miSecond = await identity.acquireTokenForClient({ resource: arm });
    check(miFirst, "Managed identity");
    check(miSecond, "Managed identity from the cache");
    const claims = decodePart(miFirst.access_token.split(".")[1] ?? "");
    say(`   first: ${miFirst.token_source}, second: ${miSecond.token_source}; a token for ${arm}`);
    say(`   as the app's identity ${String(claims.xms_mirid)}`);
    say(
      `   (idtyp "${String(claims.idtyp)}"), renewed after ${Math.round(((miFirst.refresh_on ?? 0) - Date.now() / 1000) / 3600)} hours, half its lifetime.`,
    );

    step(6, "The accounts in the cache:");
    for (const a of await app.getAccounts()) say(`   ${a.username}  (home account ${a.home_account_id})`);

    say(
      `\n${bold(t, "Next:")} read README.md for the API, run \`npx msal-ts emulator\` to test your own app offline`,
    );
    say(
      "(docs/emulator.md), docs/azure.md for managed identity, and `npx msal-ts login --help` to get tokens",
    );
    say("for scripts against Entra ID.");
    return 0;
  } finally {
    await emulator.stop();
  }
}

/**
 * `msal-ts demo`: starts the embedded Entra ID emulator and walks a newcomer through what happens on
 * the wire when an app signs a user in with a device code and when a daemon gets an app token.
 * Everything runs on this machine; nothing leaves loopback.
 */
import { Agent, fetch } from "undici";
import { startEmulator } from "../../emulator/index.js";

type Json = Record<string, unknown>;

function claimsOf(jwt: string): Json {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Json;
}

export async function runDemo(out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const say = (text = "") => out.write(`${text}\n`);
  const step = (n: number, title: string) => say(`\n${n}. ${title}`);
  const emulator = await startEmulator({ settings: { deviceCodeInterval: 1 } });
  const dispatcher = new Agent({ connect: { ca: emulator.caPem } });
  const post = async (url: string, form: Record<string, string>) =>
    (await (
      await fetch(url, { method: "POST", body: new URLSearchParams(form), dispatcher })
    ).json()) as Json;
  try {
    const tenant = emulator.directory.tenants[0];
    const desktop = emulator.directory.apps.find((a) => a.kind === "public");
    const daemon = emulator.directory.apps.find((a) => a.kind === "daemon");
    const alice = emulator.directory.users.find((u) => u.kind === "managed");
    if (!tenant || !desktop || !daemon?.secret || !alice)
      throw new Error("the emulator's seeded directory is incomplete");
    say("msal-ts demo: signing in against a local Entra ID emulator (no tenant, no network).");
    say(`The emulator runs at ${emulator.url} with tenant ${tenant.domain} (${tenant.id}).`);

    step(1, "Discovery: an app learns the tenant's endpoints from its OpenID configuration.");
    const config = (await (
      await fetch(`${emulator.url}/${tenant.domain}/v2.0/.well-known/openid-configuration`, { dispatcher })
    ).json()) as Json;
    say(`   token endpoint:       ${config.token_endpoint}`);
    say(`   device code endpoint: ${config.device_authorization_endpoint}`);

    step(2, "Device code sign-in: the app asks for a code and shows the user this message:");
    const flow = await post(String(config.device_authorization_endpoint), {
      client_id: desktop.clientId,
      scope: "User.Read openid profile offline_access",
    });
    say(`   "${flow.message}"`);
    say(`   (The demo signs in as ${alice.username} for you, as a person would on that page.)`);
    emulator.approveDeviceCode(String(flow.user_code), alice.username);
    const grant = {
      grant_type: "urn:ietf:params:oauth:grant-type:device_code",
      client_id: desktop.clientId,
      device_code: String(flow.device_code),
    };
    const user = await post(String(config.token_endpoint), grant);
    if (typeof user.access_token !== "string" || typeof user.id_token !== "string")
      throw new Error(`sign-in failed: ${JSON.stringify(user)}`);
    const idClaims = claimsOf(user.id_token);
    say(
      `   Signed in: ${idClaims.name} <${idClaims.preferred_username}>, token valid for ${user.expires_in} s, scopes "${user.scope}".`,
    );

    step(3, "Refresh: the refresh token buys a new access token without asking the user again.");
    const refreshed = await post(String(config.token_endpoint), {
      grant_type: "refresh_token",
      client_id: desktop.clientId,
      refresh_token: String(user.refresh_token),
      scope: "User.Read openid profile offline_access",
    });
    say(`   New access token issued: ${refreshed.access_token !== user.access_token ? "yes" : "no"}.`);

    step(4, "App token: a daemon authenticates with its own secret (client credentials).");
    const app = await post(String(config.token_endpoint), {
      grant_type: "client_credentials",
      client_id: daemon.clientId,
      client_secret: daemon.secret,
      scope: "https://graph.microsoft.com/.default",
    });
    if (typeof app.access_token !== "string")
      throw new Error(`client credentials failed: ${JSON.stringify(app)}`);
    say(
      `   Token for audience ${claimsOf(app.access_token).aud}, identity type "${claimsOf(app.access_token).idtyp}".`,
    );

    step(5, "Errors look like Entra's: a wrong secret gives");
    const wrong = await post(String(config.token_endpoint), {
      ...{
        grant_type: "client_credentials",
        client_id: daemon.clientId,
        scope: "https://graph.microsoft.com/.default",
      },
      client_secret: "wrong",
    });
    say(`   ${wrong.error}: ${String(wrong.error_description).split(" Trace ID")[0]}`);

    say("\nNext: run `npx msal-ts emulator` to test your own app offline, and read docs/emulator.md.");
    return 0;
  } finally {
    await dispatcher.close();
    await emulator.stop();
  }
}

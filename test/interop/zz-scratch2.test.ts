import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";
import { it } from "vitest";
import { SerializableTokenCache } from "../../src/index.js";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import { runMsalPython } from "../support/python.js";

const DRIVER = fileURLToPath(new URL("./python/cache_driver.py", import.meta.url));
it("reverse", async () => {
  const emulator = await startTestEmulator();
  const host = new URL(emulator.url).host;
  const dir = mkdtempSync(join(tmpdir(), "scratch-"));
  const alice = user(emulator, "managed");
  const bob = emulator.directory.users.find((u) => u.username.startsWith("bob"))!;
  const daemon = app(emulator, "daemon");
  const pub = app(emulator, "public");
  const tenant = emulator.directory.tenants[0]!.id;
  const tokenEndpoint = `${emulator.url}/${tenant}/oauth2/v2.0/token`;
  const write = async (environment: string) => {
    const cache = new SerializableTokenCache();
    for (const u of [alice, bob]) {
      const r = await fetch(tokenEndpoint, { method: "POST", body: new URLSearchParams({ grant_type: "password", client_id: pub.clientId, username: u.username, password: u.password, scope: "User.Read openid profile offline_access", client_info: "1" }) });
      cache.add({ clientId: pub.clientId, scopes: ["User.Read", "openid", "profile", "offline_access"], tokenEndpoint, environment, response: await r.json(), grantType: "password" });
    }
    const r2 = await fetch(tokenEndpoint, { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials", client_id: daemon.clientId, client_secret: daemon.secret!, scope: "https://graph.microsoft.com/.default" }) });
    cache.add({ clientId: daemon.clientId, scopes: ["https://graph.microsoft.com/.default"], tokenEndpoint, environment, response: await r2.json(), grantType: "client_credentials" });
    return cache.serialize();
  };
  const pyText = await write("localhost");
  writeFileSync(join(dir, "c.json"), pyText);
  emulator.clearRequests();
  const events = await runMsalPython("read", {
    authority: authority(emulator), client_id: pub.clientId, daemon_client_id: daemon.clientId, daemon_secret: daemon.secret,
    scopes: ["User.Read"], app_scopes: ["https://graph.microsoft.com/.default"], cache_file: join(dir, "c.json"),
  }, emulator.caFile, () => {}, DRIVER);
  console.log("PY", JSON.stringify(events).slice(0, 3000), emulator.requests().map((r) => r.endpoint));
  const nodeText = await write(host);
  const auth = (clientId: string) => ({ clientId, authority: authority(emulator), knownAuthorities: [host] });
  const pca = new PublicClientApplication({ auth: auth(pub.clientId) });
  pca.getTokenCache().deserialize(nodeText);
  emulator.clearRequests();
  const accounts = await pca.getTokenCache().getAllAccounts();
  console.log("NODE accounts", accounts.map((a) => [a.homeAccountId, a.username, a.environment, a.tenantId]));
  for (const account of accounts) {
    try {
      const r = await pca.acquireTokenSilent({ account, scopes: ["User.Read"] });
      console.log("NODE silent", r.fromCache, r.accessToken.slice(-10));
    } catch (e) { console.log("NODE silent err", e); }
  }
  const cca = new ConfidentialClientApplication({ auth: { ...auth(daemon.clientId), clientSecret: daemon.secret as string } });
  cca.getTokenCache().deserialize(nodeText);
  const r = await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
  console.log("NODE app", r?.fromCache);
  console.log("requests", emulator.requests().map((r) => r.endpoint));
  await emulator.stop();
});

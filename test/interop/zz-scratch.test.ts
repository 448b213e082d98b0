import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConfidentialClientApplication, PublicClientApplication } from "@azure/msal-node";
import { it } from "vitest";
import { app, authority, startTestEmulator, user } from "../support/emulator.js";
import { runMsalPython } from "../support/python.js";

const DRIVER = fileURLToPath(new URL("./python/cache_driver.py", import.meta.url));
it("dump", async () => {
  const emulator = await startTestEmulator();
  const host = new URL(emulator.url).host;
  const dir = mkdtempSync(join(tmpdir(), "scratch-"));
  const alice = user(emulator, "managed");
  const bob = emulator.directory.users.find((u) => u.username.startsWith("bob"))!;
  const daemon = app(emulator, "daemon");
  const pub = app(emulator, "public");
  const events = await runMsalPython("write", {
    authority: authority(emulator), client_id: pub.clientId, daemon_client_id: daemon.clientId, daemon_secret: daemon.secret,
    users: [alice, bob].map((u) => ({ username: u.username, password: u.password })), scopes: ["User.Read"],
    app_scopes: ["https://graph.microsoft.com/.default"], cache_file: join(dir, "py.json"),
  }, emulator.caFile, () => {}, DRIVER);
  writeFileSync("/tmp/scratch/py-events.json", JSON.stringify(events, null, 2));
  writeFileSync("/tmp/scratch/py-cache.json", readFileSync(join(dir, "py.json"), "utf8"));
  const auth = (clientId: string) => ({ clientId, authority: authority(emulator), knownAuthorities: [host] });
  const pca = new PublicClientApplication({ auth: auth(pub.clientId) });
  for (const u of [alice, bob]) await pca.acquireTokenByUsernamePassword({ scopes: ["User.Read"], username: u.username, password: u.password });
  const cca = new ConfidentialClientApplication({ auth: { ...auth(daemon.clientId), clientSecret: daemon.secret as string } });
  cca.getTokenCache().deserialize(pca.getTokenCache().serialize());
  await cca.acquireTokenByClientCredential({ scopes: ["https://graph.microsoft.com/.default"] });
  writeFileSync("/tmp/scratch/node-cache.json", JSON.stringify(JSON.parse(cca.getTokenCache().serialize()), null, 2));
  writeFileSync("/tmp/scratch/node-accounts.json", JSON.stringify(await pca.getTokenCache().getAllAccounts(), null, 2));
  const tenant = emulator.directory.tenants[0]!.id;
  const r = await fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams({ grant_type: "password", client_id: pub.clientId, username: alice.username, password: alice.password, scope: "User.Read openid profile offline_access", client_info: "1" }) });
  writeFileSync("/tmp/scratch/raw-user.json", JSON.stringify(await r.json(), null, 2));
  const r2 = await fetch(`${emulator.url}/${tenant}/oauth2/v2.0/token`, { method: "POST", body: new URLSearchParams({ grant_type: "client_credentials", client_id: daemon.clientId, client_secret: daemon.secret!, scope: "https://graph.microsoft.com/.default" }) });
  writeFileSync("/tmp/scratch/raw-app.json", JSON.stringify(await r2.json(), null, 2));
  await emulator.stop();
});

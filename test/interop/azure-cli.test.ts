/**
 * The real Azure CLI against the emulator, as docs/emulator.md ("The Azure CLI against the
 * emulator") tells users to set it up: a custom cloud whose `endpoint-active-directory` is the
 * emulator's ADFS-style authority and whose `endpoint-resource-manager` is its ARM sliver, `az
 * login` with a password, ARM and Graph tokens, and msal-ts sharing the CLI's
 * `msal_token_cache.json` both ways. Skipped when `az` is not installed (CI does not install it:
 * `apt-get install azure-cli` runs it here).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { FilePersistence, PersistedTokenCache, PublicClientApplication } from "../../src/node/index.js";
import { startTestEmulator, user } from "../support/emulator.js";

const AZURE_CLI = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";
const ARM = "https://management.core.windows.net//.default";
const GRAPH = "https://graph.microsoft.com/.default";

const azVersion = (() => {
  const r = spawnSync("az", ["version", "--query", '"azure-cli"', "-o", "tsv"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
})();
if (!azVersion)
  console.warn("The Azure CLI is not installed (apt-get install -y azure-cli): skipping its tests.");

describe.skipIf(!azVersion)(
  `Azure CLI ${azVersion ?? "(missing)"} against the emulator as a custom cloud`,
  () => {
    let emulator: Emulator;
    let configDir: string;
    // Asynchronous: the emulator serves the CLI from this process's event loop.
    const az = (...args: string[]) =>
      new Promise<unknown>((resolve, reject) => {
        const env = {
          ...process.env,
          AZURE_CONFIG_DIR: configDir,
          REQUESTS_CA_BUNDLE: emulator.caFile,
          AZURE_CORE_COLLECT_TELEMETRY: "false",
        };
        const argv = [...args, "--only-show-errors", "-o", "json"];
        execFile("az", argv, { env, timeout: 150_000 }, (err, stdout, stderr) => {
          if (err) reject(new Error(`az ${args.slice(0, 2).join(" ")} failed: ${stderr || err.message}`));
          else resolve(stdout.trim() ? JSON.parse(stdout) : undefined);
        });
      });
    const cliApp = () =>
      new PublicClientApplication(AZURE_CLI, {
        authority: `${emulator.url}/adfs`,
        validateAuthority: false,
        ca: emulator.caPem,
        tokenCache: new PersistedTokenCache(new FilePersistence(join(configDir, "msal_token_cache.json"))),
      });

    beforeAll(async () => {
      emulator = await startTestEmulator();
      configDir = mkdtempSync(join(tmpdir(), "msal-ts-azure-cli-"));
      await az(
        "cloud",
        "register",
        "--name",
        "Emulator",
        "--endpoint-active-directory",
        `${emulator.url}/adfs`,
        "--endpoint-active-directory-resource-id",
        "https://management.core.windows.net/",
        "--endpoint-resource-manager",
        `${emulator.url}/_emulator/arm/`,
        "--endpoint-active-directory-graph-resource-id",
        "https://graph.windows.net/",
      );
      await az("cloud", "set", "--name", "Emulator");
    }, 300_000);
    afterAll(async () => {
      await emulator?.stop();
      if (configDir) rmSync(configDir, { recursive: true, force: true });
    });

    it("az login with a password signs in to Contoso's emulator subscription with the CLI's client id", async () => {
      const alice = user(emulator, "managed");
      const accounts = await az("login", "--username", alice.username, "--password", alice.password);
      expect(accounts).toEqual([
        expect.objectContaining({
          cloudName: "Emulator",
          name: "Contoso emulator subscription",
          state: "Enabled",
          tenantId: emulator.directory.tenants[0]?.id,
          user: { name: alice.username, type: "user" },
        }),
      ]);
      expect(
        emulator.requests("token").map((r) => [r.form?.client_id, r.form?.scope?.split(" ")[0]]),
      ).toEqual([[AZURE_CLI, ARM]]);
      expect(emulator.requests("arm").map((r) => [r.path, r.status])).toEqual([
        ["/_emulator/arm/tenants", 200],
        ["/_emulator/arm/subscriptions", 200],
      ]);
    }, 300_000);

    it("msal-ts and the CLI share msal_token_cache.json both ways", async () => {
      const tokenRequests = () => emulator.requests("token").length;
      const fromCli = (await az("account", "get-access-token")) as { accessToken: string };
      const before = tokenRequests();

      const app = cliApp();
      const [account] = await app.getAccounts();
      expect(account).toMatchObject({
        username: user(emulator, "managed").username,
        environment: "localhost",
      });
      const arm = await app.acquireTokenSilent([ARM], account as NonNullable<typeof account>);
      expect(arm).toMatchObject({ token_source: "cache", access_token: fromCli.accessToken });
      const graph = await app.acquireTokenSilent([GRAPH], account as NonNullable<typeof account>);
      expect(graph).toMatchObject({ token_source: "identity_provider" });
      expect(tokenRequests()).toBe(before + 1);

      // The CLI finds the Graph token msal-ts wrote, without a request of its own.
      const graphFromCli = (await az("account", "get-access-token", "--scope", GRAPH)) as {
        accessToken: string;
      };
      expect(graphFromCli.accessToken).toBe((graph as { access_token: string }).access_token);
      expect(tokenRequests()).toBe(before + 1);
    }, 300_000);
  },
);

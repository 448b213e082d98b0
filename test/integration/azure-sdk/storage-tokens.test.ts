/**
 * The emulator's built-in Azure Storage resource: its tokens have Entra's v1.0 form (public issuer
 * `https://sts.windows.net/<tenant>/`, `ver` 1.0, `appid`), for users and apps alike, and only its
 * tokens do; a permission storage does not expose is refused as Entra refuses it.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { decodePart } from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { clientIdOf, publicApp, seededUser, success } from "../users/helpers.js";

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

const claimsOf = (token: string) => decodePart(token.split(".")[1] as string);

describe("Azure Storage tokens from the emulator", () => {
  it("a user's storage token is a v1.0 token with the public issuer, and her Graph token keeps the v2.0 issuer", async () => {
    const client = publicApp(emulator);
    const alice = seededUser(emulator, "alice");
    const storage = success(
      await client.acquireTokenByUsernamePassword(alice.username, alice.password, [
        "https://storage.azure.com/user_impersonation",
      ]),
    );
    const graph = success(
      await client.acquireTokenByUsernamePassword(alice.username, alice.password, ["User.Read"]),
    );

    const tenant = alice.tenant;
    const claims = claimsOf(storage.access_token);
    expect(claims).toMatchObject({
      aud: "https://storage.azure.com",
      iss: `https://sts.windows.net/${tenant}/`,
      ver: "1.0",
      appid: clientIdOf(emulator, "public"),
      appidacr: "0",
      scp: "user_impersonation",
      tid: tenant,
    });
    expect(claims).not.toHaveProperty("azp");
    expect(claims).not.toHaveProperty("azpacr");
    expect(storage.scope?.split(" ")).toContain("https://storage.azure.com/user_impersonation");
    expect(claimsOf(graph.access_token)).toMatchObject({
      aud: "https://graph.microsoft.com",
      iss: `${emulator.url}/${tenant}/v2.0`,
      ver: "2.0",
      azp: clientIdOf(emulator, "public"),
    });
  });

  it("a permission Azure Storage does not expose is refused with AADSTS65005", async () => {
    const alice = seededUser(emulator, "alice");

    const result = await publicApp(emulator).acquireTokenByUsernamePassword(alice.username, alice.password, [
      "https://storage.azure.com/Files.ReadWrite",
    ]);

    expect(result).toMatchObject({ error: "invalid_client", error_codes: [65005] });
    expect(result.error_description).toContain(
      "'Files.ReadWrite' that doesn't exist on the resource 'https://storage.azure.com'",
    );
  });
});

/**
 * Successes of user sign-ins and silent calls carry the signed-in `account`, in the shape
 * `getAccounts` returns, so that a web app with many users in one cache never has to guess who
 * signed in (the first cached account may be someone else). App-only results carry none.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { ConfidentialClientApplication } from "../../../src/node/index.js";
import { app, authority, startTestEmulator } from "../../support/emulator.js";
import {
  accountOf,
  publicApp,
  SCOPES,
  seededUser,
  signIn,
  success,
  WEB_REDIRECT,
  webApp,
} from "./helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

describe("the account on results", () => {
  it("auth code flow: each user's result carries that user's account, as getAccounts lists it", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");
    const a = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const b = await signIn(client, bob, { redirectUri: WEB_REDIRECT });

    expect(a.result.account).toEqual(await accountOf(client, alice));
    expect(b.result.account).toEqual(await accountOf(client, bob));
    expect(b.result.account?.username).toBe(bob.username);
    expect(a.result.account?.account_source).toBe("authorization_code");
  });

  it("silent calls: a cache hit and a refresh carry the account asked for", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");
    await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const signedInBob = await signIn(client, bob, { redirectUri: WEB_REDIRECT });
    const bobsAccount = signedInBob.result.account;
    if (!bobsAccount) throw new Error("The sign-in result has no account.");

    const hit = success(await client.acquireTokenSilent(SCOPES, bobsAccount));
    expect(hit.token_source).toBe("cache");
    expect(hit.account).toEqual(bobsAccount);

    const refreshed = success(await client.acquireTokenSilent(SCOPES, bobsAccount, { forceRefresh: true }));
    expect(refreshed.token_source).toBe("identity_provider");
    expect(refreshed.account).toEqual(bobsAccount);

    // Given only a home_account_id, the result still carries the whole account from the cache.
    const byId = success(
      await client.acquireTokenSilent(SCOPES, { home_account_id: bobsAccount.home_account_id }),
    );
    expect(byId.account).toEqual(bobsAccount);
  });

  it("username/password and refresh_token grants carry the account; client credentials carry none", async () => {
    const pca = publicApp(emulator);
    const alice = seededUser(emulator, "alice");
    const byPassword = success(
      await pca.acquireTokenByUsernamePassword(alice.username, alice.password, SCOPES),
    );
    expect(byPassword.account).toEqual(await accountOf(pca, alice));
    expect(byPassword.account?.account_source).toBe("password");

    const refreshToken = byPassword.refresh_token;
    if (!refreshToken) throw new Error("The password grant gave no refresh token.");
    const byRefreshToken = success(await pca.acquireTokenByRefreshToken(refreshToken, SCOPES));
    expect(byRefreshToken.account?.home_account_id).toBe(byPassword.account?.home_account_id);

    const daemon = app(emulator, "daemon");
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: authority(emulator),
      validateAuthority: false,
      clientCredential: daemon.secret as string,
    });
    const appOnly = success(await cca.acquireTokenForClient(["https://graph.microsoft.com/.default"]));
    expect(appOnly.account).toBeUndefined();
  });
});

/**
 * Family of client ids (FOCI): a user signed in to one family app gets tokens silently in another
 * that shares its cache, with the family refresh token; once that is revoked, only the user can help.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { SerializableTokenCache, TokenCache } from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import {
  accountOf,
  clientIdOf,
  familyAppIds,
  form,
  homeAccountIdOf,
  LOOPBACK_REDIRECT,
  publicApp,
  SCOPES,
  SENT_SCOPE,
  seededUser,
  signIn,
  success,
  tokenRequests,
} from "./helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

describe("FOCI: family apps sharing a cache", () => {
  it("app B gets a token with app A's family refresh token, without interaction, until it is revoked", async () => {
    // Shorter than the 300 s expiry buffer: no access token is ever served from the cache.
    emulator.configure({ accessTokenLifetime: 240 });
    const [idA, idB] = familyAppIds(emulator);
    const cache = new TokenCache();
    const appA = publicApp(emulator, { tokenCache: cache }, idA);
    const appB = publicApp(emulator, { tokenCache: cache }, idB);
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(appA, alice, { redirectUri: LOOPBACK_REDIRECT });
    expect(signed.result.foci).toBe("1");
    expect((await appB.getAccounts()).map((a) => [a.username, a.home_account_id])).toEqual([
      [alice.username, homeAccountIdOf(signed.result)],
    ]);
    const account = await accountOf(appB, alice);
    emulator.clearRequests();

    const inB = success(await appB.acquireTokenSilent(SCOPES, account));

    expect(inB.token_source).toBe("identity_provider");
    expect(inB.foci).toBe("1");
    expect(inB.id_token_claims?.aud).toBe(idB);
    expect(inB.id_token_claims?.preferred_username).toBe(alice.username);
    const [refresh, ...others] = tokenRequests(emulator);
    expect(others).toEqual([]);
    expect(form(refresh)).toMatchObject({
      grant_type: "refresh_token",
      client_id: idB,
      refresh_token: signed.result.refresh_token,
      scope: SENT_SCOPE,
    });
    expect(refresh?.status).toBe(200);
    expect(emulator.requests("authorize")).toEqual([]);

    // Revoking the user's grants revokes both refresh tokens the emulator issued (sign-in, B's refresh).
    expect(emulator.revoke({ username: alice.username })).toBe(2);
    emulator.clearRequests();

    const failure = await appB.acquireTokenSilentWithError(SCOPES, account, { forceRefresh: true });

    expect(failure).toMatchObject({
      error: "invalid_grant",
      suberror: "bad_token",
      requires_interaction: true,
      classification: "",
    });
    // The family refresh token, rotated by B's refresh, was the one tried.
    expect(tokenRequests(emulator).map((r) => [form(r).client_id, form(r).refresh_token])).toEqual([
      [idB, inB.refresh_token],
    ]);
    expect(await appB.acquireTokenSilent(SCOPES, account)).toBeNull();
    expect(await appA.acquireTokenSilent(SCOPES, await accountOf(appA, alice))).toBeNull();
  });

  it("app B, in another process, finds app A's family refresh token in the serialized cache", async () => {
    const [idA, idB] = familyAppIds(emulator);
    const cacheA = new SerializableTokenCache();
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(publicApp(emulator, { tokenCache: cacheA }, idA), alice, {
      redirectUri: LOOPBACK_REDIRECT,
    });
    const cacheB = new SerializableTokenCache();
    cacheB.deserialize(cacheA.serialize());
    const appB = publicApp(emulator, { tokenCache: cacheB }, idB);
    emulator.clearRequests();

    const inB = success(await appB.acquireTokenSilent(SCOPES, await accountOf(appB, alice)));

    expect(inB).toMatchObject({ token_source: "identity_provider", foci: "1" });
    expect(inB.id_token_claims?.aud).toBe(idB);
    expect(tokenRequests(emulator).map((r) => [form(r).client_id, form(r).refresh_token])).toEqual([
      [idB, signed.result.refresh_token],
    ]);
    expect(cacheB.hasStateChanged).toBe(true);
  });

  it("an app outside the family is refused the family refresh token and gets nothing", async () => {
    const [idA] = familyAppIds(emulator);
    const cache = new TokenCache();
    const alice = seededUser(emulator, "alice");
    await signIn(publicApp(emulator, { tokenCache: cache }, idA), alice, { redirectUri: LOOPBACK_REDIRECT });
    const outsider = publicApp(emulator, { tokenCache: cache });
    emulator.clearRequests();

    const result = await outsider.acquireTokenSilentWithError(SCOPES, await accountOf(outsider, alice));

    expect(result).toBeNull();
    const [attempt, ...others] = tokenRequests(emulator);
    expect(others).toEqual([]);
    expect(form(attempt).client_id).toBe(clientIdOf(emulator, "public"));
    expect(attempt?.status).toBe(400);
  });
});

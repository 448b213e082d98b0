/**
 * Signing users in to a web app (the seeded confidential app) and to a desktop app (the public
 * app): the auth code flow with PKCE, accounts, silent acquisition from the cache, refresh with a
 * rotating refresh token, proactive refresh (`refresh_in`) and sign-out.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import {
  accountOf,
  capturingLogger,
  clientIdOf,
  form,
  homeAccountIdOf,
  LOOPBACK_REDIRECT,
  publicApp,
  SCOPES,
  SENT_SCOPE,
  seededUser,
  signIn,
  sleepUntilSecond,
  success,
  tokenRequests,
  WEB_REDIRECT,
  webApp,
} from "./helpers.js";

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startTestEmulator();
});
afterAll(() => emulator.stop());
beforeEach(() => emulator.reset());

describe("a web app signing users in with the auth code flow", () => {
  it("signs alice and bob in and lists both accounts, or one by username", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");

    const a = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const b = await signIn(client, bob, { redirectUri: WEB_REDIRECT });

    for (const [signed, who] of [
      [a, alice],
      [b, bob],
    ] as const) {
      expect(signed.result.token_source).toBe("identity_provider");
      expect(signed.result.id_token_claims?.preferred_username).toBe(who.username);
      expect(signed.result.id_token_claims?.aud).toBe(client.clientId);
      expect(signed.result.id_token_claims?.tid).toBe(who.tenant);
    }
    const host = new URL(emulator.url).hostname;
    const expected = [a, b].map((signed, i) => ({
      home_account_id: homeAccountIdOf(signed.result),
      environment: host,
      username: [alice, bob][i]?.username,
      authority_type: "MSSTS",
      local_account_id: signed.result.id_token_claims?.oid,
      realm: alice.tenant,
      account_source: "authorization_code",
    }));
    const byName = (x: { username?: string }, y: { username?: string }) =>
      String(x.username).localeCompare(String(y.username));
    expect((await client.getAccounts()).sort(byName)).toEqual(expected.sort(byName));
    const bobsAccount = expected.find((e) => e.username === bob.username);
    expect(await client.getAccounts({ username: bob.username })).toEqual([bobsAccount]);
    expect(await client.getAccounts({ username: bob.username.toUpperCase() })).toEqual([bobsAccount]);

    // Each code was redeemed once, with the PKCE verifier, the secret and CCS routing by client_info.
    const redemptions = tokenRequests(emulator, "authorization_code");
    expect(redemptions).toHaveLength(2);
    for (const [i, signed] of [a, b].entries()) {
      const sent = form(redemptions[i]);
      expect(sent).toMatchObject({
        client_id: client.clientId,
        code: signed.response.code,
        code_verifier: signed.flow.code_verifier,
        redirect_uri: WEB_REDIRECT,
        scope: SENT_SCOPE,
        client_secret: "[redacted]",
      });
      expect(redemptions[i]?.headers["x-anchormailbox"]).toBe(
        `Oid:${homeAccountIdOf(signed.result).replace(".", "@")}`,
      );
    }
  });

  it("serves each account its own cached access token without a token request", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");
    const a = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const b = await signIn(client, bob, { redirectUri: WEB_REDIRECT });
    emulator.clearRequests();

    const forAlice = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, alice)));
    const forBob = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, bob)));

    expect(forAlice).toMatchObject({ token_source: "cache", access_token: a.result.access_token });
    expect(forBob).toMatchObject({ token_source: "cache", access_token: b.result.access_token });
    expect(tokenRequests(emulator)).toEqual([]);
  });

  it("refreshes a token within 300 s of expiry with the refresh token, which rotates", async () => {
    // Shorter than the 300 s expiry buffer: a cached token is never served, every call refreshes.
    emulator.configure({ accessTokenLifetime: 240 });
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const account = await accountOf(client, alice);
    emulator.clearRequests();

    const first = success(await client.acquireTokenSilent(SCOPES, account));
    const second = success(await client.acquireTokenSilent(SCOPES, account));

    expect(first.token_source).toBe("identity_provider");
    expect(second.token_source).toBe("identity_provider");
    expect(new Set([signed.result.access_token, first.access_token, second.access_token]).size).toBe(3);
    const refreshes = tokenRequests(emulator);
    expect(refreshes.map((r) => r.form?.grant_type)).toEqual(["refresh_token", "refresh_token"]);
    const anchor = `Oid:${homeAccountIdOf(signed.result).replace(".", "@")}`;
    expect(refreshes.map((r) => r.headers["x-anchormailbox"])).toEqual([anchor, anchor]);
    // The first refresh sends the sign-in's refresh token; the second the one the first got back.
    expect(typeof first.refresh_token).toBe("string");
    expect(first.refresh_token).not.toBe(signed.result.refresh_token);
    expect(refreshes.map((r) => form(r).refresh_token)).toEqual([
      signed.result.refresh_token,
      first.refresh_token,
    ]);
    expect(form(refreshes[0])).toMatchObject({ client_id: client.clientId, scope: SENT_SCOPE });
    // Still one account and one refresh token's worth of state: rotation replaced the secret.
    expect(await client.getAccounts()).toHaveLength(1);
    expect(client.tokenCache.counts().RefreshToken).toBe(1);
  });

  it("returns a token past refresh_in from the cache at once and renews it in the background", async () => {
    emulator.configure({ accessTokenLifetime: 7200, refreshIn: 1 });
    const { logger, messages } = capturingLogger();
    const client = webApp(emulator, { logger });
    const alice = seededUser(emulator, "alice");
    const signed = await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const refreshOn = signed.result.refresh_on;
    expect(typeof refreshOn).toBe("number");
    // Tokens from now on carry no refresh_in, so only the signed-in token is due for renewal.
    emulator.configure({ refreshIn: 0 });
    // The cache compares whole seconds: the token is due once the clock is past refresh_on.
    await sleepUntilSecond((refreshOn as number) + 1);
    emulator.clearRequests();
    messages.length = 0;

    const served = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, alice)));

    expect(served).toMatchObject({ token_source: "cache", access_token: signed.result.access_token });
    await vi.waitFor(() =>
      expect(messages.filter((m) => m.startsWith("Token obtained from the identity provider"))).toHaveLength(
        1,
      ),
    );
    const refreshes = tokenRequests(emulator);
    expect(refreshes).toHaveLength(1);
    expect(form(refreshes[0])).toMatchObject({
      grant_type: "refresh_token",
      refresh_token: signed.result.refresh_token,
    });
    expect(refreshes[0]?.status).toBe(200);

    const later = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, alice)));
    expect(later.token_source).toBe("cache");
    expect(later.access_token).not.toBe(signed.result.access_token);
    expect(later.refresh_on).toBeUndefined();
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("removeAccount signs one user out: no longer listed, and silent returns null for it", async () => {
    const client = webApp(emulator);
    const alice = seededUser(emulator, "alice");
    const bob = seededUser(emulator, "bob");
    await signIn(client, alice, { redirectUri: WEB_REDIRECT });
    const b = await signIn(client, bob, { redirectUri: WEB_REDIRECT });
    const removed = await accountOf(client, alice);
    emulator.clearRequests();

    await client.removeAccount(removed);

    expect((await client.getAccounts()).map((a) => a.username)).toEqual([bob.username]);
    expect(await client.getAccounts({ username: alice.username })).toEqual([]);
    expect(await client.acquireTokenSilent(SCOPES, removed)).toBeNull();
    expect(await client.acquireTokenSilentWithError(SCOPES, removed)).toBeNull();
    const forBob = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, bob)));
    expect(forBob).toMatchObject({ token_source: "cache", access_token: b.result.access_token });
    expect(tokenRequests(emulator)).toEqual([]);
  });
});

describe("a desktop app (public client) signing a user in", () => {
  it("completes the auth code flow on a loopback redirect without a secret and serves from the cache", async () => {
    const client = publicApp(emulator);
    const bob = seededUser(emulator, "bob");

    const signed = await signIn(client, bob, { redirectUri: LOOPBACK_REDIRECT });

    expect(signed.result.token_source).toBe("identity_provider");
    expect(signed.result.id_token_claims?.aud).toBe(clientIdOf(emulator, "public"));
    expect(signed.result.id_token_claims?.preferred_username).toBe(bob.username);
    const [redemption] = tokenRequests(emulator, "authorization_code");
    const sent = form(redemption);
    expect(sent).toMatchObject({
      client_id: clientIdOf(emulator, "public"),
      redirect_uri: LOOPBACK_REDIRECT,
      code_verifier: signed.flow.code_verifier,
    });
    expect(sent.client_secret).toBeUndefined();
    expect(sent.client_assertion).toBeUndefined();
    const authorizeRequest = emulator.requests("authorize")[0];
    expect(authorizeRequest?.query).toMatchObject({
      client_id: clientIdOf(emulator, "public"),
      redirect_uri: LOOPBACK_REDIRECT,
      code_challenge_method: "S256",
      response_type: "code",
      scope: SENT_SCOPE,
      state: signed.flow.state,
    });

    expect((await client.getAccounts()).map((a) => [a.username, a.home_account_id])).toEqual([
      [bob.username, homeAccountIdOf(signed.result)],
    ]);
    emulator.clearRequests();
    const silent = success(await client.acquireTokenSilent(SCOPES, await accountOf(client, bob)));
    expect(silent).toMatchObject({ token_source: "cache", access_token: signed.result.access_token });
    expect(tokenRequests(emulator)).toEqual([]);
  });
});

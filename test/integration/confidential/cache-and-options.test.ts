/**
 * Client credentials and the cache: cache hits send nothing; forceRefresh and claims challenges go
 * to the network (with the client capabilities merged into `claims`); per-request tenants cache
 * apart; removeTokensForClient empties the cache; a token past its `refresh_in` is served from the
 * cache at once and renewed in the background.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { CONTOSO_TENANT_ID, type Emulator, FABRIKAM_TENANT_ID } from "../../../emulator/index.js";
import { SerializableTokenCache } from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { daemonWithSecret, GRAPH_DEFAULT, jwtClaims, success, tokenForm, tokenRequests } from "./helpers.js";

describe("client credentials: cache and request options", () => {
  let emulator: Emulator;

  beforeAll(async () => {
    emulator = await startTestEmulator();
  });
  afterAll(() => emulator?.stop());
  beforeEach(() => {
    emulator.reset();
  });

  it("the second call is served from the cache without a token request", async () => {
    const cca = daemonWithSecret(emulator);
    const first = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const second = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(first.token_source).toBe("identity_provider");
    expect(second.token_source).toBe("cache");
    expect(second.access_token).toBe(first.access_token);
    expect(second.expires_in).toBeGreaterThan(3000);
    expect(tokenRequests(emulator)).toHaveLength(1);
  });

  it("forceRefresh sends a token request even with a valid token cached", async () => {
    const cca = daemonWithSecret(emulator);
    const first = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const forced = success(await cca.acquireTokenForClient(GRAPH_DEFAULT, { forceRefresh: true }));
    expect(forced.token_source).toBe("identity_provider");
    expect(forced.access_token).not.toBe(first.access_token);
    expect(tokenRequests(emulator)).toHaveLength(2);
    // The new token replaced the old one in the cache.
    expect(success(await cca.acquireTokenForClient(GRAPH_DEFAULT)).access_token).toBe(forced.access_token);
    expect(tokenRequests(emulator)).toHaveLength(2);
  });

  it("a claims challenge bypasses the cache; claims carry the challenge and clientCapabilities as xms_cc", async () => {
    const cca = daemonWithSecret(emulator, { clientCapabilities: ["cp1"] });
    const first = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(tokenForm(emulator, 0).claims).toBe('{"access_token":{"xms_cc":{"values":["cp1"]}}}');
    expect(jwtClaims(first.access_token).xms_cc).toEqual(["cp1"]);

    const challenge = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';
    const challenged = success(
      await cca.acquireTokenForClient(GRAPH_DEFAULT, { claimsChallenge: challenge }),
    );
    expect(challenged.token_source).toBe("identity_provider");
    expect(challenged.access_token).not.toBe(first.access_token);
    expect(tokenRequests(emulator)).toHaveLength(2);
    expect(tokenForm(emulator, 1).claims).toBe(
      '{"access_token":{"nbf":{"essential":true,"value":"1700000000"},"xms_cc":{"values":["cp1"]}}}',
    );
    expect(jwtClaims(challenged.access_token).xms_cc).toEqual(["cp1"]);
  });

  it("a per-request tenant gets that tenant's token and caches it apart", async () => {
    const cca = daemonWithSecret(emulator);
    const home = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const fabrikam = success(await cca.acquireTokenForClient(GRAPH_DEFAULT, { tenant: FABRIKAM_TENANT_ID }));
    expect(jwtClaims(home.access_token).tid).toBe(CONTOSO_TENANT_ID);
    expect(fabrikam.token_source).toBe("identity_provider");
    expect(jwtClaims(fabrikam.access_token).tid).toBe(FABRIKAM_TENANT_ID);
    const requests = tokenRequests(emulator);
    expect(requests.map((r) => r.path)).toEqual([
      `/${CONTOSO_TENANT_ID}/oauth2/v2.0/token`,
      `/${FABRIKAM_TENANT_ID}/oauth2/v2.0/token`,
    ]);

    const homeAgain = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const fabrikamAgain = success(
      await cca.acquireTokenForClient(GRAPH_DEFAULT, { tenant: FABRIKAM_TENANT_ID }),
    );
    expect(homeAgain).toMatchObject({ token_source: "cache", access_token: home.access_token });
    expect(fabrikamAgain).toMatchObject({ token_source: "cache", access_token: fabrikam.access_token });
    expect(tokenRequests(emulator)).toHaveLength(2);
  });

  it("removeTokensForClient removes the app's tokens: the next call goes to the network", async () => {
    const cca = daemonWithSecret(emulator);
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    success(await cca.acquireTokenForClient(GRAPH_DEFAULT, { tenant: FABRIKAM_TENANT_ID }));
    expect(await cca.removeTokensForClient()).toBe(2);
    expect(cca.tokenCache.counts().AccessToken).toBe(0);

    const again = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    const fabrikamAgain = success(
      await cca.acquireTokenForClient(GRAPH_DEFAULT, { tenant: FABRIKAM_TENANT_ID }),
    );
    expect([again.token_source, fabrikamAgain.token_source]).toEqual([
      "identity_provider",
      "identity_provider",
    ]);
    expect(tokenRequests(emulator)).toHaveLength(4);
  });

  it("a token past refresh_in is served from the cache and renewed in the background", async () => {
    emulator.configure({ accessTokenLifetime: 7200, refreshIn: 1 });
    const cache = new SerializableTokenCache();
    const cca = daemonWithSecret(emulator, { tokenCache: cache });
    const first = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(first.refresh_on).toBeTypeOf("number");
    expect(tokenRequests(emulator)).toHaveLength(1);
    // The renewed token will have no refresh_in, so it is not renewed again.
    emulator.configure({ refreshIn: 0 });

    // refresh_on is in whole seconds and must be strictly before now (also whole seconds): wait for that.
    const [entry] = Object.values(JSON.parse(cache.serialize()).AccessToken) as Array<{ refresh_on: string }>;
    const refreshOn = Number(entry?.refresh_on);
    await new Promise((resolve) => setTimeout(resolve, (refreshOn + 1) * 1000 - Date.now() + 50));
    const aging = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
    expect(aging).toMatchObject({ token_source: "cache", access_token: first.access_token });

    await vi.waitFor(() => expect(tokenRequests(emulator)).toHaveLength(2), { timeout: 5000, interval: 20 });
    expect(tokenRequests(emulator)[1]?.headers["x-client-current-telemetry"]).toBe("4|730,4|");
    const renewed = await vi.waitFor(
      async () => {
        const next = success(await cca.acquireTokenForClient(GRAPH_DEFAULT));
        expect(next.access_token).not.toBe(first.access_token);
        return next;
      },
      { timeout: 5000, interval: 20 },
    );
    expect(renewed.token_source).toBe("cache");
    expect(renewed.refresh_on).toBeUndefined();
    expect(tokenRequests(emulator)).toHaveLength(2);
  });
});

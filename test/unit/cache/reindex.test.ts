/**
 * An entry stored again under its own key (a refreshed token, an account signed in again) is
 * re-indexed without taking out and adding back what stays: lookups, slots, listing order and
 * earlier lookups' results must be as if it had been taken out and added back.
 */
import { describe, expect, it } from "vitest";
import { type AccessTokenSlot, TokenCache, type TokenCacheEvent } from "../../../src/index.js";

const NOW = 1_000_000;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const idToken = (tenant: string, name: string) =>
  `${b64url({ alg: "none" })}.${b64url({ aud: "client-1", iss: `https://login.microsoftonline.com/${tenant}/v2.0`, sub: "s1", oid: `oid-${tenant}`, tid: tenant, preferred_username: name })}.`;

function signIn(tenant: string, accessToken: string, name = "one@contoso.example"): TokenCacheEvent {
  return {
    clientId: "client-1",
    scopes: ["User.Read"],
    tokenEndpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
    grantType: "authorization_code",
    response: {
      access_token: accessToken,
      refresh_token: `rt-${accessToken}`,
      id_token: idToken(tenant, name),
      client_info: b64url({ uid: "u1", utid: "home" }),
      scope: "User.Read profile openid email",
      expires_in: 3600,
    },
  };
}

const query = (realm: string) => ({
  clientId: "client-1",
  homeAccountId: "u1.home",
  environment: "login.microsoftonline.com",
  realm,
  scopes: ["User.Read"],
});

describe("storing an entry again under its key", () => {
  it("finds the new access token, through a slot too, and leaves an earlier hit as it was", () => {
    const cache = new TokenCache();
    cache.add(signIn("tenant-a", "at-1"), NOW);
    const slot: AccessTokenSlot = {};
    const first = cache.findAccessTokenHit({ ...query("tenant-a"), slot }, NOW);
    expect(first?.entry.secret).toBe("at-1");
    cache.add(signIn("tenant-a", "at-2"), NOW + 10);
    expect(first?.entry.secret).toBe("at-1");
    expect(first?.expiresOn).toBe(NOW + 3600);
    const again = cache.findAccessTokenHit({ ...query("tenant-a"), slot }, NOW + 10);
    expect(again).toMatchObject({ entry: { secret: "at-2" }, expiresOn: NOW + 3610 });
    expect(cache.findAccessToken({ ...query("tenant-a"), scopes: ["openid", "email"] }, NOW)?.secret).toBe(
      "at-2",
    );
    expect(cache.counts()).toMatchObject({ AccessToken: 1, RefreshToken: 1, IdToken: 1, Account: 1 });
    expect(
      cache.findAccessTokensOfAccount("u1.home", "login.microsoftonline.com").map((t) => t.secret),
    ).toEqual(["at-2"]);
  });

  it("finds the new id token and refresh token", () => {
    const cache = new TokenCache();
    cache.add(signIn("tenant-a", "at-1"), NOW);
    cache.add(signIn("tenant-a", "at-2", "renamed@contoso.example"), NOW + 10);
    const idt = cache.findIdToken({
      homeAccountId: "u1.home",
      environment: "login.microsoftonline.com",
      clientId: "client-1",
      realm: "tenant-a",
    });
    expect(idt?.secret).toBe(idToken("tenant-a", "renamed@contoso.example"));
    expect(
      cache
        .findRefreshTokens({ homeAccountId: "u1.home", environment: "login.microsoftonline.com" })
        .map((r) => r.secret),
    ).toEqual(["rt-at-2"]);
    expect(cache.findAccounts({ username: "renamed@contoso.example" }).map((a) => a.realm)).toEqual([
      "tenant-a",
    ]);
  });

  it("lists an account signed in again last, as a new entry would be", () => {
    const cache = new TokenCache();
    cache.add(signIn("tenant-a", "at-a1"), NOW);
    cache.add(signIn("tenant-b", "at-b1"), NOW);
    cache.add(signIn("tenant-a", "at-a2"), NOW);
    const environment = "login.microsoftonline.com";
    expect(cache.findAccounts({ environment }).map((a) => a.realm)).toEqual(["tenant-b", "tenant-a"]);
    expect(cache.findAccounts({ homeAccountId: "u1.home", environment }).map((a) => a.realm)).toEqual([
      "tenant-b",
      "tenant-a",
    ]);
    // Again and again: it stays last.
    cache.add(signIn("tenant-a", "at-a3"), NOW);
    cache.add(signIn("tenant-a", "at-a4"), NOW);
    expect(cache.findAccounts({ environment }).map((a) => a.realm)).toEqual(["tenant-b", "tenant-a"]);
    cache.add(signIn("tenant-b", "at-b2"), NOW);
    expect(cache.findAccounts({ environment }).map((a) => a.realm)).toEqual(["tenant-a", "tenant-b"]);
  });
});

describe("the recency order of a bounded cache", () => {
  const app = (scope: string): TokenCacheEvent => ({
    clientId: "daemon",
    scopes: [scope],
    tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
    grantType: "client_credentials",
    response: { access_token: `at-${scope}`, expires_in: 3600 },
  });
  const find = (cache: TokenCache, scope: string) =>
    cache.findAccessToken(
      {
        clientId: "daemon",
        homeAccountId: null,
        environment: "login.microsoftonline.com",
        realm: "tenant-a",
        scopes: [scope],
      },
      NOW,
    )?.secret;

  it("evicts the least recently used token whether a token was used once or many times in a row", () => {
    const cache = new TokenCache({ maxAccessTokens: 2 });
    cache.add(app("a"), NOW);
    cache.add(app("b"), NOW);
    for (let i = 0; i < 3; i++) expect(find(cache, "a")).toBe("at-a");
    cache.add(app("c"), NOW); // b is the least recently used
    expect([find(cache, "a"), find(cache, "b"), find(cache, "c")]).toEqual(["at-a", undefined, "at-c"]);
    // Now c, then a (again most recent after c), then a write: c goes.
    expect(find(cache, "c")).toBe("at-c");
    expect(find(cache, "a")).toBe("at-a");
    expect(find(cache, "a")).toBe("at-a");
    cache.add(app("d"), NOW);
    expect([find(cache, "a"), find(cache, "c"), find(cache, "d")]).toEqual(["at-a", undefined, "at-d"]);
    // A token written again is the most recent: written twice in a row, then another write.
    cache.add(app("a"), NOW);
    cache.add(app("a"), NOW);
    cache.add(app("e"), NOW);
    expect([find(cache, "a"), find(cache, "d"), find(cache, "e")]).toEqual(["at-a", undefined, "at-e"]);
  });
});

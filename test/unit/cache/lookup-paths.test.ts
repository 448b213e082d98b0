/**
 * The shortcuts of the access-token lookup: targets without the sign-in scopes, the bucket memo
 * and caller-kept slots. Each must give the same answers as a plain lookup, whatever the cache
 * went through in between.
 */
import { describe, expect, it } from "vitest";
import {
  type AccessTokenSlot,
  SerializableTokenCache,
  TokenCache,
  type TokenCacheEvent,
} from "../../../src/index.js";

const NOW = 1_000_000;
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

function signIn(scope: string, at: string): TokenCacheEvent {
  return {
    clientId: "client-1",
    scopes: ["ignored"],
    tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
    grantType: "authorization_code",
    response: {
      access_token: at,
      client_info: b64url({ uid: "u1", utid: "tenant-a" }),
      scope,
      expires_in: 3600,
    },
  };
}

function appToken(at: string, expiresIn = 3600): TokenCacheEvent {
  return {
    clientId: "daemon",
    scopes: ["https://graph.microsoft.com/.default"],
    tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
    grantType: "client_credentials",
    response: { access_token: at, expires_in: expiresIn, token_type: "Bearer" },
  };
}

const user = {
  clientId: "client-1",
  homeAccountId: "u1.tenant-a",
  environment: "login.microsoftonline.com",
  realm: "tenant-a",
};
const app = {
  clientId: "daemon",
  homeAccountId: null,
  environment: "login.microsoftonline.com",
  realm: "tenant-a",
  scopes: ["https://graph.microsoft.com/.default"],
};

describe("targets without the sign-in scopes", () => {
  it("finds a sign-in's token when asked for what the sign-in asked", () => {
    const cache = new TokenCache();
    cache.add(signIn("User.Read profile openid email", "at-signin"), NOW);
    expect(cache.findAccessToken({ ...user, scopes: ["user.read"] }, NOW)?.secret).toBe("at-signin");
    expect(cache.findAccessToken({ ...user, scopes: ["User.Read", "email"] }, NOW)?.secret).toBe("at-signin");
    expect(cache.findAccessToken({ ...user, scopes: ["Mail.Read"] }, NOW)).toBeUndefined();
  });

  it("does not take a token whose full target is the short one for the same token", () => {
    const cache = new TokenCache();
    cache.add(signIn("User.Read profile openid email", "at-signin"), NOW);
    // A later token for exactly "User.Read" is another identity: both stay.
    cache.add(signIn("User.Read", "at-plain"), NOW);
    expect(cache.counts().AccessToken).toBe(2);
    expect(cache.findAccessToken({ ...user, scopes: ["User.Read"] }, NOW)?.secret).toBe("at-plain");
    expect(cache.findAccessToken({ ...user, scopes: ["openid", "User.Read"] }, NOW)?.secret).toBe(
      "at-signin",
    );
    // Replacing the sign-in token keeps one entry for it.
    cache.add(signIn("User.Read profile openid email", "at-signin-2"), NOW);
    expect(cache.counts().AccessToken).toBe(2);
    expect(cache.findAccessToken({ ...user, scopes: ["profile", "User.Read"] }, NOW)?.secret).toBe(
      "at-signin-2",
    );
  });

  it("still finds the token by scanning when the short target's entry went to another token", () => {
    const cache = new TokenCache();
    cache.add(signIn("User.Read openid", "at-one"), NOW);
    cache.add(signIn("User.Read profile", "at-two"), NOW);
    const two = cache.findAccessToken({ ...user, scopes: ["profile", "user.read"] }, NOW);
    expect(two?.secret).toBe("at-two");
    cache.removeEntity("AccessToken", two as NonNullable<typeof two>);
    expect(cache.findAccessToken({ ...user, scopes: ["User.Read"] }, NOW)?.secret).toBe("at-one");
  });
});

describe("lookup slots and the bucket memo", () => {
  it("gives a slot's lookups the live bucket after the bucket was emptied and made again", () => {
    const cache = new TokenCache();
    const slot: AccessTokenSlot = {};
    cache.add(appToken("first"), NOW);
    expect(cache.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("first");
    const first = cache.findAccessToken(app, NOW);
    cache.removeEntity("AccessToken", first as NonNullable<typeof first>);
    expect(cache.findAccessToken({ ...app, slot }, NOW)).toBeUndefined();
    cache.add(appToken("second"), NOW);
    expect(cache.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("second");
    expect(cache.findAccessToken(app, NOW)?.secret).toBe("second");
  });

  it("drops an expired token met through a slot and finds its successor", () => {
    const cache = new TokenCache();
    const slot: AccessTokenSlot = {};
    cache.add(appToken("short-lived", 60), NOW);
    expect(cache.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("short-lived");
    expect(cache.findAccessToken({ ...app, slot }, NOW + 120)).toBeUndefined();
    expect(cache.counts().AccessToken).toBe(0);
    cache.add(appToken("renewed"), NOW + 120);
    expect(cache.findAccessToken({ ...app, slot }, NOW + 120)?.secret).toBe("renewed");
  });

  it("does not carry a slot's bucket over to a reloaded cache or another cache", () => {
    const cache = new SerializableTokenCache();
    const slot: AccessTokenSlot = {};
    cache.add(appToken("before-load"), NOW);
    expect(cache.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("before-load");
    const other = new SerializableTokenCache();
    other.add(appToken("after-load"), NOW);
    cache.deserialize(other.serialize());
    expect(cache.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("after-load");
    const third = new TokenCache();
    expect(third.findAccessToken({ ...app, slot }, NOW)).toBeUndefined();
    third.add(appToken("third"), NOW);
    expect(third.findAccessToken({ ...app, slot }, NOW)?.secret).toBe("third");
  });

  it("answers the same through the memo for many accounts after removals", () => {
    const cache = new TokenCache();
    const event = (uid: string): TokenCacheEvent => ({
      ...signIn("User.Read openid", `at-${uid}`),
      response: {
        access_token: `at-${uid}`,
        client_info: b64url({ uid, utid: "tenant-a" }),
        scope: "User.Read openid",
        expires_in: 3600,
      },
    });
    for (let i = 0; i < 50; i++) cache.add(event(`u${i}`), NOW);
    const query = (i: number) => ({ ...user, homeAccountId: `u${i}.tenant-a`, scopes: ["User.Read"] });
    for (let i = 0; i < 50; i++) expect(cache.findAccessToken(query(i), NOW)?.secret).toBe(`at-u${i}`);
    for (let i = 0; i < 50; i += 2) {
      const hit = cache.findAccessToken(query(i), NOW);
      cache.removeEntity("AccessToken", hit as NonNullable<typeof hit>);
    }
    for (let i = 0; i < 50; i++)
      expect(cache.findAccessToken(query(i), NOW)?.secret).toBe(i % 2 === 0 ? undefined : `at-u${i}`);
    cache.add(event("u4"), NOW);
    expect(cache.findAccessToken(query(4), NOW)?.secret).toBe("at-u4");
  });
});

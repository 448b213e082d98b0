/**
 * The first lookups after a load read partial indexes (src/cache/lazy-indexes.ts) instead of
 * building every index; later ones read the full indexes. Each lookup must give the same answer
 * either way, and writes and removals made before the full build must be seen by both.
 */
import { describe, expect, it } from "vitest";
import { SerializableTokenCache, type TokenCacheEvent } from "../../../src/index.js";

const NOW = 1_000_000;
const LATER = String(NOW + 3600);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

const at = (fields: Record<string, unknown>) => ({
  credential_type: "AccessToken",
  environment: "login.microsoftonline.com",
  client_id: "client-1",
  realm: "tenant-a",
  token_type: "Bearer",
  cached_at: String(NOW),
  expires_on: LATER,
  ...fields,
});

/** Users in mixed case and alias environments, app tokens stored with null and "", OBO and PoP tokens. */
const TEXT = JSON.stringify({
  Account: {
    "u1.tenant-a-login.microsoftonline.com-tenant-a": {
      home_account_id: "u1.tenant-a",
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
      local_account_id: "u1",
      username: "one@contoso.example",
      authority_type: "MSSTS",
    },
    "u1.tenant-a-login.windows.net-tenant-b": {
      home_account_id: "U1.Tenant-A",
      environment: "login.windows.net",
      realm: "tenant-b",
      local_account_id: "u1b",
      username: "one@contoso.example",
      authority_type: "MSSTS",
    },
    "u2.tenant-a-login.microsoftonline.com-tenant-a": {
      home_account_id: "u2.tenant-a",
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
      local_account_id: "u2",
      username: "two@contoso.example",
      authority_type: "MSSTS",
    },
  },
  IdToken: {
    "u1.tenant-a-login.microsoftonline.com-idtoken-client-1-tenant-a-": {
      credential_type: "IdToken",
      secret: "idt-u1",
      home_account_id: "u1.tenant-a",
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
      client_id: "client-1",
    },
  },
  AccessToken: {
    "u1-signin": at({
      secret: "at-u1-signin",
      home_account_id: "u1.tenant-a",
      target: "User.Read profile openid email",
    }),
    "u1-mail": at({
      secret: "at-u1-mail",
      home_account_id: "U1.TENANT-A",
      environment: "login.windows.net",
      target: "Mail.Read User.Read",
    }),
    "u1-expired": at({
      secret: "at-u1-expired",
      home_account_id: "u1.tenant-a",
      target: "Files.Read",
      expires_on: String(NOW - 10),
    }),
    "u2-signin": at({
      secret: "at-u2-signin",
      home_account_id: "u2.tenant-a",
      target: "User.Read profile openid email",
    }),
    "app-null": at({
      secret: "at-app-null",
      home_account_id: null,
      client_id: "daemon",
      target: "https://graph.microsoft.com/.default",
    }),
    "app-empty": at({
      secret: "at-app-empty",
      home_account_id: "",
      client_id: "DAEMON",
      target: "https://vault.azure.net/.default",
    }),
    "app-other-realm": at({
      secret: "at-app-b",
      home_account_id: null,
      client_id: "daemon",
      realm: "tenant-b",
      target: "https://graph.microsoft.com/.default",
    }),
    obo: at({
      secret: "at-obo",
      home_account_id: "u1.tenant-a",
      client_id: "api",
      target: "Graph.Read",
      userAssertionHash: "HASH-1",
    }),
    pop: at({
      secret: "at-pop",
      home_account_id: "u1.tenant-a",
      target: "User.Read",
      token_type: "pop",
      key_id: "k1",
      credential_type: "AccessToken_With_AuthScheme",
    }),
  },
  RefreshToken: {
    "u1-rt": {
      credential_type: "RefreshToken",
      secret: "rt-u1",
      home_account_id: "u1.tenant-a",
      environment: "login.microsoftonline.com",
      client_id: "client-1",
      last_modification_time: String(NOW - 5),
    },
    "u1-rt-family": {
      credential_type: "RefreshToken",
      secret: "rt-u1-family",
      home_account_id: "U1.tenant-a",
      environment: "login.windows.net",
      client_id: "client-2",
      family_id: "1",
      last_modification_time: String(NOW),
    },
  },
  AppMetadata: {
    "appmetadata-login.microsoftonline.com-client-1": {
      client_id: "client-1",
      environment: "login.microsoftonline.com",
      family_id: "1",
    },
  },
});

const user = { clientId: "client-1", environment: "login.microsoftonline.com", realm: "tenant-a" };
const env = "login.microsoftonline.com";

/** Every kind of lookup, each answered as a plain value to compare. */
const LOOKUPS: Array<[string, (c: SerializableTokenCache) => unknown]> = [
  [
    "signin exact",
    (c) => c.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
  ],
  [
    "upper-case account, alias",
    (c) => c.findAccessToken({ ...user, homeAccountId: "U1.tenant-a", scopes: ["mail.read"] }, NOW)?.secret,
  ],
  [
    "superset",
    (c) =>
      c.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["openid", "email"] }, NOW)?.secret,
  ],
  [
    "other user",
    (c) => c.findAccessToken({ ...user, homeAccountId: "u2.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
  ],
  [
    "app null",
    (c) =>
      c.findAccessToken(
        {
          clientId: "daemon",
          homeAccountId: null,
          environment: env,
          realm: "tenant-a",
          scopes: ["https://graph.microsoft.com/.default"],
        },
        NOW,
      )?.secret,
  ],
  [
    "app empty",
    (c) =>
      c.findAccessToken(
        {
          clientId: "Daemon",
          homeAccountId: null,
          environment: env,
          realm: "TENANT-A",
          scopes: ["https://vault.azure.net/.default"],
        },
        NOW,
      )?.secret,
  ],
  [
    "app other realm",
    (c) =>
      c.findAccessToken(
        {
          clientId: "daemon",
          homeAccountId: null,
          environment: env,
          realm: "tenant-b",
          scopes: ["https://graph.microsoft.com/.default"],
        },
        NOW,
      )?.secret,
  ],
  [
    "obo",
    (c) =>
      c.findAccessToken(
        {
          clientId: "api",
          homeAccountId: null,
          userAssertionHash: "hash-1",
          environment: env,
          realm: "tenant-a",
          scopes: ["Graph.Read"],
        },
        NOW,
      )?.secret,
  ],
  [
    "pop",
    (c) =>
      c.findAccessToken(
        { ...user, homeAccountId: "u1.tenant-a", tokenType: "pop", keyId: "k1", scopes: ["User.Read"] },
        NOW,
      )?.secret,
  ],
  [
    "bearer never pop",
    (c) =>
      c.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", keyId: "k1", scopes: ["User.Read"] }, NOW)
        ?.secret,
  ],
  [
    "expired",
    (c) => c.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["Files.Read"] }, NOW)?.secret,
  ],
  [
    "refresh tokens",
    (c) => c.findRefreshTokens({ homeAccountId: "u1.tenant-a", environment: env }).map((r) => r.secret),
  ],
  [
    "family refresh tokens",
    (c) =>
      c
        .findRefreshTokens({ homeAccountId: "u1.tenant-a", environment: env, familyId: "1" })
        .map((r) => r.secret),
  ],
  [
    "id token",
    (c) =>
      c.findIdToken({
        homeAccountId: "u1.tenant-a",
        environment: env,
        clientId: "client-1",
        realm: "tenant-a",
      })?.secret,
  ],
  ["accounts", (c) => c.findAccounts({ environment: "login.windows.net" }).map((a) => a.local_account_id)],
  [
    "accounts of a user",
    (c) => c.findAccounts({ homeAccountId: "u1.tenant-a", environment: env }).map((a) => a.local_account_id),
  ],
  [
    "accounts by username",
    (c) => c.findAccounts({ username: "ONE@contoso.example" }).map((a) => a.local_account_id),
  ],
  [
    "tokens of an account",
    (c) =>
      c
        .findAccessTokensOfAccount("u1.tenant-a", env)
        .map((t) => t.secret)
        .sort(),
  ],
  ["app metadata", (c) => c.getAppMetadata("login.windows.net", "CLIENT-1")?.family_id],
];

function loaded(): SerializableTokenCache {
  const cache = new SerializableTokenCache();
  cache.deserialize(TEXT);
  return cache;
}

/** A loaded cache past its lazy lookups: it reads the full indexes. */
function built(): SerializableTokenCache {
  const cache = loaded();
  for (let i = 0; i < 20; i++) cache.getAppMetadata(env, "nobody");
  return cache;
}

function signIn(accessToken: string, scope: string, refreshToken: string): TokenCacheEvent {
  return {
    clientId: "client-1",
    scopes: ["ignored"],
    tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
    grantType: "authorization_code",
    response: {
      access_token: accessToken,
      refresh_token: refreshToken,
      client_info: b64url({ uid: "u1", utid: "tenant-a" }),
      scope,
      expires_in: 3600,
    },
  };
}

describe("lookups before the indexes are built", () => {
  it.each(LOOKUPS)("%s: the first lookup after a load answers as the full indexes do", (_, lookup) => {
    const expected = lookup(built());
    expect(lookup(loaded())).toEqual(expected);
  });

  it("answers every lookup the same, from the first to those past the full build", () => {
    // In turn on one cache each: the expired token a lookup meets is removed for the later ones.
    const reference = built();
    const expected = LOOKUPS.map(([, lookup]) => lookup(reference));
    const cache = loaded();
    expect(LOOKUPS.map(([, lookup]) => lookup(cache))).toEqual(expected);
    // The expired token met by a lookup is gone, lazily or not.
    expect(cache.counts().AccessToken).toBe(8);
    expect(expected).toContain("at-u1-signin");
    expect(expected[4]).toBe("at-app-null");
    expect(expected[7]).toBe("at-obo");
    expect(expected[8]).toBe("at-pop");
    expect(expected[9]).toBeUndefined();
    expect(expected[14]).toEqual(["u1", "u1b", "u2"]);
  });

  it("sees a write made before the full build, replacing the entries it supersedes", () => {
    const cache = loaded();
    // The same sign-in again: its access token, refresh token and account replace the stored ones.
    cache.add(signIn("at-u1-new", "User.Read profile openid email", "rt-u1-new"), NOW);
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
    ).toBe("at-u1-new");
    expect(cache.counts()).toEqual(built().counts());
    for (let i = 0; i < 20; i++) cache.getAppMetadata(env, "nobody");
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
    ).toBe("at-u1-new");
    expect(
      cache
        .findRefreshTokens({ homeAccountId: "u1.tenant-a", environment: env, clientId: "client-1" })
        .map((r) => r.secret),
    ).toEqual(["rt-u1-new"]);
    const written = JSON.parse(cache.serialize()) as { AccessToken: object };
    expect(Object.keys(written.AccessToken)).not.toContain("u1-signin");
  });

  it("sees a removal made before the full build", () => {
    const cache = loaded();
    const token = cache.findAccessToken(
      { ...user, homeAccountId: "u2.tenant-a", scopes: ["User.Read"] },
      NOW,
    );
    expect(token?.secret).toBe("at-u2-signin");
    expect(cache.removeEntity("AccessToken", token as NonNullable<typeof token>)).toBe(true);
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u2.tenant-a", scopes: ["User.Read"] }, NOW),
    ).toBeUndefined();
    for (let i = 0; i < 20; i++) cache.getAppMetadata(env, "nobody");
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u2.tenant-a", scopes: ["User.Read"] }, NOW),
    ).toBeUndefined();
    expect(cache.findAccessTokensOfAccount("u2.tenant-a", env)).toEqual([]);
  });

  it("keeps to the recency order of a bounded cache, which the first lookup builds", () => {
    const cache = new SerializableTokenCache({ maxAccessTokens: 8 });
    cache.deserialize(TEXT);
    // Used now, so it is not the least recently used when the next write evicts one.
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
    ).toBe("at-u1-signin");
    cache.add(signIn("at-u1-files", "Files.ReadWrite", "rt-u1"), NOW);
    expect(cache.counts().AccessToken).toBe(8);
    expect(
      cache.findAccessToken({ ...user, homeAccountId: "u1.tenant-a", scopes: ["User.Read"] }, NOW)?.secret,
    ).toBe("at-u1-signin");
  });
});

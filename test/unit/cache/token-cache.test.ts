/** The indexed store: lookups, buckets, aliases, expiry, bounds, and what bad input does. */
import { describe, expect, it } from "vitest";
import {
  type AccessTokenEntity,
  CacheDeserializationError,
  IdTokenError,
  registerAliasGroup,
  SerializableTokenCache,
  TokenCache,
  type TokenCacheEvent,
} from "../../../src/index.js";

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const clientInfo = (uid: string, utid: string) => b64url({ uid, utid });
const idToken = (claims: Record<string, unknown>) => `e30.${b64url(claims)}.sig`;

const NOW = 1_000_000;
const ENDPOINT = "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token";

function userEvent(
  opts: {
    uid?: string;
    scope?: string;
    clientId?: string;
    endpoint?: string;
    at?: string;
    rt?: string;
    expiresIn?: number;
    foci?: string;
    username?: string;
  } = {},
): TokenCacheEvent {
  const uid = opts.uid ?? "u1";
  const clientId = opts.clientId ?? "client-1";
  return {
    clientId,
    scopes: ["ignored"],
    tokenEndpoint: opts.endpoint ?? ENDPOINT,
    grantType: "authorization_code",
    response: {
      access_token: opts.at ?? `at-${uid}`,
      refresh_token: opts.rt ?? `rt-${uid}`,
      id_token: idToken({
        aud: clientId,
        oid: uid,
        sub: `sub-${uid}`,
        preferred_username: opts.username ?? `${uid}@contoso.com`,
      }),
      client_info: clientInfo(uid, "tenant-a"),
      scope: opts.scope ?? "User.Read Mail.Read openid profile",
      expires_in: opts.expiresIn ?? 3600,
      ...(opts.foci ? { foci: opts.foci } : {}),
    },
  };
}

function appEvent(
  opts: { clientId?: string; tenant?: string; resource?: string; at?: string; expiresIn?: number } = {},
): TokenCacheEvent {
  const tenant = opts.tenant ?? "tenant-a";
  return {
    clientId: opts.clientId ?? "daemon",
    scopes: [`${opts.resource ?? "https://graph.microsoft.com"}/.default`],
    tokenEndpoint: `https://login.microsoftonline.com/${tenant}/oauth2/v2.0/token`,
    grantType: "client_credentials",
    response: {
      access_token: opts.at ?? `app-${tenant}`,
      expires_in: opts.expiresIn ?? 3600,
      token_type: "Bearer",
    },
  };
}

const userQuery = {
  clientId: "client-1",
  homeAccountId: "u1.tenant-a",
  environment: "login.microsoftonline.com",
  realm: "tenant-a",
};

describe("access token lookups", () => {
  it("finds a token whose cached scopes are a superset of the requested ones, ignoring case", () => {
    const cache = new TokenCache();
    cache.add(userEvent(), NOW);
    expect(cache.findAccessToken({ ...userQuery, scopes: ["mail.read"] }, NOW)?.secret).toBe("at-u1");
    expect(cache.findAccessToken({ ...userQuery, scopes: ["User.Read", "Mail.Read"] }, NOW)?.secret).toBe(
      "at-u1",
    );
    expect(cache.findAccessToken({ ...userQuery, scopes: ["Calendars.Read"] }, NOW)).toBeUndefined();
  });

  it("keeps clients, accounts, realms and app tokens apart", () => {
    const cache = new TokenCache();
    cache.add(userEvent(), NOW);
    cache.add(userEvent({ uid: "u2" }), NOW);
    cache.add(appEvent(), NOW);
    const scopes = ["User.Read"];
    expect(cache.findAccessToken({ ...userQuery, homeAccountId: "u2.tenant-a", scopes }, NOW)?.secret).toBe(
      "at-u2",
    );
    expect(cache.findAccessToken({ ...userQuery, clientId: "client-2", scopes }, NOW)).toBeUndefined();
    expect(cache.findAccessToken({ ...userQuery, realm: "tenant-b", scopes }, NOW)).toBeUndefined();
    const app = {
      clientId: "daemon",
      homeAccountId: null,
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
    };
    expect(
      cache.findAccessToken({ ...app, scopes: ["https://graph.microsoft.com/.default"] }, NOW)?.secret,
    ).toBe("app-tenant-a");
    expect(
      cache.findAccessToken(
        { ...app, homeAccountId: "u1.tenant-a", scopes: ["https://graph.microsoft.com/.default"] },
        NOW,
      ),
    ).toBeUndefined();
  });

  it("serves a token cached under an alias of the requested environment", () => {
    const cache = new TokenCache();
    cache.add({ ...userEvent(), environment: "login.windows.net" }, NOW);
    expect(
      cache.findAccessToken(
        { ...userQuery, environment: "login.microsoftonline.com", scopes: ["User.Read"] },
        NOW,
      )?.environment,
    ).toBe("login.windows.net");
    expect(
      cache.findAccessToken(
        { ...userQuery, environment: "login.microsoftonline.us", scopes: ["User.Read"] },
        NOW,
      ),
    ).toBeUndefined();
  });

  it("learns alias groups at run time and re-indexes what it holds", () => {
    const cache = new TokenCache();
    cache.add({ ...appEvent(), environment: "localhost:4431" }, NOW);
    const query = {
      clientId: "daemon",
      homeAccountId: null,
      realm: "tenant-a",
      scopes: ["https://graph.microsoft.com/.default"],
    };
    expect(cache.findAccessToken({ ...query, environment: "127.0.0.1:4431" }, NOW)).toBeUndefined();
    registerAliasGroup(["localhost:4431", "127.0.0.1:4431"]);
    expect(cache.findAccessToken({ ...query, environment: "127.0.0.1:4431" }, NOW)?.secret).toBe(
      "app-tenant-a",
    );
  });

  it("skips a token expiring within minValiditySeconds but keeps it, and removes an expired one when it meets it", () => {
    const cache = new SerializableTokenCache();
    cache.add(appEvent({ expiresIn: 200 }), NOW);
    cache.serialize();
    const query = {
      clientId: "daemon",
      homeAccountId: null,
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
      scopes: ["https://graph.microsoft.com/.default"],
    };
    expect(cache.findAccessToken({ ...query, minValiditySeconds: 300 }, NOW)).toBeUndefined();
    expect(cache.counts().AccessToken).toBe(1);
    expect(cache.hasStateChanged).toBe(false);
    expect(cache.findAccessToken(query, NOW + 201)).toBeUndefined();
    expect(cache.counts().AccessToken).toBe(0);
    expect(cache.hasStateChanged).toBe(true);
  });

  it("purgeExpiredAccessTokens removes only expired tokens", () => {
    const cache = new TokenCache();
    cache.add(appEvent({ tenant: "t1", expiresIn: 10 }), NOW);
    cache.add(appEvent({ tenant: "t2", expiresIn: 1000 }), NOW);
    expect(cache.purgeExpiredAccessTokens(NOW + 11)).toBe(1);
    expect([...cache.entries("AccessToken")].map(([, at]) => at.realm)).toEqual(["t2"]);
  });

  it("with maxAccessTokens, evicts the least recently used access token", () => {
    const cache = new TokenCache({ maxAccessTokens: 2 });
    const query = (tenant: string) => ({
      clientId: "daemon",
      homeAccountId: null,
      environment: "login.microsoftonline.com",
      realm: tenant,
      scopes: ["https://graph.microsoft.com/.default"],
    });
    cache.add(appEvent({ tenant: "t1" }), NOW);
    cache.add(appEvent({ tenant: "t2" }), NOW);
    expect(cache.findAccessToken(query("t1"), NOW)?.secret).toBe("app-t1");
    cache.add(appEvent({ tenant: "t3" }), NOW);
    expect(cache.counts().AccessToken).toBe(2);
    expect(cache.findAccessToken(query("t2"), NOW)).toBeUndefined();
    expect(cache.findAccessToken(query("t1"), NOW)?.secret).toBe("app-t1");
    expect(cache.findAccessToken(query("t3"), NOW)?.secret).toBe("app-t3");
  });
});

describe("refresh tokens, id tokens, accounts and app metadata", () => {
  it("returns an account's refresh tokens newest first, filtered by client or family", () => {
    const cache = new TokenCache();
    cache.add(userEvent({ clientId: "app-a", rt: "rt-old", foci: "1" }), NOW);
    cache.add(userEvent({ clientId: "app-b", rt: "rt-new" }), NOW + 10);
    const query = { homeAccountId: "u1.tenant-a", environment: "login.windows.net" };
    expect(cache.findRefreshTokens(query).map((rt) => rt.secret)).toEqual(["rt-new", "rt-old"]);
    expect(cache.findRefreshTokens({ ...query, familyId: "1" }).map((rt) => rt.secret)).toEqual(["rt-old"]);
    expect(cache.findRefreshTokens({ ...query, clientId: "app-b" }).map((rt) => rt.secret)).toEqual([
      "rt-new",
    ]);
    expect(cache.getAppMetadata("login.microsoftonline.com", "app-a")).toEqual({
      client_id: "app-a",
      environment: "login.microsoftonline.com",
      family_id: "1",
    });
  });

  it("updateRefreshToken rewrites the secret and modification time under the same key", () => {
    const cache = new SerializableTokenCache();
    cache.add(userEvent(), NOW);
    const [rt] = cache.findRefreshTokens({
      homeAccountId: "u1.tenant-a",
      environment: "login.microsoftonline.com",
    });
    cache.updateRefreshToken(rt as NonNullable<typeof rt>, "rt-rotated", NOW + 5);
    const saved = JSON.parse(cache.serialize()).RefreshToken;
    expect(Object.values(saved)).toEqual([
      expect.objectContaining({ secret: "rt-rotated", last_modification_time: String(NOW + 5) }),
    ]);
  });

  it("finds the id_token of an account for a client and realm", () => {
    const cache = new TokenCache();
    cache.add(userEvent(), NOW);
    expect(
      cache.findIdToken({
        homeAccountId: "u1.tenant-a",
        environment: "login.microsoftonline.com",
        clientId: "client-1",
        realm: "tenant-a",
      })?.secret,
    ).toMatch(/^e30\./);
    expect(
      cache.findIdToken({
        homeAccountId: "u1.tenant-a",
        environment: "login.microsoftonline.com",
        clientId: "client-1",
        realm: "tenant-b",
      }),
    ).toBeUndefined();
  });

  it("lists accounts by environment group and username (case-insensitive), leaving out other authority types", () => {
    const cache = new SerializableTokenCache();
    cache.add(userEvent({ uid: "u1", username: "Ann@Contoso.com" }), NOW);
    cache.add(userEvent({ uid: "u2" }), NOW);
    cache.put("Account", {
      home_account_id: "u3.t",
      environment: "login.microsoftonline.com",
      realm: "t",
      local_account_id: null,
      username: "shell",
      authority_type: "CLOUDSHELL",
    });
    expect(
      cache
        .findAccounts({ environment: "login.windows.net" })
        .map((a) => a.home_account_id)
        .sort(),
    ).toEqual(["u1.tenant-a", "u2.tenant-a"]);
    expect(cache.findAccounts({ username: "ann@contoso.com" }).map((a) => a.username)).toEqual([
      "Ann@Contoso.com",
    ]);
    expect(cache.findAccounts({ homeAccountId: "u2.tenant-a" })).toHaveLength(1);
    expect(cache.findAccounts({ environment: "login.microsoftonline.us" })).toEqual([]);
  });

  it("reads client_info in standard base64 with padding and in base64url without", () => {
    const cache = new TokenCache();
    const standard = Buffer.from(JSON.stringify({ uid: "u?>", utid: "t~" })).toString("base64");
    expect(standard).toMatch(/[+/=]/);
    cache.add({ ...appEvent(), response: { access_token: "x", client_info: standard, expires_in: 60 } }, NOW);
    cache.add(
      {
        ...appEvent({ clientId: "d2" }),
        response: { access_token: "y", client_info: clientInfo("u?>", "t~"), expires_in: 60 },
      },
      NOW,
    );
    const homes = [...cache.entries("AccessToken")].map(([, at]) => at.home_account_id);
    expect(homes).toEqual(["u?>.t~", "u?>.t~"]);
  });

  it("refuses an id_token issued to another client with IdTokenError", () => {
    const cache = new TokenCache();
    const event = userEvent();
    event.response.id_token = idToken({ aud: "someone-else", oid: "u1" });
    expect(() => cache.add(event, NOW)).toThrowError(IdTokenError);
    expect(() => cache.add(event, NOW)).toThrowError(
      /The id_token is for audience "someone-else", not this app \(client-1\)/,
    );
    expect(cache.counts().AccessToken).toBe(0);
  });
});

describe("writing over entries other libraries keyed differently", () => {
  it("replaces msal-node-keyed entries of the same identity instead of keeping both", () => {
    const cache = new SerializableTokenCache();
    cache.add(userEvent(), NOW);
    const ours = JSON.parse(cache.serialize()) as Record<string, Record<string, Record<string, unknown>>>;
    // msal-node writes the same entities under keys with extra trailing segments, and RTs without target.
    const rekeyed = (section: string, suffix: string) =>
      Object.fromEntries(Object.entries(ours[section] ?? {}).map(([k, v]) => [`${k}${suffix}`, v]));
    const [rtKey, rt] = Object.entries(ours.RefreshToken ?? {})[0] as [string, Record<string, unknown>];
    const { target: _dropped, ...rtWithoutTarget } = rt;
    cache.deserialize(
      JSON.stringify({
        AccessToken: rekeyed("AccessToken", "-"),
        IdToken: rekeyed("IdToken", "-"),
        RefreshToken: { [`${rtKey.slice(0, rtKey.indexOf("--"))}---`]: rtWithoutTarget },
        Account: rekeyed("Account", ""),
        AppMetadata: {},
      }),
    );
    cache.add(userEvent({ at: "at-new", rt: "rt-new" }), NOW + 1);
    const saved = JSON.parse(cache.serialize()) as typeof ours;
    expect(Object.keys(saved.AccessToken ?? {})).toEqual(Object.keys(ours.AccessToken ?? {}));
    expect(Object.values(saved.AccessToken ?? {}).map((at) => at.secret)).toEqual(["at-new"]);
    expect(Object.keys(saved.IdToken ?? {})).toEqual(Object.keys(ours.IdToken ?? {}));
    expect(Object.values(saved.RefreshToken ?? {}).map((r) => r.secret)).toEqual(["rt-new"]);
    expect(Object.keys(saved.Account ?? {})).toHaveLength(1);
  });

  it("keeps an entry cached under an alias environment: it is another library's entry, not a twin", () => {
    const cache = new TokenCache();
    cache.add({ ...userEvent({ at: "at-windows-net" }), environment: "login.windows.net" }, NOW);
    cache.add(userEvent({ at: "at-microsoftonline" }), NOW);
    expect([...cache.entries("AccessToken")].map(([, at]) => at.secret).sort()).toEqual([
      "at-microsoftonline",
      "at-windows-net",
    ]);
  });
});

describe("serialization and bad input", () => {
  it("tracks hasStateChanged: set by add and removals, reset by serialize and deserialize", () => {
    const cache = new SerializableTokenCache();
    expect(cache.hasStateChanged).toBe(false);
    cache.add(appEvent(), NOW);
    expect(cache.hasStateChanged).toBe(true);
    const text = cache.serialize();
    expect(cache.hasStateChanged).toBe(false);
    cache.deserialize(text);
    expect(cache.hasStateChanged).toBe(false);
    const [[key]] = [...cache.entries("AccessToken")] as [[string, AccessTokenEntity]];
    cache.remove("AccessToken", key);
    expect(cache.hasStateChanged).toBe(true);
  });

  it.each([
    [
      "malformed JSON",
      '{"AccessToken": {',
      /^The token cache is not valid JSON \(.+\)\. Nothing was loaded; the cache in memory is unchanged\./,
    ],
    [
      "an array",
      "[1, 2]",
      /^The token cache must be a JSON object with sections such as "AccessToken", but it is an array\./,
    ],
    ["null", "null", /but it is null\./],
    ["a number", "42", /but it is a number\./],
  ])(
    "deserialize of %s throws CacheDeserializationError and leaves the cache as it was",
    (_, text, message) => {
      const cache = new SerializableTokenCache();
      cache.add(appEvent(), NOW);
      const before = cache.serialize();
      let thrown: unknown;
      try {
        cache.deserialize(text);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(CacheDeserializationError);
      expect((thrown as CacheDeserializationError).code).toBe("cache_deserialization_failed");
      expect((thrown as Error).message).toMatch(message);
      expect(cache.serialize()).toBe(before);
      expect(
        cache.findAccessToken(
          {
            clientId: "daemon",
            homeAccountId: null,
            environment: "login.microsoftonline.com",
            realm: "tenant-a",
            scopes: [],
          },
          NOW,
        )?.secret,
      ).toBe("app-tenant-a");
    },
  );

  it("an empty string deserializes to an empty cache", () => {
    const cache = new SerializableTokenCache();
    cache.add(appEvent(), NOW);
    cache.deserialize("");
    expect(cache.counts()).toEqual({
      AccessToken: 0,
      RefreshToken: 0,
      IdToken: 0,
      Account: 0,
      AppMetadata: 0,
    });
    expect(cache.serialize()).toBe("{}");
  });

  it("keeps entries with missing or odd fields, skips them in lookups, and writes them back unchanged", () => {
    const text = JSON.stringify({
      AccessToken: {
        "no-secret": {
          credential_type: "AccessToken",
          client_id: "daemon",
          environment: "login.microsoftonline.com",
          realm: "tenant-a",
          target: "x",
          expires_on: "9999999999",
        },
        "not-an-object": "garbage",
        "null-entry": null,
        "no-expiry": {
          credential_type: "AccessToken",
          secret: "s",
          client_id: "daemon",
          environment: "login.microsoftonline.com",
          realm: "tenant-a",
          target: "x",
          home_account_id: null,
        },
      },
      Account: { "no-env": { home_account_id: "h" } },
      RefreshToken: [],
    });
    const cache = new SerializableTokenCache();
    cache.deserialize(text);
    const query = {
      clientId: "daemon",
      homeAccountId: null,
      environment: "login.microsoftonline.com",
      realm: "tenant-a",
      scopes: ["x"],
    };
    expect(cache.findAccessToken(query, NOW)).toBeUndefined();
    expect(cache.findAccounts()).toEqual([]);
    expect(cache.findRefreshTokens({ homeAccountId: "h", environment: "login.microsoftonline.com" })).toEqual(
      [],
    );
    expect(JSON.parse(cache.serialize())).toEqual(JSON.parse(text));
  });

  it("a round trip keeps section order, entry keys and unknown fields", () => {
    const text = JSON.stringify({
      Account: {
        "k-1": {
          home_account_id: "h",
          environment: "e",
          realm: "r",
          local_account_id: "l",
          username: "u",
          authority_type: "MSSTS",
          name: "Extra Field",
          tenantProfiles: [{ tenantId: "r" }],
        },
      },
      AppMetadata: {},
      AccessToken: {},
    });
    const cache = new SerializableTokenCache();
    cache.deserialize(text);
    expect(cache.serialize()).toBe(text);
  });
});

/**
 * Damaged or hostile cache JSON: each defect found by loading such a cache, one test each. A cache
 * is checked when it is loaded and refused whole (CacheDeserializationError naming the section,
 * key and field; the cache in memory untouched), an access token whose expiry is not a number is
 * never served, section names that are Object.prototype's own names survive a round trip, and
 * unknown fields nest only as deep as `serialize()` can write back.
 */
import { describe, expect, it } from "vitest";
import {
  type AccessTokenEntity,
  CacheDeserializationError,
  ConfidentialClientApplication,
  type FetchLike,
  PublicClientApplication,
  SerializableTokenCache,
  type TokenCacheEvent,
  type TokenSuccess,
} from "../../src/index.js";

/** The nesting bound of cache JSON (MAX_NESTING_DEPTH in src/cache/validation.ts), the top object being level 1. */
const MAX_NESTING_DEPTH = 64;
const AUTHORITY = "https://login.microsoftonline.com/tenant-a";
const TOKEN_ENDPOINT = `${AUTHORITY}/oauth2/v2.0/token`;
const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A user's sign-in to client-1, as the cache receives it (access, refresh and id tokens, account). */
function signIn(uid: string): TokenCacheEvent {
  return {
    clientId: "client-1",
    scopes: ["User.Read"],
    tokenEndpoint: TOKEN_ENDPOINT,
    grantType: "authorization_code",
    response: {
      access_token: `at-${uid}`,
      refresh_token: `rt-${uid}`,
      id_token: `e30.${b64url({ aud: "client-1", oid: uid, sub: uid, preferred_username: `${uid}@contoso.com` })}.sig`,
      client_info: b64url({ uid, utid: "tenant-a" }),
      scope: "User.Read openid profile",
      expires_in: 3600,
    },
  };
}

/**
 * A stand-in for the identity provider behind the app's `fetch` injection point: OIDC discovery
 * and the token endpoint, which answers with `network-token`. Counts token requests.
 */
function identityProvider(): { fetch: FetchLike; tokenRequests: () => number } {
  let tokenRequests = 0;
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { status: 200, headers: { "content-type": "application/json" } });
  const fetch = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (url.endsWith("/.well-known/openid-configuration"))
      return json({
        authorization_endpoint: `${AUTHORITY}/oauth2/v2.0/authorize`,
        token_endpoint: TOKEN_ENDPOINT,
        issuer: `${AUTHORITY}/v2.0`,
      });
    if (url === TOKEN_ENDPOINT) {
      tokenRequests++;
      return json({ access_token: "network-token", token_type: "Bearer", expires_in: 3600 });
    }
    return new Response("not found", { status: 404 });
  }) as FetchLike;
  return { fetch, tokenRequests: () => tokenRequests };
}

/** Runs `deserialize`, expecting it to refuse the text; returns the error. */
function refused(cache: SerializableTokenCache, text: string): CacheDeserializationError {
  try {
    cache.deserialize(text);
  } catch (e) {
    expect(e).toBeInstanceOf(CacheDeserializationError);
    expect((e as CacheDeserializationError).code).toBe("cache_deserialization_failed");
    return e as CacheDeserializationError;
  }
  throw new Error("deserialize took a cache it should have refused");
}

/** The entries of a cache's JSON, by section and key. */
type CacheJson = Record<string, Record<string, Record<string, unknown>>>;

describe("hostile or damaged cache JSON", () => {
  it("a numeric home_account_id is refused at load, naming section, key and field; the cache and getAccounts stay as they were", async () => {
    const cache = new SerializableTokenCache();
    cache.add(signIn("alice"));
    const before = cache.serialize();
    const idp = identityProvider();
    const app = new PublicClientApplication("client-1", {
      authority: AUTHORITY,
      tokenCache: cache,
      fetch: idp.fetch,
    });
    const aliceAccounts = await app.getAccounts();
    expect(aliceAccounts.map((a) => a.username)).toEqual(["alice@contoso.com"]);

    // Another user's cache whose access token has home_account_id 42 instead of "bob.tenant-a".
    const other = new SerializableTokenCache();
    other.add(signIn("bob"));
    const damaged = JSON.parse(other.serialize()) as CacheJson;
    const [key, entry] = Object.entries(damaged.AccessToken ?? {})[0] as [string, Record<string, unknown>];
    entry.home_account_id = 42;

    const error = refused(cache, JSON.stringify(damaged));
    expect(error.message).toContain(`The AccessToken entry ${JSON.stringify(key)}`);
    expect(error.message).toContain(
      'its field "home_account_id" is a number (42), but it must be a string or null',
    );
    expect(error.message).toContain("Nothing was loaded; the cache in memory is unchanged.");

    // Exactly as before: same JSON, no pending change, same accounts (asked twice), same token.
    expect(cache.serialize()).toBe(before);
    expect(cache.hasStateChanged).toBe(false);
    expect(await app.getAccounts()).toEqual(aliceAccounts);
    expect(await app.getAccounts()).toEqual(aliceAccounts);
    const silent = (await app.acquireTokenSilent(["User.Read"], aliceAccounts[0] as never)) as TokenSuccess;
    expect(silent).toMatchObject({ access_token: "at-alice", token_source: "cache" });
    expect(idp.tokenRequests()).toBe(0);
  });

  it('expires_on "soon" is refused at load, and such a token put in the cache another way is a miss, never served with expires_in NaN', async () => {
    const cache = new SerializableTokenCache();
    const idp = identityProvider();
    const cca = new ConfidentialClientApplication("daemon", {
      authority: AUTHORITY,
      clientCredential: "secret",
      tokenCache: cache,
      fetch: idp.fetch,
    });
    cache.add({
      clientId: "daemon",
      scopes: GRAPH_DEFAULT,
      tokenEndpoint: TOKEN_ENDPOINT,
      grantType: "client_credentials",
      response: { access_token: "cached-token", expires_in: 3600, token_type: "Bearer" },
    });
    const [[key, entry]] = [...cache.entries("AccessToken")] as [[string, AccessTokenEntity]];
    const soon = { ...entry, expires_on: "soon" };

    const before = cache.serialize();
    const error = refused(cache, JSON.stringify({ AccessToken: { [key]: soon } }));
    expect(error.message).toContain(`The AccessToken entry ${JSON.stringify(key)}`);
    expect(error.message).toContain(
      'its field "expires_on" is a string ("soon"), but it must be whole seconds',
    );
    expect(cache.serialize()).toBe(before);

    // As a plugin or a partition store could put it there, unchecked.
    cache.restore("AccessToken", key, soon);
    const result = (await cca.acquireTokenForClient(GRAPH_DEFAULT)) as TokenSuccess;
    expect(result).toEqual({
      access_token: "network-token",
      token_type: "Bearer",
      expires_in: 3600,
      token_source: "identity_provider",
    });
    expect(idp.tokenRequests()).toBe(1);
    const stored = [...cache.entries("AccessToken")].map(([, at]) => at.secret);
    expect(stored).toEqual(["network-token"]);
  });

  it('refresh_on "later" put in the cache unchecked counts as due: the valid token is served and renewed in the background', async () => {
    const cache = new SerializableTokenCache();
    const idp = identityProvider();
    const cca = new ConfidentialClientApplication("daemon", {
      authority: AUTHORITY,
      clientCredential: "secret",
      tokenCache: cache,
      fetch: idp.fetch,
    });
    cache.add({
      clientId: "daemon",
      scopes: GRAPH_DEFAULT,
      tokenEndpoint: TOKEN_ENDPOINT,
      grantType: "client_credentials",
      response: { access_token: "cached-token", expires_in: 3600, token_type: "Bearer" },
    });
    const [[key, entry]] = [...cache.entries("AccessToken")] as [[string, AccessTokenEntity]];
    cache.restore("AccessToken", key, { ...entry, refresh_on: "later" });
    const result = (await cca.acquireTokenForClient(GRAPH_DEFAULT)) as TokenSuccess;
    expect(result.access_token).toBe("cached-token");
    expect(result.token_source).toBe("cache");
    for (let i = 0; i < 50 && idp.tokenRequests() === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(idp.tokenRequests()).toBe(1);
  });

  it('a "__proto__" section (and "constructor", "prototype", and such entry keys) survive a round trip', () => {
    // Written as text: an object literal with "__proto__" would set a prototype, not make a key.
    const text =
      '{"__proto__":{"kept":true},"constructor":{"a":1},"prototype":[2],' +
      '"AccessToken":{"__proto__":{"secret":"s","credential_type":"AccessToken"},"constructor":{"secret":"t"}},' +
      '"Account":{"prototype":{"home_account_id":"h","environment":"e","realm":"r"}}}';
    const cache = new SerializableTokenCache();
    cache.deserialize(text);
    expect(cache.serialize()).toBe(text);
    expect(cache.counts()).toEqual({
      AccessToken: 2,
      RefreshToken: 0,
      IdToken: 0,
      Account: 1,
      AppMetadata: 0,
    });
    expect(Object.getPrototypeOf(JSON.parse(cache.serialize()))).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).kept).toBeUndefined();
  });

  it("a 10,000-deep unknown field is refused at load with a clear message, and serialize keeps working", () => {
    const cache = new SerializableTokenCache();
    cache.add(signIn("alice"));
    const before = cache.serialize();
    const nested = (levels: number) => `${"[".repeat(levels)}1${"]".repeat(levels)}`;
    const withField = (levels: number) =>
      `{"Account":{"deep-key":{"home_account_id":"h","environment":"e","realm":"r","extra":${nested(levels)}}}}`;

    const error = refused(cache, withField(10_000));
    expect(error.message).toContain(
      `The Account entry "deep-key": its field "extra" nests objects or arrays more than ${MAX_NESTING_DEPTH} levels deep`,
    );
    expect(cache.serialize()).toBe(before);

    // An unknown top-level section is held to the same bound.
    const section = refused(cache, `{"customized":${nested(10_000)}}`);
    expect(section.message).toContain(
      `The section "customized": it nests objects or arrays more than ${MAX_NESTING_DEPTH}`,
    );
    expect(cache.serialize()).toBe(before);

    // Up to the bound, unknown fields load and round-trip: the top object, the section, the entry
    // and the field's arrays make MAX_NESTING_DEPTH levels.
    const deepest = withField(MAX_NESTING_DEPTH - 3);
    cache.deserialize(deepest);
    expect(cache.serialize()).toBe(deepest);
    refused(cache, withField(MAX_NESTING_DEPTH - 2));
    expect(cache.serialize()).toBe(deepest);
  });
});

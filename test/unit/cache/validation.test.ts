/**
 * What a cache load accepts and refuses (src/cache/validation.ts): the field types of the unified
 * schema as MSAL Python and msal-node write them, the nesting and size bounds, expiries that are
 * not numbers, and the same checks on distributed cache partitions.
 */
import { describe, expect, it } from "vitest";
import { mergePartition, parseContents } from "../../../src/cache/partition-merge.js";
import { MAX_CACHE_TEXT_LENGTH, MAX_NESTING_DEPTH } from "../../../src/cache/validation.js";
import {
  type AccessTokenEntity,
  CacheDeserializationError,
  partitionContents,
  SerializableTokenCache,
  TokenCache,
} from "../../../src/index.js";

const NOW = 1_000_000;

const accessToken = (fields: Record<string, unknown> = {}) => ({
  credential_type: "AccessToken",
  secret: "s",
  home_account_id: null,
  environment: "login.microsoftonline.com",
  client_id: "daemon",
  target: "x",
  realm: "tenant-a",
  token_type: "Bearer",
  cached_at: String(NOW),
  expires_on: String(NOW + 3600),
  extended_expires_on: String(NOW + 3600),
  ...fields,
});

const query = {
  clientId: "daemon",
  homeAccountId: null,
  environment: "login.microsoftonline.com",
  realm: "tenant-a",
  scopes: ["x"],
};

function refusal(text: string): CacheDeserializationError {
  const cache = new SerializableTokenCache();
  try {
    cache.deserialize(text);
  } catch (e) {
    expect(e).toBeInstanceOf(CacheDeserializationError);
    return e as CacheDeserializationError;
  }
  throw new Error("deserialize took a cache it should have refused");
}

describe("what a load accepts", () => {
  it("the forms MSAL Python and msal-node write: null home_account_id and local_account_id, times as text or numbers, extra fields", () => {
    const text = JSON.stringify({
      AccessToken: {
        python: accessToken(),
        node: accessToken({
          home_account_id: "",
          realm: "tenant-b",
          cached_at: NOW,
          expires_on: NOW + 3600,
          requestedClaimsHash: "abc",
        }),
      },
      Account: {
        a: {
          home_account_id: "u.t",
          environment: "login.microsoftonline.com",
          realm: "t",
          local_account_id: null,
          username: "",
          authority_type: "MSSTS",
          tenantProfiles: [{ tenantId: "t", isHomeTenant: true }],
          last_modification_time: "1700000000000",
        },
      },
      RefreshToken: {
        r: { secret: "rt", home_account_id: null, environment: "e", client_id: "c", family_id: "1" },
      },
    });
    const cache = new SerializableTokenCache();
    cache.deserialize(text);
    expect(cache.serialize()).toBe(text);
    expect(cache.findAccessToken(query, NOW)?.secret).toBe("s");
    expect(cache.findAccessTokenHit({ ...query, realm: "tenant-b" }, NOW)?.expiresOn).toBe(NOW + 3600);
  });
});

describe("what a load refuses", () => {
  it.each([
    ["secret", 7, 'its field "secret" is a number (7), but it must be a string'],
    [
      "home_account_id",
      { uid: 1 },
      'its field "home_account_id" is an object, but it must be a string or null',
    ],
    ["environment", null, 'its field "environment" is null, but it must be a string'],
    ["target", ["x"], 'its field "target" is an array, but it must be a string'],
    [
      "expires_on",
      "soon",
      'its field "expires_on" is a string ("soon"), but it must be whole seconds since 1970',
    ],
    ["expires_on", "1.5e9", 'its field "expires_on" is a string ("1.5e9")'],
    ["expires_on", "", 'its field "expires_on" is a string ("")'],
    ["cached_at", 1.5, 'its field "cached_at" is a number (1.5)'],
    ["expires_on", 1e20, 'its field "expires_on" is a number (100000000000000000000)'],
    ["expires_on", "1".repeat(16), `its field "expires_on" is a string ("${"1".repeat(16)}")`],
    ["refresh_on", true, 'its field "refresh_on" is a boolean (true)'],
    [
      "extended_expires_on",
      "1".repeat(21),
      `its field "extended_expires_on" is a string ("${"1".repeat(21)}")`,
    ],
  ])("an access token's %s of %j", (field, value, problem) => {
    const error = refusal(JSON.stringify({ AccessToken: { "the-key": accessToken({ [field]: value }) } }));
    expect(error.code).toBe("cache_deserialization_failed");
    expect(
      error.message.startsWith(`The token cache is malformed. The AccessToken entry "the-key": ${problem}`),
    ).toBe(true);
    expect(error.message).toContain("Nothing was loaded; the cache in memory is unchanged.");
    expect(error.cause).toBeInstanceOf(TypeError);
  });

  it("an account whose home_account_id is null or username a number", () => {
    const account = {
      home_account_id: "h",
      environment: "e",
      realm: "r",
      username: "u",
      authority_type: "MSSTS",
    };
    expect(
      refusal(JSON.stringify({ Account: { k: { ...account, home_account_id: null } } })).message,
    ).toContain('The Account entry "k": its field "home_account_id" is null, but it must be a string.');
    expect(refusal(JSON.stringify({ Account: { k: { ...account, username: 5 } } })).message).toContain(
      'The Account entry "k": its field "username" is a number (5), but it must be a string.',
    );
  });

  it("a long key or value is cut short in the message", () => {
    const key = "k".repeat(500);
    const message = refusal(
      JSON.stringify({ IdToken: { [key]: { secret: "v".repeat(500), realm: 1 } } }),
    ).message;
    expect(message).toContain(`The IdToken entry "${"k".repeat(120)}...": its field "realm" is a number (1)`);
    expect(message.length).toBeLessThan(600);
  });

  it(`nesting deeper than ${MAX_NESTING_DEPTH} levels, in an entry, an entry that is an array, or a section`, () => {
    const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    expect(refusal(`{"AccessToken":{"k":${deep(MAX_NESTING_DEPTH - 1)}}}`).message).toContain(
      `The AccessToken entry "k": it nests objects or arrays more than ${MAX_NESTING_DEPTH} levels deep`,
    );
    const cache = new SerializableTokenCache();
    const within = `{"AccessToken":{"k":${deep(MAX_NESTING_DEPTH - 2)}},"other":${deep(MAX_NESTING_DEPTH - 1)}}`;
    cache.deserialize(within);
    expect(cache.serialize()).toBe(within);
    expect(refusal(`{"other":${deep(MAX_NESTING_DEPTH)}}`).message).toContain(
      'The section "other": it nests',
    );
  });

  it(`text longer than ${MAX_CACHE_TEXT_LENGTH} characters, before parsing it`, () => {
    const error = refusal(" ".repeat(MAX_CACHE_TEXT_LENGTH + 1));
    expect(error.message).toBe(
      `The token cache is too large: it is ${MAX_CACHE_TEXT_LENGTH + 1} characters long, more than the ${MAX_CACHE_TEXT_LENGTH} a cache may have. Nothing was loaded; the cache in memory is unchanged.`,
    );
    expect(error.cause).toBeInstanceOf(RangeError);
  });
});

describe("expiries that are not numbers, on entries put in another way", () => {
  it("are expired: never found, removed when met and purged", () => {
    const cache = new TokenCache();
    cache.restore("AccessToken", "soon", accessToken({ expires_on: "soon" }) as AccessTokenEntity);
    cache.restore(
      "AccessToken",
      "nan",
      accessToken({ realm: "tenant-b", expires_on: "NaN" }) as AccessTokenEntity,
    );
    cache.restore(
      "AccessToken",
      "none",
      accessToken({ realm: "tenant-c", expires_on: undefined }) as AccessTokenEntity,
    );
    expect(cache.findAccessTokenHit(query, NOW)).toBeUndefined();
    expect(cache.counts().AccessToken).toBe(2);
    // The one without expires_on is no expired token: it stays, unused, as other entries do.
    expect(cache.purgeExpiredAccessTokens(NOW)).toBe(1);
    expect([...cache.entries("AccessToken")].map(([key]) => key)).toEqual(["none"]);
  });

  it("are expired in a partition merge", () => {
    // What a store held before reads were checked, and an entry this instance wrote.
    const contents = { AccessToken: { ok: accessToken(), bad: accessToken({ expires_on: "NaN" }) } };
    const merged = mergePartition(
      contents,
      {
        partitionKey: "app:daemon:tenant-a",
        written: [{ section: "AccessToken", key: "x", entry: accessToken({ expires_on: "soon" }) }],
        removed: new Set(),
      },
      NOW,
    );
    expect(Object.keys(merged.AccessToken ?? {})).toEqual(["ok"]);
  });
});

describe("distributed cache partitions", () => {
  it("a partition with a malformed entry or too deep reads as empty; others keep every entry", () => {
    const good = { AccessToken: { k: accessToken() }, custom: { a: 1 } };
    expect(JSON.stringify(parseContents(JSON.stringify(good)))).toBe(JSON.stringify(good));
    expect(
      parseContents(JSON.stringify({ AccessToken: { k: accessToken({ home_account_id: 42 }) } })),
    ).toEqual({});
    const deep = `${"[".repeat(100)}${"]".repeat(100)}`;
    expect(parseContents(`{"custom":{"k":${deep}}}`)).toEqual({});
    expect(parseContents(" ".repeat(MAX_CACHE_TEXT_LENGTH + 1))).toEqual({});
  });

  it('keeps "__proto__" and "constructor" keys as entries, in reads, merges and partition contents', () => {
    const text = `{"AccessToken":{"__proto__":${JSON.stringify(accessToken())},"constructor":${JSON.stringify(accessToken({ realm: "tenant-b" }))}}}`;
    const contents = parseContents(text);
    expect(Object.keys(contents.AccessToken ?? {})).toEqual(["__proto__", "constructor"]);
    const merged = mergePartition(
      contents,
      { partitionKey: "app:daemon:tenant-a", written: [], removed: new Set(["AccessToken\nconstructor"]) },
      NOW,
    );
    expect(JSON.stringify(merged)).toBe(`{"AccessToken":{"__proto__":${JSON.stringify(accessToken())}}}`);
    const cache = new SerializableTokenCache();
    cache.deserialize(text);
    expect(Object.keys(partitionContents(cache, "app:daemon:tenant-a").AccessToken ?? {})).toEqual([
      "__proto__",
    ]);
  });
});

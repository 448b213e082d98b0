/**
 * Property-based tests: valid cache JSON in the unified MSAL format (as MSAL Python writes it, and
 * with the extra fields and key formats msal-node writes), damaged at random: fields of other types
 * (numbers, null, objects, non-numeric and non-integer times), fields and entries deleted, keys and
 * section names such as `__proto__` and `constructor`, deep nesting, long strings, cut text. Loading
 * it must either succeed or throw CacheDeserializationError leaving the cache as it was; after a
 * successful load, lookups, getAccounts, silent calls, sign-out, new writes and serialize must not
 * throw, and the load must round-trip exactly. Runs are bounded in number and in time.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mergePartition, parseContents } from "../../src/cache/partition-merge.js";
import {
  type Account,
  CacheDeserializationError,
  type FetchLike,
  type PartitionContents,
  PublicClientApplication,
  partitionContents,
  replacePartition,
  SerializableTokenCache,
  TokenCache,
  type TokenCacheEvent,
} from "../../src/index.js";

/** Per property: at most this many runs, and no new run after this many milliseconds. */
const RUNS = { numRuns: 400, interruptAfterTimeLimit: 4_000 };

const ENVIRONMENT = "login.microsoftonline.com";
const AUTHORITY = `https://${ENVIRONMENT}/tenant-a`;
const TOKEN_ENDPOINT = `${AUTHORITY}/oauth2/v2.0/token`;
const NOW = Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
const std = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64");

/** A sign-in's token response as MSAL Python's test vectors build it (standard base64 included). */
function signIn(uid: string, opts: { adfs?: boolean; foci?: string; keyId?: string } = {}): TokenCacheEvent {
  const claims = { aud: "client-1", oid: uid, sub: uid, preferred_username: `${uid}@contoso.com`, iat: NOW };
  return {
    clientId: "client-1",
    scopes: ["User.Read"],
    tokenEndpoint: opts.adfs ? "https://fs.contoso.com/adfs/oauth2/token" : TOKEN_ENDPOINT,
    grantType: "authorization_code",
    ...(opts.adfs ? { authorityType: "ADFS" } : {}),
    ...(opts.keyId ? { data: { key_id: opts.keyId } } : {}),
    response: {
      access_token: `at-${uid}`,
      refresh_token: `rt-${uid}`,
      id_token: `header.${std(claims)}.signature`,
      ...(opts.adfs ? {} : { client_info: b64url({ uid, utid: "tenant-a" }) }),
      scope: "User.Read openid profile",
      expires_in: 3600,
      refresh_in: 1800,
      ...(opts.foci ? { foci: opts.foci } : {}),
    },
  };
}

function appToken(tenant: string): TokenCacheEvent {
  return {
    clientId: "daemon",
    scopes: ["https://graph.microsoft.com/.default"],
    tokenEndpoint: `https://${ENVIRONMENT}/${tenant}/oauth2/v2.0/token`,
    grantType: "client_credentials",
    response: { access_token: `app-${tenant}`, expires_in: 3600, token_type: "Bearer" },
  };
}

/** Caches in the shapes MSAL Python and msal-node write, as text. */
function seeds(): string[] {
  const python = new SerializableTokenCache();
  python.add(signIn("alice"));
  python.add(signIn("bob", { foci: "1", keyId: "kid-1" }));
  python.add(signIn("carol", { adfs: true }));
  python.add(appToken("tenant-a"));
  python.add(appToken("tenant-b"));
  // msal-node: app tokens with home_account_id "", keys with extra segments, accounts with
  // tenantProfiles and client_info, fields MSAL Python does not write.
  const home = "dave.tenant-a";
  const node = {
    Account: {
      [`${home}-${ENVIRONMENT}-tenant-a`]: {
        home_account_id: home,
        environment: ENVIRONMENT,
        realm: "tenant-a",
        local_account_id: "dave",
        username: "dave@contoso.com",
        authority_type: "MSSTS",
        name: "Dave",
        client_info: b64url({ uid: "dave", utid: "tenant-a" }),
        last_modification_time: String(NOW * 1000),
        last_modification_app: "MSAL.Node",
        tenantProfiles: [{ tenantId: "tenant-a", localAccountId: "dave", name: "Dave", isHomeTenant: true }],
      },
    },
    IdToken: {
      [`${home}-${ENVIRONMENT}-idtoken-client-1-tenant-a---`]: {
        home_account_id: home,
        environment: ENVIRONMENT,
        credential_type: "IdToken",
        client_id: "client-1",
        secret: `header.${b64url({ aud: "client-1", oid: "dave", preferred_username: "dave@contoso.com" })}.sig`,
        realm: "tenant-a",
      },
    },
    AccessToken: {
      [`${home}-${ENVIRONMENT}-accesstoken-client-1-tenant-a-user.read openid profile--`]: {
        home_account_id: home,
        environment: ENVIRONMENT,
        credential_type: "AccessToken",
        client_id: "client-1",
        secret: "at-dave",
        realm: "tenant-a",
        target: "User.Read openid profile",
        cached_at: String(NOW),
        expires_on: String(NOW + 3600),
        extended_expires_on: String(NOW + 7200),
        token_type: "Bearer",
      },
      [`-${ENVIRONMENT}-accesstoken-daemon-tenant-c-https://graph.microsoft.com/.default--`]: {
        home_account_id: "",
        environment: ENVIRONMENT,
        credential_type: "AccessToken",
        client_id: "daemon",
        secret: "app-tenant-c",
        realm: "tenant-c",
        target: "https://graph.microsoft.com/.default",
        cached_at: NOW,
        expires_on: NOW + 3600,
        extended_expires_on: NOW + 3600,
        token_type: "Bearer",
      },
    },
    RefreshToken: {
      [`${home}-${ENVIRONMENT}-refreshtoken-client-1----`]: {
        home_account_id: home,
        environment: ENVIRONMENT,
        credential_type: "RefreshToken",
        client_id: "client-1",
        secret: "rt-dave",
        last_modification_time: String(NOW),
      },
    },
    AppMetadata: {
      [`appmetadata-${ENVIRONMENT}-client-1`]: { client_id: "client-1", environment: ENVIRONMENT },
    },
    customized: { any: ["thing", 1, null] },
  };
  return [python.serialize(), JSON.stringify(node)];
}

/** Own data property, even for `__proto__` (an assignment would set the prototype instead). */
function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

const PROTOTYPE_NAMES = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "valueOf"];
const SECTION_NAMES = [
  "AccessToken",
  "RefreshToken",
  "IdToken",
  "Account",
  "AppMetadata",
  ...PROTOTYPE_NAMES,
];
const FIELD_NAMES = [
  "credential_type",
  "secret",
  "home_account_id",
  "environment",
  "client_id",
  "realm",
  "target",
  "expires_on",
  "extended_expires_on",
  "cached_at",
  "refresh_on",
  "last_modification_time",
  "local_account_id",
  "username",
  "authority_type",
  "account_source",
  "family_id",
  "key_id",
  "token_type",
  "userAssertionHash",
  "tenantProfiles",
  ...PROTOTYPE_NAMES,
];

const oddValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(
    "soon",
    "",
    " ",
    "1e3",
    " 12",
    "-5",
    "1.5",
    "0x10",
    "NaN",
    "Infinity",
    "99999999999999999999999",
    "9999999999",
    1.5,
    -1,
    0,
    1e308,
    2 ** 53 + 2,
    null,
    true,
    [],
    {},
    "__proto__",
    "LOGIN.MICROSOFTONLINE.COM",
  ),
  fc.string({ maxLength: 20 }),
  fc.integer({ min: 1, max: 200_000 }).map((n) => "x".repeat(n)),
);

const nested = (levels: number, inner: unknown, arrays: boolean): unknown => {
  let value = inner;
  for (let i = 0; i < levels; i++) value = arrays ? [value] : { n: value };
  return value;
};

type Mutation =
  | { kind: "setField"; entry: number; field: string; value: unknown }
  | { kind: "deleteField"; entry: number; field: number }
  | { kind: "replaceEntry"; entry: number; value: unknown }
  | { kind: "copyEntry"; entry: number; key: string }
  | { kind: "setSection"; name: string; value: unknown }
  | { kind: "deleteSection"; section: number }
  | { kind: "nest"; entry: number; field: string; levels: number; arrays: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("setField" as const),
      entry: fc.nat(),
      field: fc.constantFrom(...FIELD_NAMES),
      value: oddValue,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("deleteField" as const), entry: fc.nat(), field: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("replaceEntry" as const), entry: fc.nat(), value: oddValue }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("copyEntry" as const),
      entry: fc.nat(),
      key: fc.constantFrom(...PROTOTYPE_NAMES, ""),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("setSection" as const),
      name: fc.constantFrom(...SECTION_NAMES),
      value: oddValue,
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteSection" as const), section: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("nest" as const),
      entry: fc.nat(),
      field: fc.constantFrom("extra", "tenantProfiles", "__proto__", "home_account_id"),
      levels: fc.oneof(fc.integer({ min: 55, max: 70 }), fc.integer({ min: 1, max: 1_000 })),
      arrays: fc.boolean(),
    }),
  },
);

/** The entries of the cache's known-looking sections, as [section object, key] pairs. */
function entriesOf(cache: Json): Array<[Json, string]> {
  const found: Array<[Json, string]> = [];
  for (const section of Object.keys(cache)) {
    const entries = cache[section];
    if (isObject(entries)) for (const key of Object.keys(entries)) found.push([entries, key]);
  }
  return found;
}

function mutate(text: string, mutations: Mutation[]): string {
  const cache = JSON.parse(text) as Json;
  for (const m of mutations) {
    const entries = entriesOf(cache);
    const pick = "entry" in m && entries.length > 0 ? entries[m.entry % entries.length] : undefined;
    const entry = pick ? pick[0][pick[1]] : undefined;
    switch (m.kind) {
      case "setField":
        if (isObject(entry)) setOwn(entry, m.field, m.value);
        break;
      case "deleteField":
        if (isObject(entry)) {
          const fields = Object.keys(entry);
          if (fields.length > 0) delete entry[fields[m.field % fields.length] as string];
        }
        break;
      case "replaceEntry":
        if (pick) setOwn(pick[0], pick[1], m.value);
        break;
      case "copyEntry":
        // The same object under another key (JSON.stringify writes it twice; a deep copy could overflow).
        if (pick) setOwn(pick[0], m.key, entry);
        break;
      case "setSection":
        setOwn(cache, m.name, m.value);
        break;
      case "deleteSection": {
        const names = Object.keys(cache);
        if (names.length > 0) delete cache[names[m.section % names.length] as string];
        break;
      }
      case "nest":
        if (isObject(entry)) setOwn(entry, m.field, nested(m.levels, entry[m.field] ?? 1, m.arrays));
        break;
    }
  }
  return JSON.stringify(cache);
}

/** Cut text: mostly not JSON at all. */
const cut = (text: string, at: number) => text.slice(0, at % (text.length + 1));

/** The identity provider behind `fetch`: discovery, and `invalid_grant` for every token request. */
const fetch = (async (input: string | URL | Request) => {
  const url = String(input instanceof Request ? input.url : input);
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  if (url.endsWith("/.well-known/openid-configuration"))
    return json(200, {
      authorization_endpoint: `${AUTHORITY}/oauth2/v2.0/authorize`,
      token_endpoint: TOKEN_ENDPOINT,
      issuer: `${AUTHORITY}/v2.0`,
    });
  return json(400, { error: "invalid_grant", error_description: "AADSTS70000: the grant is not valid." });
}) as FetchLike;

const text = (v: unknown, fallback = ""): string => (typeof v === "string" ? v : fallback);

/** Every lookup the cache offers, for what the loaded JSON holds, then writes and removals. */
async function exercise(cache: TokenCache, loaded: Json): Promise<void> {
  cache.findAccounts();
  cache.findAccounts({ environment: ENVIRONMENT });
  cache.findAccounts({ username: "alice@contoso.com" });
  for (const [section, key] of entriesOf(loaded)) {
    const e = section[key];
    if (!isObject(e)) continue;
    const environment = text(e.environment, ENVIRONMENT);
    const home = typeof e.home_account_id === "string" ? e.home_account_id : null;
    const clientId = text(e.client_id, "client-1");
    const realm = text(e.realm, "tenant-a");
    cache.findAccessToken(
      { clientId, homeAccountId: home, environment, realm, scopes: text(e.target).split(" ") },
      NOW,
    );
    cache.findAccessToken(
      { clientId, homeAccountId: home, environment, realm, scopes: ["x"], minValiditySeconds: 300 },
      NOW,
    );
    if (home !== null) {
      cache.findAccounts({ homeAccountId: home, environment });
      cache.findRefreshTokens({ homeAccountId: home, environment, clientId });
      cache.findRefreshTokens({ homeAccountId: home, environment, familyId: "1" });
      cache.findIdToken({ homeAccountId: home, environment, clientId, realm });
      cache.findAccessTokensOfAccount(home, environment);
    }
    cache.getAppMetadata(environment, clientId);
  }
  const app = new PublicClientApplication("client-1", { authority: AUTHORITY, tokenCache: cache, fetch });
  const accounts: Account[] = await app.getAccounts();
  for (const account of accounts) {
    await app.acquireTokenSilent(["User.Read"], account);
    await app.acquireTokenSilent(["Mail.Read"], account, { forceRefresh: true });
  }
  for (const account of accounts) await app.removeAccount(account);
  cache.add(signIn("alice"));
  cache.add(appToken("tenant-a"));
  cache.purgeExpiredAccessTokens(NOW + 10_000);
  if (cache instanceof SerializableTokenCache) JSON.parse(cache.serialize());
}

/** Loads `input`; either it loads and everything works after, or it is refused and nothing changed. */
async function loadAndUse(input: string): Promise<void> {
  const cache = new SerializableTokenCache();
  cache.add(signIn("zed"));
  const before = cache.serialize();
  try {
    cache.deserialize(input);
  } catch (e) {
    if (!(e instanceof CacheDeserializationError)) throw e;
    expect(e.code).toBe("cache_deserialization_failed");
    expect(cache.serialize()).toBe(before);
    expect(cache.findAccounts().map((a) => a.username)).toEqual(["zed@contoso.com"]);
    return;
  }
  const parsed = input.trim() === "" ? {} : (JSON.parse(input) as Json);
  expect(cache.serialize()).toBe(JSON.stringify(parsed));
  await exercise(cache, parsed);
}

describe("mutated cache JSON through deserialize, lookups, getAccounts and serialize", () => {
  const samples = seeds();

  it("the unmutated caches load, round-trip and work", async () => {
    for (const sample of samples) await loadAndUse(sample);
    const cache = new SerializableTokenCache();
    cache.deserialize(samples[1] as string);
    expect(cache.counts()).toEqual({
      AccessToken: 2,
      RefreshToken: 1,
      IdToken: 1,
      Account: 1,
      AppMetadata: 1,
    });
  });

  it("field, entry and section damage: a successful load or CacheDeserializationError, never another exception", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (sample, mutations) => loadAndUse(mutate(sample, mutations)),
      ),
      RUNS,
    );
  });

  it("the same damage read as a distributed cache partition: read as it is or as empty, and usable after", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        async (sample, mutations) => {
          const stored = mutate(sample, mutations);
          const contents = parseContents(stored);
          const cache = new TokenCache();
          cache.add(signIn("zed"));
          for (const partition of ["user:alice.tenant-a", "user:dave.tenant-a", "app:daemon:tenant-a"]) {
            replacePartition(cache, partition, contents as PartitionContents);
            await exercise(cache, contents);
            const merged = mergePartition(
              contents,
              { partitionKey: partition, written: [], removed: new Set() },
              NOW,
            );
            JSON.parse(JSON.stringify(merged));
            JSON.stringify(partitionContents(cache, partition));
          }
          // What deserialize refuses, a partition read treats as empty.
          let refused = false;
          try {
            new SerializableTokenCache().deserialize(stored);
          } catch {
            refused = true;
          }
          if (refused) expect(Object.keys(contents)).toEqual([]);
        },
      ),
      RUNS,
    );
  });

  it("cut text and damaged bytes: a successful load or CacheDeserializationError", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...samples),
        fc.nat(),
        fc.string({ maxLength: 3 }),
        async (sample, at, insert) => {
          await loadAndUse(cut(sample, at));
          const index = at % (sample.length + 1);
          await loadAndUse(`${sample.slice(0, index)}${insert}${sample.slice(index)}`);
        },
      ),
      RUNS,
    );
  });
});

/**
 * DistributedTokenCache over a real `redis-server`, with apps against the emulator: instances
 * share tokens through Redis, concurrent writers of one partition lose nothing (compare-and-set and
 * merge), each call touches only its own partition's key, partitions expire with their longest-lived
 * token, and on-behalf-of results are shared under `obo:<hash>`.
 */
import { createHash } from "node:crypto";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Emulator } from "../../../emulator/index.js";
import { DAEMON_APP_ID, MIDDLE_TIER_APP_ID, PUBLIC_APP_ID } from "../../../emulator/index.js";
import {
  ConfidentialClientApplication,
  DistributedTokenCache,
  type DistributedTokenCacheOptions,
  MsalError,
  type PartitionStore,
  PublicClientApplication,
  redisPartitionStore,
  type TokenResult,
} from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { directoryUser, middleTierAssertion, success } from "../confidential/helpers.js";
import {
  DAEMON_SECRET,
  deferred,
  distributedDirectory,
  hasRedisServer,
  MIDDLE_TIER_SECRET,
  REDIS_SERVER,
  RESOURCE_APP_IDS,
  type Redis,
  type RedisServer,
  recordingStore,
  startRedisServer,
  TENANTS,
} from "./helpers.js";

if (!hasRedisServer) {
  console.warn(
    `Skipping the distributed token cache tests: ${REDIS_SERVER} is not installed (apt-get install redis-server; CI installs it).`,
  );
}

const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const resourceDefault = (appId: string) => [`${appId}/.default`];
/** The store key of the daemon's partition in a tenant: hash-tagged, `<prefix>{app:<client>:<tenant>}`. */
const appKey = (prefix: string, tenantId: string) =>
  `${prefix}{${`app:${DAEMON_APP_ID}:${tenantId}`.toLowerCase()}}`;
/** The key earlier versions stored that partition under (read when the tagged one is missing). */
const legacyAppKey = (prefix: string, tenantId: string) =>
  `${prefix}app:${DAEMON_APP_ID}:${tenantId}`.toLowerCase();

describe.skipIf(!hasRedisServer)("DistributedTokenCache over Redis", () => {
  let emulator: Emulator;
  let server: RedisServer;
  /** The test's own view of Redis (apps get their own connections). */
  let redis: Redis;

  beforeAll(async () => {
    [emulator, server] = await Promise.all([
      startTestEmulator({ directory: distributedDirectory() }),
      startRedisServer(),
    ]);
    redis = await server.connect();
  });
  afterAll(async () => {
    await server?.stop();
    await emulator?.stop();
  });
  beforeEach(() => emulator.clearRequests());

  /** An app instance: its own Redis connection, its own cache. */
  async function instance(
    options: DistributedTokenCacheOptions & { wrap?: (store: PartitionStore) => PartitionStore } = {},
    registration: { clientId: string; secret: string } = { clientId: DAEMON_APP_ID, secret: DAEMON_SECRET },
  ) {
    const { wrap, ...cacheOptions } = options;
    const store = redisPartitionStore(await server.connect());
    const cache = new DistributedTokenCache(wrap ? wrap(store) : store, cacheOptions);
    const app = new ConfidentialClientApplication(registration.clientId, {
      authority: `${emulator.url}/${TENANTS[0]?.id}`,
      validateAuthority: false,
      clientCredential: registration.secret,
      tokenCache: cache,
    });
    return { app, cache };
  }

  const stored = async (key: string): Promise<Record<string, Record<string, Record<string, unknown>>>> => {
    const value = await redis.hGet(key, "d");
    if (typeof value !== "string") throw new Error(`Redis has no partition ${key}.`);
    return JSON.parse(value);
  };
  const accessTokenSecrets = async (key: string) =>
    Object.values((await stored(key)).AccessToken ?? {}).map((at) => at.secret);

  it("two instances acquire 40 tokens (40 tenants) concurrently; a third serves all 40 from Redis", async () => {
    const prefix = "forty:";
    const [a, b] = await Promise.all([instance({ keyPrefix: prefix }), instance({ keyPrefix: prefix })]);
    const results = await Promise.all(
      TENANTS.map((tenant, i) =>
        (i % 2 === 0 ? a : b).app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: tenant.id }),
      ),
    );
    const tokens = results.map((r) => success(r));
    expect(tokens.every((t) => t.token_source === "identity_provider")).toBe(true);
    expect(new Set(tokens.map((t) => t.access_token)).size).toBe(40);
    expect(emulator.requests("token")).toHaveLength(40);

    const keys = (await redis.keys(`${prefix}*`)).sort();
    expect(keys).toEqual(TENANTS.map((t) => appKey(prefix, t.id)).sort());
    for (const [i, tenant] of TENANTS.entries()) {
      expect(await accessTokenSecrets(appKey(prefix, tenant.id))).toEqual([tokens[i]?.access_token]);
    }

    emulator.clearRequests();
    const c = await instance({ keyPrefix: prefix });
    const fromCache = await Promise.all(
      TENANTS.map((tenant) => c.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: tenant.id })),
    );
    expect(fromCache.map((r) => success(r).token_source)).toEqual(TENANTS.map(() => "cache"));
    expect(fromCache.map((r) => success(r).access_token)).toEqual(tokens.map((t) => t.access_token));
    expect(emulator.requests("token")).toHaveLength(0);
  });

  it("two instances writing one partition at once lose nothing: the loser of the compare-and-set merges", async () => {
    const prefix = "same:";
    const key = appKey(prefix, TENANTS[0]?.id as string);
    const bWrote = deferred();
    let aStore: ReturnType<typeof recordingStore> | undefined;
    // A's first write waits until B has written the (until then absent) partition: A's version is stale.
    const a = await instance({
      keyPrefix: prefix,
      wrap: (store) => {
        const recorded = recordingStore(store, {
          beforeCompareAndSet: async (_key, attempt) => {
            if (attempt === 1) await bWrote.promise;
          },
        });
        aStore = recorded;
        return recorded;
      },
    });
    const b = await instance({ keyPrefix: prefix });
    const fromA = a.app.acquireTokenForClient(GRAPH_DEFAULT);
    const fromB = b.app
      .acquireTokenForClient(resourceDefault(MIDDLE_TIER_APP_ID))
      .finally(() => bWrote.resolve());
    const [graph, api] = (await Promise.all([fromA, fromB])).map((r) => success(r));

    expect(aStore?.conflicts()).toBe(1);
    expect(aStore?.calls.filter((c) => c.op === "compareAndSet").map((c) => c.ok)).toEqual([false, true]);
    expect((await accessTokenSecrets(key)).sort()).toEqual([graph?.access_token, api?.access_token].sort());

    // And a fresh instance finds both.
    emulator.clearRequests();
    const c = await instance({ keyPrefix: prefix });
    expect(success(await c.app.acquireTokenForClient(GRAPH_DEFAULT))).toMatchObject({
      token_source: "cache",
      access_token: graph?.access_token,
    });
    expect(success(await c.app.acquireTokenForClient(resourceDefault(MIDDLE_TIER_APP_ID)))).toMatchObject({
      token_source: "cache",
      access_token: api?.access_token,
    });
    expect(emulator.requests("token")).toHaveLength(0);
  });

  it("16 resources of one tenant from two instances at once: all 16 tokens end in the partition", async () => {
    const prefix = "stress:";
    const tenant = TENANTS[1]?.id as string;
    // The emulator and both instances share one event loop here, so a write's read-to-compare-and-set
    // window spans other work and conflicts are far likelier than between real processes: allow
    // more attempts, since what this test checks is that merged writes lose nothing.
    const stores: Array<ReturnType<typeof recordingStore>> = [];
    const record = (store: PartitionStore) => {
      const recorded = recordingStore(store);
      stores.push(recorded);
      return recorded;
    };
    const [a, b] = await Promise.all([
      instance({ keyPrefix: prefix, maxAttempts: 20, wrap: record }),
      instance({ keyPrefix: prefix, maxAttempts: 20, wrap: record }),
    ]);
    const results = await Promise.all(
      RESOURCE_APP_IDS.map((id, i) =>
        (i % 2 === 0 ? a : b).app.acquireTokenForClient(resourceDefault(id), { tenant }),
      ),
    );
    const secrets = results.map((r) => success(r).access_token).sort();
    expect(new Set(secrets).size).toBe(16);
    expect((await accessTokenSecrets(appKey(prefix, tenant))).sort()).toEqual(secrets);
    // Every store call of both instances was for that one partition (its tagged key, and the
    // untagged key of earlier versions, read while the tagged one was missing).
    expect(new Set(stores.flatMap((s) => [...s.keys()]))).toEqual(
      new Set([appKey(prefix, tenant), legacyAppKey(prefix, tenant)]),
    );
  });

  it("each call reads and writes only its own partition's key (store calls and Redis MONITOR)", async () => {
    const prefix = "touch:";
    const tenantA = TENANTS[2]?.id as string;
    const tenantB = TENANTS[3]?.id as string;
    const keyA = appKey(prefix, tenantA);
    const keyB = appKey(prefix, tenantB);
    // Tenant B's partition exists, written by another instance.
    const other = await instance({ keyPrefix: prefix });
    success(await other.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: tenantB }));
    expect(await redis.exists(keyB)).toBe(1);

    let recorded: ReturnType<typeof recordingStore> | undefined;
    const x = await instance({
      keyPrefix: prefix,
      wrap: (store) => {
        recorded = recordingStore(store);
        return recorded;
      },
    });
    const monitorLines: string[] = [];
    const monitor = await server.connect();
    await monitor.monitor((line) => {
      monitorLines.push(String(line));
    });

    const cold = success(await x.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: tenantA }));
    const warm = success(await x.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: tenantA }));
    expect(cold.token_source).toBe("identity_provider");
    expect(warm).toMatchObject({ token_source: "cache", access_token: cold.access_token });
    // Listing accounts reads nothing from the store.
    expect(await x.app.getAccounts()).toEqual([]);

    const marker = `end-of-calls-${Date.now()}`;
    await redis.sendCommand(["ECHO", marker]);
    for (let i = 0; i < 200 && !monitorLines.some((l) => l.includes(marker)); i++)
      await new Promise((r) => setTimeout(r, 10));
    monitor.destroy();

    // Each read of the missing partition also tries the untagged key of earlier versions.
    const legacyA = legacyAppKey(prefix, tenantA);
    expect(recorded?.keys()).toEqual(new Set([keyA, legacyA]));
    expect(recorded?.calls.map((c) => [c.op, c.key])).toEqual([
      ["get", keyA],
      ["get", legacyA],
      ["get", keyA],
      ["get", legacyA],
      ["compareAndSet", keyA],
      ["get", keyA],
    ]);
    const commands = monitorLines.filter((l) => !l.includes(marker) && /"(hmget|evalsha|eval)"/i.test(l));
    expect(commands.length).toBeGreaterThanOrEqual(6);
    for (const line of commands)
      expect([`"${keyA}"`, `"${legacyA}"`].some((k) => line.includes(k))).toBe(true);
    expect(monitorLines.some((l) => l.includes(keyB))).toBe(false);
    expect(await accessTokenSecrets(keyB)).not.toContain(cold.access_token);
  });

  it("a partition expires with its longest-lived token (EXPIREAT)", async () => {
    emulator.configure({ accessTokenLifetime: 900, refreshTokenLifetime: 1800 });
    try {
      // Access tokens only (client credentials): the partition lives as long as the token.
      const prefix = "ttl:";
      const a = await instance({ keyPrefix: prefix });
      const token = success(await a.app.acquireTokenForClient(GRAPH_DEFAULT));
      expect(token.expires_in).toBeGreaterThan(890);
      const key = appKey(prefix, TENANTS[0]?.id as string);
      const expiresOn = Number(Object.values((await stored(key)).AccessToken ?? {})[0]?.expires_on);
      expect(
        Math.abs((await redis.ttl(key)) - (expiresOn - Math.floor(Date.now() / 1000))),
      ).toBeLessThanOrEqual(2);
      expect(Math.abs((await redis.ttl(key)) - 900)).toBeLessThanOrEqual(5);
      expect(await redis.expireTime(key)).toBe(expiresOn);

      // A second, later-expiring token of the same partition moves the expiry.
      emulator.configure({ accessTokenLifetime: 1200 });
      success(await a.app.acquireTokenForClient(resourceDefault(MIDDLE_TIER_APP_ID)));
      expect(Math.abs((await redis.ttl(key)) - 1200)).toBeLessThanOrEqual(5);

      // A refresh token (on-behalf-of) keeps its partition for refreshTokenLifetimeSeconds.
      emulator.configure({ accessTokenLifetime: 900 });
      const assertion = await middleTierAssertion(
        emulator,
        directoryUser(emulator, "bob@contoso.onmicrosoft.com"),
      );
      const middleTier = await instance(
        { keyPrefix: prefix, refreshTokenLifetimeSeconds: 1800 },
        { clientId: MIDDLE_TIER_APP_ID, secret: MIDDLE_TIER_SECRET },
      );
      success(
        await middleTier.app.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]),
      );
      const oboKey = `${prefix}{obo:${createHash("sha256").update(assertion).digest("base64url")}}`;
      const partition = await stored(oboKey);
      expect(Object.keys(partition.RefreshToken ?? {})).toHaveLength(1);
      expect(Math.abs((await redis.ttl(oboKey)) - 1800)).toBeLessThanOrEqual(5);
    } finally {
      emulator.configure({ accessTokenLifetime: 3599, refreshTokenLifetime: 90 * 24 * 3600 });
    }
  });

  it("on-behalf-of: the result is stored under obo:<assertion hash> and another instance serves it", async () => {
    const prefix = "mid:";
    const alice = directoryUser(emulator, "alice@contoso.onmicrosoft.com");
    const assertion = await middleTierAssertion(emulator, alice);
    const hash = createHash("sha256").update(assertion).digest("base64url");
    const registration = { clientId: MIDDLE_TIER_APP_ID, secret: MIDDLE_TIER_SECRET };
    emulator.clearRequests();

    const first = await instance({ keyPrefix: prefix }, registration);
    const issued = success(
      await first.app.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]),
    );
    expect(issued.token_source).toBe("identity_provider");
    expect(await redis.keys(`${prefix}*`)).toEqual([`${prefix}{obo:${hash}}`]);
    const partition = await stored(`${prefix}{obo:${hash}}`);
    expect(Object.values(partition.AccessToken ?? {}).map((at) => at.secret)).toEqual([issued.access_token]);
    expect(Object.values(partition.AccessToken ?? {}).map((at) => at.userAssertionHash)).toEqual([hash]);
    // The assertion itself is never stored.
    expect(JSON.stringify(partition)).not.toContain(assertion);

    const second = await instance({ keyPrefix: prefix }, registration);
    expect(
      success(await second.app.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"])),
    ).toMatchObject({ token_source: "cache", access_token: issued.access_token });
    expect(emulator.requests("token")).toHaveLength(1);
  });

  it("user partitions: another instance serves and refreshes a signed-in user's tokens; removeAccount deletes the partition", async () => {
    const prefix = "user:";
    const alice = directoryUser(emulator, "alice@contoso.onmicrosoft.com");
    const publicApp = async () => {
      const cache = new DistributedTokenCache(redisPartitionStore(await server.connect()), {
        keyPrefix: prefix,
      });
      return new PublicClientApplication(PUBLIC_APP_ID, {
        authority: `${emulator.url}/${TENANTS[0]?.id}`,
        validateAuthority: false,
        tokenCache: cache,
      });
    };
    const a = await publicApp();
    const signIn = success(
      await a.acquireTokenByUsernamePassword(alice.username, alice.password, ["User.Read"]),
    );
    const [account] = await a.getAccounts();
    if (!account) throw new Error("The sign-in left no account in the cache.");
    const key = `${prefix}{user:${account.home_account_id}}`;
    expect(await redis.keys(`${prefix}*`)).toEqual([key]);
    const partition = await stored(key);
    expect(Object.keys(partition).sort()).toEqual([
      "AccessToken",
      "Account",
      "AppMetadata",
      "IdToken",
      "RefreshToken",
    ]);
    // The refresh token keeps the partition for 90 days (the default refreshTokenLifetimeSeconds).
    expect(Math.abs((await redis.ttl(key)) - 90 * 24 * 3600)).toBeLessThanOrEqual(5);

    emulator.clearRequests();
    const b = await publicApp();
    // Listing accounts shows what this instance has loaded: nothing yet.
    expect(await b.getAccounts()).toEqual([]);
    const ref = { home_account_id: account.home_account_id, environment: account.environment };
    expect(await b.acquireTokenSilent(["User.Read"], ref)).toMatchObject({
      token_source: "cache",
      access_token: signIn.access_token,
    });
    expect(emulator.requests("token")).toHaveLength(0);
    expect((await b.getAccounts()).map((x) => x.username)).toEqual([alice.username]);

    // B refreshes with the shared refresh token; A then sees B's new access token.
    const refreshed = await b.acquireTokenSilent(["User.Read"], ref, { forceRefresh: true });
    expect(refreshed?.token_source).toBe("identity_provider");
    expect(emulator.requests("token")).toHaveLength(1);
    expect(await accessTokenSecrets(key)).toEqual([refreshed?.access_token]);
    expect(await a.acquireTokenSilent(["User.Read"], ref)).toMatchObject({
      token_source: "cache",
      access_token: refreshed?.access_token,
    });

    // Signing out on A removes the user's tokens from Redis: B has nothing left to use.
    await a.removeAccount(ref);
    expect(await redis.exists(key)).toBe(0);
    expect(await b.acquireTokenSilent(["User.Read"], ref)).toBeNull();
    expect(await b.getAccounts()).toEqual([]);
  });

  it("removeTokensForClient removes this instance's app tokens from their partitions; others' stay", async () => {
    const prefix = "remove:";
    const [contoso, fabrikam] = [TENANTS[0]?.id as string, TENANTS[1]?.id as string];
    const a = await instance({ keyPrefix: prefix });
    const b = await instance({ keyPrefix: prefix });
    success(await a.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: contoso }));
    success(await a.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: fabrikam }));
    const kept = success(
      await b.app.acquireTokenForClient(resourceDefault(MIDDLE_TIER_APP_ID), { tenant: contoso }),
    );

    expect(await a.app.removeTokensForClient()).toBe(2);
    // Fabrikam's partition held only A's token: it is gone. Contoso's keeps B's token.
    expect(await redis.exists(appKey(prefix, fabrikam))).toBe(0);
    expect(await accessTokenSecrets(appKey(prefix, contoso))).toEqual([kept.access_token]);
    emulator.clearRequests();
    const c = await instance({ keyPrefix: prefix });
    expect(success(await c.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant: fabrikam })).token_source).toBe(
      "identity_provider",
    );
  });

  it("maxAccessTokens bounds memory only: evicted tokens stay in Redis", async () => {
    const prefix = "bounded:";
    const a = await instance({ keyPrefix: prefix, maxAccessTokens: 1 });
    const tokens: TokenResult[] = [];
    for (const id of RESOURCE_APP_IDS.slice(0, 3))
      tokens.push(await a.app.acquireTokenForClient(resourceDefault(id)));
    expect(a.cache.counts().AccessToken).toBe(1);
    expect((await accessTokenSecrets(appKey(prefix, TENANTS[0]?.id as string))).sort()).toEqual(
      tokens.map((t) => success(t).access_token).sort(),
    );
  });

  it("a partition that keeps changing under it fails with distributed_cache_conflict after maxAttempts", async () => {
    let attempts = 0;
    const a = await instance({
      keyPrefix: "conflict:",
      maxAttempts: 3,
      wrap: (store) => ({
        get: (key) => store.get(key),
        compareAndSet: async () => {
          attempts++;
          return false;
        },
      }),
    });
    const error = await a.app.acquireTokenForClient(GRAPH_DEFAULT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MsalError);
    expect((error as MsalError).code).toBe("distributed_cache_conflict");
    expect(attempts).toBe(3);
  });
});

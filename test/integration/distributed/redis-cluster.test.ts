/**
 * DistributedTokenCache on a real Redis Cluster (three `redis-server` masters in cluster mode,
 * started here) and, for the single-flight checks, on one `redis-server` too, with apps against
 * the emulator: each "instance" is its own app, cache and Redis connection, as separate processes
 * would have. Store keys are hash-tagged (a partition and its leases share a slot), a slot
 * migration during a run loses no token, a lease holder that dies delays the others by at most
 * the lease, and instances that miss one partition at once send one token request between them.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Directory, Emulator } from "../../../emulator/index.js";
import { DAEMON_APP_ID, MIDDLE_TIER_APP_ID, PUBLIC_APP_ID } from "../../../emulator/index.js";
import { leaseKeyOf } from "../../../src/cache/distributed-lease.js";
import {
  appPartition,
  ConfidentialClientApplication,
  ConfigurationError,
  DistributedTokenCache,
  type DistributedTokenCacheOptions,
  PublicClientApplication,
  type RedisPartitionClient,
  redisPartitionStore,
  type TokenResult,
} from "../../../src/node/index.js";
import { startTestEmulator } from "../../support/emulator.js";
import { directoryUser, middleTierAssertion, success } from "../confidential/helpers.js";
import {
  DAEMON_SECRET,
  distributedDirectory,
  hasRedisServer,
  MIDDLE_TIER_SECRET,
  RESOURCE_APP_IDS,
  type RedisCluster,
  type RedisClusterServer,
  type RedisServer,
  startRedisCluster,
  startRedisServer,
  TENANTS,
} from "./helpers.js";

const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
const resourceDefault = (appId: string) => [`${appId}/.default`];
const tenantId = (i: number) => TENANTS[i]?.id as string;

/** 48 more resource apps than the shared directory has: 64 distinct tokens for one partition. */
const EXTRA_RESOURCE_IDS = Array.from(
  { length: 48 },
  (_, i) => `5f000000-0000-4000-8000-${String(i + 1).padStart(12, "0")}`,
);
const ALL_RESOURCE_IDS = [...RESOURCE_APP_IDS, ...EXTRA_RESOURCE_IDS];

function clusterDirectory(): Directory {
  const base = distributedDirectory();
  return {
    ...base,
    apps: [
      ...base.apps,
      ...EXTRA_RESOURCE_IDS.map((clientId, i) => ({
        clientId,
        kind: "confidential" as const,
        tenant: tenantId(0),
        displayName: `Extra resource ${i + 1}`,
        secret: `extra-resource-${i + 1}-secret`,
      })),
    ],
  };
}

/** The access token secrets a stored partition holds. */
function accessTokenSecrets(json: string | null | undefined): string[] {
  if (typeof json !== "string") return [];
  const parsed = JSON.parse(json) as { AccessToken?: Record<string, { secret: string }> };
  return Object.values(parsed.AccessToken ?? {}).map((at) => at.secret);
}

/** Token requests the emulator logged for a tenant (its id is the first path segment). */
function tokenRequestsOf(emulator: Emulator, tenant: string): number {
  return emulator.requests("token").filter((r) => r.path.startsWith(`/${tenant}/`)).length;
}

describe.skipIf(!hasRedisServer)("DistributedTokenCache on Redis Cluster and one Redis", () => {
  let emulator: Emulator;
  let cluster: RedisClusterServer;
  let single: RedisServer;
  /** The test's own view of the cluster (apps get their own connections). */
  let view: RedisCluster;

  beforeAll(async () => {
    [emulator, cluster, single] = await Promise.all([
      startTestEmulator({ directory: clusterDirectory() }),
      startRedisCluster({ masters: 3 }),
      startRedisServer(),
    ]);
    view = await cluster.connect();
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    await single?.stop();
    await emulator?.stop();
  });
  beforeEach(() => emulator.clearRequests());

  type Backend = "cluster" | "single";
  const connect = (backend: Backend): Promise<RedisPartitionClient & { destroy(): void }> =>
    backend === "cluster" ? cluster.connect() : single.connect();

  /** A daemon (or middle-tier) instance: its own app, cache and Redis connection. */
  async function daemon(
    backend: Backend,
    options: DistributedTokenCacheOptions = {},
    extra: { fetch?: typeof fetch; registration?: { clientId: string; secret: string } } = {},
  ) {
    const client = await connect(backend);
    const cache = new DistributedTokenCache(redisPartitionStore(client), options);
    const { clientId, secret } = extra.registration ?? { clientId: DAEMON_APP_ID, secret: DAEMON_SECRET };
    const app = new ConfidentialClientApplication(clientId, {
      authority: `${emulator.url}/${tenantId(0)}`,
      validateAuthority: false,
      clientCredential: secret,
      tokenCache: cache,
      ...(extra.fetch ? { fetch: extra.fetch } : {}),
    });
    return { app, cache, client };
  }

  it("instances share tokens on the cluster; a partition's key and its leases are on one slot", async () => {
    const prefix = "share:";
    const tenants = Array.from({ length: 12 }, (_, i) => tenantId(i + 4));
    const a = await daemon("cluster", { keyPrefix: prefix });
    const issued = await Promise.all(
      tenants.map(async (tenant) => success(await a.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }))),
    );
    expect(emulator.requests("token")).toHaveLength(12);
    const b = await daemon("cluster", { keyPrefix: prefix });
    for (const [i, tenant] of tenants.entries()) {
      expect(success(await b.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }))).toMatchObject({
        token_source: "cache",
        access_token: issued[i]?.access_token,
      });
    }
    expect(emulator.requests("token")).toHaveLength(12);

    const masters = new Set<number>();
    for (const [i, tenant] of tenants.entries()) {
      const partitionKey = appPartition(DAEMON_APP_ID, tenant);
      const storeKey = b.cache.storeKey(partitionKey);
      expect(storeKey).toBe(`${prefix}{${partitionKey}}`);
      const slot = await cluster.keySlot(storeKey);
      // The hash tag: only `<partition key>` decides the slot, so its lease keys share it.
      expect(await cluster.keySlot(partitionKey)).toBe(slot);
      expect(await cluster.keySlot(await leaseKeyOf(storeKey, "any request"))).toBe(slot);
      expect(accessTokenSecrets(await view.hGet(storeKey, "d"))).toEqual([issued[i]?.access_token]);
      masters.add((await cluster.ownerOf(slot)).port);
    }
    // The partitions spread over the masters (12 keys on one master of 3: odds 1 in 177,147).
    expect(masters.size).toBeGreaterThan(1);
    // Every lease was released once its holder's tokens were saved.
    for (const node of cluster.nodes) {
      expect(await (await cluster.admin(node)).keys(`${prefix}*:lease:*`)).toEqual([]);
    }
  });

  it("a slot migration during a run: MOVED and ASK are followed, every call succeeds, no token is lost", async () => {
    const prefix = "migrate:";
    const tenant = tenantId(20);
    // Four instances write one partition at once; on one event loop a write's read-to-write window
    // spans the others' work, so conflicts are likelier than between processes: more attempts.
    const instances = await Promise.all(
      Array.from({ length: 4 }, () => daemon("cluster", { keyPrefix: prefix, maxAttempts: 40 })),
    );
    const storeKey = instances[0]?.cache.storeKey(appPartition(DAEMON_APP_ID, tenant)) as string;
    const slot = await cluster.keySlot(storeKey);
    const from = await cluster.ownerOf(slot);
    const to = cluster.nodes.find((n) => n.id !== from.id);
    if (!to) throw new Error("the cluster has one master");

    const issued = new Map<string, string>();
    const failures: unknown[] = [];
    let hits = 0;
    /** Each resource belongs to one instance (so no two requests race for one token); hits go anywhere. */
    const run = async (resources: number[]) => {
      await Promise.all(
        resources.map(async (r, n) => {
          const owner = instances[r % instances.length] as (typeof instances)[number];
          const reader = instances[(r + 1 + n) % instances.length] as (typeof instances)[number];
          const id = ALL_RESOURCE_IDS[r] as string;
          try {
            const got = success(await owner.app.acquireTokenForClient(resourceDefault(id), { tenant }));
            expect(got.token_source).toBe("identity_provider");
            issued.set(id, got.access_token);
            const again = success(await reader.app.acquireTokenForClient(resourceDefault(id), { tenant }));
            expect(again).toMatchObject({ token_source: "cache", access_token: got.access_token });
            hits++;
          } catch (error) {
            failures.push(error);
          }
        }),
      );
    };
    const range = (first: number, count: number) => Array.from({ length: count }, (_, i) => first + i);

    await run(range(0, 16));
    // Traffic goes on while the keys move (MIGRATE) and in the window after it (ASK)...
    const duringMove = run(range(16, 16));
    const migration = await cluster.migrateSlot(slot, to, {
      whileMigrating: () => run(range(32, 16)),
    });
    await duringMove;
    // ...and after it, with every client's slot map out of date (MOVED).
    await run(range(48, 16));

    expect(failures).toEqual([]);
    expect(migration.from.id).toBe(from.id);
    expect(migration.keysMoved).toBeGreaterThanOrEqual(1);
    expect((await cluster.ownerOf(slot)).id).toBe(to.id);
    expect(hits).toBe(64);
    expect(issued.size).toBe(64);
    expect(emulator.requests("token")).toHaveLength(64);
    // 0 tokens lost: all 64 are in the partition, now on the new master.
    const stored = await (await cluster.admin(to)).hGet(storeKey, "d");
    expect(accessTokenSecrets(stored).sort()).toEqual([...issued.values()].sort());
  });

  it("a lease holder that dies mid-request: the others go after the lease ends, all succeed", async () => {
    const prefix = "dead:";
    const tenant = tenantId(21);
    const leaseMs = 1_000;
    // The holder's token request never answers; its process then dies (connection destroyed).
    let holderSent: () => void = () => {};
    const holderHasLease = new Promise<void>((resolve) => {
      holderSent = resolve;
    });
    const hang: typeof fetch = (input, init) => {
      if (!String(input instanceof Request ? input.url : input).includes("/token")) return fetch(input, init);
      holderSent();
      return new Promise((_, reject) =>
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason)),
      );
    };
    const holder = await daemon("cluster", { keyPrefix: prefix, leaseMs }, { fetch: hang });
    const stopHolder = new AbortController();
    const holderCall = holder.app
      .acquireTokenForClient(GRAPH_DEFAULT, { tenant, signal: stopHolder.signal })
      .catch((error: unknown) => error);
    await holderHasLease;
    const storeKey = holder.cache.storeKey(appPartition(DAEMON_APP_ID, tenant));
    const owner = await cluster.admin(await cluster.ownerOf(await cluster.keySlot(storeKey)));
    const leases = await owner.keys(`${storeKey}:lease:*`);
    expect(leases).toHaveLength(1);
    holder.client.destroy();

    const waiters = await Promise.all(
      Array.from({ length: 4 }, () => daemon("cluster", { keyPrefix: prefix, leaseMs })),
    );
    const results = await Promise.all(
      waiters.flatMap((w) =>
        Array.from({ length: 3 }, () => w.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant })),
      ),
    );
    const tokens = new Set(results.map((r) => success(r).access_token));
    // A waiter takes the expired lease and sends; the others find its token, or, once they have
    // waited leaseMs themselves, send their own: at most one request per instance, never a hang.
    const requests = tokenRequestsOf(emulator, tenant);
    console.info(`dead holder: 4 waiting instances x 3 callers sent ${requests} token request(s)`);
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(4);
    expect(tokens.size).toBeLessThanOrEqual(requests);
    expect(tokens).toContain(accessTokenSecrets(await view.hGet(storeKey, "d"))[0]);
    stopHolder.abort(new Error("the holder's process is gone"));
    expect(await holderCall).toBeInstanceOf(Error);
  });

  describe.each(["cluster", "single"] as const)("contention on %s Redis", (backend) => {
    const INSTANCES = 8;
    const CALLERS = 6;

    it(`${INSTANCES} instances x ${CALLERS} callers miss 3 app partitions at once: 1 token request per partition`, async () => {
      const prefix = `cc-${backend}:`;
      const tenants = [tenantId(24), tenantId(25), tenantId(26)];
      const instances = await Promise.all(
        Array.from({ length: INSTANCES }, () => daemon(backend, { keyPrefix: prefix })),
      );
      const results = await Promise.all(
        instances.flatMap((instance) =>
          tenants.flatMap((tenant) =>
            Array.from({ length: CALLERS }, () =>
              instance.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }),
            ),
          ),
        ),
      );
      for (const [t, tenant] of tenants.entries()) {
        const ofTenant = results.filter((_, i) => Math.floor(i / CALLERS) % tenants.length === t);
        expect(new Set(ofTenant.map((r) => success(r).access_token)).size).toBe(1);
        expect(tokenRequestsOf(emulator, tenant)).toBe(1);
      }
      expect(emulator.requests("token")).toHaveLength(3);
    });

    it("without the lease (singleFlight: false) the same contention sends a request from each instance", async () => {
      const prefix = `nolease-${backend}:`;
      const tenant = tenantId(27);
      const instances = await Promise.all(
        Array.from({ length: INSTANCES }, () => daemon(backend, { keyPrefix: prefix, singleFlight: false })),
      );
      const results = await Promise.all(
        instances.flatMap((instance) =>
          Array.from({ length: CALLERS }, () =>
            instance.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }),
          ),
        ),
      );
      for (const result of results) success(result);
      const requests = tokenRequestsOf(emulator, tenant);
      console.info(`${backend}: ${INSTANCES} instances without the lease sent ${requests} token requests`);
      // In-process single-flight still holds each instance to one request.
      expect(requests).toBeGreaterThan(1);
      expect(requests).toBeLessThanOrEqual(INSTANCES);
    });

    it(`silent refresh: ${INSTANCES} instances x ${CALLERS} callers of one signed-in user send 1 refresh`, async () => {
      const prefix = `silent-${backend}:`;
      const alice = directoryUser(emulator, "alice@contoso.onmicrosoft.com");
      const publicApp = async () =>
        new PublicClientApplication(PUBLIC_APP_ID, {
          authority: `${emulator.url}/${tenantId(0)}`,
          validateAuthority: false,
          tokenCache: new DistributedTokenCache(redisPartitionStore(await connect(backend)), {
            keyPrefix: prefix,
          }),
        });
      const signIn = success(
        await (await publicApp()).acquireTokenByUsernamePassword(alice.username, alice.password, [
          "User.Read",
        ]),
      );
      const account = signIn.account;
      if (!account) throw new Error("The sign-in returned no account.");
      emulator.clearRequests();
      const apps = await Promise.all(Array.from({ length: INSTANCES }, publicApp));
      const scopes = resourceDefault(RESOURCE_APP_IDS[3] as string);
      const results = await Promise.all(
        apps.flatMap((app) =>
          Array.from(
            { length: CALLERS },
            () => app.acquireTokenSilent(scopes, account) as Promise<TokenResult>,
          ),
        ),
      );
      expect(new Set(results.map((r) => success(r).access_token)).size).toBe(1);
      const requests = emulator.requests("token");
      expect(requests).toHaveLength(1);
      expect(requests[0]?.form?.grant_type).toBe("refresh_token");
    });

    it(`on-behalf-of: ${INSTANCES} middle-tier instances x ${CALLERS} callers with one assertion send 1 request`, async () => {
      const prefix = `obo-${backend}:`;
      const alice = directoryUser(emulator, "alice@contoso.onmicrosoft.com");
      const assertion = await middleTierAssertion(emulator, alice);
      emulator.clearRequests();
      const registration = { clientId: MIDDLE_TIER_APP_ID, secret: MIDDLE_TIER_SECRET };
      const instances = await Promise.all(
        Array.from({ length: INSTANCES }, () => daemon(backend, { keyPrefix: prefix }, { registration })),
      );
      const results = await Promise.all(
        instances.flatMap((instance) =>
          Array.from({ length: CALLERS }, () =>
            instance.app.acquireTokenOnBehalfOf(assertion, ["https://graph.microsoft.com/User.Read"]),
          ),
        ),
      );
      expect(new Set(results.map((r) => success(r).access_token)).size).toBe(1);
      expect(emulator.requests("token")).toHaveLength(1);
    });
  });

  it("partitions stored under the untagged keys of earlier versions are read, and moved on the next write", async () => {
    const tenant = tenantId(30);
    const partitionKey = appPartition(DAEMON_APP_ID, tenant);
    // A partition as an earlier version stored it: `<prefix><partition key>`, no hash tag.
    const seed = await daemon("cluster", { keyPrefix: "seed:" });
    const earlier = success(await seed.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }));
    const contents = (await view.hGet(seed.cache.storeKey(partitionKey), "d")) as string;
    const legacyKey = `legacy:${partitionKey}`;
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    expect(await redisPartitionStore(view).compareAndSet(legacyKey, contents, undefined, expiresAt)).toBe(
      true,
    );
    emulator.clearRequests();

    const upgraded = await daemon("cluster", { keyPrefix: "legacy:" });
    const taggedKey = upgraded.cache.storeKey(partitionKey);
    expect(success(await upgraded.app.acquireTokenForClient(GRAPH_DEFAULT, { tenant }))).toMatchObject({
      token_source: "cache",
      access_token: earlier.access_token,
    });
    // A hit writes nothing: the partition stays where it was until it changes.
    expect(await view.exists(taggedKey)).toBe(0);
    const other = success(
      await upgraded.app.acquireTokenForClient(resourceDefault(RESOURCE_APP_IDS[0] as string), { tenant }),
    );
    expect(emulator.requests("token")).toHaveLength(1);
    expect(accessTokenSecrets(await view.hGet(taggedKey, "d")).sort()).toEqual(
      [earlier.access_token, other.access_token].sort(),
    );
    // The untagged copy is gone, so nothing removed later can come back from it.
    expect(await view.exists(legacyKey)).toBe(0);
  });

  it("a signed-in user's partition under an untagged key: the refresh token still works after the upgrade", async () => {
    const alice = directoryUser(emulator, "alice@contoso.onmicrosoft.com");
    const publicApp = async (keyPrefix: string) => {
      const cache = new DistributedTokenCache(redisPartitionStore(await cluster.connect()), { keyPrefix });
      const app = new PublicClientApplication(PUBLIC_APP_ID, {
        authority: `${emulator.url}/${tenantId(0)}`,
        validateAuthority: false,
        tokenCache: cache,
      });
      return { app, cache };
    };
    const before = await publicApp("seed-user:");
    const signIn = success(
      await before.app.acquireTokenByUsernamePassword(alice.username, alice.password, ["User.Read"]),
    );
    const account = signIn.account;
    if (!account) throw new Error("The sign-in returned no account.");
    const partitionKey = `user:${account.home_account_id}`;
    const contents = (await view.hGet(before.cache.storeKey(partitionKey), "d")) as string;
    const legacyKey = `old-user:${partitionKey}`;
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    expect(await redisPartitionStore(view).compareAndSet(legacyKey, contents, undefined, expiresAt)).toBe(
      true,
    );
    emulator.clearRequests();

    const after = await publicApp("old-user:");
    const refreshed = success(
      (await after.app.acquireTokenSilent(["User.Read"], account, { forceRefresh: true })) as TokenResult,
    );
    expect(refreshed.token_source).toBe("identity_provider");
    const requests = emulator.requests("token");
    expect(requests.map((r) => r.form?.grant_type)).toEqual(["refresh_token"]);
    // The refreshed partition now lives under the tagged key; the untagged copy is gone.
    const moved = await view.hGet(after.cache.storeKey(partitionKey), "d");
    expect(accessTokenSecrets(moved)).toContain(refreshed.access_token);
    expect(Object.keys(JSON.parse(moved as string).RefreshToken ?? {})).toHaveLength(1);
    expect(await view.exists(legacyKey)).toBe(0);
  });

  it("a holder whose request fails: the others try in turn, each instance at most once, none hangs", async () => {
    const prefix = "fail:";
    const tenant = tenantId(31);
    const instances = await Promise.all(
      Array.from({ length: 4 }, () => daemon("cluster", { keyPrefix: prefix })),
    );
    // An app the directory does not have: the identity provider refuses every request for it.
    const unknown = ["6e000000-0000-4000-8000-000000000001/.default"];
    const results = await Promise.all(
      instances.flatMap((instance) =>
        Array.from({ length: 3 }, () => instance.app.acquireTokenForClient(unknown, { tenant })),
      ),
    );
    const errors = new Set(results.map((r) => r.error));
    expect(errors.size).toBe(1);
    expect([...errors][0]).toBeTypeOf("string");
    const requests = tokenRequestsOf(emulator, tenant);
    expect(requests).toBeGreaterThanOrEqual(1);
    expect(requests).toBeLessThanOrEqual(4);
  });

  it("bad single-flight options are refused with a ConfigurationError naming the option", async () => {
    const store = redisPartitionStore(view);
    const refusal = (options: DistributedTokenCacheOptions) => {
      try {
        new DistributedTokenCache(store, options);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        return { option: (error as ConfigurationError).option, message: (error as Error).message };
      }
      throw new Error("the options were accepted");
    };
    expect(refusal({ leaseMs: 0 })).toEqual({
      option: "leaseMs",
      message: "leaseMs must be a positive number of milliseconds, not 0.",
    });
    expect(refusal({ leaseMs: Number.NaN })).toEqual({
      option: "leaseMs",
      message: "leaseMs must be a positive number of milliseconds, not NaN.",
    });
    expect(refusal({ singleFlight: "yes" as unknown as boolean })).toEqual({
      option: "singleFlight",
      message: "singleFlight must be true or false, not yes.",
    });
    // Without leases in the store, the cache has no coordination hook: flows send directly.
    const { acquireLease: _a, releaseLease: _r, ...leaseless } = store;
    expect(new DistributedTokenCache(leaseless).plugin.coordinateRequest).toBeUndefined();
    expect(
      new DistributedTokenCache(store, { singleFlight: false }).plugin.coordinateRequest,
    ).toBeUndefined();
    expect(new DistributedTokenCache(store).plugin.coordinateRequest).toBeTypeOf("function");
  });
});

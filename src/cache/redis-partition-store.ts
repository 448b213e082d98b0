/**
 * A `PartitionStore` over Redis (node-redis v5, single node or cluster): each partition is a hash
 * with its JSON (`d`) and a version (`v`); writes are a compare-and-set in a Lua script, so the
 * app's shared client works without a connection per transaction. Leases (cross-instance
 * single-flight) are `SET NX PX` keys released by a compare-and-delete script.
 */
import type { PartitionStore } from "./distributed-token-cache.js";

/** The options node-redis v5 takes with `EVAL` and `EVALSHA`. */
export interface RedisScriptArguments {
  /** The script's `KEYS`: here the one partition key. */
  keys: string[];
  /** The script's `ARGV`. */
  arguments: string[];
}

/**
 * What {@link redisPartitionStore} uses of a Redis client: the methods of a node-redis v5 client
 * (`createClient()` or `createCluster()`) of these names. Any client with the same three methods
 * fits.
 */
export interface RedisPartitionClient {
  /** `HMGET key field...`: the values of the fields, `null` for those not set. */
  hmGet(key: string, fields: string[]): Promise<ReadonlyArray<unknown>>;
  /** `EVALSHA`: runs a script Redis already has; rejects with a `NOSCRIPT` error when it does not. */
  evalSha(sha1: string, options: RedisScriptArguments): Promise<unknown>;
  /** `EVAL`: sends and runs a script (Redis keeps it for later `EVALSHA` calls). */
  eval(script: string, options: RedisScriptArguments): Promise<unknown>;
  /**
   * `SET key value NX PX ms`, for leases: resolves `"OK"` when the key was set, `null` when it
   * exists. Optional: without it the store has no leases (no cross-instance single-flight).
   */
  set?(
    key: string,
    value: string,
    options: { condition: "NX"; expiration: { type: "PX"; value: number } },
  ): Promise<unknown>;
}

/**
 * Compare-and-set of a partition hash (`d`: the contents, `v`: the version), atomic because Redis
 * runs a script without interleaving other commands. KEYS[1]: the partition; ARGV: the expected
 * version (`""`: no partition), the new version, the contents (`""`: delete), the expiry (epoch s).
 */
export const REDIS_COMPARE_AND_SET_SCRIPT = `local current = redis.call('HGET', KEYS[1], 'v')
if not current then current = '' end
if current ~= ARGV[1] then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'd', ARGV[3], 'v', ARGV[2])
redis.call('EXPIREAT', KEYS[1], ARGV[4])
return 1`;

/**
 * Releases a lease only if this owner still holds it (it may have expired and been taken by
 * another instance, whose lease must stay). KEYS[1]: the lease; ARGV[1]: the owner.
 */
export const REDIS_RELEASE_LEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * A {@link PartitionStore} over Redis with a node-redis v5 client (connected; a cluster client
 * works too: each call uses one key). A partition is a hash with the contents in field `d` and a
 * random version in field `v`, read with `HMGET`. Writes use optimistic concurrency through a Lua
 * script ({@link REDIS_COMPARE_AND_SET_SCRIPT}, sent with `EVALSHA`, and with `EVAL` when Redis
 * does not have it yet) that compares the version, writes the contents and a new version, and sets
 * `EXPIREAT`, atomically. Unlike `WATCH`/`MULTI`/`EXEC`, it needs no connection of its own per
 * write, so the app's shared client serves any number of concurrent calls.
 *
 * With a client that has `set` (node-redis does), the store also has leases for
 * {@link DistributedTokenCache}'s cross-instance single-flight: `SET lease owner NX PX ms` takes
 * one, {@link REDIS_RELEASE_LEASE_SCRIPT} releases it only for its owner. On a Redis Cluster
 * (`createCluster()`), every command names one key, and the cache's keys are hash-tagged so that a
 * partition and its lease share a slot.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 *
 * const redis = await createClient({ url: "redis://cache.internal:6379" }).connect();
 * const tokenCache = new DistributedTokenCache(redisPartitionStore(redis));
 * ```
 */
export function redisPartitionStore(client: RedisPartitionClient): PartitionStore {
  const runner = (script: string) => {
    let sha: Promise<string> | undefined;
    return async (args: RedisScriptArguments): Promise<unknown> => {
      sha ??= sha1Hex(script);
      try {
        return await client.evalSha(await sha, args);
      } catch (error) {
        if (!String((error as { message?: unknown } | null)?.message ?? error).startsWith("NOSCRIPT"))
          throw error;
        return client.eval(script, args);
      }
    };
  };
  const runScript = runner(REDIS_COMPARE_AND_SET_SCRIPT);
  const releaseScript = runner(REDIS_RELEASE_LEASE_SCRIPT);
  const set = client.set?.bind(client);
  const leases: Pick<PartitionStore, "acquireLease" | "releaseLease"> = set
    ? {
        async acquireLease(key, owner, ttlMs) {
          const reply = await set(key, owner, {
            condition: "NX",
            expiration: { type: "PX", value: Math.max(1, Math.ceil(ttlMs)) },
          });
          return reply === "OK";
        },
        async releaseLease(key, owner) {
          await releaseScript({ keys: [key], arguments: [owner] });
        },
      }
    : {};
  return {
    ...leases,
    async get(key) {
      const [value, version] = await client.hmGet(key, ["d", "v"]);
      if (typeof value !== "string") return undefined;
      return { value, version: typeof version === "string" ? version : "" };
    },
    async compareAndSet(key, value, expectedVersion, expiresAtEpochSeconds) {
      const reply = await runScript({
        keys: [key],
        arguments: [
          expectedVersion ?? "",
          crypto.randomUUID(),
          value ?? "",
          String(Math.ceil(expiresAtEpochSeconds)),
        ],
      });
      return Number(reply) === 1;
    },
  };
}

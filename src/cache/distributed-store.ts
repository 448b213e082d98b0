/**
 * What a {@link DistributedTokenCache} needs of a key-value store ({@link PartitionStore}), its
 * options, and their checks. Portable: no Node.js built-ins.
 */
import { ConfigurationError } from "../errors.js";
import type { TokenCacheOptions } from "./queries.js";

/** A partition as a store holds it: its contents (JSON) and a version that changes with every write. */
export interface StoredPartition {
  /** The partition's entries as unified MSAL cache JSON. */
  value: string;
  /** Opaque; a store gives every write a new one (never reusing one, so a compare cannot be fooled). */
  version: string;
}

/**
 * The little a {@link DistributedTokenCache} needs of a key-value store: read a key with its
 * version, and write it only if the version is still the one read (optimistic concurrency).
 * {@link redisPartitionStore} implements it for Redis; any store with a conditional write fits
 * (DynamoDB condition expressions, Cosmos DB ETags, SQL `UPDATE ... WHERE version = ?`).
 *
 * @example
 * ```ts
 * // A store for tests or a single process: a Map with versions.
 * const data = new Map<string, StoredPartition & { expiresAt: number }>();
 * const store: PartitionStore = {
 *   async get(key) {
 *     const hit = data.get(key);
 *     return hit && hit.expiresAt > Date.now() / 1000 ? hit : undefined;
 *   },
 *   async compareAndSet(key, value, expectedVersion, expiresAt) {
 *     if ((await this.get(key))?.version !== expectedVersion) return false;
 *     if (value === undefined) data.delete(key);
 *     else data.set(key, { value, version: crypto.randomUUID(), expiresAt });
 *     return true;
 *   },
 * };
 * ```
 */
export interface PartitionStore {
  /** The partition stored under `key`, or `undefined` when there is none (or it expired). */
  get(key: string): Promise<StoredPartition | undefined>;
  /**
   * Atomically: if the version stored under `key` is `expectedVersion` (`undefined`: no partition
   * is stored), store `value` under a new version, to expire at `expiresAtEpochSeconds` (or delete
   * the key when `value` is `undefined`), and resolve `true`; otherwise change nothing and resolve
   * `false`.
   */
  compareAndSet(
    key: string,
    value: string | undefined,
    expectedVersion: string | undefined,
    expiresAtEpochSeconds: number,
  ): Promise<boolean>;
  /**
   * Optional, for cross-instance single-flight: atomically create `key` holding `owner`, to expire
   * after `ttlMs`, unless it exists; resolve whether it was created (Redis: `SET key owner NX PX
   * ttlMs`).
   */
  acquireLease?(key: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Optional, with `acquireLease`: delete `key` if it still holds `owner` (and only then). */
  releaseLease?(key: string, owner: string): Promise<void>;
}

/**
 * Options of a {@link DistributedTokenCache}: those of {@link TokenCacheOptions} but `plugin` (it is its own
 * plugin), and these.
 */
export interface DistributedTokenCacheOptions extends Omit<TokenCacheOptions, "plugin"> {
  /** Put before every partition key to make the store's key (default `"msal-ts:"`). */
  keyPrefix?: string;
  /** Writes of one partition tried before giving up with `distributed_cache_conflict` (default 5). */
  maxAttempts?: number;
  /**
   * How long a refresh token lives after it was written, for the partition's expiry (default 90
   * days, Entra's sliding lifetime). Responses do not say; set what your tenant's policy is.
   */
  refreshTokenLifetimeSeconds?: number;
  /**
   * Cross-instance single-flight (default `true`, with a store that has leases): when instances
   * miss one partition at once, one sends the token request and the others wait for its tokens.
   */
  singleFlight?: boolean;
  /**
   * How long a lease lasts, in milliseconds, and the longest a waiter waits for its holder before
   * sending its own request (default 5,000). Longer than a token request takes, retries included.
   */
  leaseMs?: number;
}

const DEFAULT_KEY_PREFIX = "msal-ts:";
const DEFAULT_MAX_ATTEMPTS = 5;
const DEFAULT_REFRESH_TOKEN_LIFETIME = 90 * 24 * 3600;
const DEFAULT_LEASE_MS = 5_000;
/** The options of a {@link DistributedTokenCache}, checked, with their defaults. */
export interface DistributedSettings {
  keyPrefix: string;
  maxAttempts: number;
  refreshTokenLifetime: number;
  singleFlight: boolean;
  leaseMs: number;
}

/** Checks a {@link DistributedTokenCache}'s store and options; the rest are the token cache's. */
export function distributedSettings(
  store: PartitionStore,
  options: DistributedTokenCacheOptions,
): { settings: DistributedSettings; cacheOptions: Omit<TokenCacheOptions, "plugin"> } {
  const { keyPrefix, maxAttempts, refreshTokenLifetimeSeconds, singleFlight, leaseMs, ...cacheOptions } =
    options;
  if (typeof store?.get !== "function" || typeof store.compareAndSet !== "function") {
    throw new ConfigurationError(
      "store",
      "DistributedTokenCache needs a PartitionStore (get and compareAndSet), such as redisPartitionStore(client).",
    );
  }
  const attempts = maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new ConfigurationError(
      "maxAttempts",
      `maxAttempts must be a whole number of at least 1, not ${attempts}.`,
    );
  }
  const lifetime = refreshTokenLifetimeSeconds ?? DEFAULT_REFRESH_TOKEN_LIFETIME;
  if (!Number.isFinite(lifetime) || lifetime <= 0) {
    throw new ConfigurationError(
      "refreshTokenLifetimeSeconds",
      `refreshTokenLifetimeSeconds must be a positive number of seconds, not ${lifetime}.`,
    );
  }
  if (singleFlight !== undefined && typeof singleFlight !== "boolean") {
    throw new ConfigurationError(
      "singleFlight",
      `singleFlight must be true or false, not ${String(singleFlight)}.`,
    );
  }
  const lease = leaseMs ?? DEFAULT_LEASE_MS;
  if (!Number.isFinite(lease) || lease <= 0) {
    throw new ConfigurationError(
      "leaseMs",
      `leaseMs must be a positive number of milliseconds, not ${lease}.`,
    );
  }
  return {
    cacheOptions,
    settings: {
      keyPrefix: keyPrefix ?? DEFAULT_KEY_PREFIX,
      maxAttempts: attempts,
      refreshTokenLifetime: lifetime,
      singleFlight: singleFlight ?? true,
      leaseMs: lease,
    },
  };
}

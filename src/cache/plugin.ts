/**
 * Cache persistence as a plugin with two hooks, called by every flow around its cache reads and
 * writes: `beforeCacheAccess` loads (and may lock), `afterCacheAccess` saves when the access
 * changed the cache (and unlocks). `partitionKey` says which part of the cache the call needs, so a
 * distributed store reads and writes only that part.
 */
import type { TokenCache } from "./token-cache.js";

/** What a {@link CachePlugin} hook is told about the cache access it wraps. */
export interface CacheAccessContext {
  /** The cache being read or written: load into it before, save it after. */
  cache: TokenCache;
  /** In `afterCacheAccess`: whether this access changed the cache. */
  hasChanged: boolean;
  /**
   * The part of the cache the call needs: `user:<home_account_id>`, `app:<client_id>:<tenant>` or
   * `obo:<assertion hash>`; `undefined` when it needs the whole cache (listing accounts).
   */
  partitionKey: string | undefined;
}

/**
 * Persistence for a token cache: two hooks every flow calls around its cache reads and writes.
 *
 * @example
 * ```ts
 * const plugin: CachePlugin = {
 *   async beforeCacheAccess({ cache }) { (cache as SerializableTokenCache).deserialize((await load()) ?? ""); },
 *   async afterCacheAccess({ cache, hasChanged }) { if (hasChanged) await save((cache as SerializableTokenCache).serialize()); },
 * };
 * const app = new PublicClientApplication(id, { tokenCache: new SerializableTokenCache({ plugin }) });
 * ```
 */
export interface CachePlugin {
  /**
   * Called before the cache is read: load the stored cache into `context.cache` (and take a lock if writers
   * share it).
   */
  beforeCacheAccess(context: CacheAccessContext): void | Promise<void>;
  /**
   * Called after the access, even when it failed: save `context.cache` when `context.hasChanged` (and release
   * the lock).
   */
  afterCacheAccess(context: CacheAccessContext): void | Promise<void>;
  /**
   * Optional: called by the flows around the token request of a cache miss (client credentials,
   * a silent refresh, on-behalf-of), so that app instances sharing a store can send one request per
   * partition between them. Run `request.send()` (which saves its tokens through the two hooks
   * before it resolves), or wait for another instance's and resolve with `request.lookupAgain()`
   * when that finds a token. Without this hook the flows call `send()` directly.
   * {@link DistributedTokenCache} implements it with a lease in its store.
   */
  coordinateRequest?<T>(request: CoordinatedRequest<T>): Promise<T>;
}

/**
 * What {@link CachePlugin.coordinateRequest} is given: a token request of a cache miss.
 *
 * @example
 * ```ts
 * // Misses of one partition take turns; a later one first looks for what the earlier one saved.
 * const running = new Map<string, Promise<unknown>>();
 * const plugin: CachePlugin = {
 *   beforeCacheAccess() {},
 *   afterCacheAccess() {},
 *   async coordinateRequest<T>(request: CoordinatedRequest<T>): Promise<T> {
 *     const earlier = running.get(request.partitionKey);
 *     if (earlier) {
 *       await earlier.catch(() => {});
 *       const found = await request.lookupAgain();
 *       if (found !== undefined) return found;
 *     }
 *     const sent = request.send();
 *     running.set(request.partitionKey, sent);
 *     try {
 *       return await sent;
 *     } finally {
 *       if (running.get(request.partitionKey) === sent) running.delete(request.partitionKey);
 *     }
 *   },
 * };
 * ```
 */
export interface CoordinatedRequest<T> {
  /** The partition the request's tokens are saved in. */
  partitionKey: string;
  /**
   * What tells this request from others of the partition (grant, authority, scopes, claims…):
   * requests of one partition with different keys do not wait for each other.
   */
  requestKey: string;
  /** Sends the request and saves its tokens (through the cache hooks) before it resolves. */
  send(): Promise<T>;
  /** The cache lookup of the call again (through the cache hooks): a usable token, or `undefined`. */
  lookupAgain(): Promise<T | undefined>;
  /** The call's signal: a wait ends with it. */
  signal?: AbortSignal;
}

/**
 * Sends a miss's token request through the cache's {@link CachePlugin.coordinateRequest}, or
 * directly without one.
 */
export function coordinatedRequest<T>(cache: TokenCache, request: CoordinatedRequest<T>): Promise<T> {
  const plugin = cache.plugin;
  return plugin?.coordinateRequest ? plugin.coordinateRequest(request) : request.send();
}

/** Runs `work` between the cache's hooks; the after hook runs even when `work` throws. */
export async function withCacheAccess<T>(
  cache: TokenCache,
  partitionKey: string | undefined,
  work: () => T | Promise<T>,
): Promise<T> {
  const plugin = cache.plugin;
  if (!plugin) return work();
  const context: CacheAccessContext = { cache, hasChanged: false, partitionKey };
  await plugin.beforeCacheAccess(context);
  const before = cache.changes;
  try {
    return await work();
  } finally {
    context.hasChanged = cache.changes !== before;
    await plugin.afterCacheAccess(context);
  }
}

/** The {@link CacheAccessContext.partitionKey} of a user's tokens: `user:<home_account_id>`. */
export const userPartition = (homeAccountId: string): string => `user:${homeAccountId}`;
/**
 * The {@link CacheAccessContext.partitionKey} of an app's own tokens (client credentials):
 * `app:<client_id>:<tenant>`, lower-cased.
 */
export const appPartition = (clientId: string, tenant: string): string =>
  `app:${clientId}:${tenant}`.toLowerCase();
/** The {@link CacheAccessContext.partitionKey} of on-behalf-of tokens: `obo:<assertion hash>`. */
export const oboPartition = (assertionHash: string): string => `obo:${assertionHash}`;

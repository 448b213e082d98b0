/**
 * A token cache kept in a store: a {@link SerializableTokenCache} whose persistence plugin every
 * flow calls around its cache reads and writes. Portable: the store (a file on Node.js, or any
 * {@link CachePlugin}) is given to it.
 */
import type { CachePlugin } from "./plugin.js";
import type { TokenCacheOptions } from "./queries.js";
import { SerializableTokenCache } from "./serializable-token-cache.js";

/**
 * A token cache persisted by a {@link CachePlugin}: loaded before and saved after every cache
 * access of every flow, so that apps and processes sharing the store share their sign-ins.
 *
 * @example
 * ```ts
 * import { FilePersistence, PersistedTokenCache, PublicClientApplication } from "msal-ts";
 *
 * const tokenCache = new PersistedTokenCache(new FilePersistence(`${homedir()}/.myapp/msal_token_cache.json`));
 * const app = new PublicClientApplication(clientId, { tokenCache });
 * const [account] = await app.getAccounts(); // the accounts of earlier runs
 * ```
 *
 * @example Any store, through your own plugin
 * ```ts
 * const tokenCache = new PersistedTokenCache({
 *   async beforeCacheAccess({ cache }) { (cache as PersistedTokenCache).deserialize((await store.get("cache")) ?? ""); },
 *   async afterCacheAccess({ cache, hasChanged }) { if (hasChanged) await store.set("cache", (cache as PersistedTokenCache).serialize()); },
 * });
 * ```
 */
export class PersistedTokenCache extends SerializableTokenCache {
  /** The persistence this cache was given (also its `plugin`). */
  readonly persistence: CachePlugin;

  constructor(persistence: CachePlugin, options: Omit<TokenCacheOptions, "plugin"> = {}) {
    super({ ...options, plugin: persistence });
    this.persistence = persistence;
  }
}

/**
 * `FilePersistence` in the portable entry (Bun, Deno, Workers, browsers): the Node entry's file
 * persistence needs `node:fs` and a cross-process lock, which these runtimes either lack or
 * provide differently, so the name exists here only to fail with a {@link ConfigurationError}
 * that says what to use instead, rather than as `undefined is not a constructor`.
 */
import { ConfigurationError } from "../errors.js";
import type { CachePlugin } from "./plugin.js";

/**
 * Unavailable outside Node.js: constructing it throws a {@link ConfigurationError} (`option`
 * `tokenCache`). Keep the cache in your runtime's storage with a {@link CachePlugin} instead.
 *
 * @example A cache plugin over a Workers KV namespace (or Deno KV, a Bun file, a database)
 * ```ts
 * import { SerializableTokenCache, type CachePlugin } from "msal-ts";
 *
 * const plugin: CachePlugin = {
 *   async beforeCacheAccess({ cache }) {
 *     (cache as SerializableTokenCache).deserialize((await env.TOKEN_CACHE.get("msal")) ?? "");
 *   },
 *   async afterCacheAccess({ cache, hasChanged }) {
 *     if (hasChanged) await env.TOKEN_CACHE.put("msal", (cache as SerializableTokenCache).serialize());
 *   },
 * };
 * const tokenCache = new SerializableTokenCache({ plugin });
 * ```
 */
export class FilePersistence implements CachePlugin {
  constructor(_path: string, _options: object = {}) {
    throw new ConfigurationError(
      "tokenCache",
      'FilePersistence needs the Node entry of msal-ts (import from "msal-ts" on Node.js); in this runtime keep the cache with a CachePlugin over its own storage (a KV namespace, Deno KV, a file you write).',
    );
  }

  beforeCacheAccess(): never {
    throw new ConfigurationError("tokenCache", "FilePersistence is not available outside Node.js.");
  }

  afterCacheAccess(): never {
    throw new ConfigurationError("tokenCache", "FilePersistence is not available outside Node.js.");
  }
}

/** Options of the token cache and the shapes of its lookups. */
import type { CachePlugin } from "./plugin.js";
import type { AccessTokenEntity } from "./schema.js";

export interface TokenCacheOptions {
  /** Keep at most this many access tokens; the least recently used go first. */
  maxAccessTokens?: number;
  /**
   * What app tokens (client credentials: no account) store as `home_account_id`. `null`, the
   * default, is what MSAL Python writes, and MSAL Python finds an app token only when it is `null`.
   * msal-node (its msal-common, so msal-browser too) writes `""` and finds an app token only when it
   * is `""`: set `""` when msal-node is to read the cache. No single value serves both. User tokens
   * do not depend on it, and `findAccessToken` finds app tokens stored either way.
   */
  appTokenHomeAccountId?: null | "";
  /** Persistence: hooks every flow calls around its cache reads and writes. */
  plugin?: CachePlugin;
}

/** What identifies an access token; `scopes` must be a subset of the cached target. */
export interface AccessTokenQuery {
  clientId: string;
  /** `null` for app tokens (client credentials); finds those stored with `null` (MSAL Python) or `""` (msal-node). */
  homeAccountId: string | null;
  environment: string;
  realm: string;
  scopes: readonly string[];
  keyId?: string;
  /** Find on-behalf-of tokens by the hash of the user assertion (`homeAccountId` is then ignored). */
  userAssertionHash?: string;
  /** Skip tokens that expire within this many seconds (MSAL refreshes 5 minutes early). */
  minValiditySeconds?: number;
  /**
   * For a caller that repeats lookups with the same client, account (or assertion hash),
   * environment and realm, such as an app asking for its own tokens: an object it keeps (start
   * with `{}`) and passes again with every such lookup, where the cache remembers where those
   * tokens are. Never share one between lookups that differ in those fields.
   */
  slot?: AccessTokenSlot;
}

/**
 * See {@link AccessTokenQuery.slot}; its contents belong to the cache.
 *
 * @example
 * ```ts
 * const slot: AccessTokenSlot = {}; // one per client, account, environment and realm
 * const query = { clientId, homeAccountId: null, environment, realm, scopes: [scope], slot };
 * const token = cache.findAccessToken(query); // later lookups with this slot skip the bucket search
 * ```
 */
export interface AccessTokenSlot {
  bucket?: unknown;
  generation?: number;
}

/** An access token as a lookup found it, with its expiry (epoch seconds) already parsed. */
export interface AccessTokenHit {
  readonly entry: AccessTokenEntity;
  readonly expiresOn: number;
}

export interface RefreshTokenQuery {
  homeAccountId: string;
  environment: string;
  clientId?: string;
  familyId?: string;
}

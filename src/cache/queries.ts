/** Options of the token cache and the shapes of its lookups. */
import type { CachePlugin } from "./plugin.js";
import type { AccessTokenEntity } from "./schema.js";

/** Options of a {@link TokenCache} and its subclasses. */
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
  /**
   * Whether `environment` keeps the authority's port. MSAL Python writes the host name alone
   * (`localhost`), the default; msal-node writes host and port (`localhost:8443`) and finds its
   * entries only so: set `true` when msal-node is to read the cache of an authority on a port other
   * than 443 (an emulator, a test server). On port 443 both write the host name. Lookups find
   * entries written either way.
   */
  environmentWithPort?: boolean;
  /** Persistence: hooks every flow calls around its cache reads and writes. */
  plugin?: CachePlugin;
}

/** What identifies an access token; `scopes` must be a subset of the cached target. */
export interface AccessTokenQuery {
  /** The application (client) id the token was issued to. */
  clientId: string;
  /** `null` for app tokens (client credentials); finds those stored with `null` (MSAL Python) or `""` (msal-node). */
  homeAccountId: string | null;
  /** The authority's host, e.g. `login.microsoftonline.com`; known aliases of it match too. */
  environment: string;
  /** The realm the token was cached under (see {@link AccessTokenEntity.realm}). */
  realm: string;
  /** The scopes the token must have (a subset of its cached `target`). */
  scopes: readonly string[];
  /**
   * Proof-of-possession or SSH certificate key id: only tokens bound to this key match. Without it only
   * tokens bound to no key match, so a Bearer request never gets a PoP token or an SSH certificate.
   */
  keyId?: string;
  /** `pop`: look among proof-of-possession tokens (`token_type` `pop`), which Bearer lookups never see. */
  tokenType?: "pop";
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
  /** Where the cache found these tokens last time (the cache's own bookkeeping: leave it alone). */
  bucket?: unknown;
  /** Which version of the cache {@link AccessTokenSlot.bucket} belongs to (the cache's own bookkeeping). */
  generation?: number;
}

/** An access token as a lookup found it, with its expiry (epoch seconds) already parsed. */
export interface AccessTokenHit {
  /** The cached entry. */
  readonly entry: AccessTokenEntity;
  /** When the token expires, in epoch seconds. */
  readonly expiresOn: number;
}

/** What identifies the refresh tokens of an account: the client's own, or its FOCI family's. */
export interface RefreshTokenQuery {
  /** The account's `home_account_id` (`<uid>.<utid>`). */
  homeAccountId: string;
  /** The authority's host, e.g. `login.microsoftonline.com`; known aliases of it match too. */
  environment: string;
  /** Only refresh tokens issued to this application (client) id. */
  clientId?: string;
  /** Only refresh tokens of this FOCI family (`1`), whichever family client they were issued to. */
  familyId?: string;
}

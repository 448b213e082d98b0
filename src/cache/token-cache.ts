/**
 * The token cache: the unified MSAL schema in maps, with indexes so that every lookup is O(1) in
 * the size of the cache (it touches only one bucket: one client, account, environment and realm);
 * after a load, the first few lookups read only their part of a section and the next builds the
 * indexes (src/cache/index-state.ts).
 * Entries are stored as given, so fields and sections this library does not know survive a round
 * trip. Expired access tokens are removed as lookups meet them; `maxAccessTokens` bounds memory by
 * evicting the least recently used access tokens.
 */
import { findAccountEntries } from "./account-lookup.js";
import { type EntityOptions, entitiesFromEvent, type TokenCacheEvent } from "./event.js";
import { IndexState, LAZY_LOOKUPS } from "./index-state.js";
import {
  accessTokenBucketKey,
  accountBucketKey,
  appMetadataIndexKey,
  type CacheIndexes,
  containsAll,
  type IndexedAccessToken,
  idTokenIndexKey,
  normalisedTarget,
  oboOwner,
  popOwner,
} from "./indexes.js";
import { type Fields, ofAccessTokenBucket, ofAccount, partialIndexes } from "./lazy-indexes.js";
import type { CachePlugin } from "./plugin.js";
import type {
  AccessTokenHit,
  AccessTokenQuery,
  AccessTokenSlot,
  RefreshTokenQuery,
  TokenCacheOptions,
} from "./queries.js";
import {
  type AccessTokenEntity,
  type AccountEntity,
  type AppMetadataEntity,
  type CacheSections,
  type EntityOf,
  emptySections,
  type IdTokenEntity,
  KEY_MAKERS,
  type RefreshTokenEntity,
  SECTIONS,
  type Section,
} from "./schema.js";
import { storedByIdentity, storedTwins } from "./twins.js";
import { expirySeconds } from "./validation.js";

export type { AccessTokenHit, AccessTokenQuery, AccessTokenSlot, RefreshTokenQuery, TokenCacheOptions };

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

type Sections = CacheSections;

const anyEntry = (): boolean => true;

/**
 * The in-memory token cache. Flows write to it with {@link TokenCache.add} and read it with the
 * `find*` methods; {@link SerializableTokenCache} adds persistence.
 *
 * @example
 * ```ts
 * const cache = new TokenCache();
 * cache.add({ clientId, scopes, tokenEndpoint, response });
 * const hit = cache.findAccessToken({ clientId, homeAccountId: null, environment, realm, scopes });
 * ```
 */
export class TokenCache {
  protected sections: Sections = emptySections();
  /** Top-level sections this library does not know, kept for round trips. */
  protected otherSections = new Map<string, unknown>();
  /** Section order as read, so a round trip writes them back in the same order. */
  protected sectionOrder: string[] = [];
  protected stateChanged = false;
  /** Grows with every write and removal: cache access hooks compare it to tell whether an access changed the cache. */
  protected changeCount = 0;
  /** Storage keys (`section\nkey`) removed while a journal is open, for merges on write. */
  #removed: Set<string> | undefined;
  /** Persistence hooks, called by every flow around its cache reads and writes. */
  readonly plugin: CachePlugin | undefined;
  readonly #recency = new Map<string, true>();
  /** The key last made most recent, and the index build it was made in (a build refills the order). */
  #mostRecent: string | undefined;
  #mostRecentBuild = -1;
  readonly #ix: IndexState;
  readonly #maxAccessTokens: number | undefined;
  /** How entries are written where the peers differ (`appTokenHomeAccountId`, `environmentWithPort`). */
  readonly #entityOptions: EntityOptions;

  constructor(options: TokenCacheOptions = {}) {
    this.#maxAccessTokens = options.maxAccessTokens;
    this.#ix = new IndexState(
      () => this.sections,
      options.maxAccessTokens === undefined ? undefined : this.#recency,
    );
    this.plugin = options.plugin;
    this.#entityOptions = {
      appTokenHomeAccountId: options.appTokenHomeAccountId ?? null,
      environmentWithPort: options.environmentWithPort ?? false,
    };
  }

  /** Writes the entities of a token response (access token, refresh token, id_token, account, app metadata). */
  add(event: TokenCacheEvent, now: number = nowSeconds()): void {
    const entities = entitiesFromEvent(event, now, this.#entityOptions);
    // Before the indexes are built, each twin search reads the part of its section it needs.
    const lazy = this.#ix.lazy();
    const ix = (section: Section, keep: (e: Fields) => boolean) =>
      lazy ? partialIndexes(this.sections, section, keep) : this.#ix.full();
    const { accessToken: at, account, idToken, refreshToken: rt, appMetadata } = entities;
    if (at)
      this.#replace(
        "AccessToken",
        at,
        ix("AccessToken", ofAccessTokenBucket(at.client_id, at.home_account_id, at.realm)),
      );
    if (account) this.#replace("Account", account, ix("Account", ofAccount(account.home_account_id)));
    if (idToken) this.#replace("IdToken", idToken, ix("IdToken", ofAccount(idToken.home_account_id)));
    if (rt) this.#replace("RefreshToken", rt, ix("RefreshToken", ofAccount(rt.home_account_id)));
    this.#replace("AppMetadata", appMetadata, ix("AppMetadata", anyEntry));
    this.stateChanged = true;
  }

  /**
   * Stores a new entity in place of the one it supersedes, even when another library stored that one
   * under a key of its own format (msal-node adds segments to its keys). Leaving both would make
   * msal-node see two matches, drop both and go back to the server.
   */
  #replace<S extends Section>(section: S, entity: EntityOf[S], ix: CacheIndexes): void {
    const twins = storedTwins(ix, this.sections, section, entity);
    const key = this.put(section, entity);
    for (const twin of twins) if (twin !== key) this.remove(section, twin);
  }

  /** Stores an entity under the key its fields make, replacing what was there. */
  put<S extends Section>(section: S, entity: EntityOf[S]): string {
    const key = (KEY_MAKERS[section] as (e: EntityOf[S]) => string)(entity);
    this.store(section, key, entity);
    return key;
  }

  /**
   * The first access token that matches, is unexpired and is valid for `minValiditySeconds` more.
   * Expired tokens met on the way are removed.
   */
  findAccessToken(query: AccessTokenQuery, now: number = nowSeconds()): AccessTokenEntity | undefined {
    return this.findAccessTokenHit(query, now)?.entry;
  }

  /** Like {@link TokenCache.findAccessToken}, with the token's expiry already parsed (what the flows use). */
  findAccessTokenHit(query: AccessTokenQuery, now: number = nowSeconds()): AccessTokenHit | undefined {
    const plainOwner =
      query.userAssertionHash !== undefined ? oboOwner(query.userAssertionHash) : query.homeAccountId;
    const owner = query.tokenType === "pop" ? popOwner(plainOwner) : plainOwner;
    const bucket = this.#ix.lazy()
      ? partialIndexes(
          this.sections,
          "AccessToken",
          ofAccessTokenBucket(query.clientId, query.homeAccountId, query.realm),
        ).accessTokensByBucket.get(
          accessTokenBucketKey(query.clientId, owner, query.environment, query.realm),
        )
      : this.#ix.buckets.find(this.#ix.current, query, owner);
    if (bucket === undefined) return undefined;
    const deadline = now + (query.minValiditySeconds ?? 0);
    const exact = bucket.get(normalisedTarget(query.scopes));
    if (exact !== undefined && this.#usable(exact, query, now, deadline)) return exact;
    for (const record of bucket.byKey.values()) {
      if (record === exact || !containsAll(record.scopes, query.scopes)) continue;
      if (this.#usable(record, query, now, deadline)) return record;
    }
    return undefined;
  }

  #usable(record: IndexedAccessToken, query: AccessTokenQuery, now: number, deadline: number): boolean {
    if (record.expiresOn < now) {
      this.remove("AccessToken", record.key);
      return false;
    }
    // A lookup without a key id finds only tokens bound to no key (`key_id` absent).
    if (record.expiresOn < deadline || (record.entry.key_id ?? undefined) !== query.keyId) return false;
    if (this.#maxAccessTokens !== undefined) {
      this.#touch(record.key);
    }
    return true;
  }

  /** Refresh tokens of an account, newest first (by `last_modification_time`). */
  findRefreshTokens(query: RefreshTokenQuery): RefreshTokenEntity[] {
    const keys = this.#ix
      .for("RefreshToken", ofAccount(query.homeAccountId))
      .refreshTokensByAccount.get(accountBucketKey(query.homeAccountId, query.environment));
    if (!keys) return [];
    const found: RefreshTokenEntity[] = [];
    for (const key of keys) {
      const rt = this.sections.RefreshToken.get(key) as RefreshTokenEntity;
      if (query.clientId !== undefined && rt.client_id.toLowerCase() !== query.clientId.toLowerCase())
        continue;
      if (query.familyId !== undefined && rt.family_id !== query.familyId) continue;
      found.push(rt);
    }
    return found.sort(
      (a, b) => Number(b.last_modification_time ?? 0) - Number(a.last_modification_time ?? 0),
    );
  }

  /** The ID token of an account for one client and tenant, if cached. */
  findIdToken(query: {
    homeAccountId: string;
    environment: string;
    clientId: string;
    realm: string;
  }): IdTokenEntity | undefined {
    const key = this.#ix
      .for("IdToken", ofAccount(query.homeAccountId))
      .idTokens.get(idTokenIndexKey(query.homeAccountId, query.environment, query.clientId, query.realm));
    return key === undefined ? undefined : this.sections.IdToken.get(key);
  }

  /**
   * Accounts (one entry per tenant) of Entra (`MSSTS`) and ADFS types, optionally of one environment
   * group, one home account or one username (case-insensitive).
   */
  findAccounts(
    query: { environment?: string; homeAccountId?: string; username?: string } = {},
  ): AccountEntity[] {
    return findAccountEntries(this.sections.Account, this.#ix, query);
  }

  /** Every access token of an account in an environment group, across clients and realms. */
  findAccessTokensOfAccount(homeAccountId: string, environment: string): AccessTokenEntity[] {
    const keys =
      this.#ix
        .for("AccessToken", ofAccount(homeAccountId))
        .accessTokensByAccount.get(accountBucketKey(homeAccountId, environment)) ?? [];
    return [...keys].map((k) => this.sections.AccessToken.get(k) as AccessTokenEntity);
  }

  /** What the cache knows about a client in an environment (its FOCI family), if anything. */
  getAppMetadata(environment: string, clientId: string): AppMetadataEntity | undefined {
    const key = this.#ix
      .for("AppMetadata", anyEntry)
      .appMetadata.get(appMetadataIndexKey(environment, clientId));
    return key === undefined ? undefined : this.sections.AppMetadata.get(key);
  }

  /** Gives a refresh token a new secret after a refresh (MSAL's `update_rt`), keeping its key. */
  updateRefreshToken(entry: RefreshTokenEntity, newSecret: string, now: number = nowSeconds()): void {
    for (const [key, rt] of storedByIdentity(this.sections, "RefreshToken", entry)) {
      this.store("RefreshToken", key, { ...rt, secret: newSecret, last_modification_time: String(now) });
    }
  }

  /** Stores an entry under a given key, as read from a store (it may use another library's key format). */
  restore<S extends Section>(section: S, key: string, entity: EntityOf[S]): void {
    this.store(section, key, entity);
  }

  /** Removes the entry stored under `key`; returns whether there was one. */
  remove(section: Section, key: string): boolean {
    const map = this.sections[section] as Map<string, EntityOf[Section]>;
    const existing = map.get(key);
    if (existing === undefined) return false;
    map.delete(key);
    this.#ix.index(section, key, existing, false);
    if (section === "AccessToken") {
      this.#recency.delete(key);
      if (this.#mostRecent === key) this.#mostRecent = undefined;
    }
    this.stateChanged = true;
    this.changeCount++;
    this.#removed?.add(`${section}\n${key}`);
    return true;
  }

  /** Removes an entity that a `find*` method returned. */
  removeEntity<S extends Section>(section: S, entity: EntityOf[S]): boolean {
    let removed = false;
    for (const [key] of storedByIdentity(this.sections, section, entity))
      removed = this.remove(section, key) || removed;
    return removed;
  }

  /** Removes expired access tokens (an `expires_on` that is no finite number counts); returns how many. */
  purgeExpiredAccessTokens(now: number = nowSeconds()): number {
    let removed = 0;
    for (const [key, at] of this.sections.AccessToken) {
      const expiresOn = (at as { expires_on?: unknown } | null)?.expires_on;
      if (expiresOn !== undefined && expirySeconds(expiresOn) < now && this.remove("AccessToken", key))
        removed++;
    }
    return removed;
  }

  /** A number that grows whenever the cache changes. */
  get changes(): number {
    return this.changeCount;
  }

  /** Starts recording removals; {@link TokenCache.closeJournal} returns them (`section\nkey`). */
  openJournal(): void {
    this.#removed = new Set();
  }

  /**
   * Stops recording removals and returns those since {@link TokenCache.openJournal}, each as `section\nkey`.
   */
  closeJournal(): Set<string> {
    const removed = this.#removed ?? new Set<string>();
    this.#removed = undefined;
    return removed;
  }

  /** How many entries each section holds. */
  counts(): Record<Section, number> {
    return Object.fromEntries(SECTIONS.map((section) => [section, this.sections[section].size])) as Record<
      Section,
      number
    >;
  }

  /** The entries of one section, as stored (keys included). */
  entries<S extends Section>(section: S): IterableIterator<[string, EntityOf[S]]> {
    return this.sections[section].entries();
  }

  protected store<S extends Section>(section: S, key: string, entity: EntityOf[S]): void {
    const map = this.sections[section] as Map<string, EntityOf[S]>;
    const existing = map.get(key);
    map.set(key, entity);
    if (existing === undefined) this.#ix.index(section, key, entity, true);
    else this.#ix.reindex(section, key, existing, entity);
    if (!this.sectionOrder.includes(section)) this.sectionOrder.push(section);
    // A section that was read as something other than an object is replaced by real entries.
    this.otherSections.delete(section);
    this.stateChanged = true;
    this.changeCount++;
    this.#removed?.delete(`${section}\n${key}`);
    if (section === "AccessToken" && this.#maxAccessTokens !== undefined) {
      this.#touch(key);
      this.#evictBeyondBound();
    }
  }

  /** Replaces the whole state at once (deserialize builds a new state, then swaps it in). */
  protected replaceState(sections: Sections, other: Map<string, unknown>, order: string[]): void {
    this.sections = sections;
    this.otherSections = other;
    this.sectionOrder = order;
    // With a bound on access tokens, eviction needs the recency order that the full build makes.
    this.#ix.invalidate(this.#maxAccessTokens === undefined ? LAZY_LOOKUPS : 0);
  }

  /**
   * Makes an access token the most recently used. Deleting a key from a large Map and setting it
   * again, over and over, costs time in proportion to the Map in V8 (see src/cache/reindex.ts):
   * 26 µs a hit on one token of 10,000 under `maxAccessTokens`. The most recent one stays put.
   */
  #touch(key: string): void {
    if (this.#mostRecent === key && this.#mostRecentBuild === this.#ix.builds) return;
    this.#recency.delete(key);
    this.#recency.set(key, true);
    this.#mostRecent = key;
    this.#mostRecentBuild = this.#ix.builds;
  }

  #evictBeyondBound(): void {
    const bound = this.#maxAccessTokens as number;
    while (this.sections.AccessToken.size > bound) {
      const oldest = this.#recency.keys().next();
      if (oldest.done) break;
      this.remove("AccessToken", oldest.value);
    }
  }
}

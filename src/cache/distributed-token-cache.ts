/**
 * A token cache kept in a key-value store the app already runs (Redis, or anything with a
 * compare-and-set), one entry per cache partition, so that many app instances share tokens and each
 * call reads and writes only the partition it needs. Portable: no Node.js built-ins.
 */
import { MsalError } from "../errors.js";
import { withLease } from "./distributed-lease.js";
import {
  type DistributedTokenCacheOptions,
  distributedSettings,
  type PartitionStore,
} from "./distributed-store.js";
import { type PartitionContents, partitionContents, replacePartition } from "./partition.js";
import {
  type Access,
  combineChanges,
  type Entry,
  mergePartition,
  ownPartition,
  type PartitionChange,
  type PartitionRead,
  parseContents,
  partitionExpiry,
  settlement,
  storageKey,
  type WriteQueue,
} from "./partition-merge.js";
import type { CacheAccessContext, CachePlugin, CoordinatedRequest } from "./plugin.js";
import type { EntityOf, Section } from "./schema.js";
import { SECTIONS } from "./schema.js";
import { nowSeconds, TokenCache } from "./token-cache.js";

export type { DistributedTokenCacheOptions, PartitionStore, StoredPartition } from "./distributed-store.js";

/** The longest pause after the first failed compare-and-set; it doubles with each further one. */
const BACKOFF_MS = 10;

/**
 * A token cache shared through a key-value store, partitioned as the flows ask for it: every token
 * call reads and writes one partition (`user:<home_account_id>`, `app:<client_id>:<tenant>` or
 * `obo:<assertion hash>`), stored under `<keyPrefix>{<partition key>}` (see
 * {@link DistributedTokenCache.storeKey}) as the unified MSAL cache JSON of that partition's
 * entries. Pass it as `tokenCache`; its {@link DistributedTokenCache.plugin} is its own, nothing
 * else to wire.
 *
 * **Reads.** Before each cache access the partition is read from the store and replaces what memory
 * holds of it (other partitions in memory are left alone). The copy in memory is a read-through
 * cache refreshed from the store on every access, never the source of truth; `maxAccessTokens`
 * still bounds it (evicting from memory only, never from the store). Accounts and refresh tokens of
 * partitions this instance has used stay in memory until the store's copy no longer has them.
 *
 * **Writes.** After an access that changed the cache, only that partition is written, with a
 * compare-and-set on the version read. When another instance wrote in between, the partition is
 * read again and merged (the store's entries are kept, entries this access wrote win, entries this
 * access removed are removed), then written again: at most `maxAttempts` times, after which an
 * {@link MsalError} with code `distributed_cache_conflict` is thrown. Expired access tokens are
 * dropped on write. The partition expires with its longest-lived token: the latest access token
 * `expires_on` or refresh token `last_modification_time + refreshTokenLifetimeSeconds`; a partition
 * left without tokens is deleted.
 *
 * **The whole cache** (`getAccounts()`, `removeTokensForClient()`) reads nothing from the store:
 * it sees the partitions this instance has loaded. Listing every user of a shared store would read
 * all of it on each call; a web app keeps the signed-in user's `home_account_id` in its session and
 * calls `acquireTokenSilent` with it, which loads that user's partition. What such a call removes
 * (`removeTokensForClient()`) is removed from the stored partitions the removed entries belong to.
 *
 * **Concurrency.** Cache accesses of one instance take turns in memory, from after their read to
 * before their write (the flows do no I/O in between), so the store I/O of concurrent calls
 * overlaps. Writes of one partition by one instance take turns (changes that wait meanwhile go in
 * one write), so only other instances can make a compare-and-set fail; a failed one is retried
 * after a random pause that grows with each attempt. Instances that write one partition many times
 * a second for long may need a higher `maxAttempts`. Errors of the store (a lost connection) reach
 * the caller of the token method.
 *
 * **Single-flight.** With a store that has leases ({@link redisPartitionStore} does), the token
 * request of a cache miss (client credentials, a silent refresh, on-behalf-of; not a forced one)
 * first takes a lease (`<store key>:lease:<request hash>`, for `leaseMs`): the holder sends and
 * releases after its tokens are saved; the other instances making the same request wait until the
 * partition changes or the lease is free, look the token up again, and send only if it is still
 * missing, or once they have waited `leaseMs`. So instances that miss one partition at once send
 * one request between them, and a dead holder delays the others by at most `leaseMs`. The lease
 * saves requests; it guards no data: writes stay compare-and-set.
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { ConfidentialClientApplication, DistributedTokenCache, redisPartitionStore } from "msal-ts";
 *
 * const redis = await createClient({ url: redisUrl }).connect();
 * const app = new ConfidentialClientApplication(clientId, {
 *   authority: `https://login.microsoftonline.com/${tenantId}`,
 *   clientCredential: secret,
 *   tokenCache: new DistributedTokenCache(redisPartitionStore(redis), { keyPrefix: "my-api:tokens:" }),
 * });
 * // Every instance of the service shares the tokens; each call touches one Redis key.
 * const result = await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * ```
 *
 * @example
 * ```ts
 * // A web app: the session holds the account, the shared cache holds its tokens.
 * const result = await app.acquireTokenSilent(["User.Read"], session.account);
 * ```
 */
export class DistributedTokenCache extends TokenCache {
  /** The hooks that load and save partitions; every flow calls them around its cache accesses. */
  override readonly plugin: CachePlugin;

  readonly #store: PartitionStore;
  readonly #keyPrefix: string;
  readonly #maxAttempts: number;
  readonly #refreshTokenLifetime: number;
  readonly #leaseMs: number;
  /** The access in progress: accesses take turns in memory, from after their read to before their write. */
  #access: Access | undefined;
  /** Tail of the queue of accesses waiting for memory. */
  #lockTail: Promise<void> = Promise.resolve();
  /** Per store key: this instance's write of that partition in flight, and the changes waiting for it. */
  readonly #writeQueues = new Map<string, WriteQueue>();
  /** Above zero while `store` runs: a removal then is a memory-bound eviction, not a removal from the store. */
  #storing = 0;

  constructor(store: PartitionStore, options: DistributedTokenCacheOptions = {}) {
    const { cacheOptions, settings } = distributedSettings(store, options);
    super(cacheOptions);
    this.#store = store;
    this.#keyPrefix = settings.keyPrefix;
    this.#maxAttempts = settings.maxAttempts;
    this.#refreshTokenLifetime = settings.refreshTokenLifetime;
    this.#leaseMs = settings.leaseMs;
    const leases = settings.singleFlight && store.acquireLease && store.releaseLease;
    this.plugin = {
      beforeCacheAccess: (context: CacheAccessContext) => this.#beforeAccess(context.partitionKey),
      afterCacheAccess: (context: CacheAccessContext) => this.#afterAccess(context.hasChanged),
      ...(leases ? { coordinateRequest: (request) => this.#coordinate(request) } : {}),
    };
  }

  /**
   * The store key of a partition: `<keyPrefix>{<partition key>}`. The braces are a Redis Cluster
   * hash tag: the partition, its leases (`<store key>:lease:…`) and the compare-and-set script
   * that names it map to one slot. Partitions stored by earlier versions under `<keyPrefix><partition
   * key>` are still read when the tagged key is missing, and moved to it on their next write.
   */
  storeKey(partitionKey: string): string {
    return `${this.#keyPrefix}{${partitionKey}}`;
  }

  #coordinate<T>(request: CoordinatedRequest<T>): Promise<T> {
    const store = this.#store as Required<PartitionStore>;
    const storeKey = this.storeKey(request.partitionKey);
    const leases = {
      acquireLease: (key: string, owner: string, ttl: number) => store.acquireLease(key, owner, ttl),
      releaseLease: (key: string, owner: string) => store.releaseLease(key, owner),
      version: async () => (await store.get(storeKey))?.version,
    };
    return withLease(leases, storeKey, this.#leaseMs, request);
  }

  protected override store<S extends Section>(section: S, key: string, entity: EntityOf[S]): void {
    this.#storing++;
    try {
      super.store(section, key, entity);
    } finally {
      this.#storing--;
    }
    const access = this.#access;
    if (access) {
      const id = storageKey(section, key);
      access.stored.add(id);
      access.removed.delete(id);
    }
  }

  override remove(section: Section, key: string): boolean {
    const entry = this.sections[section].get(key) as Entry | undefined;
    const removed = super.remove(section, key);
    const access = this.#access;
    if (removed && access && this.#storing === 0 && entry !== undefined) {
      const id = storageKey(section, key);
      access.removed.set(id, { section, entry });
      access.stored.delete(id);
    }
    return removed;
  }

  /** Waits for the memory, then holds it until the returned function is called. */
  #lock(): Promise<() => void> {
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const previous = this.#lockTail;
    this.#lockTail = previous.then(() => held);
    return previous.then(() => release);
  }

  /** The partition, from its tagged key or else from the key earlier versions used (`legacy`). */
  async #read(partitionKey: string): Promise<PartitionRead> {
    const stored = await this.#store.get(this.storeKey(partitionKey));
    if (stored) return { contents: parseContents(stored.value), version: stored.version };
    const legacy = await this.#store.get(`${this.#keyPrefix}${partitionKey}`);
    if (!legacy) return { contents: {}, version: undefined };
    return { contents: parseContents(legacy.value), version: undefined, legacyVersion: legacy.version };
  }

  async #beforeAccess(partitionKey: string | undefined): Promise<void> {
    const read = partitionKey === undefined ? undefined : await this.#read(partitionKey);
    const release = await this.#lock();
    try {
      if (partitionKey !== undefined && read)
        replacePartition(this, partitionKey, read.contents as PartitionContents);
    } catch (error) {
      release();
      throw error;
    }
    this.#access = { partitionKey, read, stored: new Set(), removed: new Map(), release };
  }

  async #afterAccess(hasChanged: boolean): Promise<void> {
    const access = this.#access;
    if (!access) return;
    this.#access = undefined;
    let changes: PartitionChange[];
    try {
      changes = hasChanged ? this.#changesOf(access) : [];
    } finally {
      access.release();
    }
    await Promise.all(
      changes.map((change) =>
        this.#write(change, change.partitionKey === access.partitionKey ? access.read : undefined),
      ),
    );
  }

  /** Which partitions an access changed, and how. */
  #changesOf(access: Access): PartitionChange[] {
    if (access.stored.size === 0 && access.removed.size === 0) return [];
    const removed = new Set(access.removed.keys());
    const targets =
      access.partitionKey !== undefined ? [access.partitionKey] : this.#partitionsTouched(access);
    return targets.map((partitionKey) => {
      const current = partitionContents(this, partitionKey);
      const written: PartitionChange["written"] = [];
      for (const section of SECTIONS) {
        for (const [key, entry] of Object.entries(current[section] ?? {})) {
          if (access.stored.has(storageKey(section, key))) written.push({ section, key, entry });
        }
      }
      return { partitionKey, written, removed };
    });
  }

  /** For a whole-cache access: the partitions of the entries it wrote or removed. */
  #partitionsTouched(access: Access): string[] {
    const keys = new Set<string>();
    for (const { section, entry } of access.removed.values()) {
      const key = ownPartition(section, entry);
      if (key !== undefined) keys.add(key);
    }
    for (const id of access.stored) {
      const [section, key] = id.split("\n") as [Section, string];
      const entry = this.sections[section].get(key) as Entry | undefined;
      const partition = entry && ownPartition(section, entry);
      if (partition !== undefined) keys.add(partition);
    }
    return [...keys];
  }

  /**
   * Writes of one partition by this instance take turns, so they never conflict with each other
   * (only writes of other instances can make a compare-and-set fail), and the changes that wait
   * while one is in flight go together in one write.
   */
  #write(change: PartitionChange, read: PartitionRead | undefined): Promise<void> {
    const storeKey = this.storeKey(change.partitionKey);
    const queue = this.#writeQueues.get(storeKey);
    if (queue) {
      if (queue.next) queue.next.change = combineChanges(queue.next.change, change);
      else queue.next = { change, ...settlement() };
      return queue.next.done;
    }
    const started: WriteQueue = { next: undefined };
    this.#writeQueues.set(storeKey, started);
    const done = this.#compareAndSet(change, read);
    const drain = async () => {
      for (let batch = started.next; batch !== undefined; batch = started.next) {
        started.next = undefined;
        // After another write of ours, the version read before the access is gone: read afresh.
        await this.#compareAndSet(batch.change, undefined).then(batch.resolve, batch.reject);
      }
      this.#writeQueues.delete(storeKey);
    };
    void done.then(drain, drain);
    return done;
  }

  /** Compare-and-set, re-read and merge until the store takes the partition or attempts run out. */
  async #compareAndSet(change: PartitionChange, read: PartitionRead | undefined): Promise<void> {
    const storeKey = this.storeKey(change.partitionKey);
    let base = read ?? (await this.#read(change.partitionKey));
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const now = nowSeconds();
      const merged = mergePartition(base.contents, change, now);
      const expiresAt = partitionExpiry(merged, now, this.#refreshTokenLifetime);
      const value = expiresAt > now ? JSON.stringify(merged) : undefined;
      if (value === undefined && base.version === undefined && base.legacyVersion === undefined) return;
      if (value !== undefined && base.version !== undefined && value === JSON.stringify(base.contents))
        return;
      if (await this.#store.compareAndSet(storeKey, value, base.version, expiresAt)) {
        // Moved to the tagged key: the legacy copy goes, or a later delete would bring it back.
        if (base.legacyVersion !== undefined)
          await this.#store.compareAndSet(
            `${this.#keyPrefix}${change.partitionKey}`,
            undefined,
            base.legacyVersion,
            0,
          );
        return;
      }
      if (attempt === this.#maxAttempts) break;
      // A random pause, growing with each attempt, so that writers who keep meeting take turns.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_MS * 2 ** attempt));
      base = await this.#read(change.partitionKey);
    }
    throw new MsalError(
      "distributed_cache_conflict",
      `The token cache partition "${storeKey}" was changed by other writers ${this.#maxAttempts} times while this call tried to save it; the tokens this call obtained were not saved. Raise maxAttempts if many instances write one partition at once.`,
    );
  }
}

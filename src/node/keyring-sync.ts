/**
 * The lock, reload and merge around a cache kept somewhere other than a plain file (a keyring
 * item, an encrypted file): the same guarantees as FilePersistence gives its file, with the
 * storing left to a {@link CacheStore}. The lock is a lock file next to the cache's path
 * (`<path>.lockfile`, as msal-extensions' PersistedTokenCache names it for every persistence).
 */

import type { CacheAccessContext, CachePlugin } from "../cache/plugin.js";
import { type EntityOf, SECTIONS, type Section } from "../cache/schema.js";
import { SerializableTokenCache } from "../cache/serializable-token-cache.js";
import type { TokenCache } from "../cache/token-cache.js";
import { CacheDeserializationError, ConfigurationError } from "../errors.js";
import type { Logger, LogSink } from "../logging.js";
import { nodeCrypto } from "./builtins.js";
import { FileLock, type HeldLock } from "./file-lock.js";

/** Where a cache is stored: read and written whole, under the lock. */
export interface CacheStore {
  /** The store, as messages name it. */
  readonly description: string;
  /**
   * The stored cache's text (`""` when none is stored), or why what is stored cannot be read (it
   * is then set aside with {@link CacheStore.setAside}).
   */
  read(): Promise<string | CacheDeserializationError>;
  write(text: string): Promise<void>;
  /** Keeps an unreadable stored cache out of the way of the next write; returns where it went. */
  setAside(): Promise<string>;
}

/** The lock options every persistence here takes, as FilePersistence takes them. */
export interface LockOptions {
  /** How long a cache access waits for the lock before it throws `cache_lock_timeout` (default 10 000 ms). */
  lockTimeoutMs?: number;
  /** A lock file older than this is taken to be left by a crashed process, and removed (default 30 000 ms). */
  staleLockMs?: number;
  /** Receives warnings: a stored cache set aside, a stale lock removed. */
  logger?: Logger;
}

interface SyncState {
  /** SHA-256 of the stored text as last loaded or written. */
  digest: string;
  /** The entries as loaded or written then. */
  synced: WeakSet<object>;
}

const digestOf = (text: string): string =>
  nodeCrypto().createHash("sha256").update(text, "utf8").digest("hex");

const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name);

function syncedEntries(cache: TokenCache): WeakSet<object> {
  const synced = new WeakSet<object>();
  for (const section of SECTIONS)
    for (const [, entity] of cache.entries(section))
      if (typeof entity === "object" && entity !== null) synced.add(entity);
  return synced;
}

/** Reads a positive number of milliseconds option. */
export function positiveMs(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(
      option,
      `${option} must be a positive number of milliseconds, but it is ${String(value)}.`,
    );
  return value;
}

/**
 * A CachePlugin over a {@link CacheStore}: takes the lock and reloads before each access, merges
 * and writes after an access that changed the cache (entries another writer stored meanwhile stay;
 * this process's new entries win; entries it removed go), then releases the lock.
 */
export class StoreSync implements CachePlugin {
  readonly #store: CacheStore;
  readonly #lock: FileLock;
  readonly #log: LogSink;
  readonly #afterWrite: () => Promise<void>;
  readonly #states = new WeakMap<TokenCache, SyncState>();
  readonly #held = new Map<TokenCache, HeldLock>();

  constructor(
    store: CacheStore,
    lockPath: string,
    options: { timeoutMs: number; staleMs: number; log: LogSink; afterWrite?: () => Promise<void> },
  ) {
    this.#store = store;
    this.#log = options.log;
    this.#afterWrite = options.afterWrite ?? (async () => {});
    this.#lock = new FileLock(lockPath, {
      timeoutMs: options.timeoutMs,
      staleMs: options.staleMs,
      log: this.#log,
    });
  }

  async beforeCacheAccess(context: CacheAccessContext): Promise<void> {
    const cache = context.cache;
    if (!(cache instanceof SerializableTokenCache))
      throw new ConfigurationError(
        "tokenCache",
        "A keyring or encrypted-file persistence loads and saves the cache as JSON, so it needs a SerializableTokenCache: pass `tokenCache: new PersistedTokenCache(persistence)`.",
      );
    const lock = await this.#lock.acquire();
    try {
      await this.#load(cache);
      cache.openJournal();
      this.#held.set(cache, lock);
    } catch (e) {
      await lock.release().catch(() => {});
      throw e;
    }
  }

  async afterCacheAccess(context: CacheAccessContext): Promise<void> {
    const cache = context.cache;
    const lock = this.#held.get(cache);
    if (!lock) return;
    this.#held.delete(cache);
    const removed = cache.closeJournal();
    try {
      if (context.hasChanged) await this.#save(cache as SerializableTokenCache, removed);
    } finally {
      await lock.release();
    }
  }

  /** The stored text, or `undefined` when it could not be read (it was set aside, with a warning). */
  async #read(): Promise<string | undefined> {
    const text = await this.#store.read();
    if (typeof text === "string") return text;
    await this.#setAside(text);
    return undefined;
  }

  async #setAside(error: CacheDeserializationError): Promise<void> {
    const where = await this.#store.setAside();
    this.#log(
      "warning",
      `The token cache in ${this.#store.description} could not be read (${error.message}). It was moved to ${where}, unchanged, and the cache starts empty: sign in again.`,
    );
  }

  async #load(cache: SerializableTokenCache): Promise<void> {
    const text = await this.#read();
    if (text !== undefined) {
      const digest = digestOf(text);
      if (this.#states.get(cache)?.digest === digest) return;
      const refusal = deserializeInto(cache, text);
      if (!refusal) {
        this.#states.set(cache, { digest, synced: syncedEntries(cache) });
        return;
      }
      await this.#setAside(refusal);
    }
    cache.deserialize("");
    this.#states.set(cache, { digest: digestOf(""), synced: syncedEntries(cache) });
  }

  async #save(cache: SerializableTokenCache, removed: Set<string>): Promise<void> {
    const state = this.#states.get(cache);
    const current = await this.#read();
    const merged = new SerializableTokenCache();
    let unchanged = current === undefined || (state !== undefined && digestOf(current) === state.digest);
    if (!unchanged && current !== undefined) {
      const refusal = deserializeInto(merged, current);
      if (refusal) await this.#setAside(refusal);
      unchanged = refusal !== undefined;
    }
    let text: string;
    if (unchanged) {
      // Nobody stored a cache since this one loaded or wrote it (or it was unreadable and set aside).
      text = cache.serialize();
    } else {
      // Someone stored a cache meanwhile (a writer that ignores the lock, or a lock taken over as
      // stale): keep what they stored, except where this process wrote or removed entries since.
      for (const section of SECTIONS)
        for (const [key, entity] of cache.entries(section))
          if (typeof entity === "object" && entity !== null && !state?.synced.has(entity))
            merged.restore(section, key, entity as EntityOf[Section]);
      for (const entry of removed) {
        const newline = entry.indexOf("\n");
        const section = entry.slice(0, newline);
        if (isSection(section)) merged.remove(section, entry.slice(newline + 1));
      }
      text = merged.serialize();
      cache.deserialize(text);
    }
    await this.#store.write(text);
    await this.#afterWrite();
    this.#states.set(cache, { digest: digestOf(text), synced: syncedEntries(cache) });
  }
}

/** Loads `text` into `cache`; returns why `deserialize` refused it (the cache is then unchanged). */
function deserializeInto(cache: SerializableTokenCache, text: string): CacheDeserializationError | undefined {
  try {
    cache.deserialize(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return undefined;
  } catch (e) {
    if (e instanceof CacheDeserializationError) return e;
    throw e;
  }
}

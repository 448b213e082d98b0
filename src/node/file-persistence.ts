/**
 * A token cache kept in a JSON file in the unified MSAL format, which MSAL Python, msal-node,
 * MSAL.NET and the Azure CLI read and write too. Every cache access holds the file's lock (an
 * in-process mutex and `<file>.lockfile`), reloads the file when it changed, and, when the access
 * changed the cache, merges the change into the file as it is now and replaces it atomically.
 */

import type { FileHandle } from "node:fs/promises";
import type { CacheAccessContext, CachePlugin } from "../cache/plugin.js";
import { type EntityOf, SECTIONS, type Section } from "../cache/schema.js";
import { SerializableTokenCache } from "../cache/serializable-token-cache.js";
import type { TokenCache } from "../cache/token-cache.js";
import { MAX_CACHE_TEXT_LENGTH } from "../cache/validation.js";
import { CacheDeserializationError, ConfigurationError } from "../errors.js";
import { type Logger, type LogSink, logSink, logs } from "../logging.js";
import { nodeCrypto, nodeFsPromises, nodePath } from "./builtins.js";
import { FileLock, type HeldLock } from "./file-lock.js";

export { CacheLockTimeoutError } from "./file-lock.js";

/** Options of a {@link FilePersistence}: how long to wait for the file's lock, and where warnings go. */
export interface FilePersistenceOptions {
  /** How long a cache access waits for the file's lock before it throws `cache_lock_timeout` (default 10 000 ms). */
  lockTimeoutMs?: number;
  /**
   * A lock file older than this is taken to be left behind by a crashed process and removed
   * (default 30 000 ms). A lock file whose process has exited is removed whatever its age, when
   * it was taken on this host, boot and PID namespace (elsewhere its pid says nothing here).
   */
  staleLockMs?: number;
  /** Receives warnings: a corrupt cache file moved aside, a stale lock removed. */
  logger?: Logger;
}

/** What a cache last read from or wrote to the file. */
interface SyncState {
  /** SHA-256 of the file's text as last loaded or written (of `""` when there was no file). */
  digest: string;
  /** The entries as loaded or written then: the others were written since, by this process. */
  synced: WeakSet<object>;
}

const DEFAULT_LOCK_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_LOCK_MS = 30_000;
/** Taking a free lock file takes a few milliseconds; a wait past this one had to wait for a holder. */
const LOCK_WAIT_WORTH_TELLING_MS = 100;

const digestOf = (text: string): string =>
  nodeCrypto().createHash("sha256").update(text, "utf8").digest("hex");

const isSection = (name: string): name is Section => (SECTIONS as readonly string[]).includes(name);

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;

function syncedEntries(cache: TokenCache): WeakSet<object> {
  const synced = new WeakSet<object>();
  for (const section of SECTIONS) {
    for (const [, entity] of cache.entries(section)) {
      if (typeof entity === "object" && entity !== null) synced.add(entity);
    }
  }
  return synced;
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0)
    throw new ConfigurationError(
      option,
      `${option} must be a positive number of milliseconds, but it is ${String(value)}.`,
    );
  return value;
}

/**
 * Persists a token cache in a JSON file, safely shared by the threads of work of one process and
 * by several processes (and with MSAL Python, msal-node and the Azure CLI, which use the same
 * format and the same `<file>.lockfile`). Give it to a {@link PersistedTokenCache}.
 *
 * - Before each cache access it takes the lock and reloads the file if it changed. A missing file
 *   is an empty cache; a file that `deserialize` refuses (not a JSON object, a malformed entry,
 *   nesting deeper than 64 levels) or larger than 256 MiB is moved aside to
 *   `<file>.corrupt-<timestamp>` (with a warning naming both paths and what is wrong) and the cache
 *   starts empty.
 * - After an access that changed the cache, it reads the file again, merges (the file's entries
 *   stay, this process's new entries win, entries it removed are removed) and writes the result to
 *   a temporary file in the same directory, fsyncs it and renames it over the file (mode 0600;
 *   the directory is created with mode 0700). Then it releases the lock, also when the access or
 *   the write failed.
 * - The lock waits at most `lockTimeoutMs` (then `CacheLockTimeoutError`, code
 *   `cache_lock_timeout`); a lock file older than `staleLockMs`, or whose process on this host,
 *   boot and PID namespace has exited, is removed.
 *
 * The file holds tokens in clear text: keep it in the user's own directory.
 *
 * @example
 * ```ts
 * import { homedir } from "node:os";
 * import { join } from "node:path";
 * import { FilePersistence, PersistedTokenCache, PublicClientApplication } from "msal-ts";
 *
 * const persistence = new FilePersistence(join(homedir(), ".myapp", "msal_token_cache.json"), {
 *   logger: { log: (level, message) => console.error(`[${level}] ${message}`) },
 * });
 * const app = new PublicClientApplication(clientId, { tokenCache: new PersistedTokenCache(persistence) });
 * const [account] = await app.getAccounts();
 * const result = account ? await app.acquireTokenSilent(["User.Read"], account) : null;
 * ```
 */
export class FilePersistence implements CachePlugin {
  /** The cache file, absolute. */
  readonly path: string;
  /** The lock file: `<path>.lockfile`. */
  readonly lockPath: string;
  readonly #lock: FileLock;
  readonly #log: LogSink;
  readonly #states = new WeakMap<TokenCache, SyncState>();
  readonly #held = new Map<TokenCache, HeldLock>();

  constructor(path: string, options: FilePersistenceOptions = {}) {
    if (typeof path !== "string" || path.trim() === "")
      throw new ConfigurationError("path", "FilePersistence needs the path of the cache file; it is empty.");
    this.path = nodePath().resolve(path);
    this.lockPath = `${this.path}.lockfile`;
    this.#log = logSink(options.logger);
    this.#lock = new FileLock(this.lockPath, {
      timeoutMs: positive("lockTimeoutMs", options.lockTimeoutMs, DEFAULT_LOCK_TIMEOUT_MS),
      staleMs: positive("staleLockMs", options.staleLockMs, DEFAULT_STALE_LOCK_MS),
      log: this.#log,
    });
  }

  /** Takes the lock and loads the file into the cache if it changed since the last load. */
  async beforeCacheAccess(context: CacheAccessContext): Promise<void> {
    const cache = this.#serializable(context.cache);
    const started = logs(this.#log, "info") ? Date.now() : 0;
    const lock = await this.#lock.acquire();
    if (started) this.#logLockWait(Date.now() - started);
    try {
      await this.#load(cache);
      cache.openJournal();
      this.#held.set(cache, lock);
    } catch (e) {
      await lock.release().catch(() => {});
      throw e;
    }
  }

  /** Saves the cache when the access changed it, then releases the lock (also when saving fails). */
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

  /**
   * How long taking the lock took: a few milliseconds alone, longer when another process or
   * another cache in this one held it (then at info: slow sign-ins often come down to this).
   */
  #logLockWait(ms: number): void {
    if (ms >= LOCK_WAIT_WORTH_TELLING_MS)
      this.#log(
        "info",
        `Waited ${ms} ms for the token cache lock file ${this.lockPath}: another process or cache held it.`,
      );
    else this.#log("verbose", `Took the token cache lock file ${this.lockPath} in ${ms} ms.`);
  }

  #serializable(cache: TokenCache): SerializableTokenCache {
    if (cache instanceof SerializableTokenCache) return cache;
    throw new ConfigurationError(
      "tokenCache",
      "FilePersistence loads and saves the cache as JSON, so it needs a SerializableTokenCache: pass `tokenCache: new PersistedTokenCache(new FilePersistence(path))`.",
    );
  }

  /**
   * The file's text; `""` (an empty cache) when there is no file. A file larger than a cache may be
   * (256 MiB, MAX_CACHE_TEXT_LENGTH) throws CacheDeserializationError before any of it is read.
   */
  async #read(): Promise<string> {
    let handle: FileHandle;
    try {
      handle = await nodeFsPromises().open(this.path, "r");
    } catch (e) {
      if (errorCode(e) === "ENOENT") return "";
      throw e;
    }
    try {
      const { size } = await handle.stat();
      if (size > MAX_CACHE_TEXT_LENGTH) {
        const reason = `it is ${size} bytes long, more than the ${MAX_CACHE_TEXT_LENGTH} a cache may have`;
        throw new CacheDeserializationError(`The token cache file ${this.path} is too large: ${reason}.`, {
          cause: new RangeError(reason),
        });
      }
      return await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  }

  /** The file's text, or the error that keeps it from being loaded (the file is then moved aside). */
  async #readOrRefuse(): Promise<string | CacheDeserializationError> {
    try {
      return await this.#read();
    } catch (e) {
      if (e instanceof CacheDeserializationError) return e;
      throw e;
    }
  }

  async #load(cache: SerializableTokenCache): Promise<void> {
    const text = await this.#readOrRefuse();
    const refusal = typeof text === "string" ? this.#loadChanged(cache, text) : text;
    if (refusal === undefined) return;
    await this.#moveAside(refusal);
    cache.deserialize("");
    this.#states.set(cache, { digest: digestOf(""), synced: syncedEntries(cache) });
  }

  /** Loads `text` unless the cache last loaded or wrote just that; returns why `deserialize` refused it. */
  #loadChanged(cache: SerializableTokenCache, text: string): CacheDeserializationError | undefined {
    const digest = digestOf(text);
    if (this.#states.get(cache)?.digest === digest) return undefined;
    try {
      cache.deserialize(withoutBom(text));
    } catch (e) {
      if (e instanceof CacheDeserializationError) return e;
      throw e;
    }
    this.#states.set(cache, { digest, synced: syncedEntries(cache) });
    return undefined;
  }

  async #save(cache: SerializableTokenCache, removed: Set<string>): Promise<void> {
    const state = this.#states.get(cache);
    const current = await this.#readOrRefuse();
    const merged = new SerializableTokenCache();
    let unchanged: boolean;
    if (typeof current !== "string") {
      // Too large to read: moved aside, and the cache is written whole.
      await this.#moveAside(current);
      unchanged = true;
    } else {
      unchanged = state !== undefined && digestOf(current) === state.digest;
      if (!unchanged) {
        try {
          merged.deserialize(withoutBom(current));
        } catch (e) {
          if (!(e instanceof CacheDeserializationError)) throw e;
          // Garbage written meanwhile: moved aside, and the cache is written whole.
          await this.#moveAside(e);
          unchanged = true;
        }
      }
    }
    if (unchanged) {
      // Nobody wrote the file since this cache loaded or wrote it: the cache is the new file.
      const text = cache.serialize();
      await this.#write(text);
      this.#states.set(cache, { digest: digestOf(text), synced: syncedEntries(cache) });
      return;
    }
    // Someone wrote the file meanwhile (a writer that ignores the lock, or a lock taken over as
    // stale): keep what they wrote, except where this process wrote or removed entries since.
    for (const section of SECTIONS) {
      for (const [key, entity] of cache.entries(section)) {
        if (typeof entity === "object" && entity !== null && !state?.synced.has(entity))
          merged.restore(section, key, entity as EntityOf[Section]);
      }
    }
    for (const entry of removed) {
      const newline = entry.indexOf("\n");
      const section = entry.slice(0, newline);
      if (isSection(section)) merged.remove(section, entry.slice(newline + 1));
    }
    const text = merged.serialize();
    await this.#write(text);
    cache.deserialize(text);
    this.#states.set(cache, { digest: digestOf(text), synced: syncedEntries(cache) });
  }

  /** Writes a temporary file next to the cache file, fsyncs it and renames it over the file. */
  async #write(text: string): Promise<void> {
    const temp = `${this.path}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`;
    try {
      const handle = await nodeFsPromises().open(temp, "wx", 0o600);
      try {
        await handle.writeFile(text, "utf8");
        if (process.platform !== "win32") await handle.chmod(0o600);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await renameWithRetry(temp, this.path);
    } catch (e) {
      await nodeFsPromises()
        .unlink(temp)
        .catch(() => {});
      throw e;
    }
    await syncDirectory(nodePath().dirname(this.path));
  }

  /** Moves an unreadable cache file aside, so that nothing overwrites what could not be read. */
  async #moveAside(error: CacheDeserializationError): Promise<void> {
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    let aside = `${this.path}.corrupt-${stamp}`;
    for (let n = 2; await exists(aside); n++) aside = `${this.path}.corrupt-${stamp}-${n}`;
    await nodeFsPromises().rename(this.path, aside);
    const reason = error.cause instanceof Error ? error.cause.message : "it is not a JSON object";
    this.#log(
      "warning",
      `The token cache file ${this.path} could not be read (${reason}). It was moved to ${aside}, unchanged, and the cache starts empty: sign in again. Inspect or delete ${aside}.`,
    );
  }
}

const withoutBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

async function exists(path: string): Promise<boolean> {
  try {
    await nodeFsPromises().stat(path);
    return true;
  } catch (e) {
    if (errorCode(e) === "ENOENT") return false;
    throw e;
  }
}

/** Windows refuses to replace a file another process has open for a moment: retry briefly. */
async function renameWithRetry(from: string, to: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await nodeFsPromises().rename(from, to);
      return;
    } catch (e) {
      const code = errorCode(e);
      if (attempt >= 10 || (code !== "EPERM" && code !== "EACCES" && code !== "EBUSY")) throw e;
      await new Promise((r) => setTimeout(r, 10 + attempt * 10));
    }
  }
}

/** Makes the rename durable (best effort: not every platform can open a directory). */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === "win32") return;
  try {
    const handle = await nodeFsPromises().open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the rename is a bonus; the file itself was fsynced.
  }
}

/**
 * A token cache kept whole in one OS keyring item (the Secret Service on Linux, the Keychain on
 * macOS), and `securePersistence()`, which picks the right secure persistence for the platform and
 * refuses to fall back to plain text unless told to.
 */

import type { CachePlugin } from "../cache/plugin.js";
import { ConfigurationError } from "../errors.js";
import { logSink } from "../logging.js";
import { nodeCrypto, nodeFsPromises, nodePath } from "./builtins.js";
import { EncryptedFilePersistence } from "./encrypted-file-persistence.js";
import { FilePersistence } from "./file-persistence.js";
import {
  type KeyringItem,
  KeyringUnavailableError,
  keyringBinding,
  keyringItem,
  keyringName,
} from "./keyring.js";
import { type CacheStore, type LockOptions, positiveMs, StoreSync } from "./keyring-sync.js";

export { KeyringUnavailableError };

/**
 * The keyring item's service when none is given: the one MSAL Python's msal-extensions uses for
 * its Keychain persistence, so that on macOS both find one item with their defaults.
 */
export const DEFAULT_KEYRING_SERVICE = "msal-extensions";

/** Options of a {@link KeyringPersistence}: which keyring item, and the lock's options. */
export interface KeyringPersistenceOptions extends LockOptions {
  /** The item's service (default `msal-extensions`). */
  service?: string;
  /** The item's account (default: the SHA-256, in hex, of the absolute path, as msal-extensions names it). */
  account?: string;
}

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;

/** The default account of a path: its SHA-256 in hex, as msal-extensions derives it from `signal_location`. */
export const keyringAccountOf = (path: string): string =>
  nodeCrypto().createHash("sha256").update(nodePath().resolve(path), "utf8").digest("hex");

/** Updates the path's modification time (creating it empty, mode 0600): readers that poll it reload. */
async function touch(path: string): Promise<void> {
  const now = new Date();
  try {
    await nodeFsPromises().utimes(path, now, now);
  } catch (e) {
    if (errorCode(e) !== "ENOENT") throw e;
    await nodeFsPromises().mkdir(nodePath().dirname(path), { recursive: true, mode: 0o700 });
    await (await nodeFsPromises().open(path, "a", 0o600)).close();
  }
}

/** A store that keeps the cache in one keyring item and sets an unreadable one aside in another. */
function keyringStore(item: KeyringItem, service: string, account: string): CacheStore {
  return {
    description: item.description,
    read: async () => (await item.read()) ?? "",
    write: (text) => item.write(text),
    async setAside() {
      const text = (await item.read()) ?? "";
      const asideAccount = `${account}.corrupt-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      const aside = keyringItem(service, asideAccount);
      await aside.write(text);
      await item.remove();
      return aside.description;
    },
  };
}

/**
 * Persists a token cache whole in one OS keyring item: the Secret Service (libsecret's D-Bus API,
 * as gnome-keyring or KeePassXC serve it) on Linux, the login Keychain on macOS. The keyring
 * encrypts it at rest and gives it only to this user's session. Give it to a
 * {@link PersistedTokenCache}. Needs the optional package `@napi-rs/keyring`, loaded on first use.
 *
 * `path` is not where the cache goes: it names the lock file (`<path>.lockfile`) that orders
 * processes, and is an empty file touched after every write, so that MSAL Python's
 * msal-extensions, which reloads when it changes, sees msal-ts's writes. With the same `path` and
 * `LibsecretPersistence(path, schema_name="org.freedesktop.Secret.Generic", attributes={"service":
 * <service>, "username": <account>})`, MSAL Python shares the cache (docs/caching.md).
 *
 * On Windows it throws a ConfigurationError: a Credential Manager item holds at most 2,560 bytes,
 * less than a cache with one account; use {@link EncryptedFilePersistence} (or
 * {@link securePersistence}, which picks it there).
 *
 * @example
 * ```ts
 * import { homedir } from "node:os";
 * import { join } from "node:path";
 * import { KeyringPersistence, PersistedTokenCache, PublicClientApplication } from "msal-ts";
 *
 * const persistence = new KeyringPersistence(join(homedir(), ".myapp", "msal_token_cache.signal"), {
 *   service: "myapp",
 *   account: "token-cache",
 * });
 * const app = new PublicClientApplication(clientId, { tokenCache: new PersistedTokenCache(persistence) });
 * ```
 */
export class KeyringPersistence implements CachePlugin {
  /** The signal file, absolute: touched after every write. */
  readonly path: string;
  /** The lock file: `<path>.lockfile`. */
  readonly lockPath: string;
  /** The keyring item's service (`msal-extensions` unless given). */
  readonly service: string;
  /** The keyring item's account (the SHA-256, in hex, of the absolute path unless given). */
  readonly account: string;
  /** Where the cache lives, in words (the keyring item). */
  readonly location: string;
  readonly #item: KeyringItem;
  readonly #sync: StoreSync;

  constructor(path: string, options: KeyringPersistenceOptions = {}) {
    if (typeof path !== "string" || path.trim() === "")
      throw new ConfigurationError(
        "path",
        "KeyringPersistence needs a path for its lock and signal file; it is empty.",
      );
    for (const option of ["service", "account"] as const)
      if (options[option] !== undefined && (typeof options[option] !== "string" || options[option] === ""))
        throw new ConfigurationError(option, `KeyringPersistence's ${option} must be a non-empty string.`);
    if (process.platform === "win32")
      throw new ConfigurationError(
        "persistence",
        "A Windows Credential Manager item holds at most 2,560 bytes, less than a token cache with one account: use EncryptedFilePersistence (its key goes to the Credential Manager) or securePersistence(), which picks it on Windows.",
      );
    this.path = nodePath().resolve(path);
    this.lockPath = `${this.path}.lockfile`;
    this.service = options.service ?? DEFAULT_KEYRING_SERVICE;
    this.account = options.account ?? keyringAccountOf(this.path);
    this.#item = keyringItem(this.service, this.account);
    this.location = this.#item.description;
    this.#sync = new StoreSync(keyringStore(this.#item, this.service, this.account), this.lockPath, {
      timeoutMs: positiveMs("lockTimeoutMs", options.lockTimeoutMs, 10_000),
      staleMs: positiveMs("staleLockMs", options.staleLockMs, 30_000),
      log: logSink(options.logger),
      afterWrite: () => touch(this.path),
    });
  }

  beforeCacheAccess: CachePlugin["beforeCacheAccess"] = (context) => this.#sync.beforeCacheAccess(context);
  afterCacheAccess: CachePlugin["afterCacheAccess"] = (context) => this.#sync.afterCacheAccess(context);

  /** Reads the item: throws KeyringUnavailableError when the keyring cannot be used. */
  async check(): Promise<void> {
    await this.#item.read();
  }

  /** Removes the cache from the keyring (signing every account out); returns whether there was one. */
  async remove(): Promise<boolean> {
    return this.#item.remove();
  }
}

/** Options of {@link securePersistence}. */
export interface SecurePersistenceOptions extends KeyringPersistenceOptions {
  /**
   * Where no keyring can be used, keep the cache in a plain file at `path` (mode 0600) instead of
   * throwing KeyringUnavailableError. Off by default: refresh tokens are long-lived credentials.
   */
  allowPlaintextFallback?: boolean;
}

/** A persistence {@link securePersistence} picked, and what it is. */
export type SecurePersistence = CachePlugin & {
  /** `keyring`: the cache in a keyring item; `encrypted-file`: in a file, its key in the keyring; `plaintext-file`: a 0600 file. */
  readonly kind: "keyring" | "encrypted-file" | "plaintext-file";
  /** Where the cache lives, in words. */
  readonly location: string;
};

/**
 * The secure persistence for this platform, checked to work: on Linux and macOS a
 * {@link KeyringPersistence} (so MSAL Python can share it); on Windows an
 * {@link EncryptedFilePersistence} at `path` whose key is in the Credential Manager. Where no
 * keyring can be used it throws KeyringUnavailableError (code `keyring_unavailable`) naming the
 * cause and the ways out, unless `allowPlaintextFallback: true`, which gives a plain
 * FilePersistence at `path` (with a warning to the logger).
 *
 * @example
 * ```ts
 * import { homedir } from "node:os";
 * import { join } from "node:path";
 * import { PersistedTokenCache, PublicClientApplication, securePersistence } from "msal-ts";
 *
 * const persistence = await securePersistence(join(homedir(), ".myapp", "msal_token_cache"));
 * console.error(`Token cache: ${persistence.location}`);
 * const app = new PublicClientApplication(clientId, { tokenCache: new PersistedTokenCache(persistence) });
 * ```
 */
export async function securePersistence(
  path: string,
  options: SecurePersistenceOptions = {},
): Promise<SecurePersistence> {
  const { allowPlaintextFallback, ...rest } = options;
  try {
    await keyringBinding();
    if (process.platform === "win32") {
      const persistence = new EncryptedFilePersistence(path, rest);
      await persistence.check();
      return Object.assign(persistence, { kind: "encrypted-file" as const });
    }
    const persistence = new KeyringPersistence(path, rest);
    await persistence.check();
    return Object.assign(persistence, { kind: "keyring" as const });
  } catch (e) {
    if (!allowPlaintextFallback || !(e instanceof KeyringUnavailableError)) throw e;
    const file = new FilePersistence(path, rest);
    logSink(rest.logger)(
      "warning",
      `No keyring can be used (${e.reason}), so the token cache is kept in the plain file ${file.path} (mode 0600), as allowPlaintextFallback allows.`,
    );
    return Object.assign(file, {
      kind: "plaintext-file" as const,
      location: `the plain file ${file.path} (mode 0600; not in ${keyringName()})`,
    });
  }
}

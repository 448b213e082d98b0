/**
 * A token cache in a file encrypted with AES-256-GCM, its 256-bit key in the OS keyring: for caches
 * larger than a keyring item holds (a Windows Credential Manager item: 2,560 bytes), and wherever a
 * file is wanted but plain text is not. GCM authenticates, so a file that was changed, cut short or
 * encrypted under another key is refused (never half-read) and moved aside like a corrupt file.
 *
 * File layout (all of bytes 0-31 are authenticated as GCM's additional data):
 *   0  "MSALTSE1"                 magic and format version
 *   8  key id (8 bytes)           SHA-256 of a label and the key, cut: names the key without revealing it
 *  16  nonce (12 bytes)           random per write (NIST SP 800-38D 8.2.2)
 *  28  ciphertext length (uint32, big-endian)
 *  32  ciphertext, then the 16-byte tag
 */

import type { CachePlugin } from "../cache/plugin.js";
import { MAX_CACHE_TEXT_LENGTH } from "../cache/validation.js";
import { CacheDeserializationError, ConfigurationError } from "../errors.js";
import { logSink } from "../logging.js";
import { nodeCrypto, nodeFsPromises, nodePath } from "./builtins.js";
import { type KeyringItem, keyringItem } from "./keyring.js";
import { type CacheStore, type LockOptions, positiveMs, StoreSync } from "./keyring-sync.js";

const MAGIC = Buffer.from("MSALTSE1", "latin1");
const HEADER = 32;
const TAG = 16;
const KEY_BYTES = 32;

/** Why an encrypted cache file was refused. */
export type EncryptedCacheFileProblem = "not_encrypted" | "truncated" | "tampered" | "wrong_key";

/**
 * An encrypted token cache file could not be decrypted: `problem` says why (`wrong_key`: encrypted
 * under another key, such as after the keyring item was deleted; `truncated`: shorter than it says;
 * `tampered`: a byte changed, so GCM's tag does not match; `not_encrypted`: not this format at
 * all). A {@link EncryptedFilePersistence} moves such a file aside and starts empty.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 *
 * const key = new Uint8Array(32); // the cache's AES-256 key, from wherever it is kept
 * try {
 *   decryptCacheFile(await readFile("token-cache.bin"), key);
 * } catch (e) {
 *   if (e instanceof EncryptedCacheFileError && e.problem === "wrong_key") console.error(e.message);
 * }
 * ```
 */
export class EncryptedCacheFileError extends CacheDeserializationError {
  /** Why the file could not be decrypted. */
  readonly problem: EncryptedCacheFileProblem;

  constructor(problem: EncryptedCacheFileProblem, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.problem = problem;
  }
}

const keyIdOf = (key: Uint8Array): Buffer =>
  nodeCrypto()
    .createHash("sha256")
    .update("msal-ts token cache key id\n")
    .update(key)
    .digest()
    .subarray(0, 8);

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES)
    throw new ConfigurationError(
      "key",
      `An encrypted token cache needs a ${KEY_BYTES}-byte AES-256 key, but the key given is ${key instanceof Uint8Array ? `${key.length} bytes` : "not bytes"}.`,
    );
}

/**
 * Encrypts a cache's text in the encrypted cache file format (a fresh random nonce each time).
 *
 * @example
 * ```ts
 * import { writeFile } from "node:fs/promises";
 *
 * const cache = new SerializableTokenCache();
 * const key = crypto.getRandomValues(new Uint8Array(32));
 * await writeFile("token-cache.bin", encryptCacheFile(cache.serialize(), key), { mode: 0o600 });
 * ```
 */
export function encryptCacheFile(text: string, key: Uint8Array): Uint8Array {
  checkKey(key);
  const crypto = nodeCrypto();
  const plain = Buffer.from(text, "utf8");
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  keyIdOf(key).copy(header, 8);
  crypto.randomBytes(12).copy(header, 16);
  header.writeUInt32BE(plain.length, 28);
  const cipher = crypto.createCipheriv("aes-256-gcm", key, header.subarray(16, 28));
  cipher.setAAD(header);
  return Buffer.concat([header, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/**
 * Decrypts an encrypted cache file; throws {@link EncryptedCacheFileError} naming the problem
 * when it is not one, was cut short, was changed, or was encrypted under another key.
 *
 * @example
 * ```ts
 * import { readFile } from "node:fs/promises";
 *
 * const key = new Uint8Array(32); // the key the file was encrypted under
 * const text = decryptCacheFile(await readFile("token-cache.bin"), key);
 * new SerializableTokenCache().deserialize(text);
 * ```
 */
export function decryptCacheFile(bytes: Uint8Array, key: Uint8Array, where = "The token cache file"): string {
  checkKey(key);
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const magicSeen = data.subarray(0, MAGIC.length);
  if (!MAGIC.subarray(0, magicSeen.length).equals(magicSeen))
    throw new EncryptedCacheFileError(
      "not_encrypted",
      `${where} is not an msal-ts encrypted token cache (it does not start with ${MAGIC.toString("latin1")}).`,
    );
  if (data.length < HEADER + TAG)
    throw new EncryptedCacheFileError(
      "truncated",
      `${where} is truncated: ${data.length} bytes, less than the ${HEADER + TAG} of an empty encrypted cache.`,
    );
  if (!data.subarray(8, 16).equals(keyIdOf(key)))
    throw new EncryptedCacheFileError(
      "wrong_key",
      `${where} was encrypted under another key than the one in the keyring (key id ${data.subarray(8, 16).toString("hex")}, the keyring's is ${keyIdOf(key).toString("hex")}): the keyring item was replaced or the file comes from elsewhere.`,
    );
  const expected = HEADER + data.readUInt32BE(28) + TAG;
  if (data.length < expected)
    throw new EncryptedCacheFileError(
      "truncated",
      `${where} is truncated: ${data.length} bytes, but its header says ${expected}.`,
    );
  try {
    if (data.length > expected) throw new Error(`${data.length - expected} bytes more than its header says`);
    const decipher = nodeCrypto().createDecipheriv("aes-256-gcm", key, data.subarray(16, 28));
    decipher.setAAD(data.subarray(0, HEADER));
    decipher.setAuthTag(data.subarray(expected - TAG, expected));
    const plain = Buffer.concat([decipher.update(data.subarray(HEADER, expected - TAG)), decipher.final()]);
    return plain.toString("utf8");
  } catch (e) {
    throw new EncryptedCacheFileError(
      "tampered",
      `${where} was changed after it was written: its AES-GCM authentication failed (${e instanceof Error ? e.message : String(e)}).`,
      { cause: e },
    );
  }
}

/** Options of an {@link EncryptedFilePersistence}: where the key is, and the lock's options. */
export interface EncryptedFilePersistenceOptions extends LockOptions {
  /** The keyring item holding the key (base64): its service (default `msal-ts`). */
  service?: string;
  /** The keyring item's account (default `token-cache-key:` and the SHA-256 of the absolute path). */
  account?: string;
  /**
   * The 32-byte key itself, or a function giving it, instead of a keyring item: for keys kept
   * elsewhere (a KMS, a hardware token). The keyring is then not used.
   */
  key?: Uint8Array | (() => Promise<Uint8Array>);
}

const errorCode = (e: unknown): string | undefined =>
  typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;

/** The key kept base64-encoded in a keyring item, created on the first write. */
function keyringKey(item: KeyringItem): { get(create: boolean): Promise<Uint8Array | undefined> } {
  return {
    async get(create) {
      const stored = await item.read();
      if (stored !== undefined) {
        const key = Buffer.from(stored, "base64");
        if (key.length === KEY_BYTES) return key;
        throw new ConfigurationError(
          "key",
          `${item.description} holds ${key.length} bytes, not a ${KEY_BYTES}-byte AES key: remove it, and the next write makes a new key (the cache file then starts empty).`,
        );
      }
      if (!create) return undefined;
      const key = nodeCrypto().randomBytes(KEY_BYTES);
      await item.write(key.toString("base64"));
      return key;
    },
  };
}

/**
 * Persists a token cache in a file encrypted with AES-256-GCM whose key is a random 256-bit key in
 * the OS keyring (made on the first write). Give it to a {@link PersistedTokenCache}; the lock,
 * reload and merge are those of FilePersistence (`<path>.lockfile`, safe across processes).
 * A file that cannot be decrypted (another key, cut short, changed) is moved to
 * `<path>.corrupt-<time>` with a warning naming the problem, and the cache starts empty. Needs the
 * optional package `@napi-rs/keyring`, unless `key` is given.
 *
 * @example
 * ```ts
 * import { homedir } from "node:os";
 * import { join } from "node:path";
 * import { EncryptedFilePersistence, PersistedTokenCache, PublicClientApplication } from "msal-ts";
 *
 * const persistence = new EncryptedFilePersistence(join(homedir(), ".myapp", "msal_token_cache.bin"));
 * const app = new PublicClientApplication(clientId, { tokenCache: new PersistedTokenCache(persistence) });
 * ```
 */
export class EncryptedFilePersistence implements CachePlugin {
  /** The encrypted cache file, absolute. */
  readonly path: string;
  /** The lock file: `<path>.lockfile`. */
  readonly lockPath: string;
  /** Where the cache and its key live, in words. */
  readonly location: string;
  readonly #key: (create: boolean) => Promise<Uint8Array | undefined>;
  readonly #keyItem: KeyringItem | undefined;
  readonly #sync: StoreSync;

  constructor(path: string, options: EncryptedFilePersistenceOptions = {}) {
    if (typeof path !== "string" || path.trim() === "")
      throw new ConfigurationError(
        "path",
        "EncryptedFilePersistence needs the path of the cache file; it is empty.",
      );
    this.path = nodePath().resolve(path);
    this.lockPath = `${this.path}.lockfile`;
    const given = options.key;
    if (given !== undefined) {
      if (typeof given !== "function") checkKey(given);
      this.#key = async () => {
        const key = typeof given === "function" ? await given() : given;
        checkKey(key);
        return key;
      };
      this.location = `the file ${this.path}, encrypted with AES-256-GCM under the key given`;
    } else {
      const account =
        options.account ??
        `token-cache-key:${nodeCrypto().createHash("sha256").update(this.path, "utf8").digest("hex")}`;
      this.#keyItem = keyringItem(options.service ?? "msal-ts", account);
      const key = keyringKey(this.#keyItem);
      this.#key = (create) => key.get(create);
      this.location = `the file ${this.path}, encrypted with AES-256-GCM under a key in ${this.#keyItem.description}`;
    }
    this.#sync = new StoreSync(this.#store(), this.lockPath, {
      timeoutMs: positiveMs("lockTimeoutMs", options.lockTimeoutMs, 10_000),
      staleMs: positiveMs("staleLockMs", options.staleLockMs, 30_000),
      log: logSink(options.logger),
    });
  }

  beforeCacheAccess: CachePlugin["beforeCacheAccess"] = (context) => this.#sync.beforeCacheAccess(context);
  afterCacheAccess: CachePlugin["afterCacheAccess"] = (context) => this.#sync.afterCacheAccess(context);

  /** Reads the key (without making one): throws KeyringUnavailableError when the keyring cannot be used. */
  async check(): Promise<void> {
    await this.#key(false);
  }

  /** Deletes the cache file and the key (signing every account out). */
  async remove(): Promise<void> {
    await nodeFsPromises().rm(this.path, { force: true });
    await this.#keyItem?.remove();
  }

  #store(): CacheStore {
    const where = `The token cache file ${this.path}`;
    return {
      description: `the encrypted file ${this.path}`,
      read: async () => {
        const bytes = await readIfAny(this.path);
        if (bytes === undefined) return "";
        if (bytes.length > HEADER + TAG + MAX_CACHE_TEXT_LENGTH)
          return new CacheDeserializationError(
            `${where} is ${bytes.length} bytes long, more than a cache may have.`,
          );
        const key = await this.#key(false);
        if (!key)
          return new EncryptedCacheFileError(
            "wrong_key",
            `${where} has no key: the keyring item holding it is gone (deleted, or another user's keyring).`,
          );
        try {
          return decryptCacheFile(bytes, key, where);
        } catch (e) {
          if (e instanceof EncryptedCacheFileError) return e;
          throw e;
        }
      },
      write: async (text) => {
        const key = (await this.#key(true)) as Uint8Array;
        await writeAtomically(this.path, encryptCacheFile(text, key));
      },
      setAside: async () => {
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        let aside = `${this.path}.corrupt-${stamp}`;
        for (let n = 2; await exists(aside); n++) aside = `${this.path}.corrupt-${stamp}-${n}`;
        await nodeFsPromises().rename(this.path, aside);
        return aside;
      },
    };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await nodeFsPromises().stat(path);
    return true;
  } catch (e) {
    if (errorCode(e) === "ENOENT") return false;
    throw e;
  }
}

async function readIfAny(path: string): Promise<Buffer | undefined> {
  try {
    return await nodeFsPromises().readFile(path);
  } catch (e) {
    if (errorCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Writes a temporary file (mode 0600) next to `path`, fsyncs it and renames it over `path`. */
async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const fs = nodeFsPromises();
  await fs.mkdir(nodePath().dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${process.pid}.${nodeCrypto().randomBytes(6).toString("hex")}.tmp`;
  try {
    const handle = await fs.open(temp, "wx", 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, path);
  } catch (e) {
    await fs.rm(temp, { force: true });
    throw e;
  }
}

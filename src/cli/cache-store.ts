/**
 * Where the command keeps its token cache: in the OS keyring by default (securePersistence), in a
 * plain 0600 file when one is chosen (--cache-file or MSAL_CACHE_FILE), or, where there is no
 * keyring, in the default plain file with a notice on stderr saying so and how to choose.
 */
import { existsSync, readFileSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import type { CachePlugin } from "../cache/plugin.js";
import { type EntityOf, SECTIONS, type Section } from "../cache/schema.js";
import {
  FilePersistence,
  KeyringUnavailableError,
  PersistedTokenCache,
  type SecurePersistence,
  SerializableTokenCache,
  securePersistence,
  withCacheAccess,
} from "../node/index.js";
import type { CommonOptions } from "./options.js";
import { dim, type Terminal } from "./terminal.js";

/** The keyring item of the command's cache: easy to find in a keyring manager (Seahorse, Keychain Access). */
const KEYRING = { service: "msal-ts", account: "cli-token-cache" };

/**
 * The secure cache's own path, next to the default plain file: an empty signal file (and its lock)
 * on Linux and macOS, the encrypted cache file on Windows.
 */
export const secureCachePath = (plainFile: string): string => join(dirname(plainFile), "token-cache.secure");

const plainFile = (path: string, note = ""): SecurePersistence =>
  Object.assign(new FilePersistence(path), {
    kind: "plaintext-file" as const,
    location: `the plain file ${path} (mode 0600)${note}`,
  });

/**
 * Moves the tokens of a plain cache file that an earlier msal-ts kept at the default path into the
 * keyring (entries the keyring holds already stay), then deletes the file: refresh tokens should
 * not stay in clear text once a keyring is there.
 */
async function moveIntoKeyring(persistence: SecurePersistence, path: string, t: Terminal): Promise<void> {
  if (!existsSync(path)) return;
  const old = new SerializableTokenCache();
  try {
    old.deserialize(readFileSync(path, "utf8"));
  } catch (e) {
    t.err.write(
      `msal-ts: the old plain cache file ${path} could not be read (${e instanceof Error ? e.message : String(e)}); it was left as it is.\n`,
    );
    return;
  }
  const cache = new PersistedTokenCache(persistence);
  await withCacheAccess(cache, undefined, () => {
    for (const section of SECTIONS) {
      const held = new Set([...cache.entries(section)].map(([key]) => key));
      for (const [key, entity] of old.entries(section))
        if (!held.has(key)) cache.restore(section, key, entity as EntityOf[Section]);
    }
  });
  unlinkSync(path);
  t.err.write(`msal-ts: moved the token cache from the plain file ${path} into ${persistence.location}.\n`);
}

/** Picks the cache's persistence (once per options object): keyring, chosen file, or fallback file. */
export async function choosePersistence(options: CommonOptions, t: Terminal): Promise<SecurePersistence> {
  if (options.plainCacheFile) return plainFile(options.cacheFile);
  try {
    const persistence = await securePersistence(secureCachePath(options.cacheFile), KEYRING);
    await moveIntoKeyring(persistence, options.cacheFile, t);
    return persistence;
  } catch (e) {
    if (!(e instanceof KeyringUnavailableError)) throw e;
    t.err.write(
      `msal-ts: no OS keyring (${e.reason}), so the token cache is the plain file ${options.cacheFile} (mode 0600). ` +
        "Start a keyring (on Linux a Secret Service such as gnome-keyring) to keep it encrypted, or pass --cache-file (or set MSAL_CACHE_FILE) to choose the plain file and silence this.\n",
    );
    return plainFile(options.cacheFile, ", no keyring available");
  }
}

const chosen = new WeakMap<CommonOptions, Promise<SecurePersistence>>();

/** The persistence for these options, picked on first use and told with --verbose. */
export function cachePersistence(options: CommonOptions, t: Terminal): Promise<SecurePersistence> {
  let persistence = chosen.get(options);
  if (!persistence) {
    persistence = choosePersistence(options, t).then((p) => {
      if (options.verbose) t.err.write(`${dim(t, `Token cache: ${p.location}`)}\n`);
      return p;
    });
    chosen.set(options, persistence);
  }
  return persistence;
}

/** A token cache whose persistence is picked at its first access (the apps are made synchronously). */
export function cliTokenCache(options: CommonOptions, t: Terminal): PersistedTokenCache {
  const plugin: CachePlugin = {
    beforeCacheAccess: async (context) => (await cachePersistence(options, t)).beforeCacheAccess(context),
    afterCacheAccess: async (context) => (await cachePersistence(options, t)).afterCacheAccess(context),
  };
  return new PersistedTokenCache(plugin);
}

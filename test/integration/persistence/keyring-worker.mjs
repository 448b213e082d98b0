/**
 * A child process of the keyring tests, in plain JavaScript on the build in dist/: one cache
 * operation through KeyringPersistence, EncryptedFilePersistence or securePersistence, with the
 * Secret Service the parent started (its env). Prints one JSON line with the outcome.
 *
 * Usage: node keyring-worker.mjs <built node entry> <command> <kind> <path> [args]
 *   add <kind> <path> <name>...   one cache access per name, adding the app token api://<name>
 *   list <kind> <path>            the cache's access tokens, target to secret
 *   remove <kind> <path>          removes the stored cache
 *   secure <path> [fallback]      securePersistence(path, { allowPlaintextFallback }), then one access adding api://probe
 *   writer <kind> <path> <id> <count>   forked with IPC: adds <count> tokens once told "go" (the 8-process test)
 * <kind>: keyring | encrypted-file. Options for KeyringPersistence come from KEYRING_SERVICE and KEYRING_ACCOUNT.
 */
import { pathToFileURL } from "node:url";

const [entry, command, ...args] = process.argv.slice(2);
const msal = await import(pathToFileURL(entry).href);
const {
  EncryptedFilePersistence,
  KeyringPersistence,
  PersistedTokenCache,
  securePersistence,
  withCacheAccess,
} = msal;

const warnings = [];
const logger = { log: (level, message) => level === "warning" && warnings.push(message) };
const keyringOptions = {
  ...(process.env.KEYRING_SERVICE ? { service: process.env.KEYRING_SERVICE } : {}),
  ...(process.env.KEYRING_ACCOUNT ? { account: process.env.KEYRING_ACCOUNT } : {}),
  lockTimeoutMs: 30_000,
  logger,
};

const persistenceOf = (kind, path) =>
  kind === "keyring"
    ? new KeyringPersistence(path, keyringOptions)
    : new EncryptedFilePersistence(path, { lockTimeoutMs: 30_000, logger });

const event = (name) => ({
  clientId: "daemon",
  scopes: [`api://${name}/.default`],
  tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
  grantType: "client_credentials",
  response: { access_token: `secret-${name}`, expires_in: 3600, token_type: "Bearer" },
});

const tokensOf = (cache) =>
  Object.fromEntries([...cache.entries("AccessToken")].map(([, at]) => [at.target, at.secret]));

const print = (result) => process.stdout.write(`${JSON.stringify({ ...result, warnings })}\n`);
const failure = (e) => ({
  error: { name: e?.name, code: e?.code, message: e?.message ?? String(e), reason: e?.reason },
});

try {
  if (command === "add") {
    const [kind, path, ...names] = args;
    const cache = new PersistedTokenCache(persistenceOf(kind, path));
    for (const name of names) await withCacheAccess(cache, undefined, () => cache.add(event(name)));
    print({ ok: true, tokens: tokensOf(cache) });
  } else if (command === "list") {
    const [kind, path] = args;
    const cache = new PersistedTokenCache(persistenceOf(kind, path));
    await withCacheAccess(cache, undefined, () => {});
    print({ tokens: tokensOf(cache) });
  } else if (command === "remove") {
    const [kind, path] = args;
    print({ removed: (await persistenceOf(kind, path).remove()) ?? true });
  } else if (command === "secure") {
    const [path, fallback] = args;
    const persistence = await securePersistence(path, {
      allowPlaintextFallback: fallback === "fallback",
      logger,
    });
    const cache = new PersistedTokenCache(persistence);
    await withCacheAccess(cache, undefined, () => cache.add(event("probe")));
    print({ kind: persistence.kind, location: persistence.location, tokens: tokensOf(cache) });
  } else if (command === "writer") {
    const [kind, path, id, count] = args;
    const cache = new PersistedTokenCache(persistenceOf(kind, path));
    process.once("message", async (message) => {
      if (message !== "go") return;
      try {
        const started = Date.now();
        for (let i = 0; i < Number(count); i++)
          await withCacheAccess(cache, undefined, () => cache.add(event(`${id}-${i}`)));
        process.send({ done: true, started, ended: Date.now(), warnings });
      } catch (e) {
        process.send({ done: false, ...failure(e) });
      }
      process.disconnect();
    });
    process.send({ ready: true });
  } else {
    throw new Error(`Unknown command ${command}`);
  }
} catch (e) {
  print(failure(e));
}

/**
 * A child process of concurrent-writers.test.ts, in plain JavaScript (child processes run Node
 * without Vitest): adds `count` distinct app tokens to one FilePersistence file, each in its own
 * cache access, once the parent says "go".
 *
 * Usage (forked with IPC): node writer.mjs <built node entry> <cache file> <writer id> <count>
 */
import { pathToFileURL } from "node:url";

const [entry, file, writer, count] = process.argv.slice(2);
const { FilePersistence, PersistedTokenCache, withCacheAccess } = await import(pathToFileURL(entry).href);

const cache = new PersistedTokenCache(new FilePersistence(file, { lockTimeoutMs: 15_000 }));

const event = (i) => ({
  clientId: "daemon",
  scopes: [`api://${writer}-${i}/.default`],
  tokenEndpoint: "https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token",
  grantType: "client_credentials",
  response: { access_token: `secret-${writer}-${i}`, expires_in: 3600, token_type: "Bearer" },
});

process.once("message", async (message) => {
  if (message !== "go") return;
  try {
    const started = Date.now();
    for (let i = 0; i < Number(count); i++) {
      await withCacheAccess(cache, undefined, () => cache.add(event(i)));
    }
    process.send({ done: true, started, ended: Date.now() });
  } catch (error) {
    process.send({ done: false, error: String(error?.stack ?? error) });
  }
  process.disconnect();
});
process.send({ ready: true });

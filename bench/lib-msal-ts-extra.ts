/**
 * msal-ts's runners for the one-shot, flat-in-size, memory and growth tasks (bench/spec.ts), as
 * msal-ts users write them; bench/lib-msal-ts.ts has the others.
 */
import {
  type Account,
  ConfidentialClientApplication,
  PublicClientApplication,
  SerializableTokenCache,
  type TokenResult,
} from "../src/node/index.js";
import {
  appScope,
  authorityOf,
  DAEMON_CLIENT_ID,
  DAEMON_SECRET,
  homeAccountId,
  tenantId,
  USER_CLIENT_ID,
  USER_SCOPES,
  USER_TENANT,
} from "./fixtures.js";
import { heapUsed, nowUs, timeInterleaved } from "./measure.js";
import type { TaskContext } from "./peer-node.js";
import type { FlatTask, GrowthTask, MemoryTask, OneShotTask, TaskResult } from "./spec.js";

function expectCacheHit(result: TokenResult | null, what: string): void {
  if (!result || "error" in result || result.token_source !== "cache")
    throw new Error(`${what} was not a cache hit: ${JSON.stringify(result)?.slice(0, 300)}`);
}

function expectToken(result: TokenResult | null, what: string): void {
  if (!result || "error" in result || typeof result.access_token !== "string")
    throw new Error(`${what} failed: ${JSON.stringify(result)?.slice(0, 300)}`);
}

/** One run, in a process that has done nothing else: JSON.parse of the text, then the whole load. */
export async function oneShot(task: OneShotTask, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(task.cacheFile);
  c.ready();
  let t0 = nowUs();
  if (task.part === "raw") {
    if (typeof JSON.parse(text) !== "object") throw new Error("the cache is not a JSON object");
    return { facts: { rawParseUs: nowUs() - t0 } };
  }
  t0 = nowUs();
  const cache = new SerializableTokenCache();
  cache.deserialize(text);
  const app = new PublicClientApplication(USER_CLIENT_ID, {
    authority: authorityOf(USER_TENANT),
    tokenCache: cache,
    fetch: c.fake.fetch,
  });
  const accounts = await app.getAccounts();
  const result = await app.acquireTokenSilent(USER_SCOPES, accounts[accounts.length >> 1]);
  const load = nowUs() - t0;
  expectCacheHit(result, "the one-shot silent call");
  if (accounts.length !== task.users)
    throw new Error(`getAccounts found ${accounts.length} of ${task.users}`);
  return { facts: { loadUs: load, tokenRequests: c.fake.tokenRequests } };
}

function loaded(file: string, c: TaskContext): SerializableTokenCache {
  const cache = new SerializableTokenCache();
  cache.deserialize(c.cacheText(file));
  return cache;
}

/** The same hits on a hot set in a small and in a large cache, in alternation. */
export async function flat(task: FlatTask, c: TaskContext): Promise<TaskResult> {
  if (task.kind === "flat-cc") {
    const app = (file: string) =>
      new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
        clientCredential: DAEMON_SECRET,
        authority: authorityOf(tenantId(1)),
        tokenCache: loaded(file, c),
        fetch: c.fake.fetch,
      });
    const small = app(task.smallFile);
    const large = app(task.largeFile);
    const scopes = Array.from({ length: task.hot }, (_, r) => [appScope(r)]);
    for (const a of [small, large])
      for (const s of scopes) expectCacheHit(await a.acquireTokenForClient(s), "priming");
    c.fake.resetCounts();
    c.ready();
    const timings = await timeInterleaved(
      {
        small: (i) => small.acquireTokenForClient(scopes[i % task.hot] as string[]),
        large: (i) => large.acquireTokenForClient(scopes[i % task.hot] as string[]),
      },
      c.spec.plan,
    );
    if (c.fake.tokenRequests !== 0) throw new Error("token requests during cache hits");
    return { timings };
  }
  const hot = new Set(Array.from({ length: task.hot }, (_, i) => homeAccountId(i)));
  const app = async (file: string) => {
    const a = new PublicClientApplication(USER_CLIENT_ID, {
      authority: authorityOf(USER_TENANT),
      tokenCache: loaded(file, c),
      fetch: c.fake.fetch,
    });
    const accounts = (await a.getAccounts()).filter((x) => hot.has(x.home_account_id));
    if (accounts.length !== task.hot)
      throw new Error(`found ${accounts.length} of the ${task.hot} hot users`);
    for (const account of accounts)
      expectCacheHit(await a.acquireTokenSilent(USER_SCOPES, account), "priming");
    return { a, accounts };
  };
  const small = await app(task.smallFile);
  const large = await app(task.largeFile);
  const call = (x: { a: PublicClientApplication; accounts: Account[] }) => (i: number) =>
    x.a.acquireTokenSilent(USER_SCOPES, x.accounts[i % task.hot]);
  c.fake.resetCounts();
  c.ready();
  const timings = await timeInterleaved({ small: call(small), large: call(large) }, c.spec.plan);
  if (c.fake.tokenRequests !== 0) throw new Error("token requests during cache hits");
  return { timings };
}

/** Heap after loading the cache and one lookup, less the heap before (the cache's text held in both). */
export async function memory(task: MemoryTask, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(task.cacheFile);
  c.ready();
  const before = heapUsed();
  const cache = new SerializableTokenCache();
  cache.deserialize(text);
  if (task.what === "app-tokens") {
    const app = new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
      clientCredential: DAEMON_SECRET,
      authority: authorityOf(tenantId(1)),
      tokenCache: cache,
      fetch: c.fake.fetch,
    });
    expectCacheHit(await app.acquireTokenForClient([appScope(0)]), "the lookup");
  } else {
    const app = new PublicClientApplication(USER_CLIENT_ID, {
      authority: authorityOf(USER_TENANT),
      tokenCache: cache,
      fetch: c.fake.fetch,
    });
    const [account] = await app.getAccounts();
    expectCacheHit(await app.acquireTokenSilent(USER_SCOPES, account), "the lookup");
  }
  const after = heapUsed();
  const held = cache.counts();
  if (text.length === 0) throw new Error("empty cache text");
  return {
    facts: {
      bytes: after - before,
      perEntry: (after - before) / task.entries,
      entries: task.entries,
      accessTokens: held.AccessToken,
      textBytes: Buffer.byteLength(text),
    },
  };
}

/** Tokens for ever-new tenants through one app (`{ tenant }` per request), the heap sampled as it goes. */
export async function growth(task: GrowthTask, c: TaskContext): Promise<TaskResult> {
  const cache = new SerializableTokenCache(
    task.maxAccessTokens === undefined ? {} : { maxAccessTokens: task.maxAccessTokens },
  );
  const app = new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
    clientCredential: DAEMON_SECRET,
    authority: authorityOf("organizations"),
    tokenCache: cache,
    fetch: c.fake.fetch,
  });
  const every = Math.max(1, Math.floor(task.calls / task.samples));
  const samples: Array<{ calls: number; heapBytes: number; accessTokens: number }> = [];
  c.ready();
  samples.push({ calls: 0, heapBytes: heapUsed(), accessTokens: 0 });
  const t0 = nowUs();
  for (let i = 1; i <= task.calls; i++) {
    expectToken(await app.acquireTokenForClient([appScope(0)], { tenant: tenantId(i) }), "a new tenant");
    if (i % every === 0)
      samples.push({ calls: i, heapBytes: heapUsed(), accessTokens: cache.counts().AccessToken });
  }
  return {
    facts: {
      samples,
      maxAccessTokens: task.maxAccessTokens ?? null,
      tokenRequests: c.fake.counts.clientCredential,
      perCallUs: (nowUs() - t0) / task.calls,
    },
  };
}

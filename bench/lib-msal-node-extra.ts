/**
 * msal-node's runners for the one-shot, flat-in-size and memory tasks (bench/spec.ts), as
 * @azure/msal-node users write them; bench/lib-msal-node.ts has the others.
 */
import {
  type AccountInfo,
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  LogLevel,
  PublicClientApplication,
} from "@azure/msal-node";
import {
  appScope,
  authorityOf,
  DAEMON_CLIENT_ID,
  DAEMON_SECRET,
  ENVIRONMENT,
  homeAccountId,
  tenantId,
  USER_CLIENT_ID,
  USER_SCOPES,
  USER_TENANT,
  username,
  userUid,
} from "./fixtures.js";
import { heapUsed, nowUs, timeInterleaved } from "./measure.js";
import type { TaskContext } from "./peer-node.js";
import type { FlatTask, MemoryTask, OneShotTask, TaskResult } from "./spec.js";

const system = (c: TaskContext): Configuration["system"] => ({
  networkClient: c.fake.networkClient,
  loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
});

function expectFromCache(result: AuthenticationResult | null, what: string): void {
  if (!result?.accessToken || !result.fromCache) throw new Error(`${what} was not a cache hit`);
}

/** An account as an app that kept it (in a session) would pass it. */
function accountInfo(index: number): AccountInfo {
  return {
    homeAccountId: homeAccountId(index),
    environment: ENVIRONMENT,
    tenantId: USER_TENANT,
    username: username(index),
    localAccountId: userUid(index),
    name: `User ${index}`,
  };
}

const userApp = (c: TaskContext) =>
  new PublicClientApplication({
    auth: { clientId: USER_CLIENT_ID, authority: authorityOf(USER_TENANT) },
    system: system(c),
  });

const daemonApp = (c: TaskContext) =>
  new ConfidentialClientApplication({
    auth: { clientId: DAEMON_CLIENT_ID, clientSecret: DAEMON_SECRET, authority: authorityOf(tenantId(1)) },
    system: system(c),
  });

/** deserialize + getAllAccounts + one silent hit, timed once in a fresh process (the runner bounds it). */
export async function oneShot(task: OneShotTask, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(task.cacheFile);
  c.ready();
  let t0 = nowUs();
  if (task.part === "raw") {
    if (typeof JSON.parse(text) !== "object") throw new Error("the cache is not a JSON object");
    return { facts: { rawParseUs: nowUs() - t0 } };
  }
  t0 = nowUs();
  const app = userApp(c);
  const cache = app.getTokenCache();
  await cache.deserialize(text);
  const accounts = await cache.getAllAccounts();
  const result = await app.acquireTokenSilent({
    scopes: USER_SCOPES,
    account: accounts[accounts.length >> 1] as AccountInfo,
  });
  const load = nowUs() - t0;
  expectFromCache(result, "the one-shot silent call");
  return { facts: { loadUs: load, tokenRequests: c.fake.tokenRequests } };
}

export async function flat(task: FlatTask, c: TaskContext): Promise<TaskResult> {
  if (task.kind === "flat-cc") {
    const app = async (file: string) => {
      const a = daemonApp(c);
      await a.getTokenCache().deserialize(c.cacheText(file));
      return a;
    };
    const small = await app(task.smallFile);
    const large = await app(task.largeFile);
    const requests = Array.from({ length: task.hot }, (_, r) => ({ scopes: [appScope(r)] }));
    for (const a of [small, large])
      for (const r of requests) expectFromCache(await a.acquireTokenByClientCredential(r), "priming");
    c.fake.resetCounts();
    c.ready();
    const call = (a: ConfidentialClientApplication) => (i: number) =>
      a.acquireTokenByClientCredential(requests[i % task.hot] as (typeof requests)[number]);
    const timings = await timeInterleaved({ small: call(small), large: call(large) }, c.spec.plan);
    if (c.fake.tokenRequests !== 0) throw new Error("token requests during cache hits");
    return { timings };
  }
  const app = async (file: string) => {
    const a = userApp(c);
    await a.getTokenCache().deserialize(c.cacheText(file));
    return a;
  };
  const small = await app(task.smallFile);
  const large = await app(task.largeFile);
  const requests = Array.from({ length: task.hot }, (_, i) => ({
    scopes: USER_SCOPES,
    account: accountInfo(i),
  }));
  for (const a of [small, large])
    for (const r of requests) expectFromCache(await a.acquireTokenSilent(r), "priming");
  c.fake.resetCounts();
  c.ready();
  const call = (a: PublicClientApplication) => (i: number) =>
    a.acquireTokenSilent(requests[i % task.hot] as (typeof requests)[number]);
  const timings = await timeInterleaved({ small: call(small), large: call(large) }, c.spec.plan);
  if (c.fake.tokenRequests !== 0) throw new Error("token requests during cache hits");
  return { timings };
}

/** Heap after deserialize and one hit, less the heap before (the cache's text held in both). */
export async function memory(task: MemoryTask, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(task.cacheFile);
  c.ready();
  const before = heapUsed();
  let keep: unknown;
  if (task.what === "app-tokens") {
    const app = daemonApp(c);
    await app.getTokenCache().deserialize(text);
    expectFromCache(await app.acquireTokenByClientCredential({ scopes: [appScope(0)] }), "the lookup");
    keep = app;
  } else {
    const app = userApp(c);
    await app.getTokenCache().deserialize(text);
    expectFromCache(
      await app.acquireTokenSilent({ scopes: USER_SCOPES, account: accountInfo(0) }),
      "the lookup",
    );
    keep = app;
  }
  const after = heapUsed();
  if (!keep || text.length === 0) throw new Error("nothing loaded");
  return {
    facts: {
      bytes: after - before,
      perEntry: (after - before) / task.entries,
      entries: task.entries,
      textBytes: Buffer.byteLength(text),
    },
  };
}

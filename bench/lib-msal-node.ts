/**
 * The benchmark tasks as @azure/msal-node users write them. The fake identity provider is wired in
 * through `system.networkClient`, msal-node's HTTP injection point; logging is off (level Error).
 */
import {
  type AccountInfo,
  type AuthenticationResult,
  ConfidentialClientApplication,
  type Configuration,
  LogLevel,
  PublicClientApplication,
  version,
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
import { flat, memory, oneShot } from "./lib-msal-node-extra.js";
import { library } from "./library.js";
import { shuffled, time, timeInterleaved } from "./measure.js";
import type { TaskContext } from "./peer-node.js";
import type { ClientCredentialTask, ConcurrentTask, EndToEndTask, TaskResult, UserTask } from "./spec.js";

function system(c: TaskContext | undefined): Configuration["system"] {
  return {
    ...(c ? { networkClient: c.fake.networkClient } : {}),
    loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
  };
}

function expectFromCache(result: AuthenticationResult | null, what: string): void {
  if (!result?.accessToken || !result.fromCache) throw new Error(`${what} was not a cache hit`);
}

function expectToken(result: AuthenticationResult | null, what: string): void {
  if (!result?.accessToken) throw new Error(`${what} returned no token`);
}

async function clientCredentials(task: ClientCredentialTask, c: TaskContext): Promise<TaskResult> {
  // One app; the tenant is named per request (msal-node apps cannot share a cache in memory).
  const app = new ConfidentialClientApplication({
    auth: { clientId: DAEMON_CLIENT_ID, clientSecret: DAEMON_SECRET, authority: authorityOf(tenantId(1)) },
    system: system(c),
  });
  await app.getTokenCache().deserialize(c.cacheText(task.cacheFile));
  const miss = task.kind === "cc-miss";
  const requests = Array.from({ length: task.tenants }, (_, t) =>
    Array.from({ length: task.perTenant }, (_, r) => ({
      scopes: [appScope(r)],
      authority: authorityOf(tenantId(t + 1)),
      skipCache: miss,
    })),
  );
  for (const perTenant of requests) {
    const first = perTenant[0] as (typeof perTenant)[number];
    expectFromCache(await app.acquireTokenByClientCredential({ ...first, skipCache: false }), "priming");
  }
  const pairs: Array<[number, number]> = [];
  for (let t = 0; t < task.tenants; t++) for (let r = 0; r < task.perTenant; r++) pairs.push([t, r]);
  const order = shuffled(pairs);
  c.fake.resetCounts();
  c.ready();
  const timing = await time((i) => {
    const [t, r] = order[i % order.length] as [number, number];
    return app.acquireTokenByClientCredential(requests[t]?.[r] as (typeof requests)[0][0]);
  }, c.spec.plan);
  const sent = c.fake.counts.clientCredential;
  if (!miss && sent !== 0) throw new Error(`${sent} token requests during cache hits`);
  return { timing, facts: { tokenRequests: sent } };
}

/** Accounts as an app that kept them would pass them: getAllAccounts is too slow to list 10,000. */
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

async function users(task: UserTask, c: TaskContext): Promise<TaskResult> {
  const app = new PublicClientApplication({
    auth: { clientId: USER_CLIENT_ID, authority: authorityOf(USER_TENANT) },
    system: system(c),
  });
  const cache = app.getTokenCache();
  await cache.deserialize(c.cacheText(task.cacheFile));
  if (task.kind === "get-accounts") {
    c.ready();
    let found = 0;
    const timing = await time(async () => {
      found = (await cache.getAllAccounts()).length;
    }, c.spec.plan);
    if (found !== task.users) throw new Error(`getAllAccounts found ${found} of ${task.users}`);
    return { timing, facts: { accounts: found } };
  }
  const asked = shuffled(Array.from({ length: task.users }, (_, i) => i))
    .slice(0, 1000)
    .map(accountInfo);
  const refresh = task.kind === "silent-refresh";
  const request = (account: AccountInfo) => ({ scopes: USER_SCOPES, account, forceRefresh: refresh });
  const first = await app.acquireTokenSilent(request(asked[0] as AccountInfo));
  if (refresh) expectToken(first, "a forced silent refresh");
  else expectFromCache(first, "a silent call");
  const requests = asked.map(request);
  c.fake.resetCounts();
  c.ready();
  const timing = await time(
    (i) => app.acquireTokenSilent(requests[i % requests.length] as (typeof requests)[number]),
    c.spec.plan,
  );
  const sent = c.fake.counts.refresh;
  if (!refresh && sent !== 0) throw new Error(`${sent} token requests during silent cache hits`);
  return { timing, facts: { tokenRequests: sent } };
}

async function serialization(file: string, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(file);
  const app = new PublicClientApplication({ auth: { clientId: DAEMON_CLIENT_ID }, system: system(c) });
  const cache = app.getTokenCache();
  const parsed: unknown = JSON.parse(text);
  c.ready();
  const timings = await timeInterleaved(
    {
      deserialize: () => cache.deserialize(text),
      serialize: () => cache.serialize(),
      rawParse: () => JSON.parse(text),
      rawStringify: () => JSON.stringify(parsed),
    },
    c.spec.plan,
  );
  const out = cache.serialize();
  return {
    timings,
    facts: {
      bytes: Buffer.byteLength(text),
      accessTokens: Object.keys((JSON.parse(out) as { AccessToken?: object }).AccessToken ?? {}).length,
      roundTripIdentical: out === text,
    },
  };
}

async function concurrentCold(task: ConcurrentTask, c: TaskContext): Promise<TaskResult> {
  const walls: number[] = [];
  let counts = c.fake.counts;
  let failures = 0;
  c.ready();
  for (let round = 0; round < task.rounds; round++) {
    c.fake.resetCounts();
    c.fake.delayMs = task.delayMs;
    const app = new ConfidentialClientApplication({
      auth: { clientId: DAEMON_CLIENT_ID, clientSecret: DAEMON_SECRET, authority: authorityOf(tenantId(1)) },
      system: system(c),
    });
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: task.calls }, () => app.acquireTokenByClientCredential({ scopes: [appScope(0)] })),
    );
    walls.push(performance.now() - t0);
    failures += results.filter((r) => r.status === "rejected" || !r.value?.accessToken).length;
    counts = c.fake.counts;
  }
  return { facts: { ...counts, failures, wallMs: walls } };
}

/** Over the default network client (global fetch); the CA is trusted through NODE_EXTRA_CA_CERTS. */
async function endToEnd(task: EndToEndTask, c: TaskContext): Promise<TaskResult> {
  const app = new ConfidentialClientApplication({
    auth: {
      clientId: task.clientId,
      clientSecret: task.secret,
      authority: task.authority,
      knownAuthorities: [new URL(task.authority).host],
    },
    system: system(undefined),
  });
  const call = async () =>
    expectToken(await app.acquireTokenByClientCredential({ scopes: [task.scope], skipCache: true }), "e2e");
  for (let i = 0; i < task.warmup; i++) await call();
  c.ready();
  const perRun = Math.ceil(task.count / task.runs);
  const rates: number[] = [];
  for (let run = 0; run < task.runs; run++) {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) await call();
    rates.push((perRun * 1000) / (performance.now() - t0));
  }
  return { facts: { requestsPerSecond: rates, calls: task.warmup + perRun * task.runs } };
}

export const msalNode = library("msal-node", version, {
  clientCredentials,
  users,
  serialization,
  concurrentCold,
  endToEnd,
  oneShot,
  flat,
  memory,
});

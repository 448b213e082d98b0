/** The benchmark tasks as msal-ts users write them (its Node entry, as `import "msal-ts"` gives). */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  ConfidentialClientApplication,
  PublicClientApplication,
  SerializableTokenCache,
  type TokenResult,
  VERSION,
} from "../src/node/index.js";
import {
  appScope,
  authorityOf,
  DAEMON_CLIENT_ID,
  DAEMON_SECRET,
  ENVIRONMENT,
  tenantId,
  USER_CLIENT_ID,
  USER_SCOPES,
  USER_TENANT,
} from "./fixtures.js";
import { flat, growth, memory, oneShot } from "./lib-msal-ts-extra.js";
import { library } from "./library.js";
import { shuffled, type Timing, time, timeInterleaved } from "./measure.js";
import type { TaskContext } from "./peer-node.js";
import type { ClientCredentialTask, ConcurrentTask, EndToEndTask, TaskResult, UserTask } from "./spec.js";

function expectCacheHit(result: TokenResult | null, what: string): void {
  if (!result || "error" in result || result.token_source !== "cache")
    throw new Error(`${what} was not a cache hit: ${JSON.stringify(result)?.slice(0, 300)}`);
}

function expectToken(result: TokenResult | null, what: string): void {
  if (!result || "error" in result || typeof result.access_token !== "string")
    throw new Error(`${what} failed: ${JSON.stringify(result)?.slice(0, 300)}`);
}

/** Swaps `crypto.subtle.digest("SHA-256", ...)` for node:crypto's synchronous hash while entered. */
function syncDigest(): { enter(): void; leave(): void } {
  const subtle = globalThis.crypto.subtle;
  return {
    enter: () =>
      Object.defineProperty(subtle, "digest", {
        configurable: true,
        value: async (_algorithm: AlgorithmIdentifier, data: BufferSource) => {
          const bytes = ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : new Uint8Array(data);
          const hash = createHash("sha256").update(bytes).digest();
          return hash.buffer.slice(hash.byteOffset, hash.byteOffset + hash.byteLength);
        },
      }),
    leave: () => {
      delete (subtle as { digest?: unknown }).digest;
    },
  };
}

/** The (tenant, resource) pairs asked for, in a fixed shuffled order. */
function askOrder(tenants: number, perTenant: number): Array<[number, number]> {
  const pairs: Array<[number, number]> = [];
  for (let t = 0; t < tenants; t++) for (let r = 0; r < perTenant; r++) pairs.push([t, r]);
  return shuffled(pairs);
}

async function clientCredentials(task: ClientCredentialTask, c: TaskContext): Promise<TaskResult> {
  const cache = new SerializableTokenCache();
  cache.deserialize(c.cacheText(task.cacheFile));
  const tokensBefore = cache.counts().AccessToken;
  // One app per tenant sharing one cache, as MSAL Python's own benchmark builds them.
  const apps = Array.from(
    { length: task.tenants },
    (_, t) =>
      new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
        clientCredential: DAEMON_SECRET,
        authority: authorityOf(tenantId(t + 1)),
        tokenCache: cache,
        fetch: c.fake.fetch,
      }),
  );
  const scopes = Array.from({ length: task.perTenant }, (_, r) => [appScope(r)]);
  for (const app of apps) expectCacheHit(await app.acquireTokenForClient(scopes[0] as string[]), "priming");
  const order = askOrder(task.tenants, task.perTenant);
  const miss = task.kind === "cc-miss";
  const options = { forceRefresh: miss };
  const call = (i: number) => {
    const [t, r] = order[i % order.length] as [number, number];
    return (apps[t] as ConfidentialClientApplication).acquireTokenForClient(scopes[r] as string[], options);
  };
  const timings: Record<string, Timing> = {};
  c.fake.resetCounts();
  c.ready();
  let timing: Timing;
  if (miss && task.tenants === 1) {
    // Diagnostic, in alternation with the real thing: the same misses with WebCrypto's SHA-256 (a
    // thread-pool job per call) swapped for node:crypto's synchronous one, to show what msal-ts's
    // request throttling keys (src/http/throttle.ts) cost.
    const both = await timeInterleaved({ plain: call, syncDigest: call }, c.spec.plan, {
      syncDigest: syncDigest(),
    });
    timing = both.plain as Timing;
    timings.syncDigest = both.syncDigest as Timing;
  } else {
    timing = await time(call, c.spec.plan);
  }
  const requests = c.fake.counts.clientCredential;
  const facts: Record<string, unknown> = {
    tokenRequests: requests,
    accessTokensBefore: tokensBefore,
    accessTokensAfter: cache.counts().AccessToken,
  };
  if (!miss && requests !== 0) throw new Error(`${requests} token requests during cache hits`);
  if (!miss && task.tenants === 1) {
    // The floor of any Promise-returning call on this machine: an empty async function.
    const empty = async (i: number) => i;
    timings.emptyAsyncCall = await time(empty, c.spec.plan);
  }
  if (!miss && task.tenants > 1) {
    // One app asking for its own 10 tokens in the same big cache: the cost of the cache's size alone.
    const first = apps[0] as ConfidentialClientApplication;
    timings.oneTenant = await time(
      (i) => first.acquireTokenForClient(scopes[i % task.perTenant] as string[]),
      c.spec.plan,
    );
    // The other way to serve many tenants: one app, the tenant named per request.
    const one = apps[0] as ConfidentialClientApplication;
    const tenants = Array.from({ length: task.tenants }, (_, t) => tenantId(t + 1));
    for (const tenant of tenants)
      expectCacheHit(await one.acquireTokenForClient(scopes[0] as string[], { tenant }), "priming");
    timings.perRequestTenant = await time((i) => {
      const [t, r] = order[i % order.length] as [number, number];
      return one.acquireTokenForClient(scopes[r] as string[], { tenant: tenants[t] as string });
    }, c.spec.plan);
  }
  return { timing, timings, facts };
}

async function userApp(task: UserTask, c: TaskContext) {
  const cache = new SerializableTokenCache();
  cache.deserialize(c.cacheText(task.cacheFile));
  const app = new PublicClientApplication(USER_CLIENT_ID, {
    authority: authorityOf(USER_TENANT),
    tokenCache: cache,
    fetch: c.fake.fetch,
  });
  const accounts = await app.getAccounts();
  if (accounts.length !== task.users)
    throw new Error(`getAccounts found ${accounts.length} of ${task.users}`);
  return { app, accounts };
}

async function users(task: UserTask, c: TaskContext): Promise<TaskResult> {
  const { app, accounts } = await userApp(task, c);
  if (task.kind === "get-accounts") {
    c.ready();
    return { timing: await time(() => app.getAccounts(), c.spec.plan), facts: { accounts: accounts.length } };
  }
  const asked = shuffled(accounts).slice(0, 1000);
  const refresh = task.kind === "silent-refresh";
  const options = { forceRefresh: refresh };
  const first = await app.acquireTokenSilent(USER_SCOPES, asked[0], options);
  if (refresh) expectToken(first, "a forced silent refresh");
  else expectCacheHit(first, "a silent call");
  c.fake.resetCounts();
  c.ready();
  const timing = await time(
    (i) => app.acquireTokenSilent(USER_SCOPES, asked[i % asked.length], options),
    c.spec.plan,
  );
  const requests = c.fake.counts.refresh;
  if (!refresh && requests !== 0) throw new Error(`${requests} token requests during silent cache hits`);
  return { timing, facts: { tokenRequests: requests, accounts: accounts.length } };
}

async function serialization(file: string, c: TaskContext): Promise<TaskResult> {
  const text = c.cacheText(file);
  const cache = new SerializableTokenCache();
  const parsed: unknown = JSON.parse(text);
  c.ready();
  // A cache may defer work from deserialize to its first lookup: time the two together as well.
  const query = {
    clientId: DAEMON_CLIENT_ID,
    homeAccountId: null,
    environment: ENVIRONMENT,
    realm: tenantId(1),
    scopes: [appScope(0)],
  };
  const other = new SerializableTokenCache();
  const timings = await timeInterleaved(
    {
      deserialize: () => cache.deserialize(text),
      serialize: () => cache.serialize(),
      rawParse: () => JSON.parse(text),
      rawStringify: () => JSON.stringify(parsed),
      deserializeThenLookup: () => {
        other.deserialize(text);
        if (!other.findAccessToken(query)) throw new Error("the first lookup after deserialize missed");
      },
    },
    c.spec.plan,
  );
  return {
    timings,
    facts: {
      bytes: Buffer.byteLength(text),
      accessTokens: cache.counts().AccessToken,
      roundTripIdentical: cache.serialize() === text,
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
    const app = new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
      clientCredential: DAEMON_SECRET,
      authority: authorityOf(tenantId(1)),
      fetch: c.fake.fetch,
    });
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: task.calls }, () => app.acquireTokenForClient([appScope(0)])),
    );
    walls.push(performance.now() - t0);
    failures += results.filter((r) => "error" in r || !r.access_token).length;
    counts = c.fake.counts;
  }
  return { facts: { ...counts, failures, wallMs: walls } };
}

async function endToEnd(task: EndToEndTask, c: TaskContext): Promise<TaskResult> {
  const app = new ConfidentialClientApplication(task.clientId, {
    clientCredential: task.secret,
    authority: task.authority,
    validateAuthority: false,
    ca: readFileSync(task.caFile, "utf8"),
  });
  const call = async () =>
    expectToken(await app.acquireTokenForClient([task.scope], { forceRefresh: true }), "e2e");
  for (let i = 0; i < task.warmup; i++) await call();
  c.ready();
  const perRun = Math.ceil(task.count / task.runs);
  const batch = async () => {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) await call();
    return (perRun * 1000) / (performance.now() - t0);
  };
  // Each run is followed by a diagnostic one with node:crypto's SHA-256 in place of WebCrypto's.
  const rates: number[] = [];
  const syncDigestRates: number[] = [];
  const swap = syncDigest();
  for (let run = 0; run < task.runs; run++) {
    rates.push(await batch());
    swap.enter();
    try {
      syncDigestRates.push(await batch());
    } finally {
      swap.leave();
    }
  }
  return {
    facts: {
      requestsPerSecond: rates,
      syncDigestRequestsPerSecond: syncDigestRates,
      calls: task.warmup + 2 * perRun * task.runs,
    },
  };
}

export const msalTs = library("msal-ts", VERSION, {
  clientCredentials,
  users,
  serialization,
  concurrentCold,
  endToEnd,
  oneShot,
  flat,
  memory,
  growth,
});

/**
 * Micro-benchmark: the cost of a cache hit at 10, 1,000 and 100,000 cached access tokens. The cost
 * should be flat: lookups touch one bucket, never the whole cache. Each figure is the median of
 * several timed rounds after a warm-up. Run with `npm run bench -- cache` (or `--quick`).
 */
import { TokenCache } from "../src/index.js";

const NOW = Math.floor(Date.now() / 1000);
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** `size` access tokens: app tokens in size/20 tenants x 10 resources, and as many user tokens. */
function populate(size: number): TokenCache {
  const cache = new TokenCache();
  const tenants = Math.max(1, Math.floor(size / 20));
  for (let t = 0; t < tenants; t++) {
    for (let r = 0; r < 10; r++) {
      cache.add(
        {
          clientId: "daemon",
          scopes: [`https://api-${r}.example/.default`],
          tokenEndpoint: `https://login.microsoftonline.com/tenant-${t}/oauth2/v2.0/token`,
          response: { access_token: `app-${t}-${r}`, expires_in: 3600 },
        },
        NOW,
      );
      cache.add(
        {
          clientId: "web",
          scopes: [],
          tokenEndpoint: "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
          response: {
            access_token: `user-${t}-${r}`,
            expires_in: 3600,
            scope: `https://api-${r}.example/read https://api-${r}.example/write openid profile`,
            client_info: b64url({ uid: `user-${t}`, utid: "tenant" }),
          },
        },
        NOW,
      );
    }
  }
  return cache;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Nanoseconds per call: the median over `rounds` rounds of `iterations` calls. */
function measure(iterations: number, rounds: number, fn: (i: number) => unknown): number {
  for (let i = 0; i < iterations; i++) fn(i);
  const results: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn(i);
    results.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  return median(results);
}

export interface CacheHitFigures {
  entries: number;
  clientCredentialHitNs: number;
  userSilentHitNs: number;
}

export function benchCacheHits(quick: boolean): CacheHitFigures[] {
  const sizes = quick ? [10, 1_000, 10_000] : [10, 1_000, 100_000];
  const iterations = quick ? 50_000 : 200_000;
  return sizes.map((size) => {
    const cache = populate(size);
    const tenants = Math.max(1, Math.floor(size / 20));
    // Queries are built before timing, so the figures are the cache's cost alone.
    const appQueries = Array.from({ length: 1000 }, (_, i) => ({
      clientId: "daemon",
      homeAccountId: null,
      environment: "login.microsoftonline.com",
      realm: `tenant-${i % tenants}`,
      scopes: [`https://api-${i % 10}.example/.default`],
    }));
    const userQueries = Array.from({ length: 1000 }, (_, i) => ({
      clientId: "web",
      homeAccountId: `user-${i % tenants}.tenant`,
      environment: "login.microsoftonline.com",
      realm: "organizations",
      scopes: [`https://api-${i % 10}.example/read`],
      minValiditySeconds: 300,
    }));
    const app = (i: number) =>
      cache.findAccessToken(appQueries[i % 1000] as (typeof appQueries)[number], NOW);
    const user = (i: number) =>
      cache.findAccessToken(userQueries[i % 1000] as (typeof userQueries)[number], NOW);
    if (!app(0) || !user(0)) throw new Error("the benchmark's lookups must hit");
    return {
      entries: cache.counts().AccessToken,
      clientCredentialHitNs: measure(iterations, 7, app),
      userSilentHitNs: measure(iterations, 7, user),
    };
  });
}

export function cacheHitTable(figures: CacheHitFigures[]): string {
  const rows = figures.map(
    (f) =>
      `| ${f.entries.toLocaleString("en-US")} | ${(f.clientCredentialHitNs / 1000).toFixed(2)} µs | ${(f.userSilentHitNs / 1000).toFixed(2)} µs |`,
  );
  return [
    "| access tokens cached | client-credential hit | silent hit (scope subset) |",
    "|---|---|---|",
    ...rows,
  ].join("\n");
}

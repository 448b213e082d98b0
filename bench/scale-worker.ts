/**
 * One app instance of the scale benchmark (bench/scale.ts): `node dist/bench/scale-worker.js` reads
 * a {@link WorkerSpec} line on stdin, connects to Redis (one server or a cluster), prints `ready`,
 * and on the line `go` runs `callers` concurrent callers, each asking for client-credential tokens
 * of the partitions in turn until `durationMs` has passed; it then prints its figures. In `verify`
 * mode it instead opens a fresh app per partition and checks that each finds its token in Redis.
 *
 * Token requests go to the runner's fake identity provider over HTTP (it counts them per tenant):
 * msal-ts through its `fetch` option, msal-node through `system.networkClient`.
 */
import {
  DistributedCachePlugin,
  type ICacheClient,
  type IPartitionManager,
  LogLevel,
  ConfidentialClientApplication as NodeConfidentialClient,
} from "@azure/msal-node";
import { createClient, createCluster } from "redis";
import {
  ConfidentialClientApplication,
  DistributedTokenCache,
  type RedisPartitionClient,
  redisPartitionStore,
} from "../src/node/index.js";
import { appScope, DAEMON_CLIENT_ID, DAEMON_SECRET, ENVIRONMENT, tenantId } from "./fixtures.js";

export type ScaleLibrary = "msal-ts" | "msal-ts-no-lease" | "msal-node";

export interface WorkerSpec {
  library: ScaleLibrary;
  mode: "run" | "verify";
  /** `redis://host:port` of one server, or the cluster's nodes. */
  redis: { url: string } | { cluster: string[] };
  /** The runner's fake identity provider: POST <idp>/forward with the real URL in `x-url`. */
  idp: string;
  partitions: number;
  callers: number;
  durationMs: number;
  /** Which worker this is: callers start at different partitions. */
  index: number;
}

export interface WorkerFigures {
  calls: number;
  failures: number;
  /** Microseconds per call of the steady phase, every call (for percentiles over all workers). */
  latenciesUs: number[];
  /** Microseconds of each caller's first call, the cold burst on an empty store. */
  coldLatenciesUs: number[];
  wallMs: number;
  firstError?: string;
  /** verify mode: partitions whose token a fresh instance found in Redis (no token request). */
  found?: number;
}

const KEY_PREFIX = "bench-scale:";
const partitionTenant = (p: number) => tenantId(p + 1);
const authorityOf = (p: number) => `https://${ENVIRONMENT}/${partitionTenant(p)}`;
const SCOPE = [appScope(0)];

function emit(event: Record<string, unknown>): Promise<void> {
  return new Promise((resolve) => process.stdout.write(`${JSON.stringify(event)}\n`, () => resolve()));
}

/** A fetch that hands every request to the runner's fake identity provider. */
function forwardingFetch(idp: string) {
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const answer = await fetch(`${idp}/forward`, {
      method: "POST",
      headers: { "x-url": url, "x-method": init?.method ?? "GET" },
      body: typeof init?.body === "string" ? init.body : "",
    });
    return new Response(await answer.text(), { status: answer.status, headers: answer.headers });
  };
}

function forwardingNetworkClient(idp: string) {
  const send = async <T>(method: string, url: string, body?: string) => {
    const answer = await fetch(`${idp}/forward`, {
      method: "POST",
      headers: { "x-url": url, "x-method": method },
      body: body ?? "",
    });
    const headers: Record<string, string> = {};
    answer.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { headers, body: (await answer.json()) as T, status: answer.status };
  };
  return {
    sendGetRequestAsync: <T>(url: string) => send<T>("GET", url),
    sendPostRequestAsync: <T>(url: string, options?: { body?: string }) =>
      send<T>("POST", url, options?.body),
  };
}

async function connect(spec: WorkerSpec) {
  const options = { socket: { reconnectStrategy: false as const } };
  if ("url" in spec.redis) {
    const client = createClient({ url: spec.redis.url, ...options });
    client.on("error", () => {});
    await client.connect();
    return { client, close: () => client.destroy() };
  }
  const client = createCluster({
    rootNodes: spec.redis.cluster.map((url) => ({ url })),
    defaults: options,
  });
  client.on("error", () => {});
  await client.connect();
  return { client, close: () => client.destroy() };
}

/** Where a call's token came from; `failed` when it got none. */
type Caller = () => Promise<"cache" | "network" | "failed">;

/** One call per partition: msal-ts, one app per partition sharing one DistributedTokenCache. */
function msalTsCallers(spec: WorkerSpec, client: RedisPartitionClient): Caller[] {
  const tokenCache = new DistributedTokenCache(redisPartitionStore(client), {
    keyPrefix: KEY_PREFIX,
    singleFlight: spec.library === "msal-ts",
  });
  const fetch = forwardingFetch(spec.idp);
  return Array.from({ length: spec.partitions }, (_, p) => {
    const app = new ConfidentialClientApplication(DAEMON_CLIENT_ID, {
      clientCredential: DAEMON_SECRET,
      authority: authorityOf(p),
      tokenCache,
      fetch,
    });
    return async () => {
      const result = await app.acquireTokenForClient(SCOPE);
      if ("error" in result || typeof result.access_token !== "string") return "failed";
      return result.token_source === "cache" ? "cache" : "network";
    };
  });
}

/**
 * msal-node's documented distributed cache: a DistributedCachePlugin over an ICacheClient (here
 * node-redis) and an IPartitionManager whose key is the partition; one app per partition.
 */
function msalNodeCallers(
  spec: WorkerSpec,
  redis: { get(k: string): Promise<unknown>; set(k: string, v: string): Promise<unknown> },
): Caller[] {
  const cacheClient: ICacheClient = {
    get: async (key) => String((await redis.get(key)) ?? ""),
    set: async (key, value) => String(await redis.set(key, value)),
  };
  const networkClient = forwardingNetworkClient(spec.idp);
  return Array.from({ length: spec.partitions }, (_, p) => {
    const key = `${KEY_PREFIX}{app:${DAEMON_CLIENT_ID}:${partitionTenant(p)}}`;
    const partitionManager: IPartitionManager = {
      getKey: async () => key,
      extractKey: async () => key,
    };
    const app = new NodeConfidentialClient({
      auth: { clientId: DAEMON_CLIENT_ID, clientSecret: DAEMON_SECRET, authority: authorityOf(p) },
      cache: { cachePlugin: new DistributedCachePlugin(cacheClient, partitionManager) },
      system: {
        networkClient,
        loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
      },
    });
    return async () => {
      const result = await app.acquireTokenByClientCredential({ scopes: SCOPE });
      if (!result?.accessToken) return "failed";
      return result.fromCache ? "cache" : "network";
    };
  });
}

async function readLine(): Promise<string> {
  return new Promise((resolve) => {
    let buffer = "";
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      const newline = buffer.indexOf("\n");
      if (newline >= 0) {
        process.stdin.off("data", onData);
        resolve(buffer.slice(0, newline));
      }
    };
    process.stdin.on("data", onData);
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(await readLine()) as WorkerSpec;
  const { client, close } = await connect(spec);
  const callers =
    spec.library === "msal-node"
      ? msalNodeCallers(spec, client as never)
      : msalTsCallers(spec, client as unknown as RedisPartitionClient);
  if (spec.mode === "verify") {
    // Fresh instances (these apps have never run): each must find its partition's token in Redis.
    let found = 0;
    for (const call of callers) if ((await call()) === "cache") found++;
    await emit({
      event: "done",
      figures: { calls: callers.length, failures: 0, latenciesUs: [], coldLatenciesUs: [], wallMs: 0, found },
    });
    close();
    // Keep-alive sockets to the fake identity provider would hold the process open for seconds.
    process.exit(0);
  }
  await emit({ event: "ready" });
  await readLine();
  const figures: WorkerFigures = { calls: 0, failures: 0, latenciesUs: [], coldLatenciesUs: [], wallMs: 0 };
  const call = async (p: number, latencies: number[]) => {
    const start = performance.now();
    try {
      if ((await (callers[p] as Caller)()) === "failed") figures.failures++;
    } catch (error) {
      figures.failures++;
      figures.firstError ??= String(error).slice(0, 300);
    }
    latencies.push(Math.round((performance.now() - start) * 1000));
  };
  // Every caller starts on a partition of its own turn, so all partitions are missed at once.
  const first = (c: number) => (spec.index * spec.callers + c) % spec.partitions;
  // The cold burst: every caller's first call, all at once on an empty store.
  await Promise.all(Array.from({ length: spec.callers }, (_, c) => call(first(c), figures.coldLatenciesUs)));
  // Then steady state, every partition cached: calls for `durationMs`.
  const t0 = performance.now();
  const end = t0 + spec.durationMs;
  await Promise.all(
    Array.from({ length: spec.callers }, async (_, c) => {
      let p = (first(c) + 1) % spec.partitions;
      while (performance.now() < end) {
        await call(p, figures.latenciesUs);
        figures.calls++;
        p = (p + 1) % spec.partitions;
      }
    }),
  );
  figures.wallMs = performance.now() - t0;
  await emit({ event: "done", figures });
  close();
  process.exit(0);
}

await main();

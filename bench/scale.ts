/**
 * The scale benchmark: `workers` app instances (processes, bench/scale-worker.ts) × `callers`
 * concurrent callers asking for client-credential tokens of `partitions` tenants, sharing one Redis
 * or a 3-master Redis Cluster, all starting at once on an empty store. The fake identity provider
 * runs here, over HTTP, and counts token requests per tenant (= per partition); it answers after
 * `idpDelayMs`, so that the instances' misses overlap as they would against a real one.
 *
 * Per library and topology: throughput, p50/p99 latency over every call, token requests per
 * partition, failed calls, and partitions lost (a fresh instance afterwards must find every
 * partition's token in the store without a token request).
 */
import { spawn } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { startRedisCluster, startRedisServer } from "../test/support/redis.js";
import { FakeIdp } from "./fake-idp.js";
import { type FakeIdpTemplates, tenantId } from "./fixtures.js";
import type { ScaleLibrary, WorkerFigures, WorkerSpec } from "./scale-worker.js";

export interface ScalePlan {
  workers: number;
  callers: number;
  partitions: number;
  durationMs: number;
  idpDelayMs: number;
}

export interface ScaleFigures {
  library: ScaleLibrary;
  topology: "redis" | "cluster";
  calls: number;
  failures: number;
  callsPerSecond: number;
  /** Steady state (every partition cached): latency over every call. */
  p50Us: number;
  p99Us: number;
  /** The cold burst (every caller's first call at once, on an empty store). */
  coldP50Us: number;
  coldP99Us: number;
  /** Token requests the identity provider saw for each partition during the run. */
  requestsPerPartition: number[];
  /** Partitions a fresh instance did not find in the store afterwards. */
  partitionsLost: number;
  /** Token requests the fresh instance had to send (0 when the store held every partition). */
  verifyRequests: number;
  firstError?: string;
}

export interface ScaleResults {
  plan: ScalePlan;
  figures: ScaleFigures[];
  /** Why a topology or library was not run. */
  skipped: string[];
}

/** The fake identity provider over HTTP: every request is a POST /forward naming the real one. */
async function startIdp(templates: FakeIdpTemplates, delayMs: number) {
  const fake = new FakeIdp(templates);
  const perTenant = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = String(req.headers["x-url"]);
      const method = String(req.headers["x-method"]);
      const body = Buffer.concat(chunks).toString("utf8");
      const before = fake.counts.clientCredential;
      const answer = fake.answer(method, url, body || undefined);
      if (fake.counts.clientCredential > before) {
        const tenant = new URL(url).pathname.split("/")[1] ?? "";
        perTenant.set(tenant, (perTenant.get(tenant) ?? 0) + 1);
      }
      setTimeout(() => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    perTenant,
    reset: () => {
      perTenant.clear();
      fake.resetCounts();
    },
    requests: () => fake.counts.clientCredential,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface Worker {
  done: Promise<WorkerFigures>;
  ready: Promise<void>;
  go(): void;
  kill(): void;
}

function startWorker(script: string, spec: WorkerSpec): Worker {
  const child = spawn(process.execPath, [script], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr = (stderr + c.toString("utf8")).slice(-2000);
    if (process.env.MSAL_BENCH_DEBUG) process.stderr.write(c);
  });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  const done = new Promise<WorkerFigures>((resolve, reject) => {
    let buffer = "";
    let figures: WorkerFigures | undefined;
    child.stdout.on("data", (c: Buffer) => {
      buffer += c.toString("utf8");
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const event = JSON.parse(buffer.slice(0, newline)) as { event: string; figures?: WorkerFigures };
        buffer = buffer.slice(newline + 1);
        newline = buffer.indexOf("\n");
        if (event.event === "ready") markReady();
        if (event.event === "done") figures = event.figures;
      }
    });
    child.on("close", (code) => {
      if (figures) resolve(figures);
      else reject(new Error(`scale worker exited (code ${code}): ${stderr.trim()}`));
    });
  });
  done.catch(() => markReady());
  child.stdin.write(`${JSON.stringify(spec)}\n`);
  return { done, ready, go: () => child.stdin.end("go\n"), kill: () => child.kill("SIGKILL") };
}

/** How long a worker may take beyond its steady phase (start-up, the cold burst, exit) before it is killed. */
const WORKER_GRACE_MS = 90_000;

const percentile = (sorted: number[], q: number) =>
  sorted.length ? (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number) : 0;

export async function benchScale(options: {
  plan: ScalePlan;
  templates: FakeIdpTemplates;
  workerScript: string;
  libraries: ScaleLibrary[];
  log: (line: string) => void;
}): Promise<ScaleResults> {
  const { plan } = options;
  const results: ScaleResults = { plan, figures: [], skipped: [] };
  const idp = await startIdp(options.templates, plan.idpDelayMs);
  try {
    for (const topology of ["redis", "cluster"] as const) {
      let store: { redis: WorkerSpec["redis"]; flush(): Promise<void>; stop(): Promise<void> };
      try {
        if (topology === "redis") {
          const server = await startRedisServer();
          const admin = await server.connect();
          store = {
            redis: { url: server.url },
            flush: async () => void (await admin.flushAll()),
            stop: async () => {
              admin.destroy();
              await server.stop();
            },
          };
        } else {
          const cluster = await startRedisCluster({ masters: 3 });
          const admins = await Promise.all(cluster.nodes.map((n) => cluster.admin(n)));
          store = {
            redis: { cluster: cluster.nodes.map((n) => `redis://${n.host}:${n.port}`) },
            flush: async () => {
              for (const a of admins) await a.flushAll();
            },
            stop: () => cluster.stop(),
          };
        }
      } catch (error) {
        results.skipped.push(`${topology}: ${String(error).split("\n")[0]}`);
        continue;
      }
      try {
        for (const library of options.libraries) {
          await store.flush();
          idp.reset();
          options.log(
            `scale: ${library} on ${topology === "redis" ? "one Redis" : "a 3-master Redis Cluster"}, ${plan.workers} processes × ${plan.callers} callers`,
          );
          const base = {
            library,
            redis: store.redis,
            idp: idp.url,
            partitions: plan.partitions,
            callers: plan.callers,
            durationMs: plan.durationMs,
          };
          const workers = Array.from({ length: plan.workers }, (_, index) =>
            startWorker(options.workerScript, { ...base, mode: "run", index }),
          );
          // A worker that hangs (a store that stops answering) is killed, and its calls count as failed.
          const watchdog = setTimeout(() => {
            for (const w of workers) w.kill();
          }, plan.durationMs + WORKER_GRACE_MS);
          await Promise.all(workers.map((w) => w.ready));
          for (const w of workers) w.go();
          const settled = await Promise.allSettled(workers.map((w) => w.done));
          clearTimeout(watchdog);
          const all = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
          const crashed = settled.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
          const requestsPerPartition = Array.from(
            { length: plan.partitions },
            (_, p) => idp.perTenant.get(tenantId(p + 1)) ?? 0,
          );
          const before = idp.requests();
          const verifier = startWorker(options.workerScript, { ...base, mode: "verify", index: 0 });
          const verifyWatchdog = setTimeout(() => verifier.kill(), WORKER_GRACE_MS);
          const verify = await verifier.done.catch(() => undefined);
          clearTimeout(verifyWatchdog);
          const latencies = all.flatMap((f) => f.latenciesUs).sort((a, b) => a - b);
          const cold = all.flatMap((f) => f.coldLatenciesUs).sort((a, b) => a - b);
          const calls = all.reduce((n, f) => n + f.calls, 0);
          const wallMs = Math.max(...all.map((f) => f.wallMs), 1);
          const firstError = crashed[0] ?? all.find((f) => f.firstError)?.firstError;
          const figures: ScaleFigures = {
            library,
            topology,
            calls,
            failures: all.reduce((n, f) => n + f.failures, 0) + crashed.length,
            callsPerSecond: (calls * 1000) / wallMs,
            p50Us: percentile(latencies, 0.5),
            p99Us: percentile(latencies, 0.99),
            coldP50Us: percentile(cold, 0.5),
            coldP99Us: percentile(cold, 0.99),
            requestsPerPartition,
            partitionsLost: plan.partitions - (verify?.found ?? 0),
            verifyRequests: idp.requests() - before,
            ...(firstError ? { firstError } : {}),
          };
          results.figures.push(figures);
          options.log(
            `scale: ${library} ${topology}: cold burst p50 ${(figures.coldP50Us / 1000).toFixed(0)} ms, p99 ${(figures.coldP99Us / 1000).toFixed(0)} ms; steady ${figures.callsPerSecond.toFixed(0)} calls/s, p50 ${(figures.p50Us / 1000).toFixed(2)} ms, p99 ${(figures.p99Us / 1000).toFixed(2)} ms, token requests per partition ${Math.min(...requestsPerPartition)}–${Math.max(...requestsPerPartition)}, ${figures.failures} failed, ${figures.partitionsLost} partitions lost`,
          );
        }
      } finally {
        await store.stop();
      }
    }
  } finally {
    await idp.stop();
  }
  return results;
}

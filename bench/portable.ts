/**
 * `npm run build && node dist/bench/portable.js [--write]`: what the portable entry costs outside
 * Node. It prints, as a Markdown section of docs/benchmarks.md (`--write` puts it there, between
 * the markers below, leaving the rest of the page alone):
 *
 * - the bytes of the portable entry (dist/lib/index.js, what the `workerd`, `worker`, `browser`,
 *   `bun` and `deno` conditions resolve to) bundled with rolldown for a Worker, minified, and
 *   gzipped: the part loaded at import, the part loaded on demand (WS-Trust with its XML reader),
 *   and the test Worker (test/runtimes/fixtures/worker.mjs) as one tree-shaken module;
 * - the time to a first token in a cold Workers isolate: miniflare starts workerd with the Worker,
 *   then the first request makes the Worker discover the emulator's endpoints and get a
 *   client-credentials token; the second request is a cache hit in the now warm isolate. The
 *   Worker's outbound requests go to the emulator on this machine through miniflare's outbound
 *   service, so the network part is a loopback round trip, not a trip to Entra ID.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { Miniflare, type Request as MiniflareRequest, Response as MiniflareResponse } from "miniflare";
import { build } from "rolldown";
import { Agent, fetch as undiciFetch } from "undici";
import { type Emulator, startEmulator } from "../emulator/index.js";

/** The repository: this file runs as dist/bench/portable.js. */
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const PORTABLE_ENTRY = join(ROOT, "dist/lib/index.js");
const WORKER = join(ROOT, "test/runtimes/fixtures/worker.mjs");
const BEGIN = "<!-- bench/portable.ts: begin -->";
const END = "<!-- bench/portable.ts: end -->";
const RUNS = 7;

interface Bundle {
  /** The output files counted (each gzipped on its own, as a server sends them). */
  names: string[];
  bytes: number;
  gzipBytes: number;
}

/** Bundles `input` as Wrangler would for Workers: the `workerd` condition, one module or split chunks. */
async function bundleCode(input: string, options: { minify: boolean; split: boolean }) {
  const result = await build({
    input,
    cwd: ROOT,
    platform: "browser",
    logLevel: "silent",
    resolve: { conditionNames: ["workerd", "worker", "browser", "import", "default"] },
    write: false,
    output: { format: "esm", minify: options.minify, ...(options.split ? {} : { codeSplitting: false }) },
  });
  return result.output.flatMap((file) =>
    file.type === "chunk"
      ? [{ name: file.fileName, code: file.code, isEntry: file.isEntry, imports: file.imports }]
      : [],
  );
}

/**
 * Minified sizes, raw and gzipped at level 9: `eager` is the entry with every chunk it imports
 * statically (what loads with it), `lazy` the chunks only dynamic imports reach.
 */
async function bundle(input: string, split: boolean): Promise<{ eager: Bundle; lazy: Bundle }> {
  const files = await bundleCode(input, { minify: true, split });
  const byName = new Map(files.map((f) => [f.name, f]));
  const eagerNames = new Set<string>();
  const visit = (name: string): void => {
    if (eagerNames.has(name)) return;
    eagerNames.add(name);
    for (const imported of byName.get(name)?.imports ?? []) visit(imported);
  };
  for (const file of files) if (file.isEntry) visit(file.name);
  const total = (names: string[]): Bundle => {
    const bytes = Buffer.concat(names.map((n) => Buffer.from(byName.get(n)?.code ?? "")));
    return {
      names,
      bytes: bytes.length,
      gzipBytes: names.reduce((sum, n) => sum + gzipSync(byName.get(n)?.code ?? "", { level: 9 }).length, 0),
    };
  };
  return {
    eager: total([...eagerNames]),
    lazy: total(files.map((f) => f.name).filter((n) => !eagerNames.has(n))),
  };
}

interface ColdStart {
  /** The URLs the first request fetched, through the outbound service. */
  outbound: string[];
  startMs: number;
  firstTokenMs: number;
  cachedTokenMs: number;
}

/** One cold isolate: start it, then time its first request (a token request) and a second (a cache hit). */
async function coldStart(emulator: Emulator, script: string, dispatcher: Agent): Promise<ColdStart> {
  const middleTier = emulator.directory.apps.find((a) => a.kind === "middle-tier");
  if (!middleTier?.secret) throw new Error("The emulator has no middle-tier app with a secret.");
  const outbound: string[] = [];
  const t0 = performance.now();
  const worker = new Miniflare({
    modules: true,
    script,
    compatibilityDate: "2026-07-01",
    kvNamespaces: ["TOKEN_CACHE"],
    bindings: {
      AUTHORITY: `${emulator.url}/${emulator.directory.tenants[0]?.id}`,
      CLIENT_ID: middleTier.clientId,
      CLIENT_SECRET: middleTier.secret,
    },
    outboundService: async (request: MiniflareRequest) => {
      outbound.push(new URL(request.url).pathname.replace(/^\/[^/]+\//, "/{tenant}/"));
      const body = request.method === "GET" ? undefined : await request.arrayBuffer();
      const answer = await undiciFetch(request.url, {
        method: request.method,
        headers: [...request.headers],
        body,
        dispatcher,
      });
      return new MiniflareResponse(await answer.arrayBuffer(), {
        status: answer.status,
        headers: [...answer.headers],
      });
    },
  });
  try {
    await worker.ready;
    const t1 = performance.now();
    const first = (await (await worker.dispatchFetch("http://api.example/app-token")).json()) as {
      source?: string;
    };
    const t2 = performance.now();
    const second = (await (await worker.dispatchFetch("http://api.example/app-token")).json()) as {
      source?: string;
    };
    const t3 = performance.now();
    if (first.source !== "identity_provider" || second.source !== "cache")
      throw new Error(`Unexpected token sources: ${JSON.stringify([first, second])}`);
    return { outbound, startMs: t1 - t0, firstTokenMs: t2 - t1, cachedTokenMs: t3 - t2 };
  } finally {
    await worker.dispose();
  }
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const ms = (values: number[]): string =>
  `${median(values).toFixed(1)} ms (${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)})`;

async function main(): Promise<void> {
  const { eager, lazy } = await bundle(PORTABLE_ENTRY, true);
  const { eager: worker } = await bundle(WORKER, false);
  const [workerScript] = await bundleCode(WORKER, { minify: false, split: false });
  if (!workerScript) throw new Error("The Worker did not bundle.");

  const emulator = await startEmulator();
  const dispatcher = new Agent({ connect: { ca: emulator.caPem } });
  const runs: ColdStart[] = [];
  try {
    for (let i = 0; i < RUNS; i++) runs.push(await coldStart(emulator, workerScript.code, dispatcher));
  } finally {
    await dispatcher.close();
    await emulator.stop();
  }

  const workerdVersion = JSON.parse(
    readFileSync(join(ROOT, "node_modules/workerd/package.json"), "utf8"),
  ).version;
  const section = `${BEGIN}
## The portable entry outside Node (Workers)

Measured by \`bench/portable.ts\` (\`npm run build && node dist/bench/portable.js\`, run by hand) on
${new Date().toISOString().slice(0, 10)}: ${cpus()[0]?.model.trim() ?? "unknown CPU"}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GB, 1-minute load ${loadavg()[0]?.toFixed(1)}; workerd ${workerdVersion} through miniflare.

| portable entry, bundled for Workers and minified | bytes | gzip -9 |
|---|---:|---:|
| loaded at import (${eager.names.length} files) | ${kb(eager.bytes)} | ${kb(eager.gzipBytes)} |
| loaded on demand, by WS-Trust only (${lazy.names.length} files: the MEX and WS-Trust code, @xmldom/xmldom) | ${kb(lazy.bytes)} | ${kb(lazy.gzipBytes)} |
| the test Worker (\`test/runtimes/fixtures/worker.mjs\`: both app kinds, five flows, a KV cache plugin) as one module, dynamic imports inlined | ${kb(worker.bytes)} | ${kb(worker.gzipBytes)} |

| cold Worker isolate, median of ${RUNS} (min–max) | time |
|---|---:|
| miniflare starts workerd and loads the Worker | ${ms(runs.map((r) => r.startMs))} |
| first request: ${runs[0]?.outbound.length} fetches (${runs[0]?.outbound.join(", ")}), to the token in the response | ${ms(runs.map((r) => r.firstTokenMs))} |
| second request, same isolate: the token from the cache | ${ms(runs.map((r) => r.cachedTokenMs))} |
| from starting the isolate to the first token | ${ms(runs.map((r) => r.startMs + r.firstTokenMs))} |

Each request is sent from Node into workerd (\`dispatchFetch\`), which is most of the cache hit's
time; the first request's fetches are HTTPS round trips from the outbound service (in Node) to the
emulator on the same machine: against Entra ID, add the network's. The start row spawns the workerd
process as well as the isolate, which Cloudflare does not do per cold start, so it overstates that
part. Other work on the machine (see the load) widens the ranges.
${END}`;
  console.log(section);

  if (process.argv.includes("--write")) {
    const path = join(ROOT, "docs/benchmarks.md");
    const page = readFileSync(path, "utf8");
    const start = page.indexOf(BEGIN);
    const end = page.indexOf(END);
    const updated =
      start >= 0 && end > start
        ? `${page.slice(0, start)}${section}${page.slice(end + END.length)}`
        : `${page.trimEnd()}\n\n${section}\n`;
    writeFileSync(path, updated);
    console.error(`Wrote the section into ${path}.`);
  }
}

await main();

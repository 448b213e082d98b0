/**
 * `npm run bench [-- --quick] [-- --only=cc,users,...] [-- --report]`: msal-ts against msal-node and MSAL Python,
 * in one run on one machine, every library fed the same generated caches and the same in-process
 * fake identity provider (no network), then end to end over HTTPS against the emulator.
 *
 * Each task runs in a fresh child process of the library's peer (bench/peer-node.ts,
 * bench/peer_msal_python.py), so no task inherits another's heap; figures are medians of several
 * timed runs after a warm-up. The full run writes
 * bench/results/latest.json, docs/benchmarks.md and docs/benchmarks-cache.svg; `--quick` (fewer
 * sizes and runs, a smoke check) and `--only` write bench/results/quick.json or partial.json;
 * `--report` only re-renders the tables and docs from bench/results/latest.json.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, platform, release, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startEmulator } from "../emulator/index.js";
import { hasRedisServer, REDIS_SERVER } from "../test/support/redis.js";
import { benchCacheHits, cacheHitTable } from "./cache-hits.js";
import { writeDocs } from "./docs.js";
import { appTokensCache, fakeIdpTemplates, usersCache } from "./fixtures.js";
import {
  debianPythonTree,
  importVariants,
  measureImports,
  msalTsTree,
  nodeDependencyTree,
} from "./footprint.js";
import { summarise, type TimingPlan } from "./measure.js";
import { type PeerCommand, runPeer, type TaskOutcome } from "./peers.js";
import * as report from "./report.js";
import * as more from "./report-more.js";
import {
  type BenchResults,
  CONCURRENT_ID,
  ccId,
  E2E_ID,
  flatId,
  formatCount,
  growthId,
  LABELS,
  memoryId,
  oneShotId,
  SERIALIZATION_ID,
  type Sizes,
  userId,
} from "./results.js";
import { benchScale } from "./scale.js";
import type { LibraryName, OneShotTask, PeerSpec, Task } from "./spec.js";
import { evaluateTargets, targetsTable } from "./targets.js";

const GROUPS = [
  "lookups",
  "footprint",
  "cc",
  "users",
  "serialization",
  "concurrency",
  "oneshot",
  "flat",
  "memory",
  "e2e",
  "scale",
] as const;
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const onlyArg = args.find((a) => a.startsWith("--only="))?.slice("--only=".length);
const only = new Set(onlyArg ? onlyArg.split(",") : GROUPS);
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const python = process.env.MSAL_BENCH_PYTHON ?? "/usr/bin/python3";
const started = performance.now();
const log = (line: string) =>
  process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

const plan: TimingPlan = quick
  ? { runs: 3, minRunMs: 25, warmupMs: 60, budgetMs: 1500, minWarmupCalls: 1 }
  : { runs: 7, minRunMs: 100, warmupMs: 1000, budgetMs: 6000, minWarmupCalls: 2 };
const sizes: Sizes = quick
  ? {
      ccTenants: [1, 100],
      perTenant: 10,
      users: [10, 1000],
      refreshUsers: [10],
      serializationTenants: 100,
      concurrentCalls: 100,
      concurrentDelayMs: 50,
      e2eCount: 60,
      oneShot: { users: 1000, runs: 3 },
      flat: { tenants: [1, 100], users: [10, 1000], hot: 10 },
      memory: { tenants: 100, users: 1000, bigTenants: 10_000 },
      growth: { calls: 1500, samples: 5, maxAccessTokens: 500 },
      scale: { workers: 4, callers: 20, partitions: 8, durationMs: 1000, idpDelayMs: 20 },
    }
  : {
      ccTenants: [1, 1000],
      perTenant: 10,
      users: [10, 100, 1000, 10_000],
      refreshUsers: [10, 1000, 10_000],
      serializationTenants: 1000,
      concurrentCalls: 100,
      concurrentDelayMs: 50,
      e2eCount: 300,
      oneShot: { users: 10_000, runs: 5 },
      flat: { tenants: [1, 1000], users: [10, 10_000], hot: 10 },
      memory: { tenants: 1000, users: 10_000, bigTenants: 100_000 },
      growth: { calls: 24_000, samples: 12, maxAccessTokens: 1000 },
      scale: { workers: 8, callers: 50, partitions: 16, durationMs: 1500, idpDelayMs: 20 },
    };
const flatPlan: TimingPlan = {
  ...plan,
  runs: Math.min(plan.runs, 5),
  warmupMs: Math.min(plan.warmupMs, 400),
};
const budget = quick ? 20 : 60;
const setupBudget = quick ? 60 : 240;

async function pythonStatus(): Promise<{ version: string } | { missing: string }> {
  if (!existsSync(python)) return { missing: `${python} not found` };
  try {
    const { stdout } = await promisify(execFile)(python, ["-c", "import msal; print(msal.__version__)"]);
    return { version: stdout.trim() };
  } catch {
    return { missing: "python3-msal is not installed (apt-get install python3-msal)" };
  }
}

/** Which msal-ts was measured: the commit, and any uncommitted changes to the library or the emulator. */
async function sourceState(): Promise<BenchResults["source"]> {
  const git = (...a: string[]) =>
    promisify(execFile)("git", a, { cwd: root }).then((r) => r.stdout.trimEnd());
  try {
    const commit = await git("rev-parse", "--short", "HEAD");
    const status = await git("status", "--porcelain", "--", "src", "emulator", "package.json");
    return { commit, uncommitted: status ? status.split("\n").map((l) => l.slice(3)) : [] };
  } catch {
    return undefined;
  }
}

/** The caches every library loads, written once to a temporary directory. */
function writeCaches(dir: string, now: number) {
  const files = { users: new Map<number, string>(), apps: new Map<string, string>() };
  const users = new Set([...sizes.users, ...sizes.refreshUsers]);
  const tenants = new Map<number, number>();
  for (const t of [...sizes.ccTenants, sizes.serializationTenants]) tenants.set(t, sizes.perTenant);
  if (only.has("oneshot") && sizes.oneShot) users.add(sizes.oneShot.users);
  if (only.has("flat") && sizes.flat) {
    for (const u of sizes.flat.users) users.add(u);
    for (const t of sizes.flat.tenants) tenants.set(t, sizes.perTenant);
  }
  if (only.has("memory") && sizes.memory) {
    users.add(sizes.memory.users);
    tenants.set(sizes.memory.tenants, sizes.perTenant);
    // The big daemon cache: one token per tenant.
    tenants.set(sizes.memory.bigTenants, 1);
  }
  for (const n of users) {
    const file = join(dir, `users-${n}.json`);
    writeFileSync(file, usersCache(n, now));
    files.users.set(n, file);
  }
  for (const [n, per] of tenants) {
    for (const home of [null, ""] as const) {
      const file = join(dir, `apps-${n}x${per}${home === "" ? "-msal-node" : ""}.json`);
      writeFileSync(file, appTokensCache(n, per, now, home));
      files.apps.set(`${n}${home === "" ? "-msal-node" : ""}`, file);
    }
  }
  return files;
}

function tasksFor(lib: LibraryName, files: ReturnType<typeof writeCaches>): Task[] {
  const appsFile = (tenants: number) =>
    files.apps.get(`${tenants}${lib === "msal-node" ? "-msal-node" : ""}`) as string;
  const usersFile = (users: number) => files.users.get(users) as string;
  const tasks: Task[] = [];
  if (only.has("cc")) {
    for (const kind of ["cc-hit", "cc-miss"] as const)
      for (const tenants of sizes.ccTenants)
        tasks.push({
          id: ccId(kind, tenants, sizes.perTenant),
          kind,
          tenants,
          perTenant: sizes.perTenant,
          cacheFile: appsFile(tenants),
          budgetSeconds: budget,
        });
  }
  if (only.has("users")) {
    for (const users of sizes.users) {
      tasks.push({
        id: userId("silent-hit", users),
        kind: "silent-hit",
        users,
        cacheFile: usersFile(users),
        budgetSeconds: budget,
      });
      tasks.push({
        id: userId("get-accounts", users),
        kind: "get-accounts",
        users,
        cacheFile: usersFile(users),
        budgetSeconds: budget,
      });
    }
    for (const users of sizes.refreshUsers)
      tasks.push({
        id: userId("silent-refresh", users),
        kind: "silent-refresh",
        users,
        cacheFile: usersFile(users),
        budgetSeconds: budget,
      });
  }
  if (only.has("serialization"))
    tasks.push({
      id: SERIALIZATION_ID,
      kind: "serialization",
      cacheFile: appsFile(sizes.serializationTenants),
      budgetSeconds: budget,
    });
  if (only.has("flat") && sizes.flat) {
    const { tenants, users, hot } = sizes.flat;
    tasks.push({
      id: flatId("flat-cc"),
      kind: "flat-cc",
      small: tenants[0],
      large: tenants[1],
      smallFile: appsFile(tenants[0]),
      largeFile: appsFile(tenants[1]),
      hot,
      budgetSeconds: budget,
    });
    tasks.push({
      id: flatId("flat-silent"),
      kind: "flat-silent",
      small: users[0],
      large: users[1],
      smallFile: usersFile(users[0]),
      largeFile: usersFile(users[1]),
      hot,
      budgetSeconds: budget,
    });
  }
  if (only.has("memory") && sizes.memory) {
    const { tenants, users, bigTenants } = sizes.memory;
    for (const [what, entries, file] of [
      ["app-tokens", tenants * sizes.perTenant, appsFile(tenants)],
      ["users", users, usersFile(users)],
      ["app-tokens", bigTenants, appsFile(bigTenants)],
    ] as const)
      tasks.push({
        id: memoryId(what, entries),
        kind: "memory",
        what,
        entries,
        cacheFile: file,
        budgetSeconds: budget,
      });
    if (lib === "msal-ts" && sizes.growth)
      for (const bound of [undefined, sizes.growth.maxAccessTokens])
        tasks.push({
          id: growthId(bound),
          kind: "growth",
          calls: sizes.growth.calls,
          samples: sizes.growth.samples,
          ...(bound === undefined ? {} : { maxAccessTokens: bound }),
          budgetSeconds: budget,
        });
  }
  if (only.has("concurrency"))
    tasks.push({
      id: CONCURRENT_ID,
      kind: "concurrent-cold",
      calls: sizes.concurrentCalls,
      delayMs: sizes.concurrentDelayMs,
      rounds: 3,
      budgetSeconds: budget,
    });
  return tasks;
}

function peerCommand(lib: LibraryName, env?: Record<string, string>): PeerCommand {
  const base = {
    library: lib,
    cwd: root,
    setupBudgetSeconds: setupBudget,
    progress: log,
    ...(env ? { env } : {}),
  };
  if (lib === "msal-python")
    return { ...base, command: python, args: [join(root, "bench/peer_msal_python.py")] };
  return {
    ...base,
    command: process.execPath,
    args: ["--expose-gc", join(root, "dist/bench/peer-node.js"), lib],
  };
}

/** `--report`: prints the tables and rewrites the report from bench/results/latest.json, measuring nothing. */
function reportOnly(): void {
  const file = join(root, "bench/results/latest.json");
  const results = JSON.parse(readFileSync(file, "utf8")) as BenchResults;
  printTables(results);
  console.log(`\nReport (from ${file}): ${writeDocs(root, results).join(", ")}`);
}

async function main(): Promise<void> {
  if (args.includes("--report")) return reportOnly();
  const results: BenchResults = {
    schema: 1,
    generatedAt: new Date().toISOString(),
    mode: quick ? "quick" : "full",
    durationSeconds: 0,
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      os: `${platform()} ${release()}`,
      node: process.version,
      loadAverage: { start: loadavg()[0] as number, end: 0 },
    },
    plan: { runs: plan.runs, minRunMs: plan.minRunMs, warmupMs: plan.warmupMs },
    sizes,
    libraries: {},
    tasks: [],
    outcomes: {},
    notes: [],
  };
  results.source = await sourceState();
  console.log(
    `msal-ts benchmarks (${results.mode}), Node ${process.version}, ${results.machine.cpu} x${results.machine.cores}\n`,
  );
  const py = await pythonStatus();
  const libs: LibraryName[] = ["msal-ts", "msal-node", "msal-python"];
  if ("missing" in py) {
    results.libraries["msal-python"] = { missing: py.missing };
    results.notes.push(`MSAL Python was not measured: ${py.missing}.`);
    console.log(`NOTE: MSAL Python is left out: ${py.missing}.\n`);
    libs.pop();
  }

  if (only.has("lookups")) {
    log("msal-ts TokenCache lookups (in process)");
    results.tokenCacheLookups = benchCacheHits(quick);
  }
  if (only.has("footprint")) {
    log("import time and installed packages");
    const variants = importVariants(root, "missing" in py ? undefined : python);
    const imports = await measureImports(root, variants, quick ? 3 : 20);
    const packages: NonNullable<BenchResults["footprint"]>["packages"] = {};
    const attempt = async (lib: string, f: () => unknown) => {
      try {
        packages[lib] = (await f()) as never;
      } catch (error) {
        packages[lib] = { error: String(error) };
      }
    };
    await attempt("msal-ts", () => msalTsTree(root));
    await attempt("msal-node", () => nodeDependencyTree(["@azure/msal-node"], root));
    if (!("missing" in py)) await attempt("msal-python", () => debianPythonTree());
    results.footprint = { imports, packages };
  }

  const dir = mkdtempSync(join(tmpdir(), "msal-ts-bench-"));
  try {
    const now = Math.floor(Date.now() / 1000);
    const files = writeCaches(dir, now);
    const fake = fakeIdpTemplates(now);
    for (const lib of libs) {
      const tasks = tasksFor(lib, files);
      if (tasks.length === 0) continue;
      if (results.tasks.length === 0)
        results.tasks = tasks.map(
          ({
            cacheFile: _,
            smallFile: __,
            largeFile: ___,
            ...rest
          }: Task & { cacheFile?: string; smallFile?: string; largeFile?: string }) => rest,
        );
      log(`${LABELS[lib]}: ${tasks.length} tasks, each in a fresh process`);
      for (const task of tasks) {
        // Flat-in-size tasks time two figures in alternation: fewer, shorter runs keep them in budget.
        const taskPlan = task.kind === "flat-cc" || task.kind === "flat-silent" ? flatPlan : plan;
        const run = await runPeer(peerCommand(lib), {
          plan: taskPlan,
          fake,
          tasks: [task],
        } satisfies PeerSpec);
        results.libraries[lib] ??= { version: run.version, runtime: run.runtime };
        results.outcomes[lib] = { ...results.outcomes[lib], ...run.outcomes };
      }
    }
    if (only.has("oneshot")) await oneShots(results, libs, files, fake);
    if (only.has("e2e")) await endToEnd(results, libs, fake);
    if (only.has("scale") && sizes.scale) {
      if (!hasRedisServer) results.notes.push(`The scale benchmark needs ${REDIS_SERVER}; it was not run.`);
      else
        results.scale = await benchScale({
          plan: sizes.scale,
          templates: fake,
          workerScript: join(root, "dist/bench/scale-worker.js"),
          libraries: ["msal-ts", "msal-ts-no-lease", "msal-node"],
          log,
        });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  results.machine.loadAverage.end = loadavg()[0] as number;
  results.durationSeconds = Math.round((performance.now() - started) / 1000);
  printTables(results);
  const out = join(root, "bench/results", onlyArg ? "partial.json" : quick ? "quick.json" : "latest.json");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nResults: ${out}`);
  if ((!quick && !onlyArg) || args.includes("--docs")) {
    const written = writeDocs(root, results);
    console.log(`Report: ${written.join(", ")}`);
  }
}

/**
 * The one-shot load, each run in a process of its own (the runner starts one per run): a library
 * whose run is stopped is not run again, its figure being a lower bound.
 */
async function oneShots(
  results: BenchResults,
  libs: LibraryName[],
  files: ReturnType<typeof writeCaches>,
  fake: PeerSpec["fake"],
): Promise<void> {
  if (!sizes.oneShot) return;
  const { users, runs } = sizes.oneShot;
  const task = (part: "load" | "raw"): Task => ({
    id: oneShotId(users),
    kind: "one-shot",
    part,
    users,
    cacheFile: files.users.get(users) as string,
    budgetSeconds: 10,
  });
  const id = oneShotId(users);
  for (const lib of libs) {
    log(`${LABELS[lib]}: one-shot load of ${formatCount(users)} users, ${runs} × 2 fresh processes`);
    const loads: number[] = [];
    const raws: number[] = [];
    let last: TaskOutcome | undefined;
    const t0 = performance.now();
    for (let run = 0; run < runs; run++) {
      const raw = await runPeer(peerCommand(lib), { plan, fake, tasks: [task("raw")] });
      const rawOutcome = raw.outcomes[id];
      if (rawOutcome?.status === "done")
        raws.push((rawOutcome.value.facts as { rawParseUs: number }).rawParseUs);
      const peer = await runPeer(peerCommand(lib), { plan, fake, tasks: [task("load")] });
      results.libraries[lib] ??= { version: peer.version, runtime: peer.runtime };
      last = peer.outcomes[id];
      if (last?.status !== "done") break;
      loads.push((last.value.facts as { loadUs: number }).loadUs);
    }
    results.outcomes[lib] ??= {};
    const outcomes = results.outcomes[lib];
    outcomes[id] =
      last?.status === "done" && raws.length
        ? {
            status: "done",
            seconds: (performance.now() - t0) / 1000,
            value: {
              timing: summarise(loads, 1),
              timings: { rawParse: summarise(raws, 1) },
              facts: { runs: loads.length },
            },
          }
        : last?.status === "stopped"
          ? last
          : { status: "error", message: last?.status === "error" ? last.message : "no figure" };
    if (last?.status === "stopped" && raws.length)
      outcomes[`${id}-raw`] = {
        status: "done",
        seconds: 0,
        value: { timing: summarise(raws, 1) },
      };
  }
  const { cacheFile: _, ...shown } = task("load") as OneShotTask;
  results.tasks.push(shown);
}

async function endToEnd(results: BenchResults, libs: LibraryName[], fake: PeerSpec["fake"]): Promise<void> {
  const emulator = await startEmulator();
  try {
    const daemon = emulator.directory.apps.find((a) => a.kind === "daemon");
    const tenant = emulator.directory.tenants[0]?.id;
    if (!daemon?.secret || !tenant)
      throw new Error("The emulator's directory has no daemon app with a secret.");
    const task: Task = {
      id: E2E_ID,
      kind: "e2e",
      count: sizes.e2eCount,
      runs: quick ? 3 : 5,
      warmup: quick ? 5 : 20,
      authority: `${emulator.url}/${tenant}`,
      clientId: daemon.clientId,
      secret: daemon.secret,
      scope: "https://graph.microsoft.com/.default",
      caFile: emulator.caFile,
      budgetSeconds: quick ? 30 : 90,
    };
    results.emulatorTokenRequests = {};
    for (const lib of libs) {
      emulator.clearRequests();
      log(`${LABELS[lib]}: end to end against the emulator at ${emulator.url}`);
      const env = { NODE_EXTRA_CA_CERTS: emulator.caFile, REQUESTS_CA_BUNDLE: emulator.caFile };
      const run = await runPeer(peerCommand(lib, env), { plan, fake, tasks: [task] });
      results.libraries[lib] ??= { version: run.version, runtime: run.runtime };
      results.outcomes[lib] = { ...results.outcomes[lib], ...run.outcomes };
      results.emulatorTokenRequests[lib] = emulator.requests("token").length;
    }
    const { caFile: _, secret: __, ...shown } = task;
    results.tasks.push(shown);
  } finally {
    await emulator.stop();
  }
}

function printTables(r: BenchResults): void {
  const section = (title: string, body: string) => {
    if (body.trim()) console.log(`\n## ${title}\n\n${body}`);
  };
  console.log(`\n${report.libraryLine(r)}`);
  console.log(
    `Figures: median (min–max) of the timed runs; "÷ msal-ts" = how many times longer the peer takes.\n${report.WINNER_NOTE}`,
  );
  if (r.tokenCacheLookups)
    section("msal-ts TokenCache lookups (in process)", cacheHitTable(r.tokenCacheLookups));
  if (only.has("cc"))
    section(
      "Client credentials (fake transport)",
      `${report.clientCredentialTable(r)}\n\n${report.clientCredentialVariants(r)}`,
    );
  if (only.has("users")) section("Signed-in users (fake transport)", report.userTable(r));
  if (only.has("serialization")) section("Serialization", report.serializationTable(r));
  if (only.has("concurrency")) section("Concurrent cold calls", report.concurrencyTable(r));
  if (only.has("oneshot")) section("One-shot load", more.oneShotTable(r));
  if (only.has("flat")) section("Flat in cache size", more.flatTable(r));
  if (only.has("memory")) section("Memory", `${more.memoryTable(r)}\n\n${more.growthTable(r)}`);
  if (r.footprint) section("Footprint", report.footprintTable(r));
  if (only.has("e2e")) section("End to end over HTTPS (emulator)", report.endToEndTable(r));
  if (only.has("scale")) section("Scale: Redis and Redis Cluster", more.scaleTable(r));
  section("DESIGN section 7 targets", targetsTable(evaluateTargets(r)));
}

await main();

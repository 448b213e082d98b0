/** Writes docs/benchmarks.md and its chart, docs/benchmarks-cache.svg, from a full run's results. */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as report from "./report.js";
import {
  flatTable,
  growthSlopes,
  growthTable,
  memoryTable,
  oneShotRatio,
  oneShotTable,
  scaleTable,
} from "./report-more.js";
import {
  type BenchResults,
  ccId,
  E2E_ID,
  factsOf,
  formatCount,
  formatMicros,
  formatRatio,
  LABELS,
  LIBRARIES,
  memoryId,
  outcome,
  SERIALIZATION_ID,
  timingOf,
  userId,
} from "./results.js";
import type { LibraryName } from "./spec.js";
import { logLogChart, type Series } from "./svg.js";
import { evaluateTargets, targetsTable } from "./targets.js";
import { MISS_PROFILE } from "./targets-more.js";

const COLORS: Record<LibraryName, string> = {
  "msal-ts": "#2563eb",
  "msal-node": "#16a34a",
  "msal-python": "#d97706",
};

export function cacheChart(r: BenchResults): string {
  const series: Series[] = [];
  for (const lib of LIBRARIES) {
    const silent = r.sizes.users.flatMap((users) => {
      const t = timingOf(outcome(r, lib, userId("silent-hit", users)));
      return t ? [{ x: users, y: t.median }] : [];
    });
    const app = r.sizes.ccTenants.flatMap((tenants) => {
      const t = timingOf(outcome(r, lib, ccId("cc-hit", tenants, r.sizes.perTenant)));
      return t ? [{ x: tenants * r.sizes.perTenant, y: t.median }] : [];
    });
    if (silent.length)
      series.push({ label: `${LABELS[lib]}: silent hit (x = users)`, color: COLORS[lib], points: silent });
    if (app.length)
      series.push({
        label: `${LABELS[lib]}: client-credential hit (x = app tokens)`,
        color: COLORS[lib],
        dashed: true,
        points: app,
      });
  }
  return logLogChart(series, {
    title: "Cost of one cache hit against the size of the cache (log-log)",
    xLabel: "cache size: signed-in users (solid) or cached app tokens (dashed)",
    yLabel: "time per call (median)",
    formatX: (x) => (x >= 1000 ? `${formatCount(x / 1000)}k` : formatCount(x)),
    formatY: (y) => formatMicros(y).replace(/\.00 /, " ").replace(/\.0 /, " "),
  });
}

function method(r: BenchResults): string {
  const fake = [
    "- **Same input, same fake transport.** Every library loads the same generated cache in the unified MSAL schema (MSAL Python's keys and fields; one difference: app tokens carry `home_account_id: null` for MSAL Python and msal-ts, and `\"\"` for msal-node, which finds them no other way) and talks to the same in-process fake identity provider (discovery, instance discovery, client-credential and refresh-token grants, answering with byte-identical JSON bodies taken from one spec), through each library's own injection point: msal-ts `fetch`, msal-node `system.networkClient`, MSAL Python `http_client`. No sockets.",
    "- **A fresh process per task and library**, started by the runner (`bench/peer-node.ts`, `bench/peer_msal_python.py`), so imports, caches and garbage never mix; the heap is collected before every timed run (`--expose-gc`, `gc.collect()`). A task whose measurement outlives its budget is stopped and reported as `> N s (stopped)`.",
    `- **Figures** are medians of ${r.plan.runs} timed runs (each at least ${r.plan.minRunMs} ms or one call) after a warm-up of at least ${r.plan.warmupMs} ms; the range in brackets is min–max over the runs. "÷ msal-ts" is how many times longer the peer takes than msal-ts.`,
    "- **Cache hits are verified**: the fake identity provider must see no token request during a hit measurement. A *miss* is a forced trip to the identity provider (msal-ts `forceRefresh`, msal-node `skipCache`, MSAL Python 1.21 `acquire_token_for_client`, which never reads the cache) that replaces the same cached token, so the cache keeps its size.",
    "- **Client credentials with many tenants**: msal-ts and MSAL Python use one app per tenant sharing one cache (as MSAL Python's own benchmark builds them, except that it gives every app its own cache); msal-node, whose apps cannot share an in-memory cache, uses one app and names the tenant per request (`authority`). Both other shapes are measured too (below the table).",
    "- **Silent calls** pass accounts from `getAccounts` (msal-ts, MSAL Python); for msal-node they are built as an app that kept them would (its `getAllAccounts` takes minutes at 10,000 users).",
    "- **MSAL Python is Debian's 1.21**, not the 1.31 of DESIGN's table: its `acquire_token_for_client` does not read the cache (that came in 1.23), so its client-credential hit is measured with `acquire_token_silent(scopes, account=None)`; and its cache lookups are linear scans (`TokenCache.find`), where 1.31 looks up the exact key first. Its concurrent calls run on 100 threads.",
  ];
  return fake.join("\n");
}

const median = (xs: number[] | undefined) =>
  xs?.length ? ([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number) : undefined;

/**
 * What this run shows to be wrong or slow in msal-ts, each item only when the figures show it, with
 * the code responsible (as of the commit measured).
 */
function findings(r: BenchResults): string {
  const per = r.sizes.perTenant;
  const many = Math.max(...r.sizes.ccTenants);
  const time = (lib: LibraryName, id: string, name?: string) => timingOf(outcome(r, lib, id), name);
  const us = (t: { median: number } | undefined) => (t ? formatMicros(t.median) : "—");
  const items: string[] = [];

  const missId = ccId("cc-miss", 1, per);
  const miss = time("msal-ts", missId);
  const swapped = time("msal-ts", missId, "syncDigest");
  const pyMiss = time("msal-python", missId);
  const nodeMiss = time("msal-node", missId);
  if (miss && swapped && miss.median > swapped.median * 1.3) {
    items.push(
      `**WebCrypto digests on every token request** (\`throttleKeys\` and \`sha256Hex\` in \`src/http/throttle.ts\`, called by \`send\` in \`src/http/client.ts\`): \`crypto.subtle.digest\` is a thread-pool job with a promise round trip per call. A forced client-credential request costs msal-ts ${us(miss)}; with the digest swapped for node:crypto's synchronous SHA-256 (a diagnostic in this benchmark, timed in alternation) ${us(swapped)}. Fix: hash synchronously through the platform where the runtime allows it.`,
    );
  }
  if (miss && pyMiss && miss.median > pyMiss.median * 1.5) {
    const e2e = factsOf(outcome(r, "msal-ts", E2E_ID)) as { requestsPerSecond?: number[] } | undefined;
    const e2ePy = factsOf(outcome(r, "msal-python", E2E_ID)) as { requestsPerSecond?: number[] } | undefined;
    const ends =
      median(e2e?.requestsPerSecond) && median(e2ePy?.requestsPerSecond)
        ? ` End to end over HTTPS, where the emulator's work dominates, it matters far less: ${median(e2e?.requestsPerSecond)?.toFixed(0)} against ${median(e2ePy?.requestsPerSecond)?.toFixed(0)} requests per second.`
        : "";
    items.push(
      `**The token-request path costs more than MSAL Python's**: a forced client-credential request through the fake transport costs msal-ts ${us(miss)}, msal-node ${us(nodeMiss)}, MSAL Python ${us(pyMiss)}.${swapped ? ` With crypto.subtle.digest swapped for a synchronous hash: ${us(swapped)}.` : ""} ${MISS_PROFILE}${ends}`,
    );
  }
  const hit = time("msal-ts", ccId("cc-hit", Math.min(...r.sizes.ccTenants), per));
  if (hit && hit.median > 1) {
    items.push(
      `**A client-credential hit costs ${us(hit)} on this run, not 1 µs**: see the targets above for what the path does.`,
    );
  }
  const silent = time("msal-ts", userId("silent-hit", Math.max(...r.sizes.users)));
  if (silent && silent.median > 2) {
    items.push(
      `**A silent hit costs ${us(silent)} at ${formatCount(Math.max(...r.sizes.users))} users on this run, not 2 µs**: see the targets above for what the path does.`,
    );
  }
  const hitMany = ccId("cc-hit", many, per);
  const perRequest = time("msal-ts", hitMany, "perRequestTenant");
  const mainMany = time("msal-ts", hitMany);
  if (perRequest && mainMany && perRequest.median > mainMany.median * 1.5) {
    items.push(
      `**A per-request tenant costs more than an app per tenant** (\`requestAuthority\` in \`src/flows/common.ts\`): ${us(perRequest)} per hit against ${us(mainMany)} at ${formatCount(many)} tenants.`,
    );
  }
  const imports = r.footprint?.imports ?? {};
  const ours = imports["msal-ts"];
  const theirs = imports["msal-node"];
  if (
    ours &&
    theirs &&
    !("error" in ours) &&
    !("error" in theirs) &&
    ours.inProcess.median > theirs.inProcess.median
  ) {
    items.push(
      `**Importing msal-ts takes longer than importing msal-node** (${ours.inProcess.median.toFixed(0)} ms against ${theirs.inProcess.median.toFixed(0)} ms inside the process; the portable entry ${importMs(r, "msal-ts-portable") ?? "—"}).`,
    );
  }
  const ser = outcome(r, "msal-ts", SERIALIZATION_ID);
  const de = timingOf(ser, "deserialize");
  const deLookup = timingOf(ser, "deserializeThenLookup");
  const raw = timingOf(ser, "rawParse");
  if (de && deLookup && raw && deLookup.median > raw.median * 1.5) {
    items.push(
      `**The first lookup after a load costs more than the parse allows**: deserialize alone takes ${us(de)} (${formatRatio(de.median / raw.median)} raw JSON.parse), deserialize plus one lookup ${us(deLookup)} (${formatRatio(deLookup.median / raw.median)}). The first lookups read only their part of a section (src/cache/lazy-indexes.ts); what remains is that pass.`,
    );
  }
  const pyDe = timingOf(outcome(r, "msal-python", SERIALIZATION_ID), "deserialize");
  const pyRaw = timingOf(outcome(r, "msal-python", SERIALIZATION_ID), "rawParse");
  if (de && raw && pyDe && pyRaw && pyDe.median < de.median) {
    items.push(
      `**MSAL Python deserializes faster** (${us(pyDe)} against ${us(de)}) **because CPython parses this JSON faster than V8**: json.loads takes ${us(pyRaw)} and JSON.parse ${us(raw)} on the same text, and each library's deserialize is ${formatRatio(pyDe.median / pyRaw.median)} and ${formatRatio(de.median / raw.median)} of its runtime's parser. What msal-ts adds to JSON.parse is one Map per section; the parse itself is the runtime's.`,
    );
  }
  items.push(...moreFindings(r));
  return items.length ? items.map((item, i) => `${i + 1}. ${item}`).join("\n") : "None in this run.";
}

function importMs(r: BenchResults, name: string): string | undefined {
  const x = r.footprint?.imports[name];
  return x && !("error" in x) ? `${x.inProcess.median.toFixed(0)} ms` : undefined;
}

function sourceLine(r: BenchResults): string {
  if (!r.source) return "";
  const dirty = r.source.uncommitted.length
    ? ` plus uncommitted changes to ${r.source.uncommitted.join(", ")}`
    : "";
  return `, msal-ts at commit ${r.source.commit}${dirty}`;
}

export function writeDocs(root: string, r: BenchResults): string[] {
  const verdicts = evaluateTargets(r);
  const missing = LIBRARIES.filter((l) => r.libraries[l]?.missing).map(
    (l) => `\\* ${LABELS[l]}: ${r.libraries[l]?.missing}.`,
  );
  const md = `# Benchmarks

<!-- Generated by \`npm run bench\` (bench/docs.ts) from bench/results/latest.json. Do not edit by hand. -->

msal-ts against [@azure/msal-node](https://www.npmjs.com/package/@azure/msal-node) and [MSAL Python](https://github.com/AzureAD/microsoft-authentication-library-for-python),
in one run on one machine: ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.memoryGb} GB, ${r.machine.os}.
${report.libraryLine(r)}. Run of ${r.generatedAt.slice(0, 16).replace("T", " ")} UTC, ${r.durationSeconds} s${sourceLine(r)};
1-minute load average ${r.machine.loadAverage.start.toFixed(1)} at the start and ${r.machine.loadAverage.end.toFixed(1)} at the end
(other work on the machine widens the ranges; compare ratios, not absolute numbers).
${missing.join("\n")}

## DESIGN section 7 targets

${targetsTable(verdicts)}

Why:

${verdicts.map((v) => `- **${v.scenario}** (${v.met === undefined ? "not measured" : v.met ? "met" : "missed"}): ${v.why}`).join("\n")}

## Cost of a cache hit against cache size

![Cost of one cache hit against the size of the cache, log-log, one line per library](benchmarks-cache.svg)

## How it is measured

${method(r)}

## Client credentials (fake transport)

${report.clientCredentialTable(r)}

${report.WINNER_NOTE}

${report.clientCredentialVariants(r)}

## Signed-in users (fake transport)

The cache holds, per user, an account, an id token, an access token for \`User.Read\` and a refresh token.
A forced refresh redeems the refresh token at the fake identity provider and writes the new tokens.

${report.userTable(r)}

${report.WINNER_NOTE}

## Serialization

The client-credential cache of ${formatCount(r.sizes.serializationTenants)} tenants × ${r.sizes.perTenant} tokens; "raw" is the runtime's own JSON parser and printer on the same text, timed in the same process in alternation with the library's calls (MSAL Python's \`serialize\` indents its output).

${report.serializationTable(r)}

${report.WINNER_NOTE}

${moreSections(r)}## Concurrent cold calls

A new app with an empty cache; all calls start at once; the fake identity provider answers after ${r.sizes.concurrentDelayMs} ms. MSAL Python runs its calls on threads (and does its discovery in the constructor). msal-node sends no discovery request for \`login.microsoftonline.com\`: it builds that host's endpoints from metadata shipped in the library, where msal-ts (and MSAL Python) read the tenant's OpenID configuration once.

${report.concurrencyTable(r)}

${report.WINNER_NOTE}

## End to end over HTTPS (emulator)

Client credentials against the msal-ts emulator on localhost (real TLS, each library's default HTTP stack with keep-alive, the emulator's CA trusted through \`ca\`, \`NODE_EXTRA_CA_CERTS\` and \`REQUESTS_CA_BUNDLE\`), a cache miss every time (msal-ts \`forceRefresh\`, msal-node \`skipCache\`, MSAL Python 1.21 \`acquire_token_for_client\`), one caller, ${r.sizes.e2eCount} requests after a warm-up. The emulator signs every token (RS256) and runs in the runner's process, so this measures the whole round trip, not the library alone.

${report.endToEndTable(r)}

${report.WINNER_NOTE}

${scaleSection(r)}## Footprint

Import time: a fresh process \`node -e "await import('<entry>')"\` (or \`python3 -c "import msal"\`) less a bare one spawned in the same round, median over 20 rounds of interleaved spawns. Packages: msal-ts as npm would install it (its \`files\` plus its \`dependencies\` tree), msal-node's \`dependencies\` tree, and Debian's python3-msal with the python3-* packages it depends on (dpkg's installed size; system libraries such as libssl are not counted).

${report.footprintTable(r)}

${report.WINNER_NOTE}

${report.packageList(r)}

## msal-ts TokenCache lookups (in process)

\`TokenCache.findAccessToken\` alone, the cost under every hit above.

${report.lookupTable(r)}

## Problems found in msal-ts

${findings(r)}

## Reproduce

\`\`\`sh
npm run bench              # full run, about ${Math.max(1, Math.round(r.durationSeconds / 60))} minutes; writes this page, the chart and bench/results/latest.json
npm run bench -- --quick   # smoke check in under two minutes; writes bench/results/quick.json
npm run bench -- --report  # re-renders this page and the chart from bench/results/latest.json
npm run bench -- --only=oneshot,flat,memory,scale  # some groups (lookups, footprint, cc, users, serialization,
                           # concurrency, oneshot, flat, memory, e2e, scale); writes bench/results/partial.json
\`\`\`

MSAL Python is Debian's \`python3-msal\` run by \`/usr/bin/python3\` (\`MSAL_BENCH_PYTHON\` to change it); without it, its columns are left empty with a note.
`;
  const mdPath = join(root, "docs/benchmarks.md");
  const svgPath = join(root, "docs/benchmarks-cache.svg");
  writeFileSync(mdPath, md + portableSection(mdPath));
  writeFileSync(svgPath, cacheChart(r));
  return [mdPath, svgPath];
}

/** Findings of the one-shot, memory and growth groups, each only when the figures show it. */
function moreFindings(r: BenchResults): string[] {
  const items: string[] = [];
  const oneShot = oneShotRatio(r, "msal-ts");
  if (oneShot.value !== undefined && oneShot.value > 1.5)
    items.push(
      `**A one-shot load costs ${oneShot.text} JSON.parse** (deserialize + getAccounts + one silent hit at ${formatCount(r.sizes.oneShot?.users ?? 0)} users, each in a fresh process): see the targets above.`,
    );
  const m = r.sizes.memory;
  if (m) {
    const id = memoryId("app-tokens", m.tenants * r.sizes.perTenant);
    const per = (lib: LibraryName) =>
      (factsOf(outcome(r, lib, id)) as { perEntry?: number } | undefined)?.perEntry;
    const ours = per("msal-ts");
    const peers = (["msal-node", "msal-python"] as const).flatMap((l) => {
      const x = per(l);
      return x === undefined ? [] : [{ l, x }];
    });
    const leaner = peers.filter((p) => ours !== undefined && p.x < ours);
    if (ours !== undefined && leaner.length)
      items.push(
        `**msal-ts holds more heap per cached access token than ${leaner.map((p) => `${LABELS[p.l]} (${(p.x / 1024).toFixed(2)} KB)`).join(" and ")}**: ${(ours / 1024).toFixed(2)} KB, the entry plus its index records and keys (src/cache/indexes.ts).`,
      );
  }
  const slopes = growthSlopes(r);
  if (slopes && slopes.bounded > 0.1 * slopes.free)
    items.push(
      `**maxAccessTokens bounds the token cache, not the app**: asking for ever-new tenants, the heap still grows by ${formatCount(Math.round(slopes.bounded))} bytes per tenant with the bound (${formatCount(Math.round(slopes.free))} without), from call ${formatCount(slopes.from)} on. What grows is per-tenant state outside the token cache.`,
    );
  return items;
}

/** The scale benchmark's section, when the run has it. */
function scaleSection(r: BenchResults): string {
  const body = scaleTable(r);
  const p = r.scale?.plan;
  if (!body || !p) return "";
  return `## Scale: Redis and Redis Cluster

${p.workers} app instances (processes, \`bench/scale-worker.ts\`) × ${p.callers} concurrent callers ask for client-credential tokens of ${p.partitions} tenants (one partition each), sharing one Redis, then a Redis Cluster of 3 masters, both started by the run. The fake identity provider runs in the runner, over HTTP on localhost, answers after ${p.idpDelayMs} ms and counts token requests per tenant. The *cold burst* is every caller's first call, all at once on an empty store (every partition missed by every instance at once); then each caller loops over the partitions for ${(p.durationMs / 1000).toFixed(0)} s (*steady*, every call a hit read from Redis). *Tokens lost*: calls that got no token, and partitions that a fresh instance started afterwards did not find in the store (it had to ask the identity provider). msal-node uses its documented distributed cache: a \`DistributedCachePlugin\` with an \`ICacheClient\` over node-redis and an \`IPartitionManager\` whose key is the partition, one app per partition. All ${p.workers + 1} Node processes and Redis share this machine's ${r.machine.cores} cores, so latencies are dominated by CPU contention; compare the rows, not the absolute figures. The lease acts only on a miss (\`CachePlugin.coordinateRequest\`, called around a miss's token request): steady calls are hits and take the same path with or without it, so a steady-state difference between the two msal-ts rows is the machine's load, not the lease.

${body}

Winner: the highest throughput, the lowest latency, the fewest token requests and losses; each row is one run, so figures within 10% of the best are a tie.

`;
}

/** The one-shot, flat-in-size and memory sections: each only when the run has its figures. */
function moreSections(r: BenchResults): string {
  const parts: string[] = [];
  const oneShot = oneShotTable(r);
  if (oneShot)
    parts.push(`## One-shot load

A process that loads the cache, lists the accounts and makes one silent call (a CLI, a script, a serverless cold start), timed once per fresh process over ${r.sizes.oneShot?.runs} processes; JSON.parse (json.loads) of the same text is timed the same way, as the first thing a fresh process of its own does, so that neither is billed for the other's heap growth. Library import is not included (see Footprint). msal-node lists accounts with \`getAllAccounts\`, bounded by a budget.

${oneShot}

${report.WINNER_NOTE}
`);
  const flat = flatTable(r);
  if (flat)
    parts.push(`## Flat in cache size

The same hits on a small hot set (one app's ${r.sizes.flat?.hot} tokens; ${r.sizes.flat?.hot} users) in a small cache and in a large one, loaded in one process and timed in alternation.

${flat}

${report.WINNER_NOTE}
`);
  const memory = memoryTable(r);
  if (memory)
    parts.push(`## Memory

Heap held by a loaded cache after one lookup (so that indexes built on first use are counted): Node \`process.memoryUsage().heapUsed\` after a forced collection, less the same before loading (the cache's text is held in both); MSAL Python \`tracemalloc\` from before \`deserialize\` to after the lookup. One fresh process per figure.

${memory}

${report.WINNER_NOTE}
`);
  const growth = growthTable(r);
  if (growth)
    parts.push(`### A long-running daemon, ever-new tenants

msal-ts: one confidential client asks for a token for a new tenant on every call (\`{ tenant }\`, over the fake transport, forced through discovery and a token request), heap sampled after a forced collection, without and with \`maxAccessTokens\`.

${growth}
`);
  return parts.map((p) => `${p}\n`).join("");
}

/**
 * The portable bundle's size and cold-start section, which bench/portable.ts writes between its
 * markers: kept as it is when this page is rendered again.
 */
function portableSection(mdPath: string): string {
  if (!existsSync(mdPath)) return "";
  const text = readFileSync(mdPath, "utf8");
  const begin = text.indexOf("<!-- bench/portable.ts: begin -->");
  const endMarker = "<!-- bench/portable.ts: end -->";
  const end = text.indexOf(endMarker);
  return begin === -1 || end < begin ? "" : `\n${text.slice(begin, end + endMarker.length)}\n`;
}

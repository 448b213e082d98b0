/** The tables of the benchmark report, as Markdown: printed on stdout and written to docs/benchmarks.md. */
import { cacheHitTable } from "./cache-hits.js";
import type { ImportCost, PackageTree } from "./footprint.js";
import {
  type BenchResults,
  CONCURRENT_ID,
  ccId,
  cell,
  E2E_ID,
  factsOf,
  formatBytes,
  formatCount,
  formatMicros,
  formatRatio,
  LABELS,
  LIBRARIES,
  outcome,
  ratio,
  SERIALIZATION_ID,
  timingOf,
  userId,
} from "./results.js";
import type { LibraryName } from "./spec.js";

const PEERS: LibraryName[] = ["msal-node", "msal-python"];

/** A Markdown table: the first column left-aligned, the others right-aligned. */
export function table(header: string[], rows: string[][]): string {
  return [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`,
    ...rows.map((r) => `| ${r.join(" | ")} |`),
  ].join("\n");
}

const libraryHeader = (r: BenchResults) =>
  LIBRARIES.map((l) => LABELS[l] + (r.libraries[l]?.missing ? " *" : ""));
const ratioHeader = PEERS.map((p) => `${LABELS[p]} ÷ msal-ts`);

/** One library's figure for a row: its median and range, or a lower bound when it was stopped. */
export interface Contender {
  lib: LibraryName;
  median: number;
  min: number;
  max: number;
}

/**
 * The winner of a row: the lowest median (or highest, for rates), or "tie (a, b)" when the
 * runner-up's range of runs overlaps the winner's, so that noise alone could swap them.
 */
export function winner(contenders: Contender[], better: "lower" | "higher" = "lower"): string {
  if (contenders.length < 2) return "—";
  const sign = better === "lower" ? 1 : -1;
  const sorted = [...contenders].sort((a, b) => sign * (a.median - b.median));
  const best = sorted[0] as Contender;
  const tied = sorted.filter(
    (c) => c === best || (better === "lower" ? c.min <= best.max : c.max >= best.min),
  );
  if (tied.length === contenders.length && tied.length > 2) return "tie (all)";
  if (tied.length > 1) return `tie (${tied.map((c) => LABELS[c.lib]).join(", ")})`;
  return `**${LABELS[best.lib]}**`;
}

/** What each library's outcome says for a row ("stopped" counts as its budget, a lower bound). */
function contenders(r: BenchResults, id: string, name?: string): Contender[] {
  return LIBRARIES.flatMap((lib) => {
    const o = outcome(r, lib, id);
    if (o?.status === "stopped") {
      const us = o.afterSeconds * 1e6;
      return [{ lib, median: us, min: us, max: Number.POSITIVE_INFINITY }];
    }
    const t = timingOf(o, name);
    return t ? [{ lib, median: t.median, min: t.min, max: t.max }] : [];
  });
}

export const WINNER_NOTE =
  "Winner (the last column, or the last row where each row is a library): the lowest median (the highest rate; the fewest requests); \"tie\" when the runner-up's range of runs (min–max) overlaps the winner's, so the order could be noise. A stopped peer counts as at least its budget.";

/** One row per task: each library's median (range), then how many times slower each peer is. */
function timedRow(r: BenchResults, label: string, id: string, name?: string): string[] {
  const ours = outcome(r, "msal-ts", id);
  return [
    label,
    ...LIBRARIES.map((l) => cell(outcome(r, l, id), name, r.libraries[l]?.missing)),
    ...PEERS.map((p) => ratio(outcome(r, p, id), ours, name)),
    winner(contenders(r, id, name)),
  ];
}

export function clientCredentialTable(r: BenchResults): string {
  const { ccTenants, perTenant } = r.sizes;
  const rows: string[][] = [];
  for (const kind of ["cc-hit", "cc-miss"] as const) {
    for (const tenants of ccTenants) {
      const what = kind === "cc-hit" ? "cache hit" : "cache miss (token request)";
      rows.push(
        timedRow(
          r,
          `${what}, ${formatCount(tenants)} tenant${tenants > 1 ? "s" : ""} × ${perTenant} tokens`,
          ccId(kind, tenants, perTenant),
        ),
      );
    }
  }
  return table(["client credentials, per call", ...libraryHeader(r), ...ratioHeader, "winner"], rows);
}

export function clientCredentialVariants(r: BenchResults): string {
  const tenants = Math.max(...r.sizes.ccTenants);
  const id = ccId("cc-hit", tenants, r.sizes.perTenant);
  const perRequest = timingOf(outcome(r, "msal-ts", id), "perRequestTenant");
  const ownCache = timingOf(outcome(r, "msal-python", id), "cachePerTenant");
  const oneTenant = timingOf(outcome(r, "msal-ts", id), "oneTenant");
  const lines: string[] = [];
  if (oneTenant)
    lines.push(
      `- msal-ts, one app asking for its own ${r.sizes.perTenant} tokens in the same ${formatCount(tenants * r.sizes.perTenant)}-token cache: ${formatMicros(oneTenant.median)} per hit (the size of the cache alone; the main row also spreads the calls over ${formatCount(tenants)} apps in random order).`,
    );
  const miss = outcome(r, "msal-ts", ccId("cc-miss", 1, r.sizes.perTenant));
  const syncDigest = timingOf(miss, "syncDigest");
  const missTiming = timingOf(miss);
  if (syncDigest && missTiming)
    lines.push(
      `- msal-ts cache miss, 1 tenant, with \`crypto.subtle.digest\` swapped for node:crypto's synchronous SHA-256 (a diagnostic timed in alternation with the plain calls): ${formatMicros(syncDigest.median)} per call instead of ${formatMicros(missTiming.median)}.`,
    );
  if (perRequest)
    lines.push(
      `- msal-ts, one app naming the tenant per request (\`{ tenant }\`) instead of one app per tenant: ${formatMicros(perRequest.median)} per hit.`,
    );
  if (ownCache)
    lines.push(
      `- MSAL Python with one cache per tenant (the shape of its own benchmark) instead of one shared cache: ${formatMicros(ownCache.median)} per hit.`,
    );
  return lines.join("\n");
}

export function userTable(r: BenchResults): string {
  const rows: string[][] = [];
  for (const users of r.sizes.users)
    rows.push(timedRow(r, `silent cache hit, ${formatCount(users)} users`, userId("silent-hit", users)));
  for (const users of r.sizes.users)
    rows.push(timedRow(r, `getAccounts, ${formatCount(users)} users`, userId("get-accounts", users)));
  for (const users of r.sizes.refreshUsers)
    rows.push(
      timedRow(r, `silent forced refresh, ${formatCount(users)} users`, userId("silent-refresh", users)),
    );
  return table(["signed-in users, per call", ...libraryHeader(r), ...ratioHeader, "winner"], rows);
}

export function serializationTable(r: BenchResults): string {
  const rawRatio = (lib: LibraryName, mine: string, raw: string) => {
    const a = timingOf(outcome(r, lib, SERIALIZATION_ID), mine);
    const b = timingOf(outcome(r, lib, SERIALIZATION_ID), raw);
    return a && b ? a.median / b.median : undefined;
  };
  // Ratios have no range of their own: the lowest wins outright.
  const ratioRow = (label: string, mine: string, raw: string) => {
    const ratios = LIBRARIES.map((l) => rawRatio(l, mine, raw));
    const ranked: Contender[] = LIBRARIES.flatMap((lib, i) => {
      const x = ratios[i];
      return x === undefined ? [] : [{ lib, median: x, min: x, max: x }];
    });
    return [label, ...ratios.map((x) => (x === undefined ? "—" : formatRatio(x))), "", "", winner(ranked)];
  };
  const none = ["", "", ""];
  return table(
    [
      `${formatCount(r.sizes.serializationTenants * r.sizes.perTenant)} access tokens`,
      ...libraryHeader(r),
      ...ratioHeader,
      "winner",
    ],
    [
      timedRow(r, "deserialize", SERIALIZATION_ID, "deserialize"),
      timedRow(r, "serialize", SERIALIZATION_ID, "serialize"),
      [
        ...timedRow(r, "raw JSON parse (JSON.parse / json.loads)", SERIALIZATION_ID, "rawParse").slice(0, 4),
        ...none,
      ],
      [
        ...timedRow(
          r,
          "raw JSON stringify (JSON.stringify / json.dumps)",
          SERIALIZATION_ID,
          "rawStringify",
        ).slice(0, 4),
        ...none,
      ],
      [
        "msal-ts: deserialize, then the first lookup",
        cell(outcome(r, "msal-ts", SERIALIZATION_ID), "deserializeThenLookup"),
        "",
        "",
        ...none,
      ],
      ratioRow("deserialize ÷ raw parse", "deserialize", "rawParse"),
      ratioRow("serialize ÷ raw stringify", "serialize", "rawStringify"),
    ],
  );
}

/** A point figure (a count, a ratio) as a contender: equal figures tie. */
const exact = (lib: LibraryName, x: number): Contender => ({ lib, median: x, min: x, max: x });

export function concurrencyTable(r: BenchResults): string {
  type Facts = {
    clientCredential?: number;
    discovery?: number;
    instanceDiscovery?: number;
    failures?: number;
    wallMs?: number[];
  };
  const facts = (lib: LibraryName) => factsOf(outcome(r, lib, CONCURRENT_ID)) as Facts | undefined;
  const rows = LIBRARIES.map((lib) => {
    const o = outcome(r, lib, CONCURRENT_ID);
    const f = facts(lib);
    if (!f) return [LABELS[lib], cell(o, undefined, r.libraries[lib]?.missing), "", "", ""];
    const walls = [...(f.wallMs ?? [])].sort((a, b) => a - b);
    return [
      LABELS[lib],
      String(f.clientCredential),
      String((f.discovery ?? 0) + (f.instanceDiscovery ?? 0)),
      walls.length ? `${walls[Math.floor(walls.length / 2)]?.toFixed(0)} ms` : "—",
      String(f.failures ?? 0),
    ];
  });
  const measured = LIBRARIES.flatMap((lib) => {
    const f = facts(lib);
    return f ? [{ lib, f }] : [];
  });
  const walls = measured.flatMap(({ lib, f }) => {
    const w = [...(f.wallMs ?? [])].sort((a, b) => a - b);
    return w.length
      ? [{ lib, median: w[Math.floor(w.length / 2)] as number, min: w[0] as number, max: w.at(-1) as number }]
      : [];
  });
  rows.push([
    "winner",
    winner(measured.map(({ lib, f }) => exact(lib, f.clientCredential ?? 0))),
    winner(measured.map(({ lib, f }) => exact(lib, (f.discovery ?? 0) + (f.instanceDiscovery ?? 0)))),
    winner(walls),
    winner(measured.map(({ lib, f }) => exact(lib, f.failures ?? 0))),
  ]);
  return table(
    [
      `${r.sizes.concurrentCalls} concurrent cold calls`,
      "token requests sent",
      "discovery requests",
      "wall time (median)",
      "failed calls",
    ],
    rows,
  );
}

export function footprintTable(r: BenchResults): string {
  const imports = r.footprint?.imports ?? {};
  const packages = r.footprint?.packages ?? {};
  const rows = LIBRARIES.map((lib) => {
    const i = imports[lib];
    const p = packages[lib];
    const importCells =
      i && !("error" in i)
        ? [
            `${(i as ImportCost).importMs.toFixed(0)} ms (process ${(i as ImportCost).process.median.toFixed(0)} ms, ${(i as ImportCost).process.min.toFixed(0)}–${(i as ImportCost).process.max.toFixed(0)})`,
            `${(i as ImportCost).inProcess.median.toFixed(0)} ms (${(i as ImportCost).inProcess.min.toFixed(0)}–${(i as ImportCost).inProcess.max.toFixed(0)})`,
            `+${(i as ImportCost).rssOverBareMb.toFixed(1)} MB (${(i as ImportCost).rssMb.toFixed(1)} MB)`,
          ]
        : ["—", "—", "—"];
    const packageCells =
      p && !("error" in p)
        ? [String((p as PackageTree).count), formatBytes((p as PackageTree).bytes)]
        : ["—", "—"];
    return [LABELS[lib], ...importCells, ...packageCells];
  });
  const costs = LIBRARIES.flatMap((lib) => {
    const i = imports[lib];
    return i && !("error" in i) ? [{ lib, i }] : [];
  });
  const trees = LIBRARIES.flatMap((lib) => {
    const p = packages[lib];
    return p && !("error" in p) ? [{ lib, p }] : [];
  });
  // The process-time difference is a median of differences with no range of its own: the spawns' range stands in.
  rows.push([
    "winner",
    winner(
      costs.map(({ lib, i }) => ({
        lib,
        median: i.importMs,
        min: i.importMs - (i.process.median - i.process.min),
        max: i.importMs + (i.process.max - i.process.median),
      })),
    ),
    winner(costs.map(({ lib, i }) => ({ lib, ...i.inProcess }))),
    winner(costs.map(({ lib, i }) => exact(lib, i.rssOverBareMb))),
    winner(trees.map(({ lib, p }) => exact(lib, p.count))),
    winner(trees.map(({ lib, p }) => exact(lib, p.bytes))),
  ]);
  const bare = (name: string) => {
    const b = imports[name];
    return b && !("error" in b) ? `${(b as ImportCost).process.median.toFixed(0)} ms` : "—";
  };
  const extra = (name: string, label: string) => {
    const x = imports[name];
    return x && !("error" in x) ? `${label} ${(x as ImportCost).inProcess.median.toFixed(0)} ms` : undefined;
  };
  const parts = [
    extra("msal-ts-portable", "msal-ts's portable entry (no Node built-ins)"),
    extra("empty-module", "an empty ES module"),
  ].filter(Boolean);
  const breakdown = parts.length ? `\nImported alone, timed inside the process: ${parts.join("; ")}.` : "";
  return `${table(["library", "import: process time over a bare process", "import timed inside the process", "memory after import (RSS over bare)", "installed runtime packages", "their size"], rows)}\n\nBare processes: \`node -e 0\` ${bare("node")}, \`python3 -c pass\` ${bare("python")}.${breakdown}`;
}

export function packageList(r: BenchResults): string {
  const packages = r.footprint?.packages ?? {};
  return LIBRARIES.map((lib) => {
    const p = packages[lib];
    if (!p || "error" in p) return `- ${LABELS[lib]}: ${p && "error" in p ? p.error : "not measured"}`;
    return `- ${LABELS[lib]}: ${p.packages.map((x) => `${x.name}@${x.version} (${formatBytes(x.bytes)})`).join(", ")}`;
  }).join("\n");
}

export function endToEndTable(r: BenchResults): string {
  const rates = (lib: LibraryName) => {
    const f = factsOf(outcome(r, lib, E2E_ID)) as
      | { requestsPerSecond?: number[]; calls?: number }
      | undefined;
    return f?.requestsPerSecond ? [...f.requestsPerSecond].sort((a, b) => a - b) : undefined;
  };
  const median = (xs: number[]) => xs[Math.floor(xs.length / 2)] as number;
  const ours = rates("msal-ts");
  const rows = LIBRARIES.map((lib) => {
    const xs = rates(lib);
    const o = outcome(r, lib, E2E_ID);
    if (!xs) return [LABELS[lib], cell(o, undefined, r.libraries[lib]?.missing), "", "", ""];
    const f = factsOf(o) as { calls: number };
    return [
      LABELS[lib],
      `${median(xs).toFixed(0)} /s (${(xs[0] as number).toFixed(0)}–${(xs[xs.length - 1] as number).toFixed(0)})`,
      `${f.calls}`,
      `${r.emulatorTokenRequests?.[lib] ?? "—"}`,
      ours && lib !== "msal-ts" ? formatRatio(median(ours) / median(xs)) : "",
    ];
  });
  rows.push([
    "winner",
    winner(
      LIBRARIES.flatMap((lib) => {
        const xs = rates(lib);
        return xs
          ? [{ lib, median: median(xs), min: xs[0] as number, max: xs[xs.length - 1] as number }]
          : [];
      }),
      "higher",
    ),
    "",
    winner(
      LIBRARIES.flatMap((lib) => {
        const n = r.emulatorTokenRequests?.[lib];
        const f = factsOf(outcome(r, lib, E2E_ID)) as { calls?: number } | undefined;
        // Token requests per call: every call is a forced miss, so 1.0 is the floor.
        return n !== undefined && f?.calls ? [exact(lib, n / f.calls)] : [];
      }),
    ),
    "",
  ]);
  const diagnostic = (
    factsOf(outcome(r, "msal-ts", E2E_ID)) as { syncDigestRequestsPerSecond?: number[] } | undefined
  )?.syncDigestRequestsPerSecond;
  const note = diagnostic?.length
    ? `\n\nmsal-ts with \`crypto.subtle.digest\` swapped for node:crypto's synchronous SHA-256 (a diagnostic run after each of its runs; its calls are counted above): ${median([...diagnostic].sort((a, b) => a - b)).toFixed(0)} /s.`
    : "";
  const header = [
    "client credentials over HTTPS",
    "requests per second",
    "calls",
    "token requests the emulator saw",
    "msal-ts rate ÷ peer rate",
  ];
  return `${table(header, rows)}${note}`;
}

export function lookupTable(r: BenchResults): string {
  return r.tokenCacheLookups ? cacheHitTable(r.tokenCacheLookups) : "";
}

export function libraryLine(r: BenchResults): string {
  return LIBRARIES.map((lib) => {
    const info = r.libraries[lib];
    if (info?.missing) return `${LABELS[lib]}: not run (${info.missing})`;
    return `${LABELS[lib]} ${info?.version ?? "?"} (${info?.runtime ?? "?"})`;
  }).join("; ");
}

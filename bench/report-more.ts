/**
 * The tables of the one-shot, flat-in-size and memory groups. Each returns "" when the results
 * have no such figures (a run of an older benchmark, or one that left the group out), so the
 * report renders from any bench/results/latest.json.
 */
import { MAX_REMEMBERED_AUTHORITIES } from "../src/authority/discovery.js";
import type { Timing } from "./measure.js";
import { table } from "./report.js";
import {
  type BenchResults,
  cell,
  factsOf,
  flatId,
  formatCount,
  formatMicros,
  formatRatio,
  growthId,
  LABELS,
  LIBRARIES,
  memoryId,
  oneShotId,
  outcome,
  ratio,
  timingOf,
} from "./results.js";
import type { LibraryName } from "./spec.js";

interface Contender {
  lib: LibraryName;
  median: number;
  min: number;
  max: number;
}

/** As report.ts's winner(): lowest median, a tie when the runner-up's range overlaps the winner's. */
function winner(contenders: Contender[]): string {
  if (contenders.length < 2) return "—";
  const sorted = [...contenders].sort((a, b) => a.median - b.median);
  const best = sorted[0] as Contender;
  const tied = sorted.filter((c) => c === best || c.min <= best.max);
  if (tied.length === contenders.length && tied.length > 2) return "tie (all)";
  if (tied.length > 1) return `tie (${tied.map((c) => LABELS[c.lib]).join(", ")})`;
  return `**${LABELS[best.lib]}**`;
}

const fromTiming = (lib: LibraryName, t: Timing): Contender => ({
  lib,
  median: t.median,
  min: t.min,
  max: t.max,
});
const exact = (lib: LibraryName, x: number): Contender => ({ lib, median: x, min: x, max: x });

const header = (first: string) => [
  first,
  ...LIBRARIES.map((l) => LABELS[l]),
  ...(["msal-node", "msal-python"] as const).map((p) => `${LABELS[p]} ÷ msal-ts`),
  "winner",
];

/** The JSON.parse figure of a one-shot run, also when the library's own run was stopped. */
function rawParse(r: BenchResults, lib: LibraryName, users: number): Timing | undefined {
  return (
    timingOf(outcome(r, lib, oneShotId(users)), "rawParse") ??
    timingOf(outcome(r, lib, `${oneShotId(users)}-raw`))
  );
}

/** The one-shot load's ratio to JSON.parse, "> N×" when the run was stopped. */
export function oneShotRatio(r: BenchResults, lib: LibraryName): { text: string; value?: number } {
  const users = r.sizes.oneShot?.users;
  if (users === undefined) return { text: "—" };
  const o = outcome(r, lib, oneShotId(users));
  const raw = rawParse(r, lib, users);
  if (!raw) return { text: "—" };
  if (o?.status === "stopped") return { text: `> ${formatRatio((o.afterSeconds * 1e6) / raw.median)}` };
  const load = timingOf(o);
  if (!load) return { text: "—" };
  const value = load.median / raw.median;
  return { text: formatRatio(value), value };
}

export function oneShotTable(r: BenchResults): string {
  const users = r.sizes.oneShot?.users;
  if (users === undefined) return "";
  const id = oneShotId(users);
  if (!LIBRARIES.some((l) => outcome(r, l, id))) return "";
  const ours = outcome(r, "msal-ts", id);
  const contenders = LIBRARIES.flatMap((lib) => {
    const o = outcome(r, lib, id);
    if (o?.status === "stopped") return [exact(lib, o.afterSeconds * 1e6)];
    const t = timingOf(o);
    return t ? [fromTiming(lib, t)] : [];
  });
  const ratios = LIBRARIES.map((lib) => oneShotRatio(r, lib));
  const raws = LIBRARIES.map((lib) => rawParse(r, lib, users));
  return table(header(`one-shot process, ${formatCount(users)} users`), [
    [
      "deserialize + getAccounts + one silent hit",
      ...LIBRARIES.map((l) => cell(outcome(r, l, id), undefined, r.libraries[l]?.missing)),
      ...(["msal-node", "msal-python"] as const).map((p) => ratio(outcome(r, p, id), ours)),
      winner(contenders),
    ],
    [
      "JSON.parse / json.loads of the same text",
      ...raws.map((t) =>
        t ? `${formatMicros(t.median)} (${formatMicros(t.min)}–${formatMicros(t.max)})` : "—",
      ),
      "",
      "",
      "",
    ],
    [
      "load ÷ JSON parse",
      ...ratios.map((x) => x.text),
      "",
      "",
      winner(
        LIBRARIES.flatMap((lib, i) => (ratios[i]?.value === undefined ? [] : [exact(lib, ratios[i].value)])),
      ),
    ],
  ]);
}

/** Large ÷ small for one library's flat task, when measured. */
export function flatRatio(
  r: BenchResults,
  lib: LibraryName,
  kind: "flat-cc" | "flat-silent",
): number | undefined {
  const o = outcome(r, lib, flatId(kind));
  const small = timingOf(o, "small");
  const large = timingOf(o, "large");
  return small && large ? large.median / small.median : undefined;
}

export function flatTable(r: BenchResults): string {
  const f = r.sizes.flat;
  if (!f || !LIBRARIES.some((l) => outcome(r, l, flatId("flat-cc")) || outcome(r, l, flatId("flat-silent"))))
    return "";
  const per = r.sizes.perTenant;
  const rows: string[][] = [];
  const timed = (label: string, kind: "flat-cc" | "flat-silent", name: "small" | "large") => {
    const id = flatId(kind);
    return [
      label,
      ...LIBRARIES.map((l) => cell(outcome(r, l, id), name, r.libraries[l]?.missing)),
      ...(["msal-node", "msal-python"] as const).map((p) =>
        ratio(outcome(r, p, id), outcome(r, "msal-ts", id), name),
      ),
      winner(
        LIBRARIES.flatMap((lib) => {
          const t = timingOf(outcome(r, lib, id), name);
          return t ? [fromTiming(lib, t)] : [];
        }),
      ),
    ];
  };
  const ratioRow = (label: string, kind: "flat-cc" | "flat-silent") => {
    const xs = LIBRARIES.map((l) => flatRatio(r, l, kind));
    return [
      label,
      ...xs.map((x) => (x === undefined ? "—" : formatRatio(x))),
      "",
      "",
      winner(LIBRARIES.flatMap((lib, i) => (xs[i] === undefined ? [] : [exact(lib, xs[i] as number)]))),
    ];
  };
  rows.push(
    timed(
      `client credentials, one app's ${f.hot} tokens, cache of ${formatCount(f.tenants[0] * per)}`,
      "flat-cc",
      "small",
    ),
    timed(
      `the same, cache of ${formatCount(f.tenants[1] * per)} (${formatCount(f.tenants[1])} tenants)`,
      "flat-cc",
      "large",
    ),
    ratioRow("large ÷ small (client credentials)", "flat-cc"),
    timed(
      `silent hit, ${f.hot} hot users, cache of ${formatCount(f.users[0])} users`,
      "flat-silent",
      "small",
    ),
    timed(`the same, cache of ${formatCount(f.users[1])} users`, "flat-silent", "large"),
    ratioRow("large ÷ small (silent)", "flat-silent"),
  );
  return table(header("a hot set in a small and a large cache, per call"), rows);
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 2 : 1)} KB`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

export function memoryTable(r: BenchResults): string {
  const m = r.sizes.memory;
  if (!m) return "";
  const rows: Array<[string, string, (bytes: number, perEntry: number) => string, "bytes" | "perEntry"]> = [
    [
      `per cached app access token (${formatCount(m.tenants * r.sizes.perTenant)} tokens)`,
      memoryId("app-tokens", m.tenants * r.sizes.perTenant),
      (_, p) => kb(p),
      "perEntry",
    ],
    [
      `per signed-in user (${formatCount(m.users)} users: account, id, access and refresh token)`,
      memoryId("users", m.users),
      (_, p) => kb(p),
      "perEntry",
    ],
    [
      `a ${formatCount(m.bigTenants)}-tenant daemon cache (1 token per tenant), whole heap held`,
      memoryId("app-tokens", m.bigTenants),
      (b) => mb(b),
      "bytes",
    ],
  ];
  if (!rows.some(([, id]) => LIBRARIES.some((l) => outcome(r, l, id)))) return "";
  const body = rows.map(([label, id, show, key]) => {
    const figures = LIBRARIES.map(
      (lib) => factsOf(outcome(r, lib, id)) as { bytes: number; perEntry: number } | undefined,
    );
    const ours = figures[0];
    return [
      label,
      ...LIBRARIES.map((lib, i) => {
        const f = figures[i];
        return f
          ? show(f.bytes, f.perEntry)
          : cell(outcome(r, lib, id), undefined, r.libraries[lib]?.missing);
      }),
      ...[1, 2].map((i) => {
        const f = figures[i];
        return f && ours && ours[key] > 0 ? formatRatio(f[key] / ours[key]) : "—";
      }),
      winner(
        LIBRARIES.flatMap((lib, i) =>
          figures[i] ? [exact(lib, (figures[i] as { bytes: number; perEntry: number })[key])] : [],
        ),
      ),
    ];
  });
  const text = factsOf(outcome(r, "msal-ts", memoryId("users", m.users))) as
    | { textBytes?: number }
    | undefined;
  const note = text?.textBytes
    ? `\n\nFor scale: the serialized cache is ${kb(text.textBytes / m.users)} per user in the file.`
    : "";
  return `${table(header("heap held by a loaded cache"), body)}${note}`;
}

interface GrowthFacts {
  samples: Array<{ calls: number; heapBytes: number; accessTokens: number }>;
  perCallUs: number;
}

/**
 * Heap added per new tenant once the bounds are full: from the first sample past both
 * `maxAccessTokens` and the app's per-authority memos (when the run goes that far; else past the
 * token bound alone) to the last sample, without and with the token bound.
 */
export function growthSlopes(r: BenchResults): { from: number; free: number; bounded: number } | undefined {
  const g = r.sizes.growth;
  if (!g) return undefined;
  const facts = (bound: number | undefined) =>
    factsOf(outcome(r, "msal-ts", growthId(bound))) as GrowthFacts | undefined;
  const samples = facts(g.maxAccessTokens)?.samples ?? [];
  const last = samples.at(-1)?.calls ?? 0;
  // The app keeps the authority and lookup slot of its first MAX_REMEMBERED_AUTHORITIES tenants
  // and the endpoints of its latest MAX_REMEMBERED_AUTHORITIES: both are full from twice that on.
  const full = 2 * MAX_REMEMBERED_AUTHORITIES;
  const start = last > full ? full : g.maxAccessTokens;
  const slope = (f: GrowthFacts | undefined) => {
    const s = f?.samples ?? [];
    const from = s.find((x) => x.calls >= start);
    const to = s.at(-1);
    return from && to && to.calls > from.calls
      ? { from: from.calls, perCall: (to.heapBytes - from.heapBytes) / (to.calls - from.calls) }
      : undefined;
  };
  const free = slope(facts(undefined));
  const bounded = slope(facts(g.maxAccessTokens));
  return free && bounded ? { from: bounded.from, free: free.perCall, bounded: bounded.perCall } : undefined;
}

export function growthTable(r: BenchResults): string {
  const g = r.sizes.growth;
  if (!g) return "";
  const free = factsOf(outcome(r, "msal-ts", growthId(undefined))) as GrowthFacts | undefined;
  const bound = factsOf(outcome(r, "msal-ts", growthId(g.maxAccessTokens))) as GrowthFacts | undefined;
  if (!free && !bound) return "";
  const count = Math.max(free?.samples.length ?? 0, bound?.samples.length ?? 0);
  const rows: string[][] = [];
  for (let i = 0; i < count; i++) {
    const a = free?.samples[i];
    const b = bound?.samples[i];
    rows.push([
      formatCount(a?.calls ?? b?.calls ?? 0),
      a ? `${mb(a.heapBytes)} (${formatCount(a.accessTokens)} tokens)` : "—",
      b ? `${mb(b.heapBytes)} (${formatCount(b.accessTokens)} tokens)` : "—",
    ]);
  }
  const slopes = growthSlopes(r);
  const note = slopes
    ? `\n\nHeap added per new tenant from call ${formatCount(slopes.from)} to the last: ${formatCount(Math.round(slopes.free))} bytes without the bound, ${formatCount(Math.round(slopes.bounded))} bytes with it${slopes.bounded > 0.1 * slopes.free ? " (what the bound leaves is held outside the token cache, per tenant)" : ""}. Besides its tokens, the app keeps the authority and lookup slot of its first ${formatCount(MAX_REMEMBERED_AUTHORITIES)} tenants (src/app/context.ts) and the endpoints of its latest ${formatCount(MAX_REMEMBERED_AUTHORITIES)} (src/authority/discovery.ts), so per-tenant memory stops growing at ${formatCount(2 * MAX_REMEMBERED_AUTHORITIES)} tenants; the slope is taken from there when the run goes that far.`
    : "";
  return `${table(["calls (one new tenant each)", "heap, no bound", `heap, maxAccessTokens: ${formatCount(g.maxAccessTokens)}`], rows)}${note}`;
}

const SCALE_LABELS: Record<string, string> = {
  "msal-ts": "msal-ts, DistributedTokenCache (lease on, the default)",
  "msal-ts-no-lease": "msal-ts, DistributedTokenCache, `singleFlight: false`",
  "msal-node": "msal-node, DistributedCachePlugin over node-redis",
};

const ms = (us: number) => formatMicros(us);

export function scaleTable(r: BenchResults): string {
  const s = r.scale;
  if (!s || s.figures.length === 0) return s?.skipped.length ? `Not run: ${s.skipped.join("; ")}.` : "";
  const { plan } = s;
  const sections: string[] = [];
  for (const topology of ["redis", "cluster"] as const) {
    const rows = s.figures.filter((f) => f.topology === topology);
    if (rows.length === 0) continue;
    const body = rows.map((f) => {
      const rpp = f.requestsPerPartition;
      const total = rpp.reduce((a, b) => a + b, 0);
      return [
        SCALE_LABELS[f.library] ?? f.library,
        `${formatCount(Math.round(f.callsPerSecond))} /s`,
        `${ms(f.p50Us)} / ${ms(f.p99Us)}`,
        `${ms(f.coldP50Us)} / ${ms(f.coldP99Us)}`,
        `${Math.min(...rpp)}–${Math.max(...rpp)} (${formatCount(total)} in all)`,
        `${f.failures} failed calls, ${f.partitionsLost} partitions lost`,
      ];
    });
    const best = (pick: (f: (typeof rows)[number]) => number, higher = false) => {
      const sorted = [...rows].sort((a, b) => (higher ? pick(b) - pick(a) : pick(a) - pick(b)));
      const top = sorted[0];
      if (!top) return "—";
      // One run per row, no range: figures within 10% of the best count as a tie.
      const tied = sorted.filter((f) =>
        higher ? pick(f) >= pick(top) * 0.9 : pick(f) <= pick(top) * 1.1 || pick(f) === pick(top),
      );
      const name = (f: (typeof rows)[number]) =>
        (SCALE_LABELS[f.library]?.split(",")[0] ?? f.library) +
        (f.library === "msal-ts-no-lease" ? " (no lease)" : "");
      if (tied.length === rows.length && rows.length > 2) return "tie (all)";
      return tied.length > 1 ? `tie (${tied.map(name).join(", ")})` : `**${name(top)}**`;
    };
    body.push([
      "winner",
      best((f) => f.callsPerSecond, true),
      best((f) => f.p99Us),
      best((f) => f.coldP99Us),
      best((f) => Math.max(...f.requestsPerPartition)),
      best((f) => f.failures + f.partitionsLost),
    ]);
    sections.push(
      `${topology === "redis" ? "One `redis-server`" : "A Redis Cluster of 3 masters (`redis-server --cluster-enabled yes`)"}:\n\n${table(
        [
          `${plan.workers} processes × ${plan.callers} callers`,
          "throughput, steady",
          "p50 / p99, steady",
          "p50 / p99, cold burst",
          "token requests per partition",
          "tokens lost",
        ],
        body,
      )}`,
    );
  }
  const note = s.skipped.length ? `\n\nNot run: ${s.skipped.join("; ")}.` : "";
  return `${sections.join("\n\n")}${note}`;
}

/**
 * DESIGN section 7's rows added by issue #19: forced token requests and refreshes, the one-shot
 * load, and hits that stay flat in cache size. The "why" of each reads from the run's own figures.
 */
import { flatRatio, oneShotRatio } from "./report-more.js";
import {
  type BenchResults,
  ccId,
  formatCount,
  formatMicros,
  formatRatio,
  oneShotId,
  outcome,
  SERIALIZATION_ID,
  timingOf,
  userId,
} from "./results.js";
import type { LibraryName } from "./spec.js";
import type { TargetVerdict } from "./targets.js";

const LIBS = ["msal-ts", "msal-node", "msal-python"] as const;

function figures(r: BenchResults, id: string): Partial<Record<LibraryName, string>> {
  const out: Partial<Record<LibraryName, string>> = {};
  for (const lib of LIBS) {
    const o = outcome(r, lib, id);
    if (o?.status === "stopped") out[lib] = `> ${o.afterSeconds} s (stopped)`;
    const t = timingOf(o);
    if (t) out[lib] = formatMicros(t.median);
  }
  return out;
}

function verdict(
  value: number | undefined,
  limit: number,
  show: (x: number) => string,
): [boolean | undefined, string] {
  if (value === undefined) return [undefined, "not measured"];
  if (value <= limit)
    return [true, `met: ${show(value)}, ${((1 - value / limit) * 100).toFixed(0)}% under ${show(limit)}`];
  return [false, `missed: ${show(value)} is ${formatRatio(value / limit)} the target`];
}

/** "msal-ts 120 µs, msal-node 280 µs, MSAL Python 65 µs" for a task, from what was measured. */
function sideBySide(r: BenchResults, id: string): string {
  const f = figures(r, id);
  const names: Record<LibraryName, string> = {
    "msal-ts": "msal-ts",
    "msal-node": "msal-node",
    "msal-python": "MSAL Python",
  };
  return LIBS.flatMap((l) => (f[l] ? [`${names[l]} ${f[l]}`] : [])).join(", ") || "not measured in this run";
}

/** Forced client-credential requests at the smallest and largest tenant counts (target ≤ 50 µs). */
export function missTargets(r: BenchResults): TargetVerdict[] {
  const per = r.sizes.perTenant;
  const counts = [...new Set([Math.min(...r.sizes.ccTenants), Math.max(...r.sizes.ccTenants)])];
  return counts.map((tenants) => {
    const id = ccId("cc-miss", tenants, per);
    const t = timingOf(outcome(r, "msal-ts", id));
    const [met, by] = verdict(t?.median, 50, formatMicros);
    const digest = timingOf(outcome(r, "msal-ts", id), "syncDigest");
    return {
      scenario: `forced client-credentials request, ${formatCount(tenants)} tenant${tenants > 1 ? "s" : ""} × ${per} tokens`,
      design: { python: "157 µs", node: "449 µs", target: "≤ 50 µs" },
      measured: figures(r, id),
      met,
      by,
      why:
        `Over the in-process fake transport, so the figure is library overhead alone: ${sideBySide(r, id)}. ` +
        "The path is request building (form body, telemetry and client headers), client authentication (the secret), the HTTP layer " +
        "(throttle check, timeout signal, the injected fetch and its WHATWG Response), response parsing, and the cache write with its indexes." +
        (digest && t
          ? ` With crypto.subtle.digest swapped for a synchronous hash (timed in alternation): ${formatMicros(digest.median)}.`
          : "") +
        (met === false ? ` ${MISS_PROFILE}` : ""),
    };
  });
}

/**
 * Where a forced request's time goes, from a `node --cpu-prof` profile taken apart from the
 * benchmark (it would distort the timings): the measured reason the ≤ 50 µs and ≤ 100 µs targets
 * are out of reach with WHATWG fetch as the injection point.
 */
export const MISS_PROFILE =
  "Where the time goes (a `node --cpu-prof` profile of forced 1-tenant requests at commit 378bdf1, taken apart from this run: about 61 µs of CPU per call): " +
  "24 µs at the fetch interface (the fake's `new Response` and its body stream 14.7 µs, reading the body through web streams 5.3 µs, the attempt's timeout `AbortController` 3.7 µs), " +
  "which MSAL Python's plain-object `http_client` does not pay; the cache write 13.3 µs (since cut to about 8–14 µs by re-indexing in place, src/cache/reindex.ts); " +
  "garbage collection 5.2 µs; the throttle keys' SHA-256 2.6 µs; JSON parsing 1.9 µs; and 14.5 µs for the rest of the library (promises, request building, keys). " +
  "The fetch interface and the cache write alone take about 35 µs of the 50, and the rest already needs more than the 15 µs left: ≤ 50 µs would take an injection point without WHATWG `Response` objects.";

export const REFRESH_PROFILE =
  "The same profile of a forced refresh at 10 users (about 136 µs of CPU): the cache write of four entries 31.6 µs, the fake's answer 31.1 µs (its `Response`, and the id token it builds, as MSAL Python's fake does), " +
  "reading the body 9.4 µs, throttle keys 8.2 µs, garbage collection 7.6 µs, decoding the id token 5.6 µs, the timeout controller 4.2 µs, the rest 31 µs. " +
  "At 1,000 and 10,000 users msal-ts is ahead (the peers scan the cache for the refresh token); at 10 users MSAL Python's smaller fixed cost per request wins.";

/** Forced silent refreshes at the smallest and largest user counts (target ≤ 100 µs). */
export function refreshTargets(r: BenchResults): TargetVerdict[] {
  const counts = [...new Set([Math.min(...r.sizes.refreshUsers), Math.max(...r.sizes.refreshUsers)])];
  return counts.map((users) => {
    const id = userId("silent-refresh", users);
    const t = timingOf(outcome(r, "msal-ts", id));
    const [met, by] = verdict(t?.median, 100, formatMicros);
    return {
      scenario: `forced silent refresh, ${formatCount(users)} users`,
      design: {
        python: users >= 10_000 ? "7.4 ms" : "250 µs",
        node: users >= 10_000 ? "255 ms" : "1.2 ms",
        target: "≤ 100 µs",
      },
      measured: figures(r, id),
      met,
      by,
      why:
        `Over the in-process fake transport: ${sideBySide(r, id)}. A refresh redeems the account's refresh token and writes an access token, ` +
        "an id token, the account and the new refresh token (four cache writes and their indexes) after parsing the id token and client_info; " +
        "the peers scan the cache for the refresh token and grow with the number of users, msal-ts reads it from a per-account index." +
        (met === false ? ` ${REFRESH_PROFILE}` : ""),
    };
  });
}

/** The one-shot load against JSON.parse of the same text (target ≤ 1.5×). */
export function oneShotTarget(r: BenchResults): TargetVerdict | undefined {
  const users = r.sizes.oneShot?.users;
  if (users === undefined) return undefined;
  const id = oneShotId(users);
  const ratios = Object.fromEntries(LIBS.map((l) => [l, oneShotRatio(r, l)]));
  const ours = ratios["msal-ts"]?.value;
  const [met, by] = verdict(ours, 1.5, formatRatio);
  const load = timingOf(outcome(r, "msal-ts", id));
  const raw = timingOf(outcome(r, "msal-ts", id), "rawParse");
  const ser = outcome(r, "msal-ts", SERIALIZATION_ID);
  const de = timingOf(ser, "deserialize");
  const deLookup = timingOf(ser, "deserializeThenLookup");
  return {
    scenario: `one-shot: deserialize + getAccounts + one silent hit, ${formatCount(users)} users`,
    design: { python: "—", node: "—", target: "≤ 1.5× raw JSON.parse" },
    measured: Object.fromEntries(
      LIBS.flatMap((l) => {
        const f = figures(r, id)[l];
        const x = ratios[l]?.text;
        return f ? [[l, `${f}${x && x !== "—" ? ` (${x})` : ""}`]] : [];
      }),
    ),
    met,
    by,
    why:
      (load && raw
        ? `Each figure is one fresh process: msal-ts's load took ${formatMicros(load.median)} against ${formatMicros(raw.median)} for JSON.parse of the same text (each the first thing its process did; medians over ${r.sizes.oneShot?.runs} processes). `
        : "") +
      (de && deLookup
        ? `In a warm process (the serialization table) deserialize alone takes ${formatMicros(de.median)} and deserialize plus the first lookup ${formatMicros(deLookup.median)}: after a load the first four lookups read only the part of a section that can match them (src/cache/lazy-indexes.ts) and the indexes are built on the fifth (src/cache/index-state.ts), so a one-shot process does not pay for indexing every entry. `
        : "") +
      "The remainder in a fresh process is code that runs for the first time (compiled on first use) and the heap growing to hold the cache.",
  };
}

/** A hit on a hot set in a large cache against the same in a small one (target ≤ 1.3×). */
export function flatTargets(r: BenchResults): TargetVerdict[] {
  const f = r.sizes.flat;
  if (!f) return [];
  return (["flat-cc", "flat-silent"] as const).map((kind) => {
    const ours = flatRatio(r, "msal-ts", kind);
    const [met, by] = verdict(ours, 1.3, formatRatio);
    const measured = Object.fromEntries(
      LIBS.flatMap((l) => {
        const x = flatRatio(r, l, kind);
        return x === undefined ? [] : [[l, formatRatio(x)]];
      }),
    );
    const cc = kind === "flat-cc";
    const small = timingOf(outcome(r, "msal-ts", kind), "small");
    const large = timingOf(outcome(r, "msal-ts", kind), "large");
    return {
      scenario: cc
        ? `flat in size, client credentials: one app's ${f.hot} tokens in ${formatCount(f.tenants[1] * r.sizes.perTenant)} vs ${formatCount(f.tenants[0] * r.sizes.perTenant)} tokens`
        : `flat in size, silent: ${f.hot} hot users in ${formatCount(f.users[1])} vs ${formatCount(f.users[0])} users`,
      design: { python: "—", node: "—", target: "≤ 1.3×" },
      measured,
      met,
      by,
      why:
        (small && large
          ? `msal-ts: ${formatMicros(small.median)} in the small cache, ${formatMicros(large.median)} in the large one, timed in alternation in one process. `
          : "") +
        "A hit reads one bucket (the app's, or the account's) whatever else the cache holds, so the work per call does not grow; the peers scan the cache " +
        "(MSAL Python 1.21 for every lookup, msal-node for every call), so their ratio is close to the ratio of the sizes.",
    };
  });
}

/** DESIGN's "N instances missing one partition at once (Redis): 1 request", from the scale run. */
export function scaleTarget(r: BenchResults): TargetVerdict | undefined {
  const s = r.scale;
  if (!s || s.figures.length === 0) return undefined;
  const worst = (library: string) => {
    const rows = s.figures.filter((f) => f.library === library);
    return rows.length ? Math.max(...rows.flatMap((f) => f.requestsPerPartition)) : undefined;
  };
  const ours = worst("msal-ts");
  const node = worst("msal-node");
  const noLease = worst("msal-ts-no-lease");
  const instances = s.plan.workers;
  return {
    scenario: `${instances} instances missing one partition at once (Redis and Redis Cluster)`,
    design: { python: "n/a", node: "N requests", target: "1 request" },
    measured: {
      ...(ours !== undefined ? { "msal-ts": `${ours} per partition` } : {}),
      ...(node !== undefined ? { "msal-node": `${node} per partition` } : {}),
    },
    met: ours === undefined ? undefined : ours <= 1,
    by:
      ours === undefined
        ? "not measured"
        : `${ours <= 1 ? "met" : "missed"}: at most ${ours} token request${ours === 1 ? "" : "s"} per partition`,
    why:
      `${instances} processes × ${s.plan.callers} callers start at once on an empty store. Within a process, concurrent misses share one request (single-flight); ` +
      `across processes the lease in Redis lets one instance send while the others wait for the partition to be written` +
      (noLease !== undefined
        ? ` (without it, singleFlight: false, each instance sends its own: up to ${noLease} per partition here)`
        : "") +
      (node !== undefined
        ? `; msal-node, which has no single-flight, sent up to ${node} per partition`
        : "") +
      ".",
  };
}

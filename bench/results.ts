/**
 * The shape of bench/results/latest.json, the task ids the runner and the report share, and the
 * formatting of figures.
 */
import type { CacheHitFigures } from "./cache-hits.js";
import type { Footprint } from "./footprint.js";
import type { Timing } from "./measure.js";
import type { TaskOutcome } from "./peers.js";
import type { ScalePlan, ScaleResults } from "./scale.js";
import type { LibraryName, Task } from "./spec.js";

export const LIBRARIES: LibraryName[] = ["msal-ts", "msal-node", "msal-python"];
export const LABELS: Record<LibraryName, string> = {
  "msal-ts": "msal-ts",
  "msal-node": "msal-node",
  "msal-python": "MSAL Python",
};

export interface Sizes {
  ccTenants: number[];
  perTenant: number;
  users: number[];
  refreshUsers: number[];
  serializationTenants: number;
  concurrentCalls: number;
  concurrentDelayMs: number;
  e2eCount: number;
  /** Users of the one-shot load and the number of fresh processes it is timed in. */
  oneShot?: { users: number; runs: number };
  /** Flat in size: the small and large caches (tenants × perTenant app tokens; users) and the hot set. */
  flat?: { tenants: [number, number]; users: [number, number]; hot: number };
  /** Memory: app tokens (tenants × perTenant), users, and the big daemon cache (tenants × 1 token). */
  memory?: { tenants: number; users: number; bigTenants: number };
  /** The long-running daemon: calls for new tenants, heap samples, and the bound compared. */
  growth?: { calls: number; samples: number; maxAccessTokens: number };
  /** The scale benchmark: processes, callers per process, partitions, steady-phase duration, IdP delay. */
  scale?: ScalePlan;
}

export interface LibraryInfo {
  version?: string;
  runtime?: string;
  /** Why the library has no figures (not installed, ...). */
  missing?: string;
}

export interface BenchResults {
  schema: 1;
  generatedAt: string;
  mode: "full" | "quick";
  durationSeconds: number;
  machine: {
    cpu: string;
    cores: number;
    memoryGb: number;
    os: string;
    node: string;
    /** 1-minute load average at the start and the end: other work on the machine skews figures. */
    loadAverage: { start: number; end: number };
  };
  plan: { runs: number; minRunMs: number; warmupMs: number };
  /** The msal-ts source measured (built by `npm run bench` just before the run). */
  source?: { commit: string; uncommitted: string[] };
  sizes: Sizes;
  libraries: Partial<Record<LibraryName, LibraryInfo>>;
  /** Tasks as run (file paths left out). */
  tasks: Array<Omit<Task, "cacheFile" | "caFile" | "secret" | "smallFile" | "largeFile">>;
  outcomes: Partial<Record<LibraryName, Record<string, TaskOutcome>>>;
  /** Token requests the emulator logged for each library's end-to-end run. */
  emulatorTokenRequests?: Partial<Record<LibraryName, number>>;
  footprint?: Footprint;
  tokenCacheLookups?: CacheHitFigures[];
  /** The scale benchmark over Redis and Redis Cluster (group "scale"). */
  scale?: ScaleResults;
  notes: string[];
}

export const ccId = (kind: "cc-hit" | "cc-miss", tenants: number, perTenant: number) =>
  `${kind}-${tenants}x${perTenant}`;
export const userId = (kind: "silent-hit" | "silent-refresh" | "get-accounts", users: number) =>
  `${kind}-${users}`;
export const SERIALIZATION_ID = "serialization";
export const CONCURRENT_ID = "concurrent-cold";
export const E2E_ID = "e2e";
export const oneShotId = (users: number) => `one-shot-${users}`;
export const flatId = (kind: "flat-cc" | "flat-silent") => kind;
export const memoryId = (what: "app-tokens" | "users", entries: number) => `memory-${what}-${entries}`;
export const growthId = (maxAccessTokens: number | undefined) =>
  `growth-${maxAccessTokens === undefined ? "unbounded" : `max-${maxAccessTokens}`}`;

export function outcome(r: BenchResults, lib: LibraryName, id: string): TaskOutcome | undefined {
  return r.outcomes[lib]?.[id];
}

export function timingOf(o: TaskOutcome | undefined, name?: string): Timing | undefined {
  if (o?.status !== "done") return undefined;
  return name ? o.value.timings?.[name] : o.value.timing;
}

export function factsOf(o: TaskOutcome | undefined): Record<string, unknown> | undefined {
  return o?.status === "done" ? o.value.facts : undefined;
}

/** Microseconds in the unit that suits them. */
export function formatMicros(us: number): string {
  if (us < 10) return `${us.toFixed(2)} µs`;
  if (us < 1000) return `${us.toFixed(us < 100 ? 1 : 0)} µs`;
  if (us < 1e6) return `${(us / 1000).toFixed(us < 1e4 ? 2 : us < 1e5 ? 1 : 0)} ms`;
  return `${(us / 1e6).toFixed(us < 1e7 ? 2 : 1)} s`;
}

export const formatCount = (n: number) => n.toLocaleString("en-US");

/** "1.23 µs (1.10–1.40)": the median, then the range of the runs. */
export function formatTiming(t: Timing): string {
  return `${formatMicros(t.median)} (${formatMicros(t.min).replace(/ \S+$/, "")}–${formatMicros(t.max)})`;
}

/** A table cell for one library's figure, whatever became of it. */
export function cell(o: TaskOutcome | undefined, name?: string, missing?: string): string {
  if (!o) return missing ? "n/a" : "—";
  if (o.status === "stopped") return `> ${o.afterSeconds} s (stopped)`;
  if (o.status === "error") return "error (see JSON)";
  const t = timingOf(o, name);
  return t ? formatTiming(t) : "—";
}

/** How many times longer the peer takes than msal-ts ("12×"); for stopped peers, a lower bound. */
export function ratio(peer: TaskOutcome | undefined, ours: TaskOutcome | undefined, name?: string): string {
  const mine = timingOf(ours, name);
  if (!mine || mine.median <= 0) return "—";
  if (peer?.status === "stopped") return `> ${formatRatio((peer.afterSeconds * 1e6) / mine.median)}`;
  const theirs = timingOf(peer, name);
  return theirs ? formatRatio(theirs.median / mine.median) : "—";
}

export function formatRatio(x: number): string {
  if (x >= 100) return `${formatCount(Math.round(x))}×`;
  if (x >= 10) return `${x.toFixed(0)}×`;
  return `${x.toFixed(x >= 1 ? 1 : 2)}×`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MB`;
  return `${(bytes / 1024).toFixed(0)} KB`;
}

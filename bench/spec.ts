/**
 * The contract between the benchmark runner and its peers (bench/peer-node.ts for msal-ts and
 * msal-node, bench/peer_msal_python.py for MSAL Python): the runner writes a {@link PeerSpec} as
 * JSON on the peer's stdin; the peer prints one JSON line per event ({@link PeerEvent}) on stdout.
 */
import type { FakeIdpTemplates } from "./fixtures.js";
import type { Timing, TimingPlan } from "./measure.js";

export type LibraryName = "msal-ts" | "msal-node" | "msal-python";

interface TaskBase {
  id: string;
  /** The runner stops the peer when one task's measurement takes longer than this. */
  budgetSeconds: number;
}

/** Client credentials against a cache of `tenants` x `perTenant` app tokens: a hit, or a forced trip to the fake IdP. */
export interface ClientCredentialTask extends TaskBase {
  kind: "cc-hit" | "cc-miss";
  tenants: number;
  perTenant: number;
  cacheFile: string;
}

/** Silent acquisition and account listing against a cache of `users` signed-in users. */
export interface UserTask extends TaskBase {
  kind: "silent-hit" | "silent-refresh" | "get-accounts";
  users: number;
  cacheFile: string;
}

export interface SerializationTask extends TaskBase {
  kind: "serialization";
  cacheFile: string;
}

/** `calls` concurrent client-credential calls on a new app with an empty cache; the fake IdP answers after `delayMs`. */
export interface ConcurrentTask extends TaskBase {
  kind: "concurrent-cold";
  calls: number;
  delayMs: number;
  rounds: number;
}

/** Client credentials over real HTTPS against the emulator, a cache miss each time. */
export interface EndToEndTask extends TaskBase {
  kind: "e2e";
  count: number;
  runs: number;
  warmup: number;
  authority: string;
  clientId: string;
  secret: string;
  scope: string;
  caFile: string;
}

/**
 * A one-shot process (a CLI, a script, a cold start): deserialize a cache of `users` users, list the
 * accounts, make one silent call (a hit), timed once in a fresh process, beside one JSON.parse of the
 * same text. The runner starts a new process for every run.
 */
export interface OneShotTask extends TaskBase {
  kind: "one-shot";
  /**
   * `load`: the library's calls; `raw`: JSON.parse (json.loads) alone. Each in a fresh process, as
   * the first thing it does: a process's first big parse also grows its heap, so timing both in one
   * process would bill that growth to whichever goes first.
   */
  part: "load" | "raw";
  users: number;
  cacheFile: string;
}

/**
 * Hits on a small hot set (one app's tokens, or a few users) in a cache of `small` entries and in
 * one of `large` entries, timed in alternation in one process: whether a hit costs more in a big cache.
 */
export interface FlatTask extends TaskBase {
  kind: "flat-cc" | "flat-silent";
  /** Tenants (flat-cc) or users (flat-silent) in each cache. */
  small: number;
  large: number;
  smallFile: string;
  largeFile: string;
  /** Tokens (flat-cc: one app's) or users (flat-silent) asked for. */
  hot: number;
}

/** Heap held by a loaded cache (after one lookup, so lazy indexes are built), per entry. */
export interface MemoryTask extends TaskBase {
  kind: "memory";
  /** App tokens (`tenants` x `perTenant`) or signed-in users. */
  what: "app-tokens" | "users";
  /** Access tokens (app-tokens) or users in the cache. */
  entries: number;
  cacheFile: string;
}

/**
 * A long-running daemon asking for tokens for ever-new tenants: heap sampled every `calls / samples`
 * calls, with the cache bounded to `maxAccessTokens` or not.
 */
export interface GrowthTask extends TaskBase {
  kind: "growth";
  calls: number;
  samples: number;
  maxAccessTokens?: number;
}

export type Task =
  | ClientCredentialTask
  | UserTask
  | SerializationTask
  | ConcurrentTask
  | EndToEndTask
  | OneShotTask
  | FlatTask
  | MemoryTask
  | GrowthTask;

export interface PeerSpec {
  plan: TimingPlan;
  fake: FakeIdpTemplates;
  tasks: Task[];
}

/** What a task measured: its main timing, named secondary figures, and facts checked along the way. */
export interface TaskResult {
  timing?: Timing;
  timings?: Record<string, Timing>;
  facts?: Record<string, unknown>;
}

export type PeerEvent =
  | { event: "hello"; library: LibraryName; version: string; runtime: string }
  | { event: "ready"; task: string }
  | { event: "result"; task: string; value: TaskResult }
  | { event: "error"; task: string; message: string };

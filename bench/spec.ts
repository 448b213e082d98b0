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

export type Task = ClientCredentialTask | UserTask | SerializationTask | ConcurrentTask | EndToEndTask;

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

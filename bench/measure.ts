/**
 * Timing for the Node peers: a warm-up that also estimates the cost of one call, then several
 * timed runs of a fixed number of calls each; each run gives a per-call figure and the report
 * keeps their median and spread. bench/peer_msal_python.py does the same in Python.
 */

export interface Timing {
  /** Microseconds per call. */
  median: number;
  min: number;
  max: number;
  q1: number;
  q3: number;
  runs: number;
  callsPerRun: number;
}

export interface TimingPlan {
  /** Timed runs (at least 3 when the budget allows). */
  runs: number;
  /** Each run lasts at least this long, or one call. */
  minRunMs: number;
  /** Warm-up: at least this long, and at least `minWarmupCalls` calls. */
  warmupMs: number;
  /** Stop adding runs once this much time has gone (the first 3 runs always complete). */
  budgetMs: number;
  minWarmupCalls?: number;
}

function quantile(sorted: number[], q: number): number {
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (position - low);
}

export function summarise(perCall: number[], callsPerRun: number): Timing {
  const sorted = [...perCall].sort((a, b) => a - b);
  return {
    median: quantile(sorted, 0.5),
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    q1: quantile(sorted, 0.25),
    q3: quantile(sorted, 0.75),
    runs: sorted.length,
    callsPerRun,
  };
}

const SLOW_CALL_MS = 1000;

/** With `--expose-gc`, every run starts from a collected heap, so one run's garbage is not billed to the next. */
export const collectGarbage = (): void => (globalThis as { gc?: () => void }).gc?.();

/** Microseconds on the monotonic clock. */
export const nowUs = (): number => Number(process.hrtime.bigint()) / 1e3;

/** Heap in use after two forced collections (the process runs with `--expose-gc`). */
export function heapUsed(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** Times `fn(i)` (sync or async), with `i` counting up across every call, warm-up included. */
export async function time(fn: (i: number) => unknown, plan: TimingPlan): Promise<Timing> {
  let i = 0;
  const start = nowMs();
  const minWarmup = plan.minWarmupCalls ?? 1;
  let warmCalls = 0;
  for (;;) {
    await fn(i++);
    warmCalls++;
    const elapsed = nowMs() - start;
    // One call that takes a second has warmed itself up; more would only spend the budget.
    if (elapsed > SLOW_CALL_MS || (warmCalls >= minWarmup && elapsed >= plan.warmupMs)) break;
  }
  const perCallMs = (nowMs() - start) / warmCalls;
  const callsPerRun = Math.max(1, Math.ceil(plan.minRunMs / Math.max(perCallMs, 1e-6)));
  const perCall: number[] = [];
  for (let run = 0; run < plan.runs; run++) {
    if (run >= 3 && nowMs() - start > plan.budgetMs) break;
    collectGarbage();
    const t0 = nowMs();
    for (let k = 0; k < callsPerRun; k++) await fn(i++);
    perCall.push(((nowMs() - t0) * 1000) / callsPerRun);
  }
  return summarise(perCall, callsPerRun);
}

/**
 * Times several operations in alternation (run 1 of each, then run 2 of each, ...), so that the
 * machine's load and the heap's state weigh on all of them alike: for figures meant to be compared
 * with each other, such as deserialize against raw JSON.parse.
 */
export async function timeInterleaved(
  fns: Record<string, (i: number) => unknown>,
  plan: TimingPlan,
  /** Set-up and tear-down around every batch of one operation (e.g. a patched global). */
  around: Record<string, { enter(): void; leave(): void }> = {},
): Promise<Record<string, Timing>> {
  const names = Object.keys(fns);
  const calls: Record<string, number> = {};
  let i = 0;
  for (const name of names) {
    const fn = fns[name] as (i: number) => unknown;
    around[name]?.enter();
    const start = nowMs();
    let warm = 0;
    for (;;) {
      await fn(i++);
      warm++;
      const elapsed = nowMs() - start;
      if (elapsed > SLOW_CALL_MS || (warm >= (plan.minWarmupCalls ?? 1) && elapsed >= plan.warmupMs)) break;
    }
    around[name]?.leave();
    calls[name] = Math.max(1, Math.ceil(plan.minRunMs / Math.max((nowMs() - start) / warm, 1e-6)));
  }
  const perCall: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const start = nowMs();
  for (let run = 0; run < plan.runs; run++) {
    if (run >= 3 && nowMs() - start > plan.budgetMs * names.length) break;
    for (const name of names) {
      const fn = fns[name] as (i: number) => unknown;
      const k = calls[name] as number;
      around[name]?.enter();
      collectGarbage();
      const t0 = nowMs();
      for (let j = 0; j < k; j++) await fn(i++);
      perCall[name]?.push(((nowMs() - t0) * 1000) / k);
      around[name]?.leave();
    }
  }
  return Object.fromEntries(names.map((n) => [n, summarise(perCall[n] ?? [], calls[n] as number)]));
}

/** A deterministic shuffle (xorshift), so every run of a benchmark asks in the same "random" order. */
export function shuffled<T>(items: T[], seed = 0x9e3779b9): T[] {
  const out = [...items];
  let state = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

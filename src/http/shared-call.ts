/**
 * One piece of work shared by concurrent callers, each of whom may abort. A caller's abort ends
 * that caller's wait with its signal's reason and no one else's; the work itself is aborted only
 * when every caller still waiting has aborted, so a request nobody waits for does not run on, and a
 * request others wait for is not cut short by the first caller who gives up (DESIGN principles 5, 6).
 */

/** The signals of shared calls: only their own controller aborts them, and only their work listens. */
const sharedCallSignals = new WeakSet<AbortSignal>();

/**
 * The signals of shared calls that can never be aborted (the first caller has no signal, and a
 * caller without one never gives up). Each call gets its own: Cloudflare Workers tie a signal to
 * the request that made it and refuse it in another, so one signal for all calls cannot be shared.
 */
const neverAbortedSignals = new WeakSet<AbortSignal>();

/**
 * Whether `signal` is a shared call's own (see {@link startSharedCall}): the HTTP layer may listen to
 * it directly, since no caller holds it.
 */
export function isSharedCallSignal(signal: AbortSignal): boolean {
  return sharedCallSignals.has(signal);
}

/**
 * Whether `signal` is the one a shared call gets when nothing can abort it: there is nothing to listen
 * to, so the HTTP layer need not (saving a listener and its closure on every token request).
 */
export function neverAborts(signal: AbortSignal): boolean {
  return neverAbortedSignals.has(signal);
}

/** The work and who waits for it. */
export interface SharedCall<T> {
  readonly promise: Promise<T>;
  /** Callers waiting without a signal, or whose signal has not aborted. */
  waiting: number;
  /** Aborts the work; `undefined` when nothing can (see {@link startSharedCall}'s `abortable`). */
  readonly controller: AbortController | undefined;
}

/**
 * Starts `work` with a signal of its own, to be joined by callers through {@link joinSharedCall}.
 * `abortable: false` when the first caller to join has no signal: that caller never stops waiting,
 * so the work can never be aborted, and it gets a signal that never aborts instead of a controller
 * of its own (an `AbortController` per token request is a measurable part of a forced one).
 *
 * @example
 * ```ts
 * const call = startSharedCall((signal) => fetch("https://login.example/token", { signal }));
 * const response = await joinSharedCall(call, AbortSignal.timeout(5_000));
 * ```
 */
export function startSharedCall<T>(
  work: (signal: AbortSignal) => Promise<T>,
  abortable = true,
): SharedCall<T> {
  if (!abortable) {
    const signal = new AbortController().signal;
    neverAbortedSignals.add(signal);
    return { promise: work(signal), waiting: 0, controller: undefined };
  }
  const controller = new AbortController();
  sharedCallSignals.add(controller.signal);
  return { promise: work(controller.signal), waiting: 0, controller };
}

/**
 * Waits for `call` on behalf of one caller: its result, or `signal`'s reason as soon as it aborts.
 * It listens to a signal of its own that follows the caller's (`AbortSignal.any`), which adds no
 * listener to the caller's signal: many calls sharing one signal do not pile listeners on it. The
 * shared promise's callbacks hold that signal for as long as the call runs.
 *
 * @example
 * ```ts
 * const call = startSharedCall((signal) => fetch("https://login.example/token", { signal }));
 * const [a, b] = await Promise.all([joinSharedCall(call), joinSharedCall(call, controller.signal)]);
 * ```
 */
export function joinSharedCall<T>(call: SharedCall<T>, signal?: AbortSignal): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  call.waiting++;
  if (!signal) return call.promise;
  const own = AbortSignal.any([signal]);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      if (--call.waiting === 0) call.controller?.abort(own.reason);
      reject(own.reason);
    };
    own.addEventListener("abort", onAbort, { once: true });
    call.promise.then(
      (value) => {
        own.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        own.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

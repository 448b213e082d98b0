/**
 * A wait that a signal can cut short: polls and back-offs (device code, IMDS retries, lease
 * waiters) use it so that a caller's abort ends the wait at once, with the signal's reason.
 */

/**
 * Resolves after `ms`, or rejects with `signal`'s reason as soon as it aborts. The listener is
 * removed when the wait ends, so long polls on one signal do not pile listeners up on it.
 *
 * @example
 * ```ts
 * await pause(1000, AbortSignal.timeout(5000));
 * ```
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

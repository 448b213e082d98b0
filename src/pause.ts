/**
 * A wait that a signal can cut short: polls and back-offs (device code, IMDS retries, lease
 * waiters) use it so that a caller's abort ends the wait at once, with the signal's reason.
 */

/**
 * Resolves after `ms`, or rejects with `signal`'s reason as soon as it aborts. It listens to a
 * signal of its own that follows the caller's (`AbortSignal.any`), so concurrent waits sharing one
 * signal add no listeners to it.
 *
 * @example
 * ```ts
 * await pause(1000, AbortSignal.timeout(5000));
 * ```
 */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const own = signal ? AbortSignal.any([signal]) : undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(own?.reason);
    };
    const timer = setTimeout(() => {
      own?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    own?.addEventListener("abort", onAbort, { once: true });
  });
}

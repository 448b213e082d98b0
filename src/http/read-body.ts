/**
 * Reading a response body as text, within a byte budget and so that an abort always ends the read.
 *
 * Both are enforced here, over the stream `fetch` hands back, rather than in a transport: the
 * stream is already decoded (gzip, br), so the budget bounds what a decompression bomb can expand
 * to, and it protects any `fetch` an app passes in. The read listens to the signal itself and
 * cancels the reader when it aborts, because a `fetch` may tie the body's abort to an internal
 * `Request` that is linked to the caller's signal only weakly: once that `Request` has been garbage
 * collected, its abort no longer reaches the body (https://github.com/nodejs/node/issues/55428).
 */
import { NetworkError, safeUrl } from "./network-error.js";

/** `1048576 bytes (1 MiB)`: the budget as a person reads it. */
function bytesInWords(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return Number.isInteger(mib) ? `${bytes} bytes (${mib} MiB)` : `${bytes} bytes`;
}

/**
 * The {@link NetworkError} for a response body that passed its budget: the read was cancelled and
 * nothing was cached.
 */
export function responseTooLarge(url: string, maxBytes: number): NetworkError {
  const shown = safeUrl(url);
  const hint =
    "An identity provider's answer is far smaller: check that the URL points at the right server and that no proxy or captive portal answers in its place.";
  return new NetworkError(
    "response_too_large",
    shown,
    `The response from ${shown} is larger than ${bytesInWords(maxBytes)}, the most msal-ts reads for this request, so it stopped reading and cached nothing. ${hint}`,
    hint,
  );
}

/**
 * Where a read registers what an abort must do, when the caller already listens to the signal (one
 * listener for a whole request instead of one per stage: each costs a microsecond or two).
 */
export interface AbortHook {
  /** Called with the signal's reason when it aborts; `undefined` when nothing is to be done. */
  onAbort: ((reason: unknown) => void) | undefined;
}

/** Decodes whole bodies only (never `stream: true`), so one decoder serves every read. */
const decoder = new TextDecoder("utf-8");

/**
 * The body of `response` decoded as UTF-8 (as `Response.text()` does), reading at most `maxBytes`
 * of the decoded stream. Rejects with `signal.reason` as soon as `signal` aborts, with
 * {@link NetworkError} `response_too_large` past the budget (the reader is cancelled either way,
 * which ends the connection), and with what the stream failed with otherwise.
 *
 * @example
 * ```ts
 * const response = await fetch(url, { signal });
 * const text = await readBody(response, { url, maxBytes: 1024 * 1024, signal });
 * ```
 */
export async function readBody(
  response: Response,
  options: { url: string; maxBytes: number; signal: AbortSignal },
): Promise<string> {
  const { signal } = options;
  const hook: AbortHook = { onAbort: undefined };
  const onAbort = () => hook.onAbort?.(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await readBodyWith(response, options, hook);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

/**
 * {@link readBody} for a caller that listens to `signal` itself and calls `hook.onAbort` when it
 * aborts: the read sets the hook while it runs.
 */
export async function readBodyWith(
  response: Response,
  options: { url: string; maxBytes: number; signal: AbortSignal },
  hook: AbortHook,
): Promise<string> {
  const { signal, maxBytes } = options;
  const body = response.body;
  if (body === null) return "";
  const reader = body.getReader();
  const cancel = (reason: unknown) => {
    reader.cancel(reason).catch(() => {});
  };
  // A cancelled reader settles its pending read at once (done), whatever the transport does next.
  hook.onAbort = cancel;
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    signal.throwIfAborted();
    for (;;) {
      const { done, value } = await reader.read();
      signal.throwIfAborted();
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        const tooLarge = responseTooLarge(options.url, maxBytes);
        cancel(tooLarge);
        throw tooLarge;
      }
      chunks.push(value);
    }
  } catch (error) {
    // A transport that ends the stream with its own error when the signal aborts still rejects with the signal's reason.
    if (signal.aborted) throw signal.reason;
    cancel(error);
    throw error;
  } finally {
    hook.onAbort = undefined;
  }
  // Decoded once, whole: a character split across chunks needs no streaming decoder, and the bytes
  // are within the budget.
  if (chunks.length === 1) return decoder.decode(chunks[0]);
  const all = new Uint8Array(received);
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return decoder.decode(all);
}

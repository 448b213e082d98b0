/**
 * Sends a request: throttling and the HTTP cache first, then `fetch` with the timeout and the
 * caller's signal, one retry when the connection failed or the server had a passing fault
 * (5xx), and a {@link NetworkError} that says what to do when the transport fails.
 */
import type { LogSink } from "../logging.js";
import { type NetworkError, networkErrorFrom } from "./network-error.js";
import { rememberResponse, storedResponse, throttleKeys } from "./throttle.js";
import type { FetchLike, HttpCacheStore, HttpRequest, HttpResponse } from "./types.js";

export interface HttpConfig {
  fetch: FetchLike;
  /** Milliseconds for a whole request (connect to last byte). */
  timeoutMs?: number;
  /** Seconds to hold back after a 429 or 5xx without a usable `Retry-After`. */
  defaultRetryAfterSeconds: number;
  cache: HttpCacheStore;
  log: LogSink;
  /** The proxy in use, for error messages. */
  proxy?: string;
  /** A synchronous SHA-256 (hex) for throttle keys, when the platform has one. */
  hash?: (text: string) => string;
}

/** Passing faults worth one more try. 429 is not among them: it asks the caller to wait. */
const RETRIED_STATUSES = new Set([500, 502, 503, 504]);
/** The longest `Retry-After` worth waiting for before the one retry. */
const MAX_RETRY_WAIT_MS = 5000;

function responseHeaders(response: Response): Record<string, string> {
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name.toLowerCase()] = value;
  });
  return out;
}

function wait(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

async function attempt(config: HttpConfig, request: HttpRequest): Promise<HttpResponse> {
  const signals = [
    request.signal,
    config.timeoutMs ? AbortSignal.timeout(config.timeoutMs) : undefined,
  ].filter((s): s is AbortSignal => s !== undefined);
  const headers: Record<string, string> = { ...request.headers };
  let body: string | undefined;
  if (request.form) {
    headers["content-type"] = "application/x-www-form-urlencoded;charset=utf-8";
    body = new URLSearchParams(request.form).toString();
  } else if (request.body) {
    headers["content-type"] = request.body.contentType;
    body = request.body.text;
  }
  const init: RequestInit = { method: request.method, headers, redirect: "manual" };
  if (body !== undefined) init.body = body;
  if (signals.length > 0) init.signal = signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const response = await config.fetch(request.url, init);
  return { status: response.status, headers: responseHeaders(response), body: await response.text() };
}

function describe(request: HttpRequest): string {
  const url = new URL(request.url);
  return `${request.method} ${url.origin}${url.pathname}`;
}

/** Sends `request` (or answers it from the throttle store); throws {@link NetworkError} when the transport fails. */
export async function send(config: HttpConfig, request: HttpRequest): Promise<HttpResponse> {
  if (request.retryAndThrottle === false) {
    try {
      return await attempt(config, request);
    } catch (error) {
      throw toNetworkError(config, request, error);
    }
  }
  const keys = await throttleKeys(request, config.hash);
  const stored = storedResponse(config.cache, keys, Date.now());
  if (stored) {
    config.log("verbose", `${describe(request)}: answered from the HTTP cache (status ${stored.status}).`);
    return stored;
  }
  let response: HttpResponse;
  try {
    response = await sendWithOneRetry(config, request);
  } catch (error) {
    throw toNetworkError(config, request, error);
  }
  rememberResponse(config.cache, keys, request, response, {
    now: Date.now(),
    defaultRetryAfterSeconds: config.defaultRetryAfterSeconds,
  });
  return response;
}

async function sendWithOneRetry(config: HttpConfig, request: HttpRequest): Promise<HttpResponse> {
  let response: HttpResponse;
  try {
    response = await attempt(config, request);
  } catch (error) {
    const failure = toNetworkError(config, request, error);
    if (failure.kind !== "connection_refused" && failure.kind !== "connection_reset") throw failure;
    config.log("warning", `${describe(request)}: ${failure.kind.replace("_", " ")}; retrying once.`);
    return attempt(config, request);
  }
  if (!RETRIED_STATUSES.has(response.status)) return response;
  const retryAfter = Number(response.headers["retry-after"] ?? "0");
  const delay = Number.isFinite(retryAfter) ? retryAfter * 1000 : 0;
  if (delay > MAX_RETRY_WAIT_MS) return response;
  config.log(
    "warning",
    `${describe(request)}: HTTP ${response.status}; retrying once${delay ? ` in ${delay} ms` : ""}.`,
  );
  await wait(Math.max(delay, 100), request.signal);
  return attempt(config, request);
}

function toNetworkError(config: HttpConfig, request: HttpRequest, error: unknown): NetworkError {
  if (error instanceof Error && error.name === "NetworkError" && "kind" in error)
    return error as NetworkError;
  const context: { proxy?: string; timeoutMs?: number } = {};
  if (config.proxy) context.proxy = config.proxy;
  if (config.timeoutMs) context.timeoutMs = config.timeoutMs;
  return networkErrorFrom(error, request.url, context);
}

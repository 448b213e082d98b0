/**
 * Sends a request: throttling and the HTTP cache first, then `fetch` with the timeout and the
 * caller's signal, the body read within its byte budget, one retry only where sending the request
 * again is safe, and a {@link NetworkError} that says what to do when the transport fails. A
 * caller's abort rejects with the signal's reason wherever the call is: connecting, reading the
 * body or waiting to retry.
 */
import { type LogSink, logs } from "../logging.js";
import { pause } from "../pause.js";
import { encodeForm } from "./form.js";
import { type NetworkError, networkErrorFrom } from "./network-error.js";
import { type AbortHook, readBodyWith } from "./read-body.js";
import { isSharedCallSignal, neverAborts } from "./shared-call.js";
import { rememberResponse, storedResponse, throttleKeys } from "./throttle.js";
import {
  DEFAULT_MAX_RESPONSE_BYTES,
  type FetchLike,
  type HttpCacheStore,
  type HttpRequest,
  type HttpResponse,
} from "./types.js";

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

/**
 * `pending`, or the signal's reason as soon as it aborts: a `fetch` that does not honour its signal
 * cannot keep the call waiting. A response that arrives after the abort has its body cancelled, which
 * frees its connection. The attempt's one listener on the signal calls `hook` (see `AbortHook`).
 */
function untilAborted(pending: Promise<Response>, signal: AbortSignal, hook: AbortHook): Promise<Response> {
  const dropLate = () => {
    pending.then(
      (late) => late.body?.cancel().catch(() => {}),
      () => {},
    );
  };
  if (signal.aborted) {
    dropLate();
    return Promise.reject(signal.reason);
  }
  return new Promise((resolve, reject) => {
    hook.onAbort = (reason) => {
      dropLate();
      reject(reason);
    };
    pending.then(
      (response) => {
        hook.onAbort = undefined;
        resolve(response);
      },
      (error: unknown) => {
        hook.onAbort = undefined;
        reject(error);
      },
    );
  });
}

/** The one abort listener of an attempt: it passes the signal's reason to whatever stage is under way. */
class AttemptAbort implements AbortHook {
  onAbort: ((reason: unknown) => void) | undefined = undefined;
  constructor(readonly signal: AbortSignal) {}
  handleEvent(): void {
    this.onAbort?.(this.signal.reason);
  }
}

/** The body a request sends: its form encoded once, for `fetch` and the throttling keys alike. */
function bodyOf(request: HttpRequest): string | undefined {
  return request.form ? encodeForm(request.form) : request.body?.text;
}

function requestInit(request: HttpRequest, signal: AbortSignal, body: string | undefined): RequestInit {
  // Object.assign, not a spread: V8 makes adding content-type to a spread copy cost microseconds.
  const headers: Record<string, string> = Object.assign({}, request.headers);
  const init: RequestInit = { method: request.method, headers, redirect: "manual", signal };
  if (request.form) {
    headers["content-type"] = "application/x-www-form-urlencoded;charset=utf-8";
    init.body = body;
  } else if (request.body) {
    headers["content-type"] = request.body.contentType;
    init.body = body;
  }
  return init;
}

/** How a timeout aborts: the `DOMException` that `AbortSignal.timeout()` aborts with. */
const timeoutReason = () => new DOMException("The operation was aborted due to timeout", "TimeoutError");

/**
 * One request and its whole body, under one signal that both `fetch` and the body read listen to:
 * the caller's, combined with the timeout. The timeout is a timer of its own rather than
 * `AbortSignal.timeout()`: a timeout signal that only `AbortSignal.any()` refers to may be garbage
 * collected before it fires (Node), and the request would then never time out.
 */
async function attempt(
  config: HttpConfig,
  request: HttpRequest,
  sent: string | undefined = bodyOf(request),
): Promise<HttpResponse> {
  const timeout = new AbortController();
  const parent = request.signal && !neverAborts(request.signal) ? request.signal : undefined;
  // AbortSignal.any() adds no listener to the caller's signal, so concurrent calls sharing one do not pile up listeners.
  const signal =
    parent && !isSharedCallSignal(parent) ? AbortSignal.any([parent, timeout.signal]) : timeout.signal;
  const hook = new AttemptAbort(signal);
  // Without a caller's signal of its own, only this function aborts `signal`: it tells the hook
  // itself rather than listening (a listener added and removed per request costs a microsecond).
  const direct = signal === timeout.signal;
  const abort = (reason: unknown) => {
    if (timeout.signal.aborted) return;
    timeout.abort(reason);
    if (direct) hook.handleEvent();
  };
  const timer = config.timeoutMs ? setTimeout(() => abort(timeoutReason()), config.timeoutMs) : undefined;
  let unlink: (() => void) | undefined;
  if (parent && direct) {
    // A shared call's own signal: only its work's requests listen to it, so listeners cannot pile up,
    // and it spares the two signals AbortSignal.any() makes on every request (a tenth of a miss's CPU).
    const follow = () => abort(parent.reason);
    if (parent.aborted) follow();
    else {
      parent.addEventListener("abort", follow, { once: true });
      unlink = () => parent.removeEventListener("abort", follow);
    }
  }
  if (!direct) signal.addEventListener("abort", hook, { once: true });
  try {
    const response = await untilAborted(
      config.fetch(request.url, requestInit(request, signal, sent)),
      signal,
      hook,
    );
    const maxBytes = request.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const body = await readBodyWith(response, { url: request.url, maxBytes, signal }, hook);
    return { status: response.status, headers: responseHeaders(response), body };
  } finally {
    if (!direct) signal.removeEventListener("abort", hook);
    clearTimeout(timer);
    unlink?.();
  }
}

function describe(request: HttpRequest): string {
  const url = new URL(request.url);
  return `${request.method} ${url.origin}${url.pathname}`;
}

/** What a line about a request names besides its URL: the grant and the correlation id, when it has them. */
function details(request: HttpRequest): string {
  const grant = request.form?.grant_type;
  const correlationId = request.headers["client-request-id"];
  const parts = [grant ? `grant ${grant}` : "", correlationId ? `correlation id ${correlationId}` : ""];
  const text = parts.filter(Boolean).join(", ");
  return text ? ` (${text})` : "";
}

/** Responses replayed from the HTTP cache, so that discovery can say it did not go to the network. */
const replayed = new WeakSet<HttpResponse>();

/** Whether `response` came from the HTTP cache (throttling or a kept GET) rather than the network. */
export function fromHttpCache(response: HttpResponse): boolean {
  return replayed.has(response);
}

/** A request sent and answered: its status and how long it took, retry included. */
function logAnswered(
  config: HttpConfig,
  request: HttpRequest,
  response: HttpResponse,
  started: number,
): void {
  config.log(
    "verbose",
    `${describe(request)}${details(request)}: HTTP ${response.status} in ${Date.now() - started} ms.`,
  );
}

function logReplayed(config: HttpConfig, request: HttpRequest, stored: HttpResponse): void {
  if (stored.throttledUntil === undefined) {
    config.log("verbose", `${describe(request)}: answered from the HTTP cache (status ${stored.status}).`);
    return;
  }
  const seconds = Math.max(1, Math.ceil((stored.throttledUntil - Date.now()) / 1000));
  config.log(
    "warning",
    `${describe(request)}${details(request)}: throttled, not sent; answered with the HTTP ${stored.status} an identical request got, for ${seconds} s more.`,
  );
}

const holdsBack = (request: HttpRequest, response: HttpResponse): boolean =>
  request.method === "POST" &&
  (response.status === 429 || response.status >= 500 || response.headers["retry-after"] !== undefined);

/** A response that holds identical requests back (429, 5xx, Retry-After): said once, when it arrives. */
function logThrottling(
  config: HttpConfig,
  request: HttpRequest,
  keys: string[],
  response: HttpResponse,
): void {
  const held = storedResponse(config.cache, keys.slice(1), Date.now());
  if (held?.throttledUntil === undefined || held.status !== response.status) return;
  const seconds = Math.max(1, Math.ceil((held.throttledUntil - Date.now()) / 1000));
  config.log(
    "warning",
    `${describe(request)}: HTTP ${response.status}${response.headers["retry-after"] !== undefined ? ` with Retry-After ${response.headers["retry-after"]}` : ""}; identical requests get this answer without being sent for ${seconds} s.`,
  );
}

/**
 * Sends `request` (or answers it from the throttle store). Throws {@link NetworkError} when the
 * transport fails or the response is past its byte budget (then nothing is stored), and rejects
 * with `request.signal.reason` when the caller aborts.
 */
export async function send(config: HttpConfig, request: HttpRequest): Promise<HttpResponse> {
  request.signal?.throwIfAborted();
  // Lines are built only for a logger that takes them: a forced token request is benchmarked too.
  // GETs get theirs from the caller (discovery says what it fetched and whether it was cached).
  const verbose = request.method === "POST" && logs(config.log, "verbose");
  const started = verbose ? Date.now() : 0;
  try {
    if (request.retryAndThrottle === false) {
      const response = await attempt(config, request);
      if (verbose) logAnswered(config, request, response, started);
      return response;
    }
    const body = bodyOf(request);
    const pending = throttleKeys(request, body ?? "", config.hash);
    const keys = pending instanceof Promise ? await pending : pending;
    const stored = storedResponse(config.cache, keys, Date.now());
    if (stored) {
      replayed.add(stored);
      if (logs(config.log, stored.throttledUntil === undefined ? "verbose" : "warning"))
        logReplayed(config, request, stored);
      return stored;
    }
    const response = await sendWithOneRetry(config, request, body);
    if (verbose) logAnswered(config, request, response, started);
    rememberResponse(config.cache, keys, request, response, {
      now: Date.now(),
      defaultRetryAfterSeconds: config.defaultRetryAfterSeconds,
    });
    if (holdsBack(request, response) && logs(config.log, "warning"))
      logThrottling(config, request, keys, response);
    return response;
  } catch (error) {
    // The caller's abort is no transport failure: the call rejects with its reason, wherever it happened.
    if (request.signal?.aborted) throw request.signal.reason;
    throw toNetworkError(config, request, error);
  }
}

/**
 * Whether a request that got no response may go again. Only a refused connection is certain to
 * have carried none of the request's bytes; after a reset the server may already have acted on
 * it, which a GET makes harmless and a POST (a redeemed code, a password attempt counting towards
 * lockout) does not.
 */
function resendable(request: HttpRequest, failure: NetworkError): boolean {
  if (failure.kind === "connection_refused") return true;
  return failure.kind === "connection_reset" && request.method === "GET";
}

async function sendWithOneRetry(
  config: HttpConfig,
  request: HttpRequest,
  body: string | undefined,
): Promise<HttpResponse> {
  let response: HttpResponse;
  try {
    response = await attempt(config, request, body);
  } catch (error) {
    if (request.signal?.aborted) throw error;
    const failure = toNetworkError(config, request, error);
    if (request.retry === false || !resendable(request, failure)) throw failure;
    config.log("warning", `${describe(request)}: ${failure.kind.replace("_", " ")}; retrying once.`);
    return attempt(config, request, body);
  }
  if (request.retry === false || !RETRIED_STATUSES.has(response.status)) return response;
  const retryAfter = Number(response.headers["retry-after"] ?? "0");
  const delay = Number.isFinite(retryAfter) ? retryAfter * 1000 : 0;
  if (delay > MAX_RETRY_WAIT_MS) return response;
  config.log(
    "warning",
    `${describe(request)}: HTTP ${response.status}; retrying once${delay ? ` in ${delay} ms` : ""}.`,
  );
  await pause(Math.max(delay, 100), request.signal);
  return attempt(config, request, body);
}

function toNetworkError(config: HttpConfig, request: HttpRequest, error: unknown): NetworkError {
  if (error instanceof Error && error.name === "NetworkError" && "kind" in error)
    return error as NetworkError;
  const context: { proxy?: string; timeoutMs?: number } = {};
  if (config.proxy) context.proxy = config.proxy;
  if (config.timeoutMs) context.timeoutMs = config.timeoutMs;
  return networkErrorFrom(error, request.url, context);
}

/**
 * Throttling and the HTTP cache, as MSAL Python's `ThrottledHttpClient` (spec section 8.2):
 * - a response with 429, 5xx or `Retry-After` blocks identical requests (same URL, client, scope and
 *   refresh token) for `Retry-After` seconds (default 5 for confidential clients, 60 for public;
 *   at most an hour): they are answered from the stored response and never sent;
 * - a 400 blocks the very same request (same body) for 60 s, except device code polls;
 * - successful GETs (discovery, instance metadata, user realm, MEX) are kept for 24 hours.
 * Entries are plain JSON in the `httpCache` store.
 */
import { sha256Hex } from "../protocol/pkce.js";
import type { HttpCacheStore, HttpRequest, HttpResponse } from "./types.js";

interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  expiresAt: number;
}

const MAX_RETRY_AFTER_SECONDS = 3600;
const BAD_REQUEST_SECONDS = 60;
const GET_SECONDS = 86400;
const DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code";
/** Entries a `Map` store may hold before the oldest are dropped. */
const MAP_CAPACITY = 1024;

/** SHA-256 of the empty string: requests without a refresh token all share it. */
const EMPTY_HASH = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/**
 * The keys a request is throttled under, most specific first. `hash` is a synchronous SHA-256
 * (hex) when the platform has one: Web Crypto's is a thread-pool round trip per call, and with a
 * synchronous one the keys come at once, not as a promise. `body` is the request's body as sent
 * (`""` for none).
 */
export function throttleKeys(
  request: HttpRequest,
  body: string,
  hash?: (text: string) => string,
): string[] | Promise<string[]> {
  if (request.method === "GET") return [`GET ${request.url} 2xx`];
  const form = request.form ?? {};
  const keys = (account: string, whole: string) => [
    `POST ${request.url} hash=${whole} 400`,
    `POST ${request.url} client_id=${form.client_id ?? ""} scope=${form.scope ?? ""} hash=${account} 429/5xx/Retry-After`,
  ];
  if (hash) return keys(form.refresh_token ? hash(form.refresh_token) : EMPTY_HASH, hash(body));
  return (async () =>
    keys(form.refresh_token ? await sha256Hex(form.refresh_token) : EMPTY_HASH, await sha256Hex(body)))();
}

function isStored(value: unknown): value is StoredResponse {
  return (
    typeof value === "object" && value !== null && typeof (value as StoredResponse).expiresAt === "number"
  );
}

/** A stored response for one of the keys, if one is still in force. */
export function storedResponse(store: HttpCacheStore, keys: string[], now: number): HttpResponse | undefined {
  for (const key of keys) {
    const value = store.get(key);
    if (!isStored(value)) continue;
    if (value.expiresAt <= now) {
      store.delete(key);
      continue;
    }
    const replay: HttpResponse = { status: value.status, headers: value.headers, body: value.body };
    if (!key.endsWith(" 2xx")) replay.throttledUntil = value.expiresAt;
    return replay;
  }
  return undefined;
}

/** `Retry-After` in seconds when it is a number; HTTP dates and junk use the default. */
function retryAfterSeconds(response: HttpResponse, defaultSeconds: number): number {
  const header = response.headers["retry-after"];
  const parsed = header !== undefined && /^\s*\d+\s*$/.test(header) ? Number(header) : defaultSeconds;
  return Math.min(parsed, MAX_RETRY_AFTER_SECONDS);
}

/** Remembers a response when it calls for throttling or caching. */
export function rememberResponse(
  store: HttpCacheStore,
  keys: string[],
  request: HttpRequest,
  response: HttpResponse,
  options: { now: number; defaultRetryAfterSeconds: number },
): void {
  const entry = (seconds: number): StoredResponse => ({
    status: response.status,
    headers: response.headers,
    body: response.body,
    expiresAt: options.now + seconds * 1000,
  });
  const put = (key: string | undefined, seconds: number) => {
    if (key === undefined || seconds <= 0) return;
    store.set(key, entry(seconds));
    if (store instanceof Map && store.size > MAP_CAPACITY) store.delete(store.keys().next().value);
  };
  if (request.method === "GET") {
    if (response.status >= 200 && response.status < 300) put(keys[0], GET_SECONDS);
    return;
  }
  const hasRetryAfter = response.headers["retry-after"] !== undefined;
  if (response.status === 429 || response.status >= 500 || hasRetryAfter) {
    put(keys[1], retryAfterSeconds(response, options.defaultRetryAfterSeconds));
  } else if (response.status === 400 && request.form?.grant_type !== DEVICE_CODE_GRANT) {
    put(keys[0], BAD_REQUEST_SECONDS);
  }
}

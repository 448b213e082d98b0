/**
 * Managed identity throttling (spec section 8.3): a GET answered with 429, a 5xx or `Retry-After`
 * holds identical GETs (same URL and query) back for `Retry-After` seconds, 5 when it is missing or
 * not a number, at most an hour: they get the stored answer and are not sent. POSTs (Cloud Shell)
 * and successes are never stored. Entries are plain JSON in the client's `httpCache`.
 */
import type { HttpCacheStore, HttpResponse } from "../http/types.js";
import type { SourceRequest } from "./response.js";

const DEFAULT_SECONDS = 5;
const MAX_SECONDS = 3600;
/** Entries a `Map` store may hold before the oldest are dropped. */
const MAP_CAPACITY = 1024;

interface Stored {
  status: number;
  headers: Record<string, string>;
  body: string;
  expiresAt: number;
}

const isStored = (value: unknown): value is Stored =>
  typeof value === "object" && value !== null && typeof (value as Stored).expiresAt === "number";

function holdSeconds(response: HttpResponse): number {
  const header = response.headers["retry-after"];
  if (response.status !== 429 && response.status < 500 && header === undefined) return 0;
  const seconds = header !== undefined && /^\s*\d+\s*$/.test(header) ? Number(header) : DEFAULT_SECONDS;
  return Math.min(seconds, MAX_SECONDS);
}

/**
 * `send` behind the throttle. The key names the URL with its query (resource and identity) and a
 * hash of the body, not the headers: MSAL Python's key, so the secret headers are not in it.
 */
export function throttled(
  send: (request: SourceRequest) => Promise<HttpResponse>,
  store: HttpCacheStore,
  hash: (text: string) => Promise<string>,
): (request: SourceRequest) => Promise<HttpResponse> {
  return async (request) => {
    if (request.method !== "GET") return send(request);
    const key = `REQ ${request.url} hash=${await hash(new URLSearchParams(request.form).toString())} 429/5xx/Retry-After`;
    const now = Date.now();
    const held = store.get(key);
    if (isStored(held)) {
      if (held.expiresAt > now)
        return {
          status: held.status,
          headers: held.headers,
          body: held.body,
          throttledUntil: held.expiresAt,
        };
      store.delete(key);
    }
    const response = await send(request);
    const seconds = holdSeconds(response);
    if (seconds > 0) {
      const entry: Stored = {
        status: response.status,
        headers: response.headers,
        body: response.body,
        expiresAt: Date.now() + seconds * 1000,
      };
      store.set(key, entry);
      if (store instanceof Map && store.size > MAP_CAPACITY) store.delete(store.keys().next().value);
    }
    return response;
  };
}

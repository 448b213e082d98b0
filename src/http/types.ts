/** The HTTP injection point and the values the HTTP layer passes around. */

/**
 * Any fetch-compatible function: the global `fetch`, undici's, or your own (for tests, proxies,
 * recording). msal-ts calls it with a URL string and a `RequestInit`.
 */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/**
 * Where throttling entries and cached discovery responses live (MSAL Python's `http_cache`). A
 * `Map` works; so does any store with these three methods. Values are plain JSON, so the store can
 * be persisted across runs of a CLI.
 */
export interface HttpCacheStore {
  /** The value stored under `key`, or `undefined`. */
  get(key: string): unknown;
  /** Stores `value` under `key` (the result is ignored). */
  set(key: string, value: unknown): unknown;
  /** Removes `key` (the result is ignored). */
  delete(key: string): unknown;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: string;
  headers: Record<string, string>;
  /** Form fields for a POST (`application/x-www-form-urlencoded`). */
  form?: Record<string, string>;
  /** A raw body with its content type (WS-Trust SOAP). */
  body?: { contentType: string; text: string };
  signal?: AbortSignal;
  /**
   * `false` for requests that must not be repeated or held back: a federated STS answers a wrong
   * password with HTTP 500, and a retry would count twice towards the account's lockout while a
   * stored answer would refuse the right password for a minute.
   */
  retryAndThrottle?: false;
  /**
   * `false` for requests that are never sent twice but may be held back: a password grant, each
   * attempt of which counts towards the account's lockout.
   */
  retry?: false;
  /**
   * The most bytes of the response body (after decompression) that are read; past it the read is
   * cancelled and the call fails with `NetworkError` `response_too_large`. Default
   * {@link DEFAULT_MAX_RESPONSE_BYTES}.
   */
  maxResponseBytes?: number;
}

/**
 * The byte budget of a response body: token, discovery, user realm and device code responses are a
 * few kilobytes, so 1 MiB leaves room for any real one and bounds a hostile one (a decompression
 * bomb, an endless body).
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

/** The budget for federation metadata (MEX) and WS-Trust responses: XML with certificates and policies, larger than JSON. */
export const FEDERATION_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface HttpResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: string;
  /** Set when the response is a replay because the server asked msal-ts to wait: epoch ms of the end of the wait. */
  throttledUntil?: number;
}

/**
 * `PopAuthScheme`: asks for a proof-of-possession (PoP) access token bound to one HTTP request, as
 * MSAL Python's class of that name does (spec section 1.9). Its constants and its argument checks
 * are MSAL Python's; unlike MSAL Python, msal-ts signs the request itself, so no broker is needed.
 */
import { ArgumentError } from "../errors.js";

/** The HTTP methods a {@link PopAuthScheme} accepts, upper-case as RFC 9110 section 9.1 writes them. */
export type PopHttpMethod = "GET" | "POST" | "PUT" | "DELETE" | "PATCH";

const METHODS: ReadonlySet<string> = new Set(["GET", "POST", "PUT", "DELETE", "PATCH"]);

/**
 * The HTTP request a proof-of-possession token is for: pass it as `authScheme` to an acquire call,
 * which then returns a signed HTTP request (SHR) as `access_token` and `"pop"` as `token_type`.
 * Send it as `Authorization: PoP <access_token>` with exactly this method and URL.
 *
 * @example
 * ```ts
 * const nonce = "the nonce of the API's WWW-Authenticate: PoP challenge";
 * const scheme = new PopAuthScheme(PopAuthScheme.HTTP_GET, "https://api.contoso.com/orders/7", nonce);
 * const result = await app.acquireTokenForClient(["api://orders/.default"], { authScheme: scheme });
 * if (!result.error) await fetch("https://api.contoso.com/orders/7", {
 *   headers: { authorization: `PoP ${result.access_token}` },
 * });
 * ```
 */
export class PopAuthScheme {
  /** `GET`. */
  static readonly HTTP_GET = "GET";
  /** `POST`. */
  static readonly HTTP_POST = "POST";
  /** `PUT`. */
  static readonly HTTP_PUT = "PUT";
  /** `DELETE`. */
  static readonly HTTP_DELETE = "DELETE";
  /** `PATCH`. */
  static readonly HTTP_PATCH = "PATCH";

  /** The request's method (the SHR's `m`). */
  readonly httpMethod: PopHttpMethod;
  /** The request's URL; the SHR carries its host (`u`) and path (`p`). */
  readonly url: URL;
  /** The nonce the resource asked for in its `WWW-Authenticate: PoP nonce=...` challenge (the SHR's `nonce`). */
  readonly nonce: string;

  /**
   * @param httpMethod - One of the upper-case constants, e.g. {@link PopAuthScheme.HTTP_GET}.
   * @param url - The absolute URL the token will be sent to.
   * @param nonce - The resource's nonce (from its `WWW-Authenticate` challenge, see `parseWwwAuthenticate`).
   * @throws ArgumentError when an argument is missing, the method is not one of the five, or the URL is not absolute.
   */
  constructor(httpMethod: string, url: string | URL, nonce: string) {
    if (!httpMethod || !url || !nonce)
      throw new ArgumentError("authScheme", "All http_method, url and nonce are required parameters");
    if (!METHODS.has(httpMethod))
      throw new ArgumentError(
        "httpMethod",
        "http_method must be uppercase, according to https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-semantics-14#section-9.1",
      );
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch (cause) {
      throw new ArgumentError(
        "url",
        `url must be an absolute URL such as https://api.contoso.com/orders (got ${String(url)}).`,
        { cause },
      );
    }
    this.httpMethod = httpMethod as PopHttpMethod;
    this.url = parsed;
    this.nonce = nonce;
  }
}

/**
 * Whether this library can obtain proof-of-possession tokens: always `true`, on every runtime with
 * Web Crypto (MSAL Python's `is_pop_supported()` is `true` only with its broker).
 *
 * @example
 * ```ts
 * const options = isPopSupported() ? { authScheme: new PopAuthScheme("GET", "https://api.contoso.com/", "n") } : {};
 * ```
 */
export function isPopSupported(): boolean {
  return true;
}

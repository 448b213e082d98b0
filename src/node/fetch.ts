/**
 * The default HTTP transport on Node.js: undici's `fetch` (the HTTP client Node's own fetch is
 * built on) with kept-alive connections through the configured proxy (explicit, or
 * HTTPS_PROXY/HTTP_PROXY/NO_PROXY) and extra CA certificates on top of the ones Node trusts.
 */
import { validateCa } from "../app/options.js";
import type { ConfigurationError } from "../errors.js";
import type { Transport } from "./http-transport.js";
import { checkProxies } from "./proxy.js";

/** undici is loaded on the first request: importing msal-ts stays quick, and free for apps that bring their own fetch. */
let transportModule: Promise<typeof import("./http-transport.js")> | undefined;

/**
 * How {@link createNodeFetch} connects. Without options it goes direct, or through the proxy named
 * by HTTPS_PROXY/HTTP_PROXY in `process.env`, trusting Node's default CAs.
 *
 * @example
 * ```ts
 * const options: NodeFetchOptions = { env: { HTTPS_PROXY: "http://proxy.corp:8080", NO_PROXY: "localhost" } };
 * ```
 */
export interface NodeFetchOptions {
  /** Proxy URL ("http://host:port", credentials allowed; https:// and socks5:// too). Overrides the environment. */
  proxy?: string;
  /** Extra CA certificate(s), as PEM text (not a file path): trusted in addition to Node's default roots. */
  ca?: string | string[];
  /** Bounds connecting (TCP and TLS, to the proxy too), a proxy's CONNECT, the wait for the response headers and each wait between body chunks, in milliseconds (the caller also aborts with a signal). */
  timeoutMs?: number;
  /** Environment to read HTTPS_PROXY/https_proxy/HTTP_PROXY/http_proxy/NO_PROXY/no_proxy from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** What {@link createNodeFetch} returns: `fetch`, plus `close()` to end its kept-alive connections. */
export type NodeFetch = typeof globalThis.fetch & {
  /** Ends the kept-alive connections; call it when the app is done with this fetch. */
  close(): Promise<void>;
};

/**
 * A `fetch` on undici (loaded on the first request) with kept-alive connections: through an
 * explicit `proxy`, else HTTPS_PROXY/HTTP_PROXY/NO_PROXY read from `env` (default `process.env`),
 * else direct. https requests through an HTTP proxy go through its CONNECT tunnel (a SOCKS5 tunnel
 * for a `socks5://` proxy), plain http requests to it as absolute-URI requests; TLS trusts `ca` in
 * addition to the roots Node uses (its bundled ones or the OS store under `--use-openssl-ca`, and
 * NODE_EXTRA_CA_CERTS). It takes a standard `RequestInit` (with `signal` and `redirect`) and
 * returns a standard `Response`. Transport failures reject with `TypeError("fetch failed")` whose
 * `cause` says what failed (see `networkErrorFrom`); an abort rejects with the signal's reason.
 * Call `close()` to end the kept-alive connections. docs/transport.md has the details.
 *
 * Throws {@link ConfigurationError} when the proxy is not a URL or `ca` is not PEM certificate text
 * (a file path, say: read it with `readFileSync(path, "utf8")`).
 *
 * @example
 * ```ts
 * const fetch = createNodeFetch({ proxy: "http://user:secret@proxy.corp:8080", ca: corporateCaPem });
 * try {
 *   const response = await fetch("https://login.microsoftonline.com/common/discovery/instance", {
 *     signal: AbortSignal.timeout(10_000),
 *   });
 *   console.log(response.status);
 * } finally {
 *   await fetch.close();
 * }
 * ```
 */
export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  checkProxies(options);
  if (options.ca !== undefined) validateCa(options.ca);
  // Made on the first request: reading the trust store for `ca` is not free, and many apps never send.
  let transport: Promise<Transport> | undefined;
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    transportModule ??= import("./http-transport.js");
    transport ??= transportModule.then((module) => module.createTransport(options));
    return (await transport).fetch(input, init);
  };
  const close = async () => {
    const closing = transport;
    transport = undefined;
    await (await closing)?.close();
  };
  return Object.assign(fetch, { close }) as NodeFetch;
}

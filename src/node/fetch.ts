/**
 * The default HTTP transport on Node.js: undici's `fetch` with a keep-alive dispatcher that goes
 * through the configured proxy (explicit, or HTTPS_PROXY/HTTP_PROXY/NO_PROXY) and trusts extra CA
 * certificates on top of Node's default ones.
 */
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import type { Dispatcher, Pool } from "undici";
import { ConfigurationError } from "../errors.js";

/** undici is loaded on the first request, so importing msal-ts stays quick (and free when an app brings its own fetch). */
type Undici = typeof import("undici");
let undiciModule: Promise<Undici> | undefined;
const loadUndici = (): Promise<Undici> => {
  undiciModule ??= import("undici");
  return undiciModule;
};

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
  /** Proxy URL ("http://host:port", credentials allowed). Overrides the environment. */
  proxy?: string;
  /** Extra CA certificate(s), PEM: trusted in addition to Node's default roots. */
  ca?: string | string[];
  /** Connect/headers timeout in milliseconds for the dispatcher (the caller also aborts with a signal). */
  timeoutMs?: number;
  /** Environment to read HTTPS_PROXY/https_proxy/HTTP_PROXY/http_proxy/NO_PROXY/no_proxy from (default process.env). */
  env?: Record<string, string | undefined>;
}

/** What {@link createNodeFetch} returns: `fetch`, plus `close()` to end its kept-alive connections. */
export type NodeFetch = typeof globalThis.fetch & { close(): Promise<void> };

/**
 * Node's default trust store: the bundled roots plus NODE_EXTRA_CA_CERTS (and the system store
 * when Node runs with --use-system-ca). Passing `ca` to TLS replaces all of it, so the extra CA is
 * appended to this list rather than given alone.
 */
function defaultRoots(): string[] {
  const getCACertificates = (tls as unknown as { getCACertificates?: (type?: string) => string[] })
    .getCACertificates;
  if (typeof getCACertificates === "function") return [...getCACertificates("default")];
  const roots = [...tls.rootCertificates];
  const extraFile = process.env.NODE_EXTRA_CA_CERTS;
  if (extraFile) {
    try {
      roots.push(readFileSync(extraFile, "utf8"));
    } catch {
      // Node already warned at start that it could not read the file, and ignores it too.
    }
  }
  return roots;
}

/** Keeps the password out of messages. */
function redactProxy(proxy: string): string {
  return proxy.replace(/\/\/([^/:@]*):[^/@]*@/, "//$1:***@");
}

function checkProxy(proxy: string, source: string): void {
  let url: URL;
  try {
    url = new URL(proxy);
  } catch (cause) {
    throw new ConfigurationError(
      source,
      `${source} is not a URL (${redactProxy(proxy)}): give it as http://host:port, with user:password@ before the host if the proxy needs credentials.`,
      { cause },
    );
  }
  if (!["http:", "https:", "socks:", "socks5:"].includes(url.protocol)) {
    throw new ConfigurationError(
      source,
      `${source} has the scheme ${url.protocol} (${redactProxy(proxy)}): use http://host:port (or https:// for a proxy spoken to over TLS).`,
    );
  }
}

type PoolConnectOptions = Parameters<Pool["connect"]>[0];

/**
 * The pool that sends CONNECT requests to the proxy. undici 7 (up to nodejs/undici#5441) retries
 * forever, in a tight loop, when the proxy closes the connection during CONNECT (a proxy that does
 * not support tunnels, or refuses the host): the socket error it gets is one it treats as
 * recoverable. Giving that error another code makes the request fail instead.
 */
function tunnelPool(u: Undici, origin: URL, options: Pool.Options): Dispatcher {
  const pool = new u.Pool(origin, options);
  const connect = pool.connect.bind(pool) as (
    options: PoolConnectOptions,
    callback?: (err: Error | null, data: Dispatcher.ConnectData) => void,
  ) => unknown;
  (pool as unknown as { connect: typeof connect }).connect = (opts, callback) => {
    if (callback) return connect(opts, (err, data) => callback(err ? tunnelError(err) : null, data));
    return (connect(opts) as Promise<Dispatcher.ConnectData>).catch((err: unknown) => {
      throw tunnelError(err);
    });
  };
  return pool;
}

function tunnelError<E>(err: E): E | Error {
  if (!(err instanceof Error) || (err as { code?: unknown }).code !== "UND_ERR_SOCKET") return err;
  const wrapped = new Error(
    `Proxy closed the connection while the tunnel was being set up (${err.message})`,
    { cause: err },
  );
  wrapped.name = "ProxyConnectionError";
  (wrapped as Error & { code: string }).code = "UND_ERR_PRX_CONN";
  return wrapped;
}

function pick(env: Record<string, string | undefined>, lower: string, upper: string): string {
  return env[lower] ?? env[upper] ?? "";
}

/** Checks the proxy settings at once, so a bad proxy URL is an error when the app is made. */
function checkProxies(options: NodeFetchOptions): void {
  if (options.proxy) {
    checkProxy(options.proxy, "proxy");
    return;
  }
  const env = options.env ?? process.env;
  const httpProxy = pick(env, "http_proxy", "HTTP_PROXY");
  const httpsProxy = pick(env, "https_proxy", "HTTPS_PROXY");
  if (httpProxy) checkProxy(httpProxy, "HTTP_PROXY");
  if (httpsProxy) checkProxy(httpsProxy, "HTTPS_PROXY");
}

function createDispatcher(u: Undici, options: NodeFetchOptions): Dispatcher {
  const extra = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  const ca = extra.length > 0 ? [...defaultRoots(), ...extra] : undefined;
  const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : undefined;
  /** TLS (and connect timeout) for a connection: to the server, or to an https:// proxy. */
  const tlsOptions = { ...(ca ? { ca } : {}), ...(timeoutMs ? { timeout: timeoutMs } : {}) };
  const timeouts = timeoutMs ? { headersTimeout: timeoutMs } : {};
  const proxied = {
    ...timeouts,
    // Through a tunnel, TLS with the server is `requestTls`; `connect` is ProxyAgent's own.
    requestTls: tlsOptions,
    proxyTls: tlsOptions,
    clientFactory: (origin: URL, opts: object): Dispatcher =>
      tunnelPool(u, origin, { ...(opts as Pool.Options), ...timeouts }),
  };

  if (options.proxy) return new u.ProxyAgent({ uri: options.proxy, ...proxied });
  const env = options.env ?? process.env;
  const httpProxy = pick(env, "http_proxy", "HTTP_PROXY");
  const httpsProxy = pick(env, "https_proxy", "HTTPS_PROXY");
  if (httpProxy || httpsProxy) {
    // Every value is given (empty when unset) so undici never falls back to process.env.
    return new u.EnvHttpProxyAgent({
      httpProxy,
      httpsProxy,
      noProxy: pick(env, "no_proxy", "NO_PROXY"),
      connect: tlsOptions,
      ...proxied,
    });
  }
  return new u.Agent({ connect: tlsOptions, ...timeouts });
}

/** A body undici can send: the global FormData (another fetch implementation's) is copied. */
function toUndiciBody(u: Undici, body: unknown): unknown {
  if (typeof FormData === "undefined" || !(body instanceof FormData) || body instanceof u.FormData)
    return body;
  const copy = new u.FormData();
  body.forEach((value, name) => {
    if (typeof value === "string") copy.append(name, value);
    else copy.append(name, value, value.name);
  });
  return copy;
}

/** A request undici accepts: a global `Request` (another fetch implementation's) is copied. */
function toUndiciInput(u: Undici, input: RequestInfo | URL): string | URL | InstanceType<Undici["Request"]> {
  if (typeof input === "string" || input instanceof URL || input instanceof u.Request) return input;
  const headers: [string, string][] = [];
  input.headers.forEach((value, name) => {
    headers.push([name, value]);
  });
  const hasBody = input.body !== null && input.method !== "GET" && input.method !== "HEAD";
  return new u.Request(input.url, {
    method: input.method,
    headers,
    body: hasBody ? (input.body as unknown as ReadableStream<Uint8Array>) : null,
    duplex: "half",
    signal: input.signal,
    redirect: input.redirect,
    keepalive: input.keepalive,
    integrity: input.integrity,
    referrerPolicy: input.referrerPolicy,
  } as ConstructorParameters<Undici["Request"]>[1]);
}

/**
 * A `fetch` that sends through undici with one keep-alive dispatcher: an explicit `proxy`, else
 * HTTPS_PROXY/HTTP_PROXY/NO_PROXY read from `env` (default `process.env`), else direct. Requests to
 * https servers trust `ca` in addition to Node's default roots and NODE_EXTRA_CA_CERTS, through a
 * proxy's CONNECT tunnel too. It accepts a standard `RequestInit` (with `signal`) and returns a
 * standard-shaped `Response` (undici's). Call `close()` to end the kept-alive connections.
 *
 * Throws {@link ConfigurationError} when the proxy is not a URL.
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
  let dispatcher: Dispatcher | undefined;
  const nodeFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const u = await loadUndici();
    dispatcher ??= createDispatcher(u, options);
    const undiciInit = init === undefined ? {} : { ...init };
    if (init?.body !== undefined) undiciInit.body = toUndiciBody(u, init.body) as BodyInit;
    return (await u.fetch(toUndiciInput(u, input), {
      ...(undiciInit as Parameters<Undici["fetch"]>[1]),
      dispatcher,
    })) as unknown as Response;
  };
  return Object.assign(nodeFetch, { close: async () => dispatcher?.close() }) as NodeFetch;
}

/**
 * The Node transport: undici's `fetch` on undici's dispatchers (a kept-alive Agent for direct
 * requests, a ProxyAgent per HTTP(S) proxy, a Socks5ProxyAgent per SOCKS proxy), chosen per
 * origin so that redirects are routed too; the library's own requests (`redirect: "manual"`, a
 * body in hand) take undici's `request` on the same dispatchers, which costs far less per request.
 * Loaded by `createNodeFetch` on the first request, so that importing msal-ts does not load undici.
 */
import { defaultMaxListeners, getMaxListeners, setMaxListeners } from "node:events";
import { isIP } from "node:net";
import { Readable } from "node:stream";
import {
  Agent,
  buildConnector,
  type Dispatcher,
  Pool,
  ProxyAgent,
  Socks5ProxyAgent,
  FormData as UndiciFormData,
  Request as UndiciRequest,
  type RequestInit as UndiciRequestInit,
  fetch as undiciFetch,
  request as undiciRequest,
} from "undici";
import { contextTrusting, OriginPool } from "./connect.js";
import type { NodeFetchOptions } from "./fetch.js";
import { type ParsedProxy, proxySelector } from "./proxy.js";

/**
 * A failure of the transport itself (a timeout, a proxy that would not tunnel). `code` is what
 * src/http/network-error.ts classifies by; `hostname` and `port` name the endpoint, so that a
 * failure to reach the proxy is told from one to reach the server.
 */
export class TransportError extends Error {
  readonly code: string;
  readonly hostname?: string;
  readonly port?: number;

  constructor(
    name: string,
    code: string,
    message: string,
    details: { cause?: unknown; hostname?: string; port?: number } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = name;
    this.code = code;
    if (details.hostname !== undefined) this.hostname = details.hostname;
    if (details.port !== undefined) this.port = details.port;
  }
}

/** SOCKS5 gives a host name a one-byte length (RFC 1928 section 5). */
const SOCKS_MAX_HOST_BYTES = 255;

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function hostTooLong(hostname: string): TransportError {
  const bytes = Buffer.byteLength(hostname);
  return new TransportError(
    "ProxyError",
    "ERR_PROXY_TUNNEL",
    `The host name is ${bytes} bytes long and a SOCKS5 proxy takes at most ${SOCKS_MAX_HOST_BYTES} (RFC 1928), so no tunnel was requested`,
  );
}

/** What a CONNECT to an HTTP proxy failed with, in the terms network-error.ts knows. */
function tunnelFailure(error: unknown, target: string, timeoutMs: number | undefined): unknown {
  const code = codeOf(error);
  if (code === "UND_ERR_HEADERS_TIMEOUT")
    return new TransportError(
      "ProxyError",
      "ERR_PROXY_TIMEOUT",
      `The proxy did not set up the tunnel to ${target} within ${timeoutMs} ms`,
    );
  // The proxy took the connection and closed it: an error of its own, so undici's client does
  // not take it for a kept-alive connection gone stale and connect again (and again).
  if (["UND_ERR_SOCKET", "UND_ERR_CLOSED", "ECONNRESET", "EPIPE"].includes(code))
    return new TransportError(
      "ProxyError",
      "ERR_PROXY_TUNNEL",
      "The proxy closed the connection while the tunnel was being set up",
    );
  return error;
}

/**
 * undici's failures, renamed where the transport has always had a name of its own (the codes
 * network-error.ts and callers know): timeouts, and the SOCKS proxy's refusals.
 */
function transportFailure(cause: unknown, timeoutMs: number | undefined): unknown {
  const code = codeOf(cause);
  const message = messageOf(cause);
  if (code === "UND_ERR_HEADERS_TIMEOUT")
    return new TransportError(
      "HeadersTimeoutError",
      "ERR_HEADERS_TIMEOUT",
      `No response headers within ${timeoutMs} ms`,
      { cause },
    );
  if (code === "UND_ERR_CONNECT_TIMEOUT") {
    // "Connect Timeout Error (attempted address: host:port, timeout: 300ms)": the endpoint, which
    // tells a proxy that could not be reached from a server that could not.
    const endpoint = /attempted address: (.+):(\d+),/.exec(message);
    return new TransportError("ConnectTimeoutError", "ERR_CONNECT_TIMEOUT", message, {
      cause,
      ...(endpoint ? { hostname: endpoint[1]?.replace(/^\[|\]$/g, ""), port: Number(endpoint[2]) } : {}),
    });
  }
  if (code === "UND_ERR_SOCKS5_AUTH_FAILED" || code === "UND_ERR_SOCKS5_AUTH_REJECTED")
    return new TransportError(
      "ProxyError",
      "ERR_PROXY_AUTH",
      `The SOCKS proxy refused the credentials (${message})`,
    );
  if (code.startsWith("UND_ERR_SOCKS5_"))
    return new TransportError("ProxyError", "ERR_PROXY_TUNNEL", `The SOCKS proxy failed (${message})`);
  if (/^SOCKS5 (authentication|connection) timeout$/.test(message))
    return new TransportError(
      "ProxyError",
      "ERR_PROXY_TIMEOUT",
      `The SOCKS proxy did not answer: ${message}`,
    );
  if (/Domain name too long/.test(message))
    return new TransportError(
      "ProxyError",
      "ERR_PROXY_TUNNEL",
      `The SOCKS proxy cannot be asked: ${message}`,
    );
  return cause;
}

/** The origins' dispatchers of one `createNodeFetch`, made on its first request. */
export interface Transport {
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/** A proxy URL without its credentials (given to undici apart, never in a URL it may print). */
function proxyOrigin(proxy: ParsedProxy): string {
  const host = proxy.hostname.includes(":") ? `[${proxy.hostname}]` : proxy.hostname;
  const scheme = proxy.protocol === "socks:" ? "socks5:" : proxy.protocol;
  return `${scheme}//${host}:${proxy.port}`;
}

export function createTransport(options: NodeFetchOptions): Transport {
  const select = proxySelector(options);
  const timeoutMs = options.timeoutMs && options.timeoutMs > 0 ? options.timeoutMs : undefined;
  const extra = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
  // Built once: parsing the trust store is not free.
  const trust = extra.length > 0 ? { secureContext: contextTrusting(extra) } : {};
  // Connect timeouts bound TCP and TLS together; header and body timeouts each wait in between.
  const connectTls = { ...trust, ...(timeoutMs ? { timeout: timeoutMs } : {}) };
  const waits = timeoutMs ? { headersTimeout: timeoutMs, bodyTimeout: timeoutMs } : {};
  const pool = (origin: string | URL, opts: object) => new OriginPool(origin, { ...opts, ...waits });

  const direct = new Agent({ connect: connectTls, ...waits, factory: pool });
  const proxied = new Map<string, Dispatcher>();

  /** The Pool that speaks to an HTTP proxy, whose CONNECT failures are named as the proxy's. */
  const proxyClient = (origin: URL, opts: object): Dispatcher => {
    const client = new Pool(origin, { ...opts, ...(timeoutMs ? { headersTimeout: timeoutMs } : {}) });
    // undici passes `servername` with the CONNECT's options, although its types do not name it.
    type TunnelParams = Dispatcher.ConnectOptions & { servername?: string | undefined };
    const connect = client.connect.bind(client) as (params: TunnelParams) => Promise<unknown>;
    // An https proxy named by its IP address gets no SNI (RFC 6066 section 3 allows host names
    // only); undici would send the address, which Node refuses with a DEP0123 warning.
    const tunnel = (params: TunnelParams) =>
      connect(
        params.servername && isIP(params.servername) ? { ...params, servername: undefined } : params,
      ).catch((error: unknown) => {
        throw tunnelFailure(error, String(params.path), timeoutMs);
      });
    return Object.assign(client, { connect: tunnel });
  };

  const dispatcherFor = (proxy: ParsedProxy): Dispatcher => {
    let dispatcher = proxied.get(proxy.key);
    if (dispatcher) return dispatcher;
    if (proxy.protocol === "socks:") {
      const socksOptions = {
        connect: buildConnector(timeoutMs ? { timeout: timeoutMs } : {}),
        requestTls: trust,
        ...(proxy.username ? { username: proxy.username } : {}),
        ...(proxy.password ? { password: proxy.password } : {}),
      };
      dispatcher = new Socks5ProxyAgent(proxyOrigin(proxy), socksOptions);
    } else {
      dispatcher = new ProxyAgent({
        uri: proxyOrigin(proxy),
        ...(proxy.authorization ? { token: proxy.authorization } : {}),
        // Plain http goes to an HTTP proxy as an absolute-URI request (RFC 9112 section 3.2.2).
        proxyTunnel: false,
        proxyTls: connectTls,
        requestTls: connectTls,
        clientFactory: proxyClient,
        // undici's wrapper that forwards plain http asks for the proxy's own dispatcher, a Pool.
        factory: (origin: string | URL, opts: object) =>
          new URL(String(origin)).origin === new URL(proxyOrigin(proxy)).origin
            ? new Pool(origin, { ...opts, ...waits })
            : pool(origin, opts),
        ...waits,
      });
    }
    proxied.set(proxy.key, dispatcher);
    return dispatcher;
  };

  const env = options.env ?? process.env;
  const proxies =
    Boolean(options.proxy) ||
    ["http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"].some((name) => Boolean(env[name]));
  // Every request, redirects included, goes the way its own origin is routed.
  const routed = proxies
    ? direct.compose((dispatch) => (opts, handler) => {
        const proxy = opts.origin === undefined ? undefined : select(new URL(opts.origin));
        return proxy ? dispatcherFor(proxy).dispatch(opts, handler) : dispatch(opts, handler);
      })
    : direct;

  /** SOCKS5 cannot carry the host name: refused before the proxy is contacted. */
  const checkSocks = (url: string | UndiciRequest) => {
    if (!proxies) return;
    const target = new URL(typeof url === "string" ? url : url.url);
    if (select(target)?.protocol === "socks:" && Buffer.byteLength(target.hostname) > SOCKS_MAX_HOST_BYTES)
      throw new TypeError("fetch failed", { cause: hostTooLong(target.hostname) });
  };
  const failed = (error: unknown, signal: AbortSignal | null | undefined): unknown => {
    if (signal?.aborted && error === signal.reason) return error;
    if (error instanceof TypeError && error.message === "fetch failed" && error.cause !== undefined) {
      const cause = transportFailure(error.cause, timeoutMs);
      return cause === error.cause ? error : new TypeError(error.message, { cause });
    }
    return new TypeError("fetch failed", { cause: transportFailure(error, timeoutMs) });
  };
  const send = async (url: string | UndiciRequest, request: UndiciRequestInit): Promise<Response> => {
    checkSocks(url);
    try {
      return (await undiciFetch(url, { ...request, dispatcher: routed })) as unknown as Response;
    } catch (error) {
      if (!(error instanceof TypeError) || error.cause === undefined) throw error;
      throw failed(error, request?.signal);
    }
  };
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    if (typeof input === "string" && init?.redirect === "manual" && plainBody(init.body)) {
      checkSocks(input);
      try {
        return await requestManually(routed, input, init);
      } catch (error) {
        throw failed(error, init.signal);
      }
    }
    // A URL string and a body undici knows go straight to its fetch.
    if (typeof input === "string" && !(init?.body instanceof FormData))
      return send(input, init as UndiciRequestInit);
    const [url, request] = await undiciInit(input, init);
    return send(url, request);
  };
  const close = async () => {
    await Promise.all([direct, ...proxied.values()].map((dispatcher) => dispatcher.destroy()));
    proxied.clear();
  };
  return { fetch, close };
}

/**
 * The URL and init undici's fetch takes for a standard call. The caller's signal goes to undici as
 * it is (not through a Request made here, whose signal would follow it only weakly). Another
 * realm's Request and FormData (Node's built-in fetch has its own undici) are copied through what
 * they share, as undici knows only its own classes.
 */
async function undiciInit(
  input: RequestInfo | URL,
  init: RequestInit = {},
): Promise<[string | UndiciRequest, UndiciRequestInit]> {
  const request = { ...init } as UndiciRequestInit & { body?: unknown };
  if (init.body instanceof FormData && !((init.body as unknown) instanceof UndiciFormData)) {
    const encoded = new Response(init.body);
    request.body = new Uint8Array(await encoded.arrayBuffer());
    const headers = new Headers(init.headers);
    headers.set("content-type", encoded.headers.get("content-type") ?? "");
    request.headers = [...headers];
  }
  if (typeof input === "string") return [input, request];
  if (input instanceof URL) return [input.href, request];
  if ((input as unknown) instanceof UndiciRequest) return [input as unknown as UndiciRequest, request];
  const foreign = input as Request;
  const hasBody = foreign.body !== null && foreign.method !== "GET" && foreign.method !== "HEAD";
  const copied: UndiciRequestInit = {
    method: foreign.method,
    headers: [...foreign.headers],
    body: hasBody ? new Uint8Array(await foreign.arrayBuffer()) : null,
    signal: foreign.signal,
    redirect: foreign.redirect,
  };
  return [foreign.url, { ...copied, ...request }];
}

/** Statuses whose responses have no content (RFC 9110 section 15), so no Response body. */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** The content codings the library's requests accept, as DecompressionStream names them. */
const DECODERS: Record<string, string> = { gzip: "gzip", "x-gzip": "gzip", deflate: "deflate" };

type PlainBody = string | URLSearchParams | Uint8Array | ArrayBuffer | null | undefined;

function plainBody(body: unknown): body is PlainBody {
  return (
    body == null ||
    typeof body === "string" ||
    body instanceof URLSearchParams ||
    body instanceof Uint8Array ||
    body instanceof ArrayBuffer
  );
}

/**
 * The library's own requests (a URL string, `redirect: "manual"`, a body it has in hand) through
 * undici's `request` on the same dispatchers as `fetch`: the same connections, proxies, timeouts and
 * failures, for a fraction of fetch's CPU time per request (its Request, Headers and stream
 * machinery; docs/transport.md). gzip and deflate are asked for and undone with the standard
 * DecompressionStream. The caller's signal goes to undici as it is, which holds its listener until
 * the response body has been read or aborted.
 */
async function requestManually(dispatcher: Dispatcher, url: string, init: RequestInit): Promise<Response> {
  const signal = init.signal ?? undefined;
  signal?.throwIfAborted();
  // Many concurrent calls may share one caller's signal, and each holds a listener on it until it
  // ends: the same allowance undici's own fetch gives such a signal (lib/web/fetch/request.js).
  if (signal && getMaxListeners(signal) === defaultMaxListeners) setMaxListeners(1500, signal);
  const headers: Record<string, string> = { accept: "*/*", "accept-encoding": "gzip, deflate" };
  new Headers(init.headers).forEach((value, name) => {
    headers[name] = value;
  });
  let body = init.body as PlainBody;
  if (body instanceof URLSearchParams) {
    headers["content-type"] ??= "application/x-www-form-urlencoded;charset=UTF-8";
    body = body.toString();
  } else if (typeof body === "string") {
    headers["content-type"] ??= "text/plain;charset=UTF-8";
  } else if (body instanceof ArrayBuffer) {
    body = new Uint8Array(body);
  }
  const method = (init.method ?? "GET").toUpperCase();
  const answer = await undiciRequest(url, {
    dispatcher,
    method: method as Dispatcher.HttpMethod,
    headers,
    body: body ?? null,
    ...(signal ? { signal } : {}),
  });
  const status = answer.statusCode;
  const empty = method === "HEAD" || NULL_BODY_STATUSES.has(status);
  if (empty) await answer.body.dump();
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of Object.entries(answer.headers))
    for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) pairs.push([name, one]);
  let stream = empty ? null : (Readable.toWeb(answer.body) as unknown as ReadableStream<Uint8Array>);
  // Codings are undone last applied first (RFC 9110 section 8.4); one not asked for is left as it
  // came, as fetch does.
  const codings = String(answer.headers["content-encoding"] ?? "")
    .split(",")
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding && coding !== "identity")
    .reverse();
  if (stream && codings.every((coding) => coding in DECODERS))
    for (const coding of codings)
      stream = stream.pipeThrough(
        new DecompressionStream(DECODERS[coding] as CompressionFormat) as unknown as ReadableWritablePair<
          Uint8Array,
          Uint8Array
        >,
      );
  const response = new Response(stream, {
    status,
    statusText: answer.statusText ?? "",
    headers: pairs,
  });
  Object.defineProperty(response, "url", { value: url.replace(/#.*$/s, "") });
  return response;
}

/**
 * The Node transport's requests: redirects, framing, the retry of a stale kept-alive connection,
 * and one kept-alive agent per route. Loaded by `createNodeFetch` on the first request, so that
 * importing msal-ts does not load node:http, node:tls and node:zlib.
 */
import {
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type RequestOptions,
  request,
} from "node:http";
import { createSecureContext } from "node:tls";
import { CONNECT_SIGNAL, type ConnectionSettings, defaultRoots, RouteAgent } from "./connect.js";
import type { NodeFetchOptions } from "./fetch.js";
import { type ProxySelector, proxySelector } from "./proxy.js";
import { TransportError } from "./proxy-tunnel.js";
import { fetchFailed, toResponse } from "./response.js";

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;
/** The transport frames the message itself; a caller's values for these would corrupt it. */
const CONNECTION_HEADERS = ["connection", "keep-alive", "content-length", "transfer-encoding", "upgrade"];
/** Headers that describe a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = ["content-type", "content-encoding", "content-language", "content-location"];
/** Headers with credentials, not sent on to another origin. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization", "host"];

/** One request on the wire (each redirect is another). */
interface Hop {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
  signal: AbortSignal;
}

/** The agents (one per route, so per proxy and scheme) of one fetch, made on its first request. */
export class Transport {
  readonly #select: ProxySelector;
  readonly #settings: ConnectionSettings;
  readonly #agents = new Map<string, RouteAgent>();
  readonly #closed = new AbortController();

  constructor(options: NodeFetchOptions) {
    this.#select = proxySelector(options);
    const extra = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
    this.#settings = { closed: this.#closed.signal };
    if (extra.length > 0)
      this.#settings.secureContext = createSecureContext({ ca: [...defaultRoots(), ...extra] });
    if (options.timeoutMs && options.timeoutMs > 0) this.#settings.timeoutMs = options.timeoutMs;
  }

  get timeoutMs(): number | undefined {
    return this.#settings.timeoutMs;
  }

  /** The agent and the host, port and request target to send `url`'s request to. */
  route(url: URL): { agent: RouteAgent; hostname: string; port: number; path: string; proxyAuth?: string } {
    const proxy = this.#select(url);
    const tls = url.protocol === "https:";
    // Plain http through an HTTP proxy is forwarded by it; everything else goes through a tunnel.
    const forward = proxy !== undefined && !tls && proxy.protocol !== "socks:";
    const key = `${url.protocol}|${proxy?.key ?? "direct"}`;
    let agent = this.#agents.get(key);
    if (!agent) {
      agent = new RouteAgent(
        proxy ? { tls, proxy, tunnel: !forward } : { tls, tunnel: false },
        this.#settings,
      );
      this.#agents.set(key, agent);
    }
    if (forward) {
      const path = `${url.protocol}//${url.host}${url.pathname}${url.search}`;
      return {
        agent,
        hostname: proxy.hostname,
        port: proxy.port,
        path,
        ...(proxy.authorization ? { proxyAuth: proxy.authorization } : {}),
      };
    }
    const port = Number(url.port) || (tls ? 443 : 80);
    return {
      agent,
      hostname: url.hostname.replace(/^\[|\]$/g, ""),
      port,
      path: `${url.pathname}${url.search}`,
    };
  }

  close(): void {
    this.#closed.abort(new Error("The fetch was closed while the connection was being opened"));
    for (const agent of this.#agents.values()) agent.destroy();
    this.#agents.clear();
  }
}

/** The server closed a kept-alive connection as the request went out on it: worth one more try. */
function staleConnection(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/** Sends one request; resolves with the response once its headers arrived. */
function send(transport: Transport, hop: Hop, retried = false): Promise<IncomingMessage> {
  const { agent, hostname, port, path, proxyAuth } = transport.route(hop.url);
  const headers: OutgoingHttpHeaders = { host: hop.url.host, ...hop.headers };
  if (proxyAuth && headers["proxy-authorization"] === undefined) headers["proxy-authorization"] = proxyAuth;
  if (hop.body) headers["content-length"] = String(hop.body.byteLength);
  else if (hop.method === "POST" || hop.method === "PUT") headers["content-length"] = "0";
  const options: RequestOptions & { [CONNECT_SIGNAL]: AbortSignal } = {
    agent,
    host: hostname,
    port,
    path,
    method: hop.method,
    headers,
    [CONNECT_SIGNAL]: hop.signal,
  };
  return new Promise((resolve, reject) => {
    if (hop.signal.aborted) return reject(hop.signal.reason);
    let req: ClientRequest;
    try {
      req = request(options);
    } catch (error) {
      // Node refuses a header value (a line break, say) that Headers let through.
      return reject(fetchFailed(error));
    }
    let timer: NodeJS.Timeout | undefined;
    let responded = false;
    const onAbort = () => req.destroy(hop.signal.reason);
    const settle = () => {
      clearTimeout(timer);
      hop.signal.removeEventListener("abort", onAbort);
    };
    req.on("error", (error) => {
      // Errors after the response headers are the body's, reported through its stream.
      if (responded) return;
      settle();
      if (hop.signal.aborted) reject(hop.signal.reason);
      else if (!retried && req.reusedSocket && staleConnection(error)) resolve(send(transport, hop, true));
      else reject(fetchFailed(error));
    });
    const ms = transport.timeoutMs;
    // The agent hands over an established connection, so from here on only the response is awaited.
    req.once("socket", () => {
      if (!ms || responded) return;
      timer = setTimeout(() => {
        const error = new TransportError(
          "HeadersTimeoutError",
          "ERR_HEADERS_TIMEOUT",
          `No response headers within ${ms} ms`,
        );
        req.destroy(error);
      }, ms);
    });
    req.once("response", (res) => {
      responded = true;
      settle();
      resolve(res);
    });
    hop.signal.addEventListener("abort", onAbort, { once: true });
    req.end(hop.body ?? undefined);
  });
}

/** A standard Request; another fetch implementation's is copied through what they share. */
function toRequest(input: RequestInfo | URL, init?: RequestInit): Request {
  if (typeof input === "string" || input instanceof URL || input instanceof Request)
    return new Request(input, init);
  const foreign = input as Request;
  const hasBody = foreign.body !== null && foreign.method !== "GET" && foreign.method !== "HEAD";
  const copied: RequestInit & { duplex: "half" } = {
    method: foreign.method,
    headers: foreign.headers,
    body: hasBody ? foreign.body : null,
    duplex: "half",
    signal: foreign.signal,
    redirect: foreign.redirect,
  };
  return new Request(foreign.url, { ...copied, ...init });
}

export async function nodeFetch(
  transport: Transport,
  input: RequestInfo | URL,
  init?: RequestInit,
): Promise<Response> {
  const request = toRequest(input, init);
  const signal = request.signal;
  if (signal.aborted) throw signal.reason;
  let body = request.body === null ? null : new Uint8Array(await request.arrayBuffer());
  if (signal.aborted) throw signal.reason;
  const headers: Record<string, string> = { accept: "*/*", "accept-encoding": "gzip, deflate, br" };
  request.headers.forEach((value, name) => {
    headers[name] = value;
  });
  for (const name of CONNECTION_HEADERS) delete headers[name];
  let url = new URL(request.url);
  let method = request.method;
  for (let redirects = 0; ; redirects++) {
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw fetchFailed(new Error(`The URL scheme ${url.protocol} is not supported`));
    const hop = { url, method, headers, body, signal };
    const res = await send(transport, hop);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (!REDIRECT_STATUSES.has(status) || request.redirect === "manual")
      return toResponse(res, hop, redirects > 0);
    if (request.redirect === "error") {
      res.destroy();
      throw fetchFailed(
        new Error(`The server redirected (${status}) and the request's redirect mode is "error"`),
      );
    }
    if (location === undefined) return toResponse(res, hop, redirects > 0);
    // Read to the end, so the connection goes back to the pool.
    res.resume();
    if (redirects >= MAX_REDIRECTS) throw fetchFailed(new Error(`More than ${MAX_REDIRECTS} redirects`));
    let next: URL;
    try {
      next = new URL(location, url);
    } catch (error) {
      throw fetchFailed(error);
    }
    if ((status === 303 && method !== "GET" && method !== "HEAD") || (status <= 302 && method === "POST")) {
      method = "GET";
      body = null;
      for (const name of BODY_HEADERS) delete headers[name];
    }
    if (next.origin !== url.origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
    url = next;
  }
}

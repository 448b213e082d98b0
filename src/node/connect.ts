/**
 * The connections requests travel on: TCP, then TLS for https URLs, through the proxy's tunnel when
 * there is one, all of it bounded by the connect timeout; an http.Agent per route keeps them alive.
 */
import { readFileSync } from "node:fs";
import { Agent, type ClientRequestArgs } from "node:http";
import { isIP, type Socket, connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import type { ParsedProxy } from "./proxy.js";
import { type Endpoint, httpTunnel, socksTunnel, TransportError } from "./proxy-tunnel.js";

/**
 * Node's default trust store: the bundled roots plus NODE_EXTRA_CA_CERTS (and the system store
 * when Node runs with --use-system-ca). Passing `ca` to TLS replaces all of it, so the extra CA is
 * appended to this list rather than given alone.
 */
export function defaultRoots(): string[] {
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

/** What every connection of one fetch shares. */
export interface ConnectionSettings {
  /** The trust store when `ca` was given; built once, as parsing the roots is not free. */
  secureContext?: tls.SecureContext;
  timeoutMs?: number;
  /** Aborted by the fetch's `close()`: connections still being opened are abandoned too. */
  closed: AbortSignal;
}

/**
 * How requests to an origin travel: straight to the server; to an HTTP proxy that forwards them
 * (plain http, `tunnel` false: the request names the absolute URL); or through the proxy's tunnel.
 * `tls` is TLS with the server.
 */
export interface Route {
  tls: boolean;
  proxy?: ParsedProxy;
  tunnel: boolean;
}

/** The option through which a request hands its AbortSignal to {@link RouteAgent.createConnection}. */
export const CONNECT_SIGNAL = "msalConnectSignal";

/**
 * An idle kept-alive connection is closed after this, or sooner if the server's Keep-Alive hint
 * says so: servers commonly drop idle connections after 5 s, and a request sent on one the server
 * is closing fails.
 */
const IDLE_TIMEOUT_MS = 4000;

const noop = () => {};

function connectTimeout(endpoint: Endpoint, timeoutMs: number): TransportError {
  return new TransportError(
    "ConnectTimeoutError",
    "ERR_CONNECT_TIMEOUT",
    `Could not connect to ${endpoint.hostname}:${endpoint.port} within ${timeoutMs} ms`,
    { endpoint },
  );
}

/** Resolves with `socket` on `event`, rejects with its error. */
function once<T extends Duplex>(socket: T, event: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onReady = () => {
      socket.off("error", onError);
      resolve(socket);
    };
    const onError = (error: Error) => {
      socket.off(event, onReady);
      reject(error);
    };
    socket.once(event, onReady);
    socket.once("error", onError);
  });
}

function secure(socket: Duplex, server: Endpoint, settings: ConnectionSettings): tls.TLSSocket {
  const options: tls.ConnectionOptions = { socket, host: server.hostname };
  // SNI takes host names only; the certificate is checked against `host` either way.
  if (!isIP(server.hostname)) options.servername = server.hostname;
  if (settings.secureContext) options.secureContext = settings.secureContext;
  const secured = tls.connect(options);
  // A connection under TLS is TLS's: it ends with it.
  secured.once("close", () => socket.destroy());
  return secured;
}

/**
 * Opens a connection to `target` along `route`: TCP to the server or the proxy, TLS with an
 * https:// proxy, the tunnel, then TLS with the server. `settings.timeoutMs` bounds it all; a
 * timeout names the endpoint being connected to, or the tunnel the proxy did not set up in time.
 * Any of `signals` abandons it.
 */
export function openConnection(
  route: Route,
  target: Endpoint,
  settings: ConnectionSettings,
  signals: AbortSignal[] = [],
): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const sockets: Duplex[] = [];
    let settled = false;
    let timeoutError = (ms: number): Error =>
      connectTimeout(route.proxy ? { hostname: route.proxy.hostname, port: route.proxy.port } : target, ms);
    const finish = (error: unknown, socket?: Duplex) => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener("abort", onAbort);
      if (socket) return resolve(socket);
      for (const open of sockets) open.destroy();
      reject(error);
    };
    const onAbort = () => finish(signals.find((signal) => signal.aborted)?.reason);
    const ms = settings.timeoutMs;
    const timer = ms ? setTimeout(() => finish(timeoutError(ms)), ms) : undefined;
    if (signals.some((signal) => signal.aborted)) return onAbort();
    for (const signal of signals) signal.addEventListener("abort", onAbort, { once: true });

    /** Every socket is destroyed when the attempt fails; errors after it are nobody's. */
    const track = <T extends Duplex>(socket: T): T => {
      sockets.push(socket);
      socket.on("error", noop);
      if (settled) socket.destroy();
      return socket;
    };
    const tcp = (endpoint: Endpoint) => {
      const socket = track(tcpConnect({ host: endpoint.hostname, port: endpoint.port }));
      socket.setNoDelay(true);
      return once<Socket>(socket, "connect");
    };

    const steps = async (): Promise<Duplex> => {
      const proxy = route.proxy;
      if (!proxy) {
        const socket = await tcp(target);
        return route.tls ? once(track(secure(socket, target, settings)), "secureConnect") : socket;
      }
      const proxyEndpoint = { hostname: proxy.hostname, port: proxy.port };
      let socket: Duplex = await tcp(proxyEndpoint);
      if (proxy.protocol === "https:")
        socket = await once(track(secure(socket, proxyEndpoint, settings)), "secureConnect");
      if (!route.tunnel) return socket;
      timeoutError = (ms) =>
        new TransportError(
          "ProxyError",
          "ERR_PROXY_TIMEOUT",
          `The proxy did not set up the tunnel to ${target.hostname}:${target.port} within ${ms} ms`,
        );
      socket = await (proxy.protocol === "socks:" ? socksTunnel : httpTunnel)(socket, target, proxy);
      if (!route.tls) return socket;
      timeoutError = (ms) => connectTimeout(target, ms);
      return once(track(secure(socket, target, settings)), "secureConnect");
    };
    steps().then((socket) => finish(undefined, socket), finish);
  });
}

/**
 * Keeps the connections of one route alive. Opening one takes several round trips (a tunnel, then
 * TLS), which Agent allows through `createConnection`'s callback; the connection it is given is
 * already established, so a request's own timer only has the response to wait for.
 */
export class RouteAgent extends Agent {
  readonly #route: Route;
  readonly #settings: ConnectionSettings;

  constructor(route: Route, settings: ConnectionSettings) {
    super({ keepAlive: true, timeout: IDLE_TIMEOUT_MS });
    this.#route = route;
    this.#settings = settings;
  }

  override createConnection(
    options: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): undefined {
    // Agent passes no stream with an error.
    const done = callback as ((err: Error | null, stream?: Duplex) => void) | undefined;
    const target = { hostname: options.host ?? "localhost", port: Number(options.port) };
    const request = (options as Record<string, unknown>)[CONNECT_SIGNAL] as AbortSignal | undefined;
    const signals = request ? [request, this.#settings.closed] : [this.#settings.closed];
    openConnection(this.#route, target, this.#settings, signals).then(
      (socket) => done?.(null, socket),
      (error: unknown) => done?.(error instanceof Error ? error : new Error(String(error))),
    );
    return undefined;
  }
}

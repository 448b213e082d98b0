/**
 * The Node transport's connections: the trust store when `ca` is given, and the kept-alive
 * connections to one origin. Loaded with undici on the first request.
 */
import { readFileSync } from "node:fs";
import * as tls from "node:tls";
import { Client, Dispatcher } from "undici";

/** The native context behind a SecureContext; not documented, so every use is guarded. */
interface NativeContext {
  addCACert?: (pem: string) => void;
}

/** `tls.getCACertificates` (Node 22.15, 23.10): the certificates a default TLS client trusts. */
type GetCACertificates = (type?: "default") => string[];

/**
 * Node's default roots as PEM strings, for Node versions that cannot add to the default store in
 * place: `tls.getCACertificates("default")` where it exists, else the bundled roots and
 * NODE_EXTRA_CA_CERTS (which misses an OpenSSL or system store).
 */
function defaultRoots(): string[] {
  const getCACertificates = (tls as unknown as { getCACertificates?: GetCACertificates }).getCACertificates;
  if (typeof getCACertificates === "function") return [...getCACertificates("default")];
  const extra = extraCaCerts();
  return extra ? [...tls.rootCertificates, extra] : [...tls.rootCertificates];
}

/** Reads NODE_EXTRA_CA_CERTS as Node did at start; `undefined` when unset or unreadable. */
function extraCaCerts(): string | undefined {
  const file = process.env.NODE_EXTRA_CA_CERTS;
  if (!file) return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch {
    // Node already warned at start that it could not read the file, and ignores it too.
    return undefined;
  }
}

/**
 * A TLS context that trusts what a default one does and also `ca` (PEM, one or more certificates
 * per string). A context made without `ca` uses the store Node trusts by default (under
 * `--use-openssl-ca`, OpenSSL's: SSL_CERT_FILE and SSL_CERT_DIR); adding to it gives the context a
 * copy of that store first (node/src/crypto/crypto_context.cc), so other connections keep the
 * defaults alone. The copy lacks NODE_EXTRA_CA_CERTS, which Node adds to the shared store only,
 * so that file is added again.
 */
export function contextTrusting(ca: string[]): tls.SecureContext {
  const context = tls.createSecureContext();
  const native = (context as unknown as { context?: NativeContext }).context;
  if (typeof native?.addCACert === "function") {
    const extra = extraCaCerts();
    for (const pem of extra ? [extra, ...ca] : ca) native.addCACert(pem);
    return context;
  }
  return tls.createSecureContext({ ca: [...defaultRoots(), ...ca] });
}

/** How a request went, as {@link watched} reports it. */
interface RequestEvents {
  /** The response's status line arrived. */
  responded(): void;
  /** The request ended: the response was read, or it failed or was upgraded. */
  ended(completed: boolean): void;
  /** It failed; `true` takes the failure over (the request was sent again), hiding it from the caller. */
  failed(error: unknown): boolean;
}

/** The handler calls, in undici's handler interfaces old and new. */
const RESPONDED = new Set<PropertyKey>(["onHeaders", "onResponseStart"]);
const COMPLETED = new Set<PropertyKey>(["onComplete", "onResponseEnd", "onUpgrade", "onRequestUpgrade"]);
const FAILED = new Set<PropertyKey>(["onError", "onResponseError"]);

/** `handler`, telling `events` how its request goes. */
function watched(handler: Dispatcher.DispatchHandler, events: RequestEvents): Dispatcher.DispatchHandler {
  let ended = false;
  // One wrapper per method, made on first use: onData runs once per chunk.
  const wrappers = new Map<PropertyKey, (...args: unknown[]) => unknown>();
  const wrap = (key: PropertyKey, method: (...args: unknown[]) => unknown) => {
    if (!RESPONDED.has(key) && !FAILED.has(key) && !COMPLETED.has(key)) return method.bind(handler);
    return (...args: unknown[]) => {
      if (RESPONDED.has(key)) events.responded();
      if (!ended && FAILED.has(key)) {
        // onError(error), onResponseError(controller, error)
        if (events.failed(args[args.length - 1])) return undefined;
        ended = true;
        events.ended(false);
      } else if (!ended && COMPLETED.has(key)) {
        ended = true;
        events.ended(true);
      }
      return method.apply(handler, args);
    };
  };
  return new Proxy(handler, {
    get(target, key) {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      let wrapper = wrappers.get(key);
      if (!wrapper) {
        wrapper = wrap(key, value as (...args: unknown[]) => unknown);
        wrappers.set(key, wrapper);
      }
      return wrapper;
    },
  });
}

/** A connection the server closed, or reset, as the request went out on it. */
const STALE_CODES = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

/**
 * Whether a request that failed on a kept-alive connection before any response may go again on a
 * new one: only bodiless GET and HEAD requests, which are idempotent (RFC 9110 section 9.2.2),
 * and only once. Servers close idle connections, and one may do so just as a request goes out.
 */
function resendable(options: Dispatcher.DispatchOptions, error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  const method = options.method.toUpperCase();
  return (method === "GET" || method === "HEAD") && options.body == null && STALE_CODES.has(String(code));
}

/**
 * The kept-alive connections to one origin, one request at a time on each. A request goes to a
 * connection whose last request has ended, else to a new one. undici's Pool instead sends it to
 * another connection for one turn of the event loop after a response (undici waits that long
 * before reusing a connection, in case the server closes it), so sequential requests would keep
 * two connections (two proxy tunnels, two TLS handshakes). Here the request waits that turn on
 * the connection it will reuse; if the server closed it meanwhile, undici opens another.
 */
export class OriginPool extends Dispatcher {
  readonly #origin: string | URL;
  readonly #options: Client.Options;
  /** Requests under way on each connection. */
  readonly #running = new Map<Client, number>();
  /** Connections that have had a response: a failure on one may be the server closing it. */
  readonly #used = new WeakSet<Client>();

  constructor(origin: string | URL, options: Client.Options) {
    super();
    this.#origin = origin;
    this.#options = options;
  }

  #idleOrNew(): Client {
    const idle = [...this.#running].find(([, running]) => running === 0)?.[0];
    if (idle) return idle;
    const client = new Client(this.#origin, this.#options);
    // A connection that closed while idle is forgotten, so the pool shrinks after a burst.
    client.on("disconnect", () => {
      if (this.#running.get(client) === 0 && this.#running.size > 1) {
        this.#running.delete(client);
        client.close().catch(() => {});
      }
    });
    this.#running.set(client, 0);
    return client;
  }

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    this.#send(options, handler, false);
    return true;
  }

  #send(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, resent: boolean): void {
    const client = this.#idleOrNew();
    const reused = this.#used.has(client);
    let responded = false;
    this.#running.set(client, (this.#running.get(client) ?? 0) + 1);
    const events: RequestEvents = {
      responded: () => {
        responded = true;
      },
      ended: (completed) => {
        if (completed) this.#used.add(client);
        this.#running.set(client, Math.max(0, (this.#running.get(client) ?? 1) - 1));
      },
      failed: (error) => {
        if (resent || responded || !reused || !resendable(options, error)) return false;
        this.#running.set(client, Math.max(0, (this.#running.get(client) ?? 1) - 1));
        this.#used.delete(client);
        this.#send(options, handler, true);
        return true;
      },
    };
    client.dispatch(options, watched(handler, events));
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | undefined {
    const closing = Promise.all([...this.#running.keys()].map((client) => client.close())).then(() => {});
    this.#running.clear();
    if (!callback) return closing;
    void closing.then(callback);
    return undefined;
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(first?: Error | null | (() => void), second?: () => void): Promise<void> | undefined {
    const err = typeof first === "function" ? null : (first ?? null);
    const callback = typeof first === "function" ? first : second;
    const destroying = Promise.all([...this.#running.keys()].map((client) => client.destroy(err))).then(
      () => {},
    );
    this.#running.clear();
    if (!callback) return destroying;
    void destroying.then(callback);
    return undefined;
  }
}

/**
 * Turns whatever `fetch` threw (a `TypeError: fetch failed` wrapping a Node error, the Node
 * transport's or undici's, a `DOMException` from an aborted signal, ...) into a {@link NetworkError}
 * that names the URL, the cause and what to do about it. Portable: it only reads `name`, `code`,
 * `message`, `cause` and the endpoint or status an error names.
 */
import { MsalError } from "../errors.js";
import {
  DENO_PEER_CERTIFICATE,
  DNS_CODES,
  EXPIRED_CERTIFICATE_HINT,
  NAME_CODES,
  PROXY_CODES,
  PROXY_RESPONSE,
  REFUSED_CODES,
  RESET_CODES,
  TIMEOUTS,
  TLS_HANDSHAKE_HINT,
  UNTRUSTED_CERTIFICATE_HINT,
  UNTRUSTED_CODES,
  VALIDITY_CODES,
  wrongNameHint,
} from "./failure-codes.js";
import { safeUrl } from "./safe-url.js";

export { safeUrl };

/**
 * What kind of transport failure a {@link NetworkError} is. After `connection_refused` no byte of
 * the request left, so it is retried once, even a POST; after `connection_reset` the server may have
 * acted on it, so only a GET is. `aborted` is an abort inside a `fetch` (the caller's own abort
 * rejects with its signal's reason). `response_too_large`: the body, counted after decompression,
 * passed its request's budget (1 MiB; 4 MiB for MEX and WS-Trust); nothing was cached.
 */
export type NetworkFailureKind =
  | "dns"
  | "connection_refused"
  | "connection_reset"
  | "tls"
  | "proxy"
  | "timeout"
  | "aborted"
  | "response_too_large"
  | "unknown";

/**
 * A request could not be sent or its response not received: the host did not resolve, the
 * connection was refused or dropped, TLS or the proxy failed, it timed out, it was aborted or its
 * response was larger than msal-ts reads. `code` is always `"network_error"`; `kind` says which
 * failure it was and `hint` what to do. `url` is the request's URL without its query string,
 * fragment or credentials (they may hold secrets), and `cause` is the error `fetch` threw.
 *
 * @example
 * ```ts
 * try {
 *   await app.acquireTokenForClient(["https://graph.microsoft.com/.default"]);
 * } catch (e) {
 *   if (e instanceof NetworkError && e.kind === "tls") console.error(e.hint);
 *   else throw e;
 * }
 * ```
 */
export class NetworkError extends MsalError {
  declare readonly code: "network_error";
  /** The request's URL, without query string, fragment or credentials. */
  readonly url: string;
  /** Which transport failure it was (`code` is always `network_error`). */
  readonly kind: NetworkFailureKind;
  /** What to do about it (also the last sentence of `message`). */
  readonly hint: string;

  constructor(
    kind: NetworkFailureKind,
    url: string,
    message: string,
    hint: string,
    options?: { cause?: unknown },
  ) {
    super("network_error", message, options);
    this.url = url;
    this.kind = kind;
    this.hint = hint;
  }
}

/** What is known about the transport, to make the message precise. */
export interface NetworkErrorContext {
  /** The proxy the request went through, if any (its password never reaches the message). */
  proxy?: string;
  /** The timeout that applied, in milliseconds. */
  timeoutMs?: number;
}

interface Link {
  name: string;
  code: string;
  message: string;
  value: Record<string, unknown>;
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The error, its causes and (for `AggregateError`) its members, outermost first. */
function chainOf(error: unknown): Link[] {
  const links: Link[] = [];
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && links.length < 20) {
    const current = queue.shift();
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const value = current as Record<string, unknown>;
    links.push({
      name: str(value.name),
      code: typeof value.code === "string" ? value.code : "",
      message: str(value.message),
      value,
    });
    if (value.cause !== undefined) queue.push(value.cause);
    if (Array.isArray(value.errors)) queue.push(...value.errors);
  }
  return links;
}

interface ProxyInfo {
  /** The proxy URL without its password. */
  display: string;
  hostname: string;
  port: number;
  password: string;
}

function proxyInfo(proxy: string | undefined): ProxyInfo | undefined {
  if (!proxy) return undefined;
  try {
    const parsed = new URL(proxy);
    const user = parsed.username ? `${parsed.username}@` : "";
    const port = parsed.port ? Number(parsed.port) : parsed.protocol === "https:" ? 443 : 80;
    return {
      display: `${parsed.protocol}//${user}${parsed.host}`,
      hostname: parsed.hostname.replace(/^\[|\]$/g, "").toLowerCase(),
      port,
      password: decodeURIComponent(parsed.password),
    };
  } catch {
    return { display: "(the configured proxy)", hostname: "", port: 0, password: "" };
  }
}

/**
 * Whether a connection failure (DNS, refused, connect timeout) was about the proxy rather than the
 * server: its host name or port is the proxy's (both, when it names both), or it names no endpoint.
 */
function aboutProxy(link: Link, proxy: ProxyInfo): boolean {
  const hostname = str(link.value.hostname).toLowerCase();
  const port = link.value.port;
  if (hostname) return hostname === proxy.hostname && (typeof port !== "number" || port === proxy.port);
  if (typeof port === "number") return port === proxy.port;
  const attempted = /attempted address: (.+):(\d+),/.exec(link.message);
  if (attempted) return attempted[1]?.toLowerCase() === proxy.hostname || Number(attempted[2]) === proxy.port;
  return true;
}

/** `CODE: message`, or the message alone when it already names the code. */
function detail(link: Link): string {
  if (!link.code || link.message.includes(link.code)) return link.message || link.code || link.name;
  return link.message ? `${link.code}: ${link.message}` : link.code;
}

interface Classified {
  kind: NetworkFailureKind;
  cause: string;
  hint: string;
}

function proxyFailure(proxy: ProxyInfo | undefined, what: string, status?: number): Classified {
  const name = proxy ? `the proxy ${proxy.display}` : "the proxy";
  const hint =
    status === 407
      ? `The proxy requires authentication: give the credentials in the proxy URL (http://user:password@host:port) or fix them in HTTPS_PROXY; hosts that must not use the proxy go in NO_PROXY.`
      : `Check the proxy's address and that it allows tunnels to this host, or fix HTTPS_PROXY; hosts that must not use the proxy go in NO_PROXY.`;
  return { kind: "proxy", cause: `${name} ${what}`, hint };
}

function classify(links: Link[], url: string, context: NetworkErrorContext): Classified {
  const proxy = proxyInfo(context.proxy);
  const find = (test: (link: Link) => boolean) => links.find(test);
  const host = URL.canParse(url) ? new URL(url).hostname : "the host";

  const timeoutSignal = find((l) => l.name === "TimeoutError");
  if (timeoutSignal) {
    const after = context.timeoutMs ? ` after ${context.timeoutMs} ms` : "";
    return {
      kind: "timeout",
      cause: `the request timed out${after} (${timeoutSignal.message || "TimeoutError"})`,
      hint: "Check the network and the server, or raise the `timeout` option.",
    };
  }

  const proxyStatus = find((l) => l.code === "ERR_PROXY_STATUS" || PROXY_RESPONSE.test(l.message));
  if (proxyStatus) {
    const status = Number(proxyStatus.value.status ?? PROXY_RESPONSE.exec(proxyStatus.message)?.[1]);
    const reason = status === 407 ? " Proxy Authentication Required" : "";
    return proxyFailure(proxy, `answered the tunnel request with ${status}${reason}`, status);
  }
  const proxyAuth = find((l) => /Proxy Authentication Required/i.test(l.message));
  if (proxyAuth) return proxyFailure(proxy, "answered with 407 Proxy Authentication Required", 407);
  const proxyOther = find(
    (l) => PROXY_CODES.has(l.code) || (l.code === "UND_ERR_ABORTED" && /proxy/i.test(l.message)),
  );
  if (proxyOther) {
    const inner = links[links.indexOf(proxyOther) + 1];
    const status = proxyOther.code === "ERR_PROXY_AUTH" ? 407 : undefined;
    return proxyFailure(proxy, `failed (${detail(proxyOther)}${inner ? `: ${detail(inner)}` : ""})`, status);
  }

  const tls = find(
    (l) =>
      UNTRUSTED_CODES.has(l.code) ||
      VALIDITY_CODES.has(l.code) ||
      NAME_CODES.has(l.code) ||
      l.code.startsWith("ERR_SSL_") ||
      l.code.startsWith("ERR_TLS_"),
  );
  if (tls) {
    const cause = `the TLS connection failed (${detail(tls)})`;
    if (VALIDITY_CODES.has(tls.code)) {
      return { kind: "tls", cause, hint: EXPIRED_CERTIFICATE_HINT };
    }
    if (NAME_CODES.has(tls.code)) {
      return { kind: "tls", cause, hint: wrongNameHint(host) };
    }
    if (tls.code.startsWith("ERR_SSL_") || tls.code.startsWith("ERR_TLS_")) {
      return { kind: "tls", cause, hint: TLS_HANDSHAKE_HINT };
    }
    return { kind: "tls", cause, hint: UNTRUSTED_CERTIFICATE_HINT };
  }

  const dns = find((l) => DNS_CODES.has(l.code));
  if (dns) {
    const name = str(dns.value.hostname) || host;
    if (proxy && aboutProxy(dns, proxy)) return proxyFailure(proxy, `could not be resolved (${dns.code})`);
    return {
      kind: "dns",
      cause: `the host name ${name} could not be resolved (${dns.code})`,
      hint: "Check the host name and your DNS; behind a proxy, set HTTPS_PROXY.",
    };
  }

  const refused = find((l) => REFUSED_CODES.has(l.code));
  if (refused) {
    if (proxy && aboutProxy(refused, proxy))
      return proxyFailure(proxy, `refused the connection (${refused.code})`);
    const address = str(refused.value.address);
    const port = refused.value.port;
    const where =
      address && typeof port === "number"
        ? ` to ${address.includes(":") ? `[${address}]` : address}:${port}`
        : "";
    return {
      kind: "connection_refused",
      cause: `the connection${where} was refused (${refused.code})`,
      hint: "Check the host and port, and that the server is running; behind a proxy, set HTTPS_PROXY.",
    };
  }

  const timeout = find((l) => TIMEOUTS.has(l.code));
  if (timeout) {
    if (proxy && timeout.code.endsWith("_CONNECT_TIMEOUT") && aboutProxy(timeout, proxy))
      return proxyFailure(proxy, `could not be connected to in time (${timeout.code})`);
    const what = TIMEOUTS.get(timeout.code) || "the connection could not be established in time";
    const after = context.timeoutMs ? ` (${context.timeoutMs} ms, ${timeout.code})` : ` (${timeout.code})`;
    return {
      kind: "timeout",
      cause: `${what}${after}`,
      hint: "Check the network and the server, or raise the `timeout` option.",
    };
  }

  // Deno's fetch (rustls) gives no code, only "invalid peer certificate: UnknownIssuer" and the like.
  const peer = find((l) => DENO_PEER_CERTIFICATE.test(l.message));
  if (peer) {
    const reason = DENO_PEER_CERTIFICATE.exec(peer.message)?.[1] ?? "";
    const hint =
      reason === "NotValidForName"
        ? wrongNameHint(host)
        : reason === "Expired" || reason === "NotValidYet"
          ? EXPIRED_CERTIFICATE_HINT
          : UNTRUSTED_CERTIFICATE_HINT;
    return { kind: "tls", cause: `the TLS connection failed (${detail(peer)})`, hint };
  }

  const reset = find((l) => RESET_CODES.has(l.code));
  if (reset && /before secure TLS connection/i.test(reset.message)) {
    return {
      kind: "tls",
      cause: `the TLS handshake did not complete (${detail(reset)})`,
      hint: TLS_HANDSHAKE_HINT,
    };
  }
  if (reset) {
    const via = proxy ? ` or the proxy ${proxy.display}` : "";
    return {
      kind: "connection_reset",
      cause: `the connection was closed before the response was complete (${detail(reset)})`,
      hint: `Retry; if it keeps happening, check the server${via} and any firewall in between (behind a proxy, set HTTPS_PROXY).`,
    };
  }

  const abort = find((l) => l.name === "AbortError");
  if (abort) {
    return {
      kind: "aborted",
      cause: "the request was aborted through its AbortSignal",
      hint: "It was cancelled by the caller; retry if that was not intended.",
    };
  }

  const innermost = links[links.length - 1];
  const cause = innermost ? detail(innermost) : "";
  const via = proxy ? `, the proxy ${proxy.display}` : "";
  return {
    kind: "unknown",
    cause: `it failed (${cause || "an unknown error"})`,
    hint: `Check the network connection to ${host}${via} and HTTPS_PROXY/NO_PROXY if you are behind a proxy.`,
  };
}

/** Removes what must not be printed: the proxy password and the URL's query string. */
function scrub(text: string, url: string, context: NetworkErrorContext): string {
  let out = text;
  const secrets: string[] = [];
  const password = proxyInfo(context.proxy)?.password;
  if (password) secrets.push(password);
  const rawPassword = /\/\/[^/:@]*:([^/@]*)@/.exec(context.proxy ?? "")?.[1];
  if (rawPassword) secrets.push(rawPassword);
  const query = /[?#].+$/s.exec(url)?.[0];
  if (query) secrets.push(query.slice(1));
  for (const secret of secrets) if (secret.length > 0) out = out.split(secret).join("***");
  return out;
}

/**
 * Turns whatever `fetch` threw into a {@link NetworkError} naming the URL, the cause and a hint.
 * It walks the `cause` chain (and `AggregateError` members) for the error names and codes of Node,
 * the Node transport, undici and the DOM. The message is one sentence naming the URL (without its
 * query string) and the cause, then the hint; `cause` is `error` itself. A `NetworkError` is
 * returned as it is.
 *
 * @param error What `fetch` threw (or rejected with).
 * @param url The URL that was requested; only its scheme, host and path are kept.
 * @param context The proxy in use and the timeout, if known, for a precise message.
 *
 * @example
 * ```ts
 * try {
 *   return await fetch(url, { signal: AbortSignal.timeout(30_000) });
 * } catch (e) {
 *   throw networkErrorFrom(e, url, { timeoutMs: 30_000 });
 *   // NetworkError: Could not reach https://login.example/common/v2.0/.well-known/openid-configuration:
 *   // the host name login.example could not be resolved (ENOTFOUND). Check the host name and your
 *   // DNS; behind a proxy, set HTTPS_PROXY.
 * }
 * ```
 */
export function networkErrorFrom(
  error: unknown,
  url: string,
  context: NetworkErrorContext = {},
): NetworkError {
  if (error instanceof NetworkError) return error;
  const shown = safeUrl(url);
  const links = chainOf(error);
  if (links.length === 0 && error !== undefined && error !== null) {
    links.push({ name: "", code: "", message: String(error), value: {} });
  }
  const { kind, cause, hint } = classify(links, url, context);
  const message = scrub(`Could not reach ${shown}: ${cause}. ${hint}`, url, context);
  return new NetworkError(kind, shown, message, scrub(hint, url, context), { cause: error });
}

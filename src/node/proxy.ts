/**
 * Which proxy a request goes through: the `proxy` option, else HTTPS_PROXY/HTTP_PROXY unless
 * NO_PROXY names the host. The environment rules are the ones the transport has always had, so an
 * app's routes do not change with its implementation.
 */
import { ConfigurationError } from "../errors.js";

/** A proxy, parsed once: where it is, how to speak to it and the credentials it wants. */
export interface ParsedProxy {
  /** `http:` and `https:` proxies take CONNECT (and absolute-URI requests); `socks:` is SOCKS5. */
  protocol: "http:" | "https:" | "socks:";
  /** Host name or IP address, IPv6 without brackets. */
  hostname: string;
  port: number;
  /** `Basic …` for an HTTP proxy whose URL has credentials. */
  authorization?: string;
  /** URL-decoded credentials, for SOCKS5's username/password method. */
  username: string;
  password: string;
  /** Tells this proxy's pooled connections apart from another's. */
  key: string;
}

/** The proxy for a request URL, or `undefined` to go direct. */
export type ProxySelector = (target: URL) => ParsedProxy | undefined;

/** Keeps the password out of messages. */
export function redactProxy(proxy: string): string {
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

/** Lower case first, as curl reads them. */
function pick(env: Record<string, string | undefined>, lower: string, upper: string): string {
  return env[lower] ?? env[upper] ?? "";
}

/** Checks the proxy settings at once, so a bad proxy URL is an error when the app is made. */
export function checkProxies(options: { proxy?: string; env?: Record<string, string | undefined> }): void {
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

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443, "socks:": 1080, "socks5:": 1080 };

/** Only called on URLs {@link checkProxies} accepted. */
function parseProxy(proxy: string): ParsedProxy {
  const url = new URL(proxy);
  const protocol = url.protocol === "socks5:" ? "socks:" : (url.protocol as ParsedProxy["protocol"]);
  const username = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  const parsed: ParsedProxy = {
    protocol,
    hostname: url.hostname.replace(/^\[|\]$/g, ""),
    port: Number(url.port) || (DEFAULT_PORTS[url.protocol] ?? 80),
    username,
    password,
    key: `${protocol}//${url.host}|${url.username}`,
  };
  if (protocol !== "socks:" && (username || password)) {
    parsed.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }
  return parsed;
}

interface NoProxyEntry {
  hostname: string;
  /** 0: any port. */
  port: number;
}

function parseNoProxy(value: string): NoProxyEntry[] {
  const entries: NoProxyEntry[] = [];
  for (const entry of value.split(/[,\s]/)) {
    if (!entry) continue;
    const withPort = /^(.+):(\d+)$/.exec(entry);
    entries.push({
      hostname: (withPort?.[1] ?? entry).replace(/^\*?\./, "").toLowerCase(),
      port: withPort ? Number(withPort[2]) : 0,
    });
  }
  return entries;
}

/** `*` bypasses everything; an entry matches its host and the host's subdomains, on its port if it has one. */
function bypasses(noProxy: string, entries: NoProxyEntry[], target: URL): boolean {
  if (entries.length === 0) return false;
  if (noProxy === "*") return true;
  // `host` without its port keeps an IPv6 address's brackets, as NO_PROXY writes them.
  const hostname = target.host.replace(/:\d*$/, "").toLowerCase();
  const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
  return entries.some(
    (entry) =>
      (!entry.port || entry.port === port) &&
      (hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`)),
  );
}

/**
 * The proxy for each request: the `proxy` option for every URL (NO_PROXY does not apply to it);
 * else, from `env` (default `process.env`), https_proxy/HTTPS_PROXY for https URLs (or
 * http_proxy/HTTP_PROXY when it is unset) and http_proxy/HTTP_PROXY for http URLs, unless
 * no_proxy/NO_PROXY names the host.
 */
export function proxySelector(options: {
  proxy?: string;
  env?: Record<string, string | undefined>;
}): ProxySelector {
  if (options.proxy) {
    const proxy = parseProxy(options.proxy);
    return () => proxy;
  }
  const env = options.env ?? process.env;
  const httpValue = pick(env, "http_proxy", "HTTP_PROXY");
  const httpsValue = pick(env, "https_proxy", "HTTPS_PROXY") || httpValue;
  if (!httpValue && !httpsValue) return () => undefined;
  const httpProxy = httpValue ? parseProxy(httpValue) : undefined;
  const httpsProxy = httpsValue ? parseProxy(httpsValue) : undefined;
  const noProxy = pick(env, "no_proxy", "NO_PROXY");
  const entries = parseNoProxy(noProxy);
  return (target) => {
    const proxy = target.protocol === "https:" ? httpsProxy : httpProxy;
    return proxy && !bypasses(noProxy, entries, target) ? proxy : undefined;
  };
}

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

/** One NO_PROXY entry: a host name (and its subdomains), an IP address, or an IP range. */
type NoProxyEntry =
  | { kind: "name"; hostname: string /** 0: any port. */; port: number }
  | { kind: "address"; bytes: number[]; port: number }
  | { kind: "range"; bytes: number[]; prefix: number };

/** The 4 or 16 bytes of an IPv4 or IPv6 address (IPv6 with or without brackets), or undefined. */
export function addressBytes(text: string): number[] | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (v4) {
    const bytes = v4.slice(1).map(Number);
    return bytes.every((byte) => byte <= 255) ? bytes : undefined;
  }
  const bare = text.replace(/^\[(.*)\]$/, "$1");
  if (!bare.includes(":")) return undefined;
  let normal: string;
  try {
    // WHATWG URL parsing validates the address and writes it one way (lower case, `::` compressed).
    normal = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
  const [head = "", tail] = normal.split("::");
  const groups = (part: string) => (part ? part.split(":") : []);
  const words = [...groups(head)];
  if (tail !== undefined) {
    const after = groups(tail);
    words.push(...Array<string>(8 - words.length - after.length).fill("0"), ...after);
  }
  return words.flatMap((word) => {
    const value = Number.parseInt(word, 16);
    return [value >> 8, value & 0xff];
  });
}

/**
 * Reads NO_PROXY the way curl does, plus IP ranges: entries split by commas or spaces; `host`,
 * `.host` and `*.host` match the host and its subdomains; `host:port` only that port; an IPv6
 * address bare (`::1`, any port) or in brackets (`[::1]`, `[::1]:8443`); CIDR ranges `10.0.0.0/8`
 * and `fd00::/8` (RFC 4632, RFC 4291 section 2.3) match addresses in them.
 */
function parseNoProxy(value: string): NoProxyEntry[] {
  const entries: NoProxyEntry[] = [];
  for (const entry of value.split(/[,\s]/)) {
    if (!entry) continue;
    const range = /^\[?([^\]/]+)\]?\/(\d{1,3})$/.exec(entry);
    if (range) {
      const bytes = addressBytes(range[1] ?? "");
      const prefix = Number(range[2]);
      if (bytes && prefix <= bytes.length * 8) entries.push({ kind: "range", bytes, prefix });
      continue;
    }
    // Bracketed IPv6, with or without a port; more than one colon without brackets is IPv6 alone.
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    const bare = (entry.match(/:/g) ?? []).length > 1 ? entry : undefined;
    const ipv6 = bracketed?.[1] ?? bare;
    if (ipv6 !== undefined) {
      const bytes = addressBytes(ipv6);
      if (bytes) entries.push({ kind: "address", bytes, port: Number(bracketed?.[2] ?? 0) });
      continue;
    }
    const withPort = /^(.+):(\d+)$/.exec(entry);
    const hostname = (withPort?.[1] ?? entry).replace(/^\*?\./, "").toLowerCase();
    const port = withPort ? Number(withPort[2]) : 0;
    const bytes = addressBytes(hostname);
    entries.push(bytes ? { kind: "address", bytes, port } : { kind: "name", hostname, port });
  }
  return entries;
}

function sameBytes(a: number[], b: number[], bits: number): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i * 8 < bits; i++) {
    const mask = bits - i * 8 >= 8 ? 0xff : (0xff << (8 - (bits - i * 8))) & 0xff;
    if (((a[i] ?? 0) & mask) !== ((b[i] ?? 0) & mask)) return false;
  }
  return true;
}

/** `*` bypasses everything; otherwise any entry that matches the target's host (and port, if it names one). */
function bypasses(noProxy: string, entries: NoProxyEntry[], target: URL): boolean {
  if (entries.length === 0) return false;
  if (noProxy.trim() === "*") return true;
  const hostname = target.hostname.toLowerCase();
  const address = addressBytes(hostname);
  const port = Number(target.port) || DEFAULT_PORTS[target.protocol] || 0;
  return entries.some((entry) => {
    if (entry.kind === "range") return address !== undefined && sameBytes(address, entry.bytes, entry.prefix);
    if (entry.port && entry.port !== port) return false;
    if (entry.kind === "address")
      return address !== undefined && sameBytes(address, entry.bytes, entry.bytes.length * 8);
    return hostname === entry.hostname || hostname.endsWith(`.${entry.hostname}`);
  });
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

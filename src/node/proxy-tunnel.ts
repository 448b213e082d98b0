/**
 * Opening a tunnel through a proxy on a connection to it: HTTP CONNECT, or SOCKS5 for `socks://`
 * proxies. The failures carry `ERR_PROXY_*` codes, which src/http/network-error.ts recognises, and
 * never the proxy's credentials.
 */
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import type { ParsedProxy } from "./proxy.js";

/** Where a connection goes: a host name or IP address (IPv6 without brackets) and a port. */
export interface Endpoint {
  hostname: string;
  port: number;
}

/**
 * A failure of the transport itself (a timeout, a proxy that would not tunnel). `code` is what
 * network-error.ts classifies by; `hostname` and `port` name the endpoint, so a failure to reach
 * the proxy is told from one to reach the server.
 */
export class TransportError extends Error {
  readonly code: string;
  readonly hostname?: string;
  readonly port?: number;
  /** The status a proxy answered CONNECT with. */
  readonly status?: number;

  constructor(
    name: string,
    code: string,
    message: string,
    details: { cause?: unknown; endpoint?: Endpoint; status?: number } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = name;
    this.code = code;
    if (details.endpoint) {
      this.hostname = details.endpoint.hostname;
      this.port = details.endpoint.port;
    }
    if (details.status !== undefined) this.status = details.status;
  }
}

/** A proxy's answer to CONNECT is a status line and headers; more than this is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

function tunnelError(message: string, cause?: unknown): TransportError {
  return new TransportError("ProxyError", "ERR_PROXY_TUNNEL", message, { cause });
}

const closedDuringSetup = (cause?: unknown) =>
  tunnelError("The proxy closed the connection while the tunnel was being set up", cause);

/**
 * Reads from `socket` until `size` says how long the message is (-1: not yet complete), and puts
 * back whatever follows it, which belongs to the next protocol on the socket.
 */
function readMessage(socket: Duplex, size: (data: Buffer) => number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let data: Buffer = Buffer.alloc(0);
    const cleanup = () => {
      socket.off("readable", onReadable);
      socket.off("end", onClose);
      socket.off("close", onClose);
      socket.off("error", onError);
    };
    const onClose = () => {
      cleanup();
      reject(closedDuringSetup());
    };
    const onError = (error: Error) => {
      cleanup();
      reject(closedDuringSetup(error));
    };
    const onReadable = () => {
      for (
        let chunk = socket.read() as Buffer | null;
        chunk !== null;
        chunk = socket.read() as Buffer | null
      ) {
        data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
        const length = size(data);
        if (length >= 0) {
          cleanup();
          if (length < data.length) socket.unshift(data.subarray(length));
          resolve(data.subarray(0, length));
          return;
        }
        if (data.length > MAX_ANSWER_BYTES) {
          cleanup();
          reject(tunnelError("The proxy's answer to the tunnel request is too long"));
          return;
        }
      }
    };
    socket.on("readable", onReadable);
    socket.once("end", onClose);
    socket.once("close", onClose);
    socket.once("error", onError);
  });
}

/** `host:port` as CONNECT names it, brackets around an IPv6 address. */
function authority(target: Endpoint): string {
  return isIP(target.hostname) === 6
    ? `[${target.hostname}]:${target.port}`
    : `${target.hostname}:${target.port}`;
}

/** Asks an HTTP proxy for a tunnel to `target` over `socket`; resolves once it answered 2xx. */
export async function httpTunnel(socket: Duplex, target: Endpoint, proxy: ParsedProxy): Promise<Duplex> {
  const host = authority(target);
  const lines = [`CONNECT ${host} HTTP/1.1`, `Host: ${host}`, "Proxy-Connection: keep-alive"];
  if (proxy.authorization) lines.push(`Proxy-Authorization: ${proxy.authorization}`);
  const answer = readMessage(socket, (data) => {
    const end = data.indexOf("\r\n\r\n");
    return end < 0 ? -1 : end + 4;
  });
  socket.write(`${lines.join("\r\n")}\r\n\r\n`);
  const head = (await answer).toString("latin1");
  const status = /^HTTP\/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?/.exec(head);
  if (!status) throw tunnelError("The proxy did not answer the tunnel request with HTTP");
  const code = Number(status[1]);
  if (code < 200 || code > 299) {
    // The reason phrase is the proxy's: only printable characters reach the message.
    const reason = (status[2] ?? "").replace(/[^\x20-\x7e]/g, "").slice(0, 100);
    throw new TransportError(
      "ProxyError",
      "ERR_PROXY_STATUS",
      `The proxy answered the tunnel request with ${code}${reason ? ` ${reason}` : ""}`,
      { status: code },
    );
  }
  return socket;
}

const SOCKS_FAILURES: Record<number, string> = {
  1: "a general failure",
  2: "the connection is not allowed by its rules",
  3: "the network is unreachable",
  4: "the host is unreachable",
  5: "the server refused the connection",
  6: "the TTL expired",
  7: "the command is not supported",
  8: "the address type is not supported",
};

/** The 16 bytes of an IPv6 address in text (with `::` and a trailing IPv4 part allowed). */
function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, "");
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const headGroups = head ? head.split(":") : [];
  const tailGroups = tail ? tail.split(":") : [];
  const zeros = tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill("0");
  const bytes = Buffer.alloc(16);
  [...headGroups, ...zeros, ...tailGroups].forEach((group, i) => {
    bytes.writeUInt16BE(Number.parseInt(group, 16), i * 2);
  });
  return bytes;
}

/** SOCKS5's address field: IP addresses as bytes, names as they are (the proxy resolves them). */
function socksAddress(hostname: string): Buffer {
  const version = isIP(hostname);
  if (version === 4) return Buffer.from([1, ...hostname.split(".").map(Number)]);
  if (version === 6) return Buffer.concat([Buffer.from([4]), ipv6Bytes(hostname)]);
  const name = Buffer.from(hostname);
  return Buffer.concat([Buffer.from([3, name.length]), name]);
}

/** Opens a SOCKS5 (RFC 1928) tunnel to `target` over `socket`, with username/password (RFC 1929) if the URL has them. */
export async function socksTunnel(socket: Duplex, target: Endpoint, proxy: ParsedProxy): Promise<Duplex> {
  const withCredentials = proxy.username !== "" || proxy.password !== "";
  const two = (data: Buffer) => (data.length >= 2 ? 2 : -1);
  let reply = readMessage(socket, two);
  socket.write(Buffer.from(withCredentials ? [5, 2, 0, 2] : [5, 1, 0]));
  const method = (await reply)[1];
  if (method === 2 && withCredentials) {
    const user = Buffer.from(proxy.username);
    const password = Buffer.from(proxy.password);
    if (user.length > 255 || password.length > 255)
      throw new TransportError("ProxyError", "ERR_PROXY_AUTH", "The SOCKS proxy's credentials are too long");
    reply = readMessage(socket, two);
    socket.write(
      Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([password.length]), password]),
    );
    if ((await reply)[1] !== 0)
      throw new TransportError("ProxyError", "ERR_PROXY_AUTH", "The SOCKS proxy rejected the credentials");
  } else if (method !== 0) {
    throw new TransportError(
      "ProxyError",
      "ERR_PROXY_AUTH",
      withCredentials
        ? "The SOCKS proxy accepts none of the authentication methods offered"
        : "The SOCKS proxy requires credentials, and the proxy URL has none",
    );
  }
  const port = Buffer.alloc(2);
  port.writeUInt16BE(target.port);
  const connected = readMessage(socket, (data) => {
    if (data.length < 5) return -1;
    const length = data[3] === 1 ? 4 : data[3] === 4 ? 16 : (data[4] ?? 0) + 1;
    return data.length >= 4 + length + 2 ? 4 + length + 2 : -1;
  });
  socket.write(Buffer.concat([Buffer.from([5, 1, 0]), socksAddress(target.hostname), port]));
  const answer = await connected;
  const status = answer[1] ?? 1;
  if (answer[0] !== 5) throw tunnelError("The proxy did not answer the tunnel request with SOCKS5");
  if (status !== 0) {
    throw tunnelError(
      `The SOCKS proxy could not open the tunnel: ${SOCKS_FAILURES[status] ?? `reply ${status}`}`,
    );
  }
  return socket;
}

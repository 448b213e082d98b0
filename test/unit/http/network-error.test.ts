/**
 * networkErrorFrom on real failures: what Node's global fetch (undici inside Node) and msal-ts's Node fetch
 * (undici's, with its own dispatcher) throw against local servers that refuse, drop, hang, or speak no TLS,
 * and against a name that never resolves.
 */

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NetworkError, networkErrorFrom } from "../../../src/http/network-error.js";
import { createNodeFetch } from "../../../src/node/fetch.js";
import { closedPort, failure, type TcpServer, tcpServer } from "../../support/tcp.js";

const DNS_HINT = "Check the host name and your DNS; behind a proxy, set HTTPS_PROXY.";
const REFUSED_HINT =
  "Check the host and port, and that the server is running; behind a proxy, set HTTPS_PROXY.";
const RESET_HINT =
  "Retry; if it keeps happening, check the server and any firewall in between (behind a proxy, set HTTPS_PROXY).";
const TIMEOUT_HINT = "Check the network and the server, or raise the `timeout` option.";
const ABORTED_HINT = "It was cancelled by the caller; retry if that was not intended.";
const HANDSHAKE_HINT =
  "The TLS handshake failed: check that the URL's port serves HTTPS and that nothing between you and the server breaks TLS (behind a proxy, set HTTPS_PROXY).";

const nodeFetch = createNodeFetch({ env: {} });
/** Each fetch with its own words for a connection the server closed without answering. */
const fetches: Array<[string, typeof globalThis.fetch, string]> = [
  ["Node's global fetch", globalThis.fetch, "UND_ERR_SOCKET: other side closed"],
  ["createNodeFetch", nodeFetch, "UND_ERR_SOCKET: other side closed"],
];

let hanging: TcpServer;
let dropping: TcpServer;
let refusedPort: number;

beforeAll(async () => {
  hanging = await tcpServer(() => {});
  dropping = await tcpServer((socket) => socket.once("data", () => socket.destroy()));
  refusedPort = await closedPort();
});
afterAll(async () => {
  await nodeFetch.close();
  await hanging?.close();
  await dropping?.close();
});

describe.each(fetches)("networkErrorFrom, with %s", (_name, fetch, closedDetail) => {
  it("a name that does not resolve is dns; the query string stays out of the message", async () => {
    const url = "https://does-not-exist.invalid/common/oauth2/v2.0/token?client_secret=hunter2#frag";
    const error = await failure(fetch(url));
    const network = networkErrorFrom(error, url);
    expect(network).toBeInstanceOf(NetworkError);
    expect(network.kind).toBe("dns");
    expect(network.code).toBe("network_error");
    expect(network.name).toBe("NetworkError");
    expect(network.url).toBe("https://does-not-exist.invalid/common/oauth2/v2.0/token");
    expect(network.hint).toBe(DNS_HINT);
    expect(network.message).toBe(
      "Could not reach https://does-not-exist.invalid/common/oauth2/v2.0/token: the host name does-not-exist.invalid could not be resolved (ENOTFOUND). " +
        DNS_HINT,
    );
    expect(network.message).not.toContain("hunter2");
    expect(network.cause).toBe(error);
  });

  it("a closed port is connection_refused", async () => {
    const url = `http://127.0.0.1:${refusedPort}/token`;
    const network = networkErrorFrom(await failure(fetch(url)), url);
    expect(network.kind).toBe("connection_refused");
    expect(network.message).toBe(
      `Could not reach ${url}: the connection to 127.0.0.1:${refusedPort} was refused (ECONNREFUSED). ${REFUSED_HINT}`,
    );
  });

  it("a server that destroys the socket is connection_reset", async () => {
    const url = `http://127.0.0.1:${dropping.port}/token`;
    const network = networkErrorFrom(await failure(fetch(url)), url);
    expect(network.kind).toBe("connection_reset");
    expect(network.hint).toBe(RESET_HINT);
    expect(network.message).toBe(
      `Could not reach ${url}: the connection was closed before the response was complete (${closedDetail}). ${RESET_HINT}`,
    );
  });

  it("https to a port that closes the connection is tls (handshake)", async () => {
    const url = `https://127.0.0.1:${dropping.port}/token`;
    const network = networkErrorFrom(await failure(fetch(url)), url);
    expect(network.kind).toBe("tls");
    expect(network.hint).toBe(HANDSHAKE_HINT);
    expect(network.message).toBe(
      `Could not reach ${url}: the TLS handshake did not complete (ECONNRESET: Client network socket disconnected before secure TLS connection was established). ${HANDSHAKE_HINT}`,
    );
  });

  it("AbortSignal.timeout on a server that never answers is timeout", async () => {
    const url = `http://127.0.0.1:${hanging.port}/token`;
    const error = await failure(fetch(url, { signal: AbortSignal.timeout(300) }));
    expect((error as Error).name).toBe("TimeoutError");
    const network = networkErrorFrom(error, url, { timeoutMs: 300 });
    expect(network.kind).toBe("timeout");
    expect(network.message).toBe(
      `Could not reach ${url}: the request timed out after 300 ms (The operation was aborted due to timeout). ${TIMEOUT_HINT}`,
    );
    expect(networkErrorFrom(error, url).message).toBe(
      `Could not reach ${url}: the request timed out (The operation was aborted due to timeout). ${TIMEOUT_HINT}`,
    );
  });

  it("a caller's abort is aborted", async () => {
    const url = `http://127.0.0.1:${hanging.port}/token`;
    const controller = new AbortController();
    const pending = failure(fetch(url, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const network = networkErrorFrom(await pending, url, { timeoutMs: 30_000 });
    expect(network.kind).toBe("aborted");
    expect(network.message).toBe(
      `Could not reach ${url}: the request was aborted through its AbortSignal. ${ABORTED_HINT}`,
    );
  });
});

describe("networkErrorFrom, other inputs", () => {
  it("a NetworkError is returned as it is", async () => {
    const url = `http://127.0.0.1:${refusedPort}/`;
    const first = networkErrorFrom(await failure(fetch(url)), url);
    expect(networkErrorFrom(first, "https://other.example/")).toBe(first);
  });

  it("an error it does not recognise is unknown, with its message as the cause", () => {
    const original = new RangeError("something odd happened");
    const network = networkErrorFrom(original, "https://login.example/t?x=1", {
      proxy: "http://u:pw@p.example:3128",
    });
    expect(network.kind).toBe("unknown");
    expect(network.cause).toBe(original);
    expect(network.message).toBe(
      "Could not reach https://login.example/t: it failed (something odd happened). Check the network connection to login.example, the proxy http://u@p.example:3128 and HTTPS_PROXY/NO_PROXY if you are behind a proxy.",
    );
  });

  it("a thrown string or nothing at all is unknown too", () => {
    expect(networkErrorFrom("boom", "https://a.example/").message).toBe(
      "Could not reach https://a.example/: it failed (boom). Check the network connection to a.example and HTTPS_PROXY/NO_PROXY if you are behind a proxy.",
    );
    expect(networkErrorFrom(undefined, "https://a.example/").kind).toBe("unknown");
  });

  it("credentials in the URL are dropped, and a URL it cannot parse loses its query", () => {
    expect(networkErrorFrom(new Error("x"), "https://user:pw@a.example/p?q=1").url).toBe(
      "https://a.example/p",
    );
    expect(networkErrorFrom(new Error("x"), "not a url?secret=1").url).toBe("not a url");
  });

  it("the user name in a user realm URL stays out of the error's url and message", () => {
    const failure = networkErrorFrom(
      Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" }),
      "https://login.example/common/userrealm/alice%40contoso.example?api-version=1.0",
    );
    expect(failure.url).toBe("https://login.example/common/userrealm/[PII hidden]");
    expect(failure.message).not.toMatch(/alice/i);
  });

  it("a cycle in the cause chain does not hang", () => {
    const a = new Error("a") as Error & { cause?: unknown };
    const b = new Error("b", { cause: a });
    a.cause = b;
    expect(networkErrorFrom(a, "https://a.example/").kind).toBe("unknown");
  });
});

describe("networkErrorFrom, with what Deno's fetch throws (rustls: a message, no code)", () => {
  const url = "https://localhost:8443/common/oauth2/v2.0/token";
  /** Deno 2's words, as its fetch throws them for a server whose certificate fails a check. */
  const denoError = (reason: string) =>
    new TypeError(
      `error sending request for url (${url}): client error (Connect): invalid peer certificate: ${reason}`,
    );

  it("an unknown issuer is tls, with the untrusted-CA hint", () => {
    const network = networkErrorFrom(denoError("UnknownIssuer"), url);
    expect(network.kind).toBe("tls");
    expect(network.hint).toBe(
      "The server's certificate is not trusted: pass its CA with the `ca` option or NODE_EXTRA_CA_CERTS (a corporate proxy that inspects TLS needs its CA here).",
    );
  });

  it("a certificate for another name is tls, naming the host", () => {
    const network = networkErrorFrom(denoError("NotValidForName"), url);
    expect(network.kind).toBe("tls");
    expect(network.hint).toContain("The server's certificate does not name localhost");
  });

  it("an expired certificate is tls, pointing at the clock", () => {
    expect(networkErrorFrom(denoError("Expired"), url).hint).toContain("expired, not yet valid or revoked");
  });
});

/**
 * createNodeFetch against the emulator over HTTPS and small local servers: through real proxies
 * (CONNECT, explicit or from the environment with NO_PROXY; over TLS; forwarding plain http;
 * SOCKS5), with keep-alive, with an extra CA (and without it, against an emulator whose CA nobody
 * trusts), redirects, content codings and aborts, and the NetworkError kinds of a proxy that
 * refuses, drops or demands credentials, and of the transport's own timeouts.
 */
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../../emulator/index.js";
import { createCertificateAuthority, createServerCertificate } from "../../../emulator/x509.js";
import { NetworkError, networkErrorFrom } from "../../../src/http/network-error.js";
import { createNodeFetch } from "../../../src/node/fetch.js";
import { proxySelector } from "../../../src/node/proxy.js";
import { startTestEmulator } from "../../support/emulator.js";
import { closedPort, failure, tcpServer } from "../../support/tcp.js";

type Behaviour = "tunnel" | "407" | "drop" | "hang";

interface TestProxy {
  url: string;
  port: number;
  /** CONNECT targets, one per tunnel opened (or refused). */
  tunnels: string[];
  /** Proxy-Authorization headers received, with CONNECT or a forwarded request. */
  authorizations: Array<string | undefined>;
  /** Absolute URLs of the plain http requests forwarded. */
  forwarded: string[];
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/** Forwards an absolute-URI request, without the Proxy-Authorization meant for the proxy. */
function forward(req: IncomingMessage, res: ServerResponse): void {
  const { "proxy-authorization": _, ...headers } = req.headers;
  const upstream = httpRequest(req.url ?? "", { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on("error", () => res.destroy());
  req.pipe(upstream);
}

/**
 * A tiny HTTP proxy on 127.0.0.1: CONNECT, and plain http requests forwarded; spoken to over TLS
 * when given a certificate.
 */
async function startProxy(
  behaviour: Behaviour = "tunnel",
  tls?: { key: string; cert: string },
): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const proxy: TestProxy = {
    url: "",
    port: 0,
    tunnels: [],
    authorizations: [],
    forwarded: [],
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    if (!req.url?.startsWith("http://")) return void res.writeHead(405).end();
    proxy.forwarded.push(req.url);
    proxy.authorizations.push(req.headers["proxy-authorization"]);
    forward(req, res);
  };
  const server: Server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  server.on("connection", (socket: Socket) => {
    proxy.connections++;
    track(socket);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    proxy.tunnels.push(req.url ?? "");
    proxy.authorizations.push(req.headers["proxy-authorization"]);
    if (behaviour === "407") {
      client.end(
        'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n\r\n',
      );
      return;
    }
    if (behaviour === "drop") return void client.destroy();
    if (behaviour === "hang") return;
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host ?? "", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    track(upstream);
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    client.on("close", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.url = `${tls ? "https" : "http"}://127.0.0.1:${proxy.port}`;
  return proxy;
}

const UNTRUSTED_HINT =
  "The server's certificate is not trusted: pass its CA with the `ca` option or NODE_EXTRA_CA_CERTS (a corporate proxy that inspects TLS needs its CA here).";
const PROXY_HINT =
  "Check the proxy's address and that it allows tunnels to this host, or fix HTTPS_PROXY; hosts that must not use the proxy go in NO_PROXY.";
const PROXY_AUTH_HINT =
  "The proxy requires authentication: give the credentials in the proxy URL (http://user:password@host:port) or fix them in HTTPS_PROXY; hosts that must not use the proxy go in NO_PROXY.";
const TIMEOUT_HINT = "Check the network and the server, or raise the `timeout` option.";

const closers: Array<() => Promise<unknown>> = [];
/** Closes `fetch` after the file's tests. */
function kept<T extends { close(): Promise<void> }>(fetch: T): T {
  closers.push(() => fetch.close());
  return fetch;
}

let emulator: Emulator;
/** An emulator whose CA is its own: not NODE_EXTRA_CA_CERTS, so not trusted by default. */
let stranger: Emulator;
let sharedCa: string;
const discovery = (e: Emulator) => `${e.url}/common/v2.0/.well-known/openid-configuration`;

beforeAll(async () => {
  const caFile = process.env.MSAL_TS_TEST_CA_CERT;
  if (!caFile) throw new Error("Run through vitest: test/global-setup.ts provides the test CA.");
  sharedCa = readFileSync(caFile, "utf8");
  [emulator, stranger] = await Promise.all([startTestEmulator(), startEmulator()]);
});
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all([emulator?.stop(), stranger?.stop()]);
});

describe("createNodeFetch through an explicit proxy", () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(() => proxy?.close());

  it("tunnels to the emulator and keeps the tunnel alive for the next request", async () => {
    const fetch = kept(createNodeFetch({ proxy: proxy.url, ca: sharedCa, env: {} }));
    const first = await fetch(discovery(emulator));
    expect(first.status).toBe(200);
    expect(((await first.json()) as { issuer: string }).issuer).toBe(`${emulator.url}/{tenantid}/v2.0`);
    expect(proxy.tunnels).toEqual([new URL(emulator.url).host]);

    // The connection is back in the pool once the body was read: the very next request reuses it.
    for (let i = 0; i < 3; i++) {
      const next = await fetch(discovery(emulator), { headers: { accept: "application/json" } });
      expect(next.status).toBe(200);
      await next.text();
    }
    expect(proxy.tunnels).toHaveLength(1);
    expect(proxy.connections).toBe(1);
  });

  it("sends the proxy URL's credentials as Proxy-Authorization", async () => {
    const before = proxy.authorizations.length;
    const fetch = kept(createNodeFetch({ proxy: `http://alice:s%3Acret@127.0.0.1:${proxy.port}`, env: {} }));
    expect((await fetch(discovery(emulator))).status).toBe(200);
    expect(proxy.authorizations.slice(before)).toEqual([`Basic ${btoa("alice:s:cret")}`]);
  });

  it("applies `ca` to TLS with the server inside the tunnel", async () => {
    const withoutCa = kept(createNodeFetch({ proxy: proxy.url, env: {} }));
    const network = networkErrorFrom(await failure(withoutCa(discovery(stranger))), discovery(stranger), {
      proxy: proxy.url,
    });
    expect(network.kind).toBe("tls");
    expect(network.hint).toBe(UNTRUSTED_HINT);

    const withCa = kept(createNodeFetch({ proxy: proxy.url, ca: stranger.caPem, env: {} }));
    expect((await withCa(discovery(stranger))).status).toBe(200);
  });

  it("the explicit proxy wins over the environment's NO_PROXY and HTTPS_PROXY", async () => {
    const before = proxy.tunnels.length;
    const fetch = kept(
      createNodeFetch({
        proxy: proxy.url,
        env: { HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "localhost" },
      }),
    );
    expect((await fetch(discovery(emulator))).status).toBe(200);
    expect(proxy.tunnels.length).toBe(before + 1);
  });
});

describe("createNodeFetch with the proxy from the environment", () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy();
  });
  afterAll(() => proxy?.close());

  it("HTTPS_PROXY sends through the proxy; NO_PROXY=localhost goes direct", async () => {
    const viaProxy = kept(createNodeFetch({ env: { HTTPS_PROXY: proxy.url }, ca: stranger.caPem }));
    expect((await viaProxy(discovery(emulator))).status).toBe(200);
    expect((await viaProxy(discovery(stranger))).status).toBe(200);
    expect(proxy.tunnels).toEqual([new URL(emulator.url).host, new URL(stranger.url).host]);

    const direct = kept(
      createNodeFetch({ env: { HTTPS_PROXY: proxy.url, NO_PROXY: "localhost" }, ca: stranger.caPem }),
    );
    expect((await direct(discovery(emulator))).status).toBe(200);
    expect((await direct(discovery(stranger))).status).toBe(200);
    expect(proxy.tunnels).toHaveLength(2);
  });

  it("lower-case https_proxy and no_proxy count too, and HTTP_PROXY serves https when HTTPS_PROXY is unset", async () => {
    const before = proxy.tunnels.length;
    const lower = kept(createNodeFetch({ env: { https_proxy: proxy.url } }));
    expect((await lower(discovery(emulator))).status).toBe(200);
    const httpOnly = kept(createNodeFetch({ env: { HTTP_PROXY: proxy.url } }));
    expect((await httpOnly(discovery(emulator))).status).toBe(200);
    expect(proxy.tunnels.length).toBe(before + 2);
    const bypass = kept(createNodeFetch({ env: { https_proxy: proxy.url, no_proxy: "*" } }));
    expect((await bypass(discovery(emulator))).status).toBe(200);
    expect(proxy.tunnels.length).toBe(before + 2);
  });

  it("reads the `env` it is given, not process.env", async () => {
    const saved = { HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
    const before = proxy.tunnels.length;
    try {
      process.env.HTTPS_PROXY = proxy.url;
      process.env.NO_PROXY = "localhost";
      // An empty env: no proxy, although process.env names one.
      const none = kept(createNodeFetch({ env: {} }));
      expect((await none(discovery(emulator))).status).toBe(200);
      expect(proxy.tunnels.length).toBe(before);
      // A proxy in env and no NO_PROXY there: process.env's NO_PROXY does not apply.
      const given = kept(createNodeFetch({ env: { HTTPS_PROXY: proxy.url } }));
      expect((await given(discovery(emulator))).status).toBe(200);
      expect(proxy.tunnels.length).toBe(before + 1);
      // No env option: process.env.
      delete process.env.NO_PROXY;
      const fromProcess = kept(createNodeFetch());
      expect((await fromProcess(discovery(emulator))).status).toBe(200);
      expect(proxy.tunnels.length).toBe(before + 2);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });
});

describe("createNodeFetch `ca`", () => {
  it("an emulator with its own CA is a tls NetworkError without `ca`, and 200 with it", async () => {
    const url = discovery(stranger);
    const plain = kept(createNodeFetch({ env: {} }));
    const error = await failure(plain(url));
    const network = networkErrorFrom(error, url);
    expect(network).toBeInstanceOf(NetworkError);
    expect(network.kind).toBe("tls");
    expect(network.hint).toBe(UNTRUSTED_HINT);
    expect(network.message).toBe(
      `Could not reach ${url}: the TLS connection failed (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate). ${UNTRUSTED_HINT}`,
    );

    const trusting = kept(createNodeFetch({ env: {}, ca: stranger.caPem }));
    expect((await trusting(url)).status).toBe(200);
  });

  it("adds to the defaults: NODE_EXTRA_CA_CERTS (the shared test CA) is still trusted", async () => {
    expect(process.env.NODE_EXTRA_CA_CERTS).toBeTruthy();
    const trusting = kept(createNodeFetch({ env: {}, ca: [stranger.caPem] }));
    expect((await trusting(discovery(emulator))).status).toBe(200);
    expect((await trusting(discovery(stranger))).status).toBe(200);
  });
});

describe("createNodeFetch failures, classified", () => {
  it("a proxy that answers 407 is a proxy NetworkError naming the URL and not the password", async () => {
    const proxy = await startProxy("407");
    try {
      const proxyUrl = `http://user:pa55word@127.0.0.1:${proxy.port}`;
      const fetch = kept(createNodeFetch({ proxy: proxyUrl }));
      const url = `${discovery(emulator)}?client_secret=s3cret`;
      const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxyUrl });
      expect(network.kind).toBe("proxy");
      expect(network.hint).toBe(PROXY_AUTH_HINT);
      expect(network.message).toBe(
        `Could not reach ${discovery(emulator)}: the proxy http://user@127.0.0.1:${proxy.port} answered the tunnel request with 407 Proxy Authentication Required. ${PROXY_AUTH_HINT}`,
      );
      expect(network.message).not.toContain("pa55word");
      expect(network.message).not.toContain("s3cret");
      expect(proxy.authorizations).toEqual([`Basic ${btoa("user:pa55word")}`]);
    } finally {
      await proxy.close();
    }
  });

  it("a proxy that drops the CONNECT is a proxy NetworkError at once (no reconnect loop)", async () => {
    const proxy = await startProxy("drop");
    try {
      const fetch = kept(createNodeFetch({ proxy: proxy.url }));
      const url = discovery(emulator);
      const error = await failure(fetch(url, { signal: AbortSignal.timeout(5000) }));
      const network = networkErrorFrom(error, url, { proxy: proxy.url });
      expect(network.kind).toBe("proxy");
      expect(network.message).toBe(
        `Could not reach ${url}: the proxy ${proxy.url} failed (ERR_PROXY_TUNNEL: The proxy closed the connection while the tunnel was being set up). ${PROXY_HINT}`,
      );
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("a proxy nobody listens on is a proxy NetworkError, not connection_refused", async () => {
    const port = await closedPort();
    const proxyUrl = `http://127.0.0.1:${port}`;
    const fetch = kept(createNodeFetch({ env: { HTTPS_PROXY: proxyUrl } }));
    const url = discovery(emulator);
    const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxyUrl });
    expect(network.kind).toBe("proxy");
    expect(network.message).toBe(
      `Could not reach ${url}: the proxy ${proxyUrl} refused the connection (ECONNREFUSED). ${PROXY_HINT}`,
    );
  });

  it("a proxy whose name does not resolve is a proxy NetworkError, not dns", async () => {
    const proxyUrl = "http://proxy.invalid:3128";
    const fetch = kept(createNodeFetch({ proxy: proxyUrl }));
    const url = discovery(emulator);
    const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxyUrl });
    expect(network.kind).toBe("proxy");
    expect(network.message).toBe(
      `Could not reach ${url}: the proxy ${proxyUrl} could not be resolved (ENOTFOUND). ${PROXY_HINT}`,
    );
  });

  it("a refused server bypassing the proxy (NO_PROXY) is connection_refused although a proxy is set", async () => {
    const proxy = await startProxy();
    try {
      const port = await closedPort();
      const fetch = kept(createNodeFetch({ env: { HTTPS_PROXY: proxy.url, NO_PROXY: "127.0.0.1" } }));
      const url = `https://127.0.0.1:${port}/token`;
      const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxy.url });
      expect(network.kind).toBe("connection_refused");
      expect(proxy.tunnels).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it("`timeoutMs` bounds the wait for response headers: timeout", async () => {
    const silent = await tcpServer();
    try {
      const url = `http://127.0.0.1:${silent.port}/token`;
      const fetch = kept(createNodeFetch({ env: {}, timeoutMs: 300 }));
      const network = networkErrorFrom(await failure(fetch(url)), url, { timeoutMs: 300 });
      expect(network.kind).toBe("timeout");
      expect(network.message).toBe(
        `Could not reach ${url}: the server sent no response in time (300 ms, ERR_HEADERS_TIMEOUT). ${TIMEOUT_HINT}`,
      );
    } finally {
      await silent.close();
    }
  });

  it("`timeoutMs` bounds a CONNECT the proxy never answers: timeout", async () => {
    const proxy = await startProxy("hang");
    try {
      const fetch = kept(createNodeFetch({ proxy: proxy.url, timeoutMs: 300 }));
      const url = discovery(emulator);
      const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxy.url, timeoutMs: 300 });
      expect(network.kind).toBe("timeout");
      expect(network.message).toBe(
        `Could not reach ${url}: the proxy did not set up the tunnel in time (300 ms, ERR_PROXY_TIMEOUT). ${TIMEOUT_HINT}`,
      );
      expect(proxy.tunnels).toEqual([new URL(emulator.url).host]);
    } finally {
      await proxy.close();
    }
  });

  it("a proxy that is not a URL is a ConfigurationError that hides the password", () => {
    expect(() => createNodeFetch({ proxy: "http://user:secret@" })).toThrowError(
      "proxy is not a URL (http://user:***@): give it as http://host:port, with user:password@ before the host if the proxy needs credentials.",
    );
    expect(() => createNodeFetch({ env: { HTTPS_PROXY: "ftp://proxy:21" } })).toThrowError(
      "HTTPS_PROXY has the scheme ftp: (ftp://proxy:21): use http://host:port (or https:// for a proxy spoken to over TLS).",
    );
  });
});

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What the echo server sends for `/gzip` and `/br`, compressed. */
const CODED = JSON.stringify({ coded: "yes", padding: "x".repeat(2000) });

/**
 * Echoes a request as JSON (201) with its method, target, headers and body; or redirects
 * (`/redirect/<status>?to=<location>`, `/loop`), answers compressed (`/gzip`, `/br`), with no
 * content (`/no-content`), or starts a body it never finishes (`/stall`).
 */
function echoRoutes(req: IncomingMessage, res: ServerResponse, body: string): void {
  const url = new URL(req.url ?? "/", "http://echo");
  const redirect = /^\/redirect\/(\d{3})$/.exec(url.pathname);
  if (redirect) {
    res.writeHead(Number(redirect[1]), { location: url.searchParams.get("to") ?? "/" }).end("moved");
  } else if (url.pathname === "/loop") {
    res.writeHead(302, { location: "/loop" }).end();
  } else if (url.pathname === "/gzip") {
    res
      .writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" })
      .end(gzipSync(CODED));
  } else if (url.pathname === "/br") {
    res.writeHead(200, { "content-type": "application/json", "content-encoding": "br" });
    res.end(brotliCompressSync(CODED));
  } else if (url.pathname === "/no-content") {
    res.writeHead(204).end();
  } else if (url.pathname === "/stall") {
    res.writeHead(200, { "content-type": "text/plain" }).write("the start, and no more");
  } else {
    res.writeHead(201, { "content-type": "application/json", "x-echo": "yes" });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
  }
}

let echo: Server;
let echoUrl: string;
/** TCP connections the echo server accepted. */
let echoConnections = 0;
beforeAll(async () => {
  echo = createHttpServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => echoRoutes(req, res, body));
  });
  echo.on("connection", () => echoConnections++);
  await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
});
afterAll(async () => {
  echo?.closeAllConnections();
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

describe("createNodeFetch request shapes", () => {
  it("a URL string with RequestInit (Headers, a form body, a signal) gives a standard-shaped Response", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const response = await fetch(`${echoUrl}/token?x=1`, {
      method: "POST",
      headers: new Headers({ "x-client-sku": "msal-ts" }),
      body: new URLSearchParams({ grant_type: "client_credentials" }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers.get("x-echo")).toBe("yes");
    const echoed = (await response.json()) as Echo;
    expect(echoed).toMatchObject({
      method: "POST",
      url: "/token?x=1",
      body: "grant_type=client_credentials",
      headers: {
        "x-client-sku": "msal-ts",
        "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
      },
    });
  });

  it("a global Request and a global FormData body are sent as they are", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const request = new Request(new URL(`${echoUrl}/req`), {
      method: "PUT",
      headers: { "x-one": "1" },
      body: "plain text",
    });
    const fromRequest = (await (await fetch(request)).json()) as Echo;
    expect(fromRequest).toMatchObject({
      method: "PUT",
      url: "/req",
      body: "plain text",
      headers: { "x-one": "1" },
    });

    const form = new FormData();
    form.append("grant_type", "client_credentials");
    const fromForm = (await (await fetch(`${echoUrl}/form`, { method: "POST", body: form })).json()) as Echo;
    expect(fromForm.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    expect(fromForm.body).toContain('name="grant_type"');
    expect(fromForm.body).toContain("client_credentials");

    const fromUrl = (await (await fetch(new URL(`${echoUrl}/u`))).json()) as Echo;
    expect(fromUrl).toMatchObject({ method: "GET", url: "/u", body: "" });
  });
});

describe("createNodeFetch responses and redirects", () => {
  it("asks for compressed responses, and decodes gzip and br", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const echoed = (await (await fetch(`${echoUrl}/headers`)).json()) as Echo;
    // undici's fetch offers br over https only; it decodes br wherever it comes.
    expect(echoed.headers["accept-encoding"]).toBe("gzip, deflate");
    for (const path of ["/gzip", "/br"]) {
      const response = await fetch(`${echoUrl}${path}`);
      expect(response.headers.get("content-encoding")).toBe(path.slice(1));
      expect(await response.text()).toBe(CODED);
    }
  });

  it("204 and HEAD have no body; url and redirected are set", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const noContent = await fetch(`${echoUrl}/no-content#fragment`);
    expect(noContent.status).toBe(204);
    expect(noContent.body).toBeNull();
    expect(noContent.url).toBe(`${echoUrl}/no-content`);
    expect(noContent.redirected).toBe(false);
    const head = await fetch(`${echoUrl}/x`, { method: "HEAD" });
    expect(head.status).toBe(201);
    expect(await head.text()).toBe("");
  });

  it("follows redirects like fetch: 302 turns POST into GET, 307 keeps the method and body", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const init = {
      method: "POST",
      body: "a=1",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    };
    const found = await fetch(`${echoUrl}/redirect/302?to=/after-302`, init);
    expect(found.status).toBe(201);
    expect(found.redirected).toBe(true);
    expect(found.url).toBe(`${echoUrl}/after-302`);
    const asGet = (await found.json()) as Echo;
    expect(asGet).toMatchObject({ method: "GET", url: "/after-302", body: "" });
    expect(asGet.headers["content-type"]).toBeUndefined();

    const kept307 = (await (await fetch(`${echoUrl}/redirect/307?to=/after-307`, init)).json()) as Echo;
    expect(kept307).toMatchObject({ method: "POST", url: "/after-307", body: "a=1" });
    expect(kept307.headers["content-type"]).toBe("application/x-www-form-urlencoded");
  });

  it("drops Authorization on a redirect to another origin, and keeps it on the same one", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const headers = { authorization: "Bearer s3cret" };
    const same = (await (await fetch(`${echoUrl}/redirect/302?to=/same`, { headers })).json()) as Echo;
    expect(same.headers.authorization).toBe("Bearer s3cret");
    const other = echoUrl.replace("127.0.0.1", "localhost");
    const elsewhere = (await (
      await fetch(`${echoUrl}/redirect/302?to=${other}/other`, { headers })
    ).json()) as Echo;
    expect(elsewhere.url).toBe("/other");
    expect(elsewhere.headers.authorization).toBeUndefined();
  });

  it("redirect 'manual' returns the 3xx, 'error' rejects, and more than 20 redirects reject", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const manual = await fetch(`${echoUrl}/redirect/301?to=/moved`, { redirect: "manual" });
    expect(manual.status).toBe(301);
    expect(manual.headers.get("location")).toBe("/moved");
    expect(await manual.text()).toBe("moved");

    const refused = await failure(fetch(`${echoUrl}/redirect/302?to=/x`, { redirect: "error" }));
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toBe("fetch failed");

    const looping = (await failure(fetch(`${echoUrl}/loop`))) as Error;
    expect(looping.message).toBe("fetch failed");
    expect((looping.cause as Error).message).toBe("redirect count exceeded");
  });
});

describe("createNodeFetch aborts", () => {
  it("an already aborted signal rejects with its reason, without connecting", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const before = echoConnections;
    const reason = new DOMException("stop", "AbortError");
    await expect(fetch(`${echoUrl}/x`, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(echoConnections).toBe(before);
  });

  it("aborting while the body arrives ends the body with the signal's reason", async () => {
    const fetch = createNodeFetch({ env: {} });
    try {
      const controller = new AbortController();
      const response = await fetch(`${echoUrl}/stall`, { signal: controller.signal });
      expect(response.status).toBe(200);
      const reading = failure(response.text());
      setTimeout(() => controller.abort(), 50);
      const error = (await reading) as Error;
      expect(error.name).toBe("AbortError");
      expect(networkErrorFrom(error, `${echoUrl}/stall`).kind).toBe("aborted");
    } finally {
      // undici opens a spare connection after an abort; closed here, it is not counted below.
      await fetch.close();
    }
  });
});

describe("createNodeFetch with redirect 'manual' (how msal-ts sends its requests)", () => {
  const manual = { redirect: "manual" } as const;

  it("sends a form POST and gives a standard Response: status, headers, url, decoded gzip", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const response = await fetch(`${echoUrl}/token?x=1#f`, {
      ...manual,
      method: "POST",
      headers: { "x-client-sku": "msal-ts" },
      body: new URLSearchParams({ grant_type: "client_credentials" }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(response.status).toBe(201);
    expect(response.url).toBe(`${echoUrl}/token?x=1`);
    expect(response.headers.get("x-echo")).toBe("yes");
    expect((await response.json()) as Echo).toMatchObject({
      method: "POST",
      url: "/token?x=1",
      body: "grant_type=client_credentials",
      headers: {
        "x-client-sku": "msal-ts",
        "accept-encoding": "gzip, deflate",
        "content-type": "application/x-www-form-urlencoded;charset=UTF-8",
      },
    });
    expect(await (await fetch(`${echoUrl}/gzip`, manual)).text()).toBe(CODED);
  });

  it("returns a 3xx as it is, and 204 and HEAD without a body", async () => {
    const fetch = kept(createNodeFetch({ env: {} }));
    const moved = await fetch(`${echoUrl}/redirect/302?to=/elsewhere`, {
      ...manual,
      method: "POST",
      body: "a=1",
    });
    expect(moved.status).toBe(302);
    expect(moved.headers.get("location")).toBe("/elsewhere");
    expect(await moved.text()).toBe("moved");
    const noContent = await fetch(`${echoUrl}/no-content`, manual);
    expect(noContent.status).toBe(204);
    expect(noContent.body).toBeNull();
    expect((await fetch(`${echoUrl}/x`, { ...manual, method: "HEAD" })).body).toBeNull();
  });

  it("aborts with the signal's reason: before connecting, and while the body arrives", async () => {
    const fetch = createNodeFetch({ env: {} });
    try {
      const before = echoConnections;
      const reason = new DOMException("stop", "AbortError");
      await expect(fetch(`${echoUrl}/x`, { ...manual, signal: AbortSignal.abort(reason) })).rejects.toBe(
        reason,
      );
      expect(echoConnections).toBe(before);
      const controller = new AbortController();
      const response = await fetch(`${echoUrl}/stall`, { ...manual, signal: controller.signal });
      const reading = failure(response.text());
      setTimeout(() => controller.abort(), 50);
      const error = (await reading) as Error;
      expect(error.name).toBe("AbortError");
      expect(networkErrorFrom(error, `${echoUrl}/stall`).kind).toBe("aborted");
    } finally {
      await fetch.close();
    }
  });

  it("fails like fetch: refused, header timeout, and through a proxy that answers 407", async () => {
    const port = await closedPort();
    const fetch = kept(createNodeFetch({ env: {} }));
    const refused = await failure(fetch(`http://127.0.0.1:${port}/token`, manual));
    expect(refused).toBeInstanceOf(TypeError);
    expect((refused as Error).message).toBe("fetch failed");
    expect(networkErrorFrom(refused, `http://127.0.0.1:${port}/token`).kind).toBe("connection_refused");

    const silent = await tcpServer();
    try {
      const url = `http://127.0.0.1:${silent.port}/token`;
      const timed = kept(createNodeFetch({ env: {}, timeoutMs: 300 }));
      const network = networkErrorFrom(await failure(timed(url, manual)), url, { timeoutMs: 300 });
      expect(network.message).toBe(
        `Could not reach ${url}: the server sent no response in time (300 ms, ERR_HEADERS_TIMEOUT). ${TIMEOUT_HINT}`,
      );
    } finally {
      await silent.close();
    }

    const proxy = await startProxy("407");
    try {
      const proxyUrl = `http://user:pa55word@127.0.0.1:${proxy.port}`;
      const viaProxy = kept(createNodeFetch({ proxy: proxyUrl }));
      const url = discovery(emulator);
      const network = networkErrorFrom(await failure(viaProxy(url, manual)), url, { proxy: proxyUrl });
      expect(network.kind).toBe("proxy");
      expect(network.hint).toBe(PROXY_AUTH_HINT);
    } finally {
      await proxy.close();
    }
  });

  it("tunnels through a proxy with `ca`, on one kept-alive tunnel", async () => {
    const proxy = await startProxy();
    try {
      const fetch = kept(createNodeFetch({ proxy: proxy.url, ca: stranger.caPem, env: {} }));
      for (let i = 0; i < 3; i++) {
        const response = await fetch(discovery(stranger), manual);
        expect(((await response.json()) as { issuer: string }).issuer).toBe(
          `${stranger.url}/{tenantid}/v2.0`,
        );
      }
      expect(proxy.tunnels).toEqual([new URL(stranger.url).host]);
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });
});

describe("createNodeFetch connections", () => {
  it("sequential requests share one kept-alive connection; close() ends it", async () => {
    const fetch = createNodeFetch({ env: {} });
    const before = echoConnections;
    for (let i = 0; i < 20; i++) {
      const response = await fetch(`${echoUrl}/n/${i}`, { method: "POST", body: `request ${i}` });
      expect(((await response.json()) as Echo).body).toBe(`request ${i}`);
    }
    expect(echoConnections - before).toBe(1);
    const open = await new Promise<number>((resolve, reject) =>
      echo.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    await fetch.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = await new Promise<number>((resolve, reject) =>
      echo.getConnections((error, count) => (error ? reject(error) : resolve(count))),
    );
    expect(after).toBe(open - 1);
  });

  it("a kept-alive connection the server closes as the next request arrives is retried on a new one", async () => {
    let connections = 0;
    const sockets = new Set<Socket>();
    const server = createTcpServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.on("error", () => {});
      let served = 0;
      socket.on("data", () => {
        if (served++ > 0) return void socket.destroy();
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=60\r\n\r\nok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const fetch = kept(createNodeFetch({ env: {} }));
      expect(await (await fetch(url)).text()).toBe("ok");
      expect(await (await fetch(url)).text()).toBe("ok");
      expect(connections).toBe(2);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("`timeoutMs` bounds a TLS handshake that never completes: timeout", async () => {
    const silent = await tcpServer();
    try {
      const port = silent.port;
      const url = `https://127.0.0.1:${port}/token`;
      const fetch = kept(createNodeFetch({ env: {}, timeoutMs: 300 }));
      const network = networkErrorFrom(await failure(fetch(url)), url, { timeoutMs: 300 });
      expect(network.kind).toBe("timeout");
      expect(network.message).toBe(
        `Could not reach ${url}: the connection could not be established in time (300 ms, ERR_CONNECT_TIMEOUT). ${TIMEOUT_HINT}`,
      );

      // The same silent server as an https:// proxy: the proxy could not be connected to.
      const proxyUrl = `https://127.0.0.1:${port}`;
      const viaProxy = kept(createNodeFetch({ proxy: proxyUrl, timeoutMs: 300 }));
      const target = discovery(emulator);
      const proxied = networkErrorFrom(await failure(viaProxy(target)), target, { proxy: proxyUrl });
      expect(proxied.kind).toBe("proxy");
      expect(proxied.message).toBe(
        `Could not reach ${target}: the proxy ${proxyUrl} could not be connected to in time (ERR_CONNECT_TIMEOUT). ${PROXY_HINT}`,
      );
    } finally {
      await silent.close();
    }
  });
});

describe("createNodeFetch through other kinds of proxy", () => {
  it("forwards plain http to an HTTP proxy as absolute-URI requests, with its credentials", async () => {
    const proxy = await startProxy();
    try {
      const fetch = kept(createNodeFetch({ proxy: `http://bob:pw%40@127.0.0.1:${proxy.port}`, env: {} }));
      const echoed = (await (await fetch(`${echoUrl}/via?x=1`)).json()) as Echo;
      expect(echoed).toMatchObject({ method: "GET", url: "/via?x=1" });
      expect(echoed.headers.host).toBe(new URL(echoUrl).host);
      expect(proxy.forwarded).toEqual([`${echoUrl}/via?x=1`]);
      expect(proxy.authorizations).toEqual([`Basic ${btoa("bob:pw@")}`]);
      expect(proxy.tunnels).toEqual([]);

      // From the environment, http URLs take HTTP_PROXY; HTTPS_PROXY alone leaves them direct.
      const fromEnv = kept(createNodeFetch({ env: { HTTP_PROXY: proxy.url } }));
      expect((await fromEnv(`${echoUrl}/env`)).status).toBe(201);
      expect(proxy.forwarded).toHaveLength(2);
      const httpsOnly = kept(createNodeFetch({ env: { HTTPS_PROXY: proxy.url } }));
      expect((await httpsOnly(`${echoUrl}/direct`)).status).toBe(201);
      expect(proxy.forwarded).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });

  it("speaks TLS to an https:// proxy, trusting `ca` for it as for the server, and tunnels through it", async () => {
    const proxyCa = createCertificateAuthority("fetch.test proxy CA");
    const certificate = createServerCertificate(proxyCa, {
      dnsNames: ["localhost"],
      ipAddresses: ["127.0.0.1"],
    });
    const proxy = await startProxy("tunnel", {
      key: certificate.privateKeyPem,
      cert: certificate.certificatePem,
    });
    try {
      const untrusting = kept(createNodeFetch({ proxy: proxy.url, env: {} }));
      const url = discovery(emulator);
      const network = networkErrorFrom(await failure(untrusting(url)), url, { proxy: proxy.url });
      expect(network.kind).toBe("tls");
      expect(proxy.tunnels).toEqual([]);

      const proxyUrl = `https://carol:pw@127.0.0.1:${proxy.port}`;
      const trusting = kept(createNodeFetch({ proxy: proxyUrl, ca: proxyCa.certificatePem, env: {} }));
      for (let i = 0; i < 3; i++)
        expect((await (await trusting(url)).json()) as object).toHaveProperty("issuer");
      expect(proxy.tunnels).toEqual([new URL(emulator.url).host]);
      expect(proxy.authorizations).toEqual([`Basic ${btoa("carol:pw")}`]);
      // One TLS connection to the proxy for the untrusted attempt, one kept alive for the three.
      expect(proxy.connections).toBe(2);
    } finally {
      await proxy.close();
    }
  });

  it("opens SOCKS5 tunnels, with username and password when the URL has them", async () => {
    const open = await startSocksProxy();
    const guarded = await startSocksProxy({ username: "dave", password: "s:cret" });
    try {
      const fetch = kept(createNodeFetch({ proxy: `socks5://127.0.0.1:${open.port}`, env: {} }));
      expect((await fetch(discovery(emulator))).status).toBe(200);
      expect(((await (await fetch(`${echoUrl}/socks`)).json()) as Echo).url).toBe("/socks");
      expect(open.connects).toEqual([new URL(emulator.url).host, new URL(echoUrl).host]);

      const withCredentials = kept(
        createNodeFetch({ proxy: `socks://dave:s%3Acret@127.0.0.1:${guarded.port}`, env: {} }),
      );
      expect((await withCredentials(discovery(emulator))).status).toBe(200);

      const proxyUrl = `socks5://dave:wrong@127.0.0.1:${guarded.port}`;
      const wrong = kept(createNodeFetch({ proxy: proxyUrl, env: {} }));
      const url = discovery(emulator);
      const network = networkErrorFrom(await failure(wrong(url)), url, { proxy: proxyUrl });
      expect(network.kind).toBe("proxy");
      expect(network.hint).toBe(PROXY_AUTH_HINT);
      expect(network.message).not.toContain("wrong");
      expect(guarded.connects).toEqual([new URL(emulator.url).host]);
    } finally {
      await open.close();
      await guarded.close();
    }
  });
});

interface SocksProxy {
  port: number;
  /** `host:port` of each tunnel opened. */
  connects: string[];
  close(): Promise<void>;
}

/** A minimal SOCKS5 server (RFC 1928, with RFC 1929 username/password when given credentials). */
async function startSocksProxy(credentials?: { username: string; password: string }): Promise<SocksProxy> {
  const sockets = new Set<Socket>();
  const proxy: SocksProxy = { port: 0, connects: [], close: async () => {} };
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
  };
  const server = createTcpServer((client) => {
    track(client);
    let stage: "greeting" | "auth" | "request" = "greeting";
    let data = Buffer.alloc(0);
    const step = (): void => {
      if (stage === "greeting") {
        const count = data[1] ?? 0;
        if (data.length < 2 + count) return;
        const methods = [...data.subarray(2, 2 + count)];
        data = data.subarray(2 + count);
        const method = credentials ? 2 : 0;
        if (!methods.includes(method)) return void client.end(Buffer.from([5, 0xff]));
        client.write(Buffer.from([5, method]));
        stage = credentials ? "auth" : "request";
        step();
        return;
      }
      if (stage === "auth") {
        const userLength = data[1] ?? 0;
        const passwordLength = data[2 + userLength];
        if (passwordLength === undefined || data.length < 3 + userLength + passwordLength) return;
        const user = data.subarray(2, 2 + userLength).toString();
        const password = data.subarray(3 + userLength, 3 + userLength + passwordLength).toString();
        data = data.subarray(3 + userLength + passwordLength);
        const ok = user === credentials?.username && password === credentials.password;
        if (!ok) return void client.end(Buffer.from([1, 1]));
        client.write(Buffer.from([1, 0]));
        stage = "request";
        step();
        return;
      }
      if (data.length < 5) return;
      const type = data[3];
      const addressLength = type === 1 ? 4 : type === 4 ? 16 : (data[4] ?? 0) + 1;
      if (data.length < 4 + addressLength + 2) return;
      const host =
        type === 1 ? [...data.subarray(4, 8)].join(".") : data.subarray(5, 5 + addressLength - 1).toString();
      const port = data.readUInt16BE(4 + addressLength);
      proxy.connects.push(`${host}:${port}`);
      client.removeAllListeners("data");
      const upstream = connect(port, host, () => {
        client.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]));
        upstream.pipe(client);
        client.pipe(upstream);
      });
      track(upstream);
      upstream.on("error", () => client.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])));
      client.on("close", () => upstream.destroy());
    };
    client.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      step();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.port = (server.address() as AddressInfo).port;
  proxy.close = async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}

describe("proxySelector (which proxy a URL takes)", () => {
  const proxy = "http://proxy.corp:3128";
  const via = (env: Record<string, string>, url: string) => proxySelector({ env })(new URL(url))?.hostname;

  it("NO_PROXY: hosts and their subdomains, leading dots and wildcards, ports, IPv6, and *", () => {
    const env = { HTTPS_PROXY: proxy, NO_PROXY: "example.com, .corp.test,*.internal:8443 [::1] 10.0.0.1" };
    expect(via(env, "https://example.com/")).toBeUndefined();
    expect(via(env, "https://login.example.com/")).toBeUndefined();
    expect(via(env, "https://badexample.com/")).toBe("proxy.corp");
    expect(via(env, "https://corp.test/")).toBeUndefined();
    expect(via(env, "https://a.corp.test/")).toBeUndefined();
    expect(via(env, "https://svc.internal:8443/")).toBeUndefined();
    expect(via(env, "https://svc.internal/")).toBe("proxy.corp");
    expect(via(env, "https://[::1]:9000/")).toBeUndefined();
    expect(via(env, "https://10.0.0.1/")).toBeUndefined();
    expect(via({ HTTPS_PROXY: proxy, no_proxy: "*" }, "https://anything.example/")).toBeUndefined();
  });

  it("lower case wins; the explicit proxy ignores NO_PROXY; default ports per scheme", () => {
    expect(via({ https_proxy: "http://lower:1", HTTPS_PROXY: "http://upper:1" }, "https://a.example/")).toBe(
      "lower",
    );
    const explicit = proxySelector({ proxy: "socks5://u:p@socks.corp", env: { NO_PROXY: "*" } });
    expect(explicit(new URL("https://a.example/"))).toMatchObject({
      protocol: "socks:",
      hostname: "socks.corp",
      port: 1080,
      username: "u",
      password: "p",
    });
    expect(proxySelector({ proxy: "https://p.corp" })(new URL("http://a.example/"))?.port).toBe(443);
    expect(proxySelector({ proxy: "http://p.corp" })(new URL("http://a.example/"))?.port).toBe(80);
  });
});

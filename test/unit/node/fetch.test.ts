/**
 * createNodeFetch against the emulator over HTTPS: through a real CONNECT proxy (explicit, or from
 * the environment, with NO_PROXY), with keep-alive, with an extra CA (and without it, against an
 * emulator whose CA nobody trusts), and the NetworkError kinds of a proxy that refuses, drops or
 * demands credentials, and of the dispatcher's own timeout.
 */
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Emulator, startEmulator } from "../../../emulator/index.js";
import { NetworkError, networkErrorFrom } from "../../../src/http/network-error.js";
import { createNodeFetch } from "../../../src/node/fetch.js";
import { startTestEmulator } from "../../support/emulator.js";

type Behaviour = "tunnel" | "407" | "drop" | "hang";

interface TestProxy {
  url: string;
  port: number;
  /** CONNECT targets, one per tunnel opened (or refused). */
  tunnels: string[];
  /** Proxy-Authorization headers received with CONNECT. */
  authorizations: Array<string | undefined>;
  /** TCP connections accepted. */
  connections: number;
  close(): Promise<void>;
}

/** A tiny HTTP proxy that only does CONNECT, on 127.0.0.1. */
async function startProxy(behaviour: Behaviour = "tunnel"): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server: Server = createHttpServer((_req, res) => res.writeHead(405).end());
  const proxy: TestProxy = {
    url: "",
    port: 0,
    tunnels: [],
    authorizations: [],
    connections: 0,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
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
  proxy.url = `http://127.0.0.1:${proxy.port}`;
  return proxy;
}

async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("The request was expected to fail.");
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

    // undici frees the connection a tick after the body ends: a request sent in that same tick
    // finds it busy and opens a second one. One macrotask later, the tunnel is reused.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setImmediate(resolve));
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
      const started = Date.now();
      const error = await failure(fetch(url, { signal: AbortSignal.timeout(5000) }));
      expect(Date.now() - started).toBeLessThan(4000);
      const network = networkErrorFrom(error, url, { proxy: proxy.url });
      expect(network.kind).toBe("proxy");
      expect(network.message).toBe(
        `Could not reach ${url}: the proxy ${proxy.url} failed (UND_ERR_PRX_CONN: Proxy closed the connection while the tunnel was being set up (other side closed): UND_ERR_SOCKET: other side closed). ${PROXY_HINT}`,
      );
      expect(proxy.connections).toBe(1);
    } finally {
      await proxy.close();
    }
  });

  it("a proxy nobody listens on is a proxy NetworkError, not connection_refused", async () => {
    const port = await freePort();
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
      const port = await freePort();
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
    const sockets = new Set<Socket>();
    const silent = createTcpServer((socket) => {
      sockets.add(socket);
      socket.on("error", () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/token`;
      const fetch = kept(createNodeFetch({ env: {}, timeoutMs: 300 }));
      const started = Date.now();
      const network = networkErrorFrom(await failure(fetch(url)), url, { timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(network.kind).toBe("timeout");
      expect(network.message).toBe(
        `Could not reach ${url}: the server sent no response in time (300 ms, UND_ERR_HEADERS_TIMEOUT). ${TIMEOUT_HINT}`,
      );
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it("`timeoutMs` bounds a CONNECT the proxy never answers: timeout", async () => {
    const proxy = await startProxy("hang");
    try {
      const fetch = kept(createNodeFetch({ proxy: proxy.url, timeoutMs: 300 }));
      const url = discovery(emulator);
      const started = Date.now();
      const network = networkErrorFrom(await failure(fetch(url)), url, { proxy: proxy.url, timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(5000);
      expect(network.kind).toBe("timeout");
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

describe("createNodeFetch request shapes", () => {
  let echo: Server;
  let echoUrl: string;
  beforeAll(async () => {
    echo = createHttpServer((req, res) => {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => {
        res.writeHead(201, { "content-type": "application/json", "x-echo": "yes" });
        res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
      });
    });
    await new Promise<void>((resolve) => echo.listen(0, "127.0.0.1", resolve));
    echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    echo.closeAllConnections();
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  interface Echo {
    method: string;
    url: string;
    headers: Record<string, string>;
    body: string;
  }

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

/**
 * Transport defects, one test each: NO_PROXY entries that are bare IPv6 addresses or CIDR ranges,
 * a SOCKS5 host name longer than the protocol carries, `ca` under `--use-openssl-ca` (the OS
 * store must stay trusted), and listener growth on shared signals with 100 concurrent calls.
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { builtinModules, createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "rolldown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Emulator } from "../../emulator/index.js";
import { createCertificateAuthority, createServerCertificate } from "../../emulator/x509.js";
import { networkErrorFrom } from "../../src/http/network-error.js";
import { createNodeFetch } from "../../src/node/fetch.js";
import { ConfidentialClientApplication } from "../../src/node/index.js";
import { ROOT } from "../support/build.js";
import { app, authority, startTestEmulator } from "../support/emulator.js";
import { failure, type TcpServer, tcpServer } from "../support/tcp.js";

/** A plain http server on `host` answering every request with 200 "direct". */
async function directServer(host: string): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createHttpServer((_req, res) => res.writeHead(200).end("direct"));
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A "proxy" that counts connections and closes each at once: any request sent to it fails. */
async function countingProxy(): Promise<TcpServer & { connections: () => number; url: string }> {
  let connections = 0;
  const server = await tcpServer((socket) => {
    connections++;
    socket.destroy();
  });
  return { ...server, connections: () => connections, url: `http://127.0.0.1:${server.port}` };
}

/** What each request came to: `<status> <body>`, or `failed: <cause>`. */
async function statuses(fetch: (url: string) => Promise<Response>, urls: string[]): Promise<string[]> {
  return Promise.all(
    urls.map((url) =>
      fetch(url).then(
        async (response) => `${response.status} ${await response.text()}`,
        (error: unknown) => `failed: ${String((error as Error).cause ?? error)}`,
      ),
    ),
  );
}

describe("NO_PROXY", () => {
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let ipv6: Awaited<ReturnType<typeof directServer>>;
  let ipv4: Awaited<ReturnType<typeof directServer>>;
  beforeAll(async () => {
    [proxy, ipv6, ipv4] = await Promise.all([
      countingProxy(),
      directServer("::1"),
      directServer("127.0.0.1"),
    ]);
  });
  afterAll(async () => {
    await Promise.all([proxy?.close(), ipv6?.close(), ipv4?.close()]);
  });

  it("NO_PROXY ignores bare IPv6 entries (::1, [::1], [::1]:port): such hosts went through the proxy", async () => {
    const port = new URL(ipv6.url).port;
    for (const noProxy of ["::1", "[::1]", `[::1]:${port}`, "0:0:0:0:0:0:0:1"]) {
      const fetch = createNodeFetch({ env: { HTTP_PROXY: proxy.url, NO_PROXY: `example.com,${noProxy}` } });
      try {
        expect(await statuses(fetch, [`${ipv6.url}/token`])).toEqual(["200 direct"]);
      } finally {
        await fetch.close();
      }
    }
    expect(proxy.connections()).toBe(0);
  });

  it("NO_PROXY ignores CIDR entries (127.0.0.0/8, ::1/128): addresses in them went through the proxy", async () => {
    const fetch = createNodeFetch({
      env: { HTTP_PROXY: proxy.url, NO_PROXY: "10.0.0.0/8, 127.0.0.0/8 fd00::/8,::1/128" },
    });
    try {
      expect(await statuses(fetch, [`${ipv4.url}/a`, `${ipv6.url}/b`])).toEqual(["200 direct", "200 direct"]);
    } finally {
      await fetch.close();
    }
    expect(proxy.connections()).toBe(0);
    // An address outside every range still takes the proxy.
    const outside = createNodeFetch({ env: { HTTP_PROXY: proxy.url, NO_PROXY: "10.0.0.0/8,fd00::/8" } });
    try {
      expect((await statuses(outside, [`${ipv4.url}/c`]))[0]).toMatch(/^failed: /);
    } finally {
      await outside.close();
    }
    expect(proxy.connections()).toBe(1);
  });
});

it("a SOCKS5 host name over 255 bytes wrapped its one-byte length: it is refused, and the proxy never contacted", async () => {
  let connections = 0;
  let bytes = 0;
  const socks = await tcpServer((socket) => {
    connections++;
    socket.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
  });
  const label = "a".repeat(60);
  const host = `${label}.${label}.${label}.${label}.${label}.example`;
  expect(Buffer.byteLength(host)).toBe(312);
  const url = `https://${host}/common/discovery/instance`;
  const proxyUrl = `socks5://127.0.0.1:${socks.port}`;
  const fetch = createNodeFetch({ proxy: proxyUrl, env: {} });
  try {
    const error = await failure(fetch(url, { signal: AbortSignal.timeout(3000) }));
    expect(error).toBeInstanceOf(TypeError);
    const network = networkErrorFrom(error, url, { proxy: proxyUrl });
    expect(network.kind).toBe("proxy");
    expect(network.message).toBe(
      `Could not reach ${url.replace(/\?.*$/, "")}: the proxy ${proxyUrl} failed (ERR_PROXY_TUNNEL: The host name is 312 bytes long and a SOCKS5 proxy takes at most 255 (RFC 1928), so no tunnel was requested). Check the proxy's address and that it allows tunnels to this host, or fix HTTPS_PROXY; hosts that must not use the proxy go in NO_PROXY.`,
    );
    expect({ connections, bytes }).toEqual({ connections: 0, bytes: 0 });
  } finally {
    await fetch.close();
    await socks.close();
  }
});

describe("`ca` under node --use-openssl-ca", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "msal-ts-transport-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("with `ca` set under --use-openssl-ca the OS trust store was dropped: both stay trusted", async () => {
    // The OS store (SSL_CERT_FILE) holds one CA; `ca` gives another; each signs one server's certificate.
    const osCa = createCertificateAuthority("transport.test OS store CA");
    const extraCa = createCertificateAuthority("transport.test extra CA");
    const serve = async (ca: typeof osCa) => {
      const certificate = createServerCertificate(ca, {
        dnsNames: ["localhost"],
        ipAddresses: ["127.0.0.1"],
      });
      const server = createHttpsServer(
        { key: certificate.privateKeyPem, cert: certificate.certificatePem },
        (_req, res) => res.writeHead(200).end("trusted"),
      );
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return server;
    };
    const servers = await Promise.all([serve(osCa), serve(extraCa)]);
    try {
      const [osUrl, extraUrl] = servers.map((s) => `https://localhost:${(s.address() as AddressInfo).port}/`);
      writeFileSync(join(dir, "os-store.pem"), osCa.certificatePem);
      mkdirSync(join(dir, "empty-cert-dir"), { recursive: true });
      // createNodeFetch as a module a plain `node` can load (undici from this checkout).
      const bundle = join(dir, "bundle");
      const require = createRequire(import.meta.url);
      await build({
        input: join(ROOT, "src/node/fetch.ts"),
        platform: "node",
        logLevel: "silent",
        external: (id) => builtinModules.includes(id.replace(/^node:/, "")) || id === "undici",
        resolve: { extensionAlias: { ".js": [".ts", ".js"] } },
        output: {
          dir: bundle,
          format: "esm",
          paths: { undici: pathToFileURL(require.resolve("undici")).href },
        },
      });
      const script = join(dir, "child.mjs");
      writeFileSync(
        script,
        `import { createNodeFetch } from ${JSON.stringify(pathToFileURL(join(bundle, "fetch.js")).href)};
const [osUrl, extraUrl, extraCa] = JSON.parse(process.argv[2]);
const outcome = (fetch, url) => fetch(url).then(async (r) => r.status + " " + (await r.text()), (e) => e.cause?.code ?? String(e));
const withCa = createNodeFetch({ ca: extraCa, env: {} });
const without = createNodeFetch({ env: {} });
const result = {
  withCa: [await outcome(withCa, osUrl), await outcome(withCa, extraUrl)],
  without: [await outcome(without, osUrl), await outcome(without, extraUrl)],
};
await withCa.close();
await without.close();
console.log(JSON.stringify(result));
`,
      );
      const { NODE_EXTRA_CA_CERTS: _, NODE_OPTIONS: __, ...env } = process.env;
      // Asynchronously: the servers answer from this process.
      const child = await new Promise<{ stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          ["--use-openssl-ca", script, JSON.stringify([osUrl, extraUrl, extraCa.certificatePem])],
          {
            encoding: "utf8",
            timeout: 20_000,
            env: {
              ...env,
              SSL_CERT_FILE: join(dir, "os-store.pem"),
              SSL_CERT_DIR: join(dir, "empty-cert-dir"),
            },
          },
          (_error, stdout, stderr) => resolve({ stdout, stderr }),
        );
      });
      expect(child.stderr).toBe("");
      expect(JSON.parse(child.stdout)).toEqual({
        withCa: ["200 trusted", "200 trusted"],
        without: ["200 trusted", "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
      });
    } finally {
      for (const server of servers) {
        server.closeAllConnections();
        server.close();
      }
    }
  }, 30_000);
});

describe("listeners on shared signals", () => {
  let warnings: string[];
  const onWarning = (warning: Error) => {
    if (warning.name === "MaxListenersExceededWarning") warnings.push(warning.message);
  };
  let emulator: Emulator;
  beforeAll(async () => {
    emulator = await startTestEmulator();
    process.on("warning", onWarning);
  });
  afterAll(async () => {
    process.off("warning", onWarning);
    await emulator?.stop();
  });

  it("15+ concurrent sign-ins printed MaxListenersExceededWarning: 100 concurrent calls print none", async () => {
    warnings = [];
    // 100 requests at once through one fetch, sharing the caller's signal, on 100 connections.
    let open = 0;
    let most = 0;
    const slow = createHttpServer((_req, res) => {
      most = Math.max(most, ++open);
      setTimeout(() => {
        open--;
        res.writeHead(200).end("ok");
      }, 200);
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    const fetch = createNodeFetch({ env: {}, timeoutMs: 10_000 });
    try {
      // With the library's redirect: "manual" and with fetch's default.
      for (const redirect of ["manual", "follow"] as const) {
        const shared = AbortSignal.timeout(20_000);
        const bodies = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            fetch(`${url}/${i}`, { signal: shared, redirect }).then((r) => r.text()),
          ),
        );
        expect(bodies).toEqual(Array(100).fill("ok"));
        expect(most).toBe(100);
      }
    } finally {
      await fetch.close();
      slow.closeAllConnections();
      slow.close();
    }

    // 100 client-credential requests at once through one app, against the emulator over HTTPS.
    const daemon = app(emulator, "daemon");
    const cca = new ConfidentialClientApplication(daemon.clientId, {
      authority: authority(emulator),
      validateAuthority: false,
      clientCredential: daemon.secret as string,
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        cca.acquireTokenForClient(["https://graph.microsoft.com/.default"], { forceRefresh: true }),
      ),
    );
    expect(results.filter((result) => "access_token" in result)).toHaveLength(100);
    // Warnings are emitted on the next tick.
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(warnings).toEqual([]);
  }, 60_000);
});

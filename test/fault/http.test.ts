/**
 * Faults of the HTTP layer, each against a hand-written HTTPS server (TLS from the run's test CA)
 * and the default Node transport, through the public API:
 * - a body that never ends, with garbage collection forced between its headers and its body: the
 *   caller's abort and the timeout still end the read;
 * - a gzip bomb as the discovery response: read within the byte budget, nothing cached;
 * - a server that reads a token POST, or a federated password POST (WS-Trust), in full and then
 *   drops the connection: the POST is sent once and the call fails with a NetworkError.
 *
 * Garbage collection: vitest cannot start one test file's worker with `--expose-gc`, so the test
 * sets the same V8 flag at run time and takes V8's `gc` from a fresh context (what `--expose-gc`
 * installs as `globalThis.gc`); the collection it runs is the real, full one.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { createServer, type TLSSocket } from "node:tls";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { gzipSync } from "node:zlib";
import { afterEach, describe, expect, it } from "vitest";
import { createServerCertificate, type GeneratedCertificate } from "../../emulator/x509.js";
import {
  ConfidentialClientApplication,
  NetworkError,
  PublicClientApplication,
} from "../../src/node/index.js";
import { sharedCertificateAuthority } from "../support/emulator.js";
import { failure } from "../support/tcp.js";

const TENANT = "8c9d7f3a-1b2e-4c5d-9e6f-0a1b2c3d4e5f";
const CLIENT_ID = "3f1b9c2e-4d5a-4e6f-8a7b-9c0d1e2f3a4b";
const SCOPES = ["https://graph.microsoft.com/.default"];
const MiB = 1024 * 1024;

function forceGc(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}
const gc = forceGc();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function testServerCertificate(): GeneratedCertificate {
  const pem = sharedCertificateAuthority();
  const cert = new X509Certificate(pem.certificatePem);
  const ca: GeneratedCertificate = {
    ...pem,
    certificateDer: cert.raw,
    privateKey: createPrivateKey(pem.privateKeyPem),
    thumbprintSha1: "",
    thumbprintSha256: "",
    subject: cert.subject,
  };
  return createServerCertificate(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
}
const certificate = testServerCertificate();

interface RawRequest {
  method: string;
  path: string;
  body: string;
}

interface RawServer {
  url: string;
  requests: RawRequest[];
  close(): Promise<void>;
}

/**
 * An HTTPS/1.1 server on 127.0.0.1 that frames requests itself (Content-Length bodies, kept-alive
 * connections) and hands each complete one to `handle`, which answers on the socket or drops it.
 */
async function rawHttpsServer(handle: (request: RawRequest, socket: TLSSocket) => void): Promise<RawServer> {
  const requests: RawRequest[] = [];
  const sockets = new Set<TLSSocket>();
  const server = createServer(
    { cert: certificate.certificatePem, key: certificate.privateKeyPem },
    (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      let buffered = Buffer.alloc(0);
      socket.on("data", (data: Buffer) => {
        buffered = Buffer.concat([buffered, data]);
        for (;;) {
          const end = buffered.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffered.subarray(0, end).toString("latin1").split("\r\n");
          const [method = "", path = ""] = (head[0] ?? "").split(" ");
          const length = Number(/^content-length:\s*(\d+)$/im.exec(head.join("\n"))?.[1] ?? "0");
          if (buffered.length < end + 4 + length) return;
          const body = buffered.subarray(end + 4, end + 4 + length).toString("utf8");
          buffered = buffered.subarray(end + 4 + length);
          const request = { method, path, body };
          requests.push(request);
          handle(request, socket);
        }
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function respondJson(socket: TLSSocket, value: unknown, status = 200): void {
  const body = Buffer.from(JSON.stringify(value));
  socket.write(
    `HTTP/1.1 ${status} OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
  );
  socket.write(body);
}

function openIdConfiguration(base: string, tenant: string) {
  return {
    issuer: `${base}/${tenant}/v2.0`,
    authorization_endpoint: `${base}/${tenant}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/${tenant}/oauth2/v2.0/token`,
  };
}

const isDiscovery = (request: RawRequest) =>
  request.method === "GET" && request.path.endsWith("/v2.0/.well-known/openid-configuration");

let servers: RawServer[] = [];
async function start(handle: (request: RawRequest, socket: TLSSocket, base: string) => void) {
  let base = "";
  const server = await rawHttpsServer((request, socket) => handle(request, socket, base));
  base = server.url;
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

function daemon(base: string, options: { timeout?: number } = {}): ConfidentialClientApplication {
  return new ConfidentialClientApplication(CLIENT_ID, {
    authority: `${base}/${TENANT}`,
    validateAuthority: false,
    clientCredential: "a-client-secret",
    ...options,
  });
}

describe("HTTP layer faults", () => {
  it("abort and timeout reach a body that never ends, after garbage collection between its headers and its body", async () => {
    let headersSent: () => void = () => {};
    const bodies: Array<{ closed: boolean }> = [];
    const server = await start((request, socket, base) => {
      if (isDiscovery(request)) return respondJson(socket, openIdConfiguration(base, TENANT));
      // The token response: headers, then a JSON body that never ends.
      socket.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
      const body = { closed: false };
      bodies.push(body);
      const chunk = `400\r\n${" ".repeat(1024)}\r\n`;
      const timer = setInterval(() => socket.write(chunk), 10);
      socket.once("close", () => {
        clearInterval(timer);
        body.closed = true;
      });
      headersSent();
    });
    const collectBetweenHeadersAndBody = async () => {
      await new Promise<void>((resolve) => {
        headersSent = resolve;
      });
      for (let i = 0; i < 3; i++) {
        await sleep(20);
        gc();
      }
      await sleep(100);
    };

    // The first stack trace a vitest worker formats goes through its source maps (tens of ms): a
    // cost of the test runner, paid here rather than inside the measured abort.
    void new Error("warm-up").stack;
    // The caller's abort: the call rejects with the signal's reason within 100 ms.
    const controller = new AbortController();
    const aborted = failure(daemon(server.url).acquireTokenForClient(SCOPES, { signal: controller.signal }));
    await collectBetweenHeadersAndBody();
    const abortedAt = performance.now();
    controller.abort();
    const abortOutcome = await Promise.race([aborted, sleep(2000).then(() => "still reading after 2 s")]);
    const abortMs = performance.now() - abortedAt;
    expect(abortOutcome).toBe(controller.signal.reason);
    expect((abortOutcome as DOMException).name).toBe("AbortError");
    expect(abortMs).toBeLessThan(100);

    // The timeout option: NetworkError "timeout" about 1 s after the call began.
    const startedAt = performance.now();
    const timedOut = failure(daemon(server.url, { timeout: 1000 }).acquireTokenForClient(SCOPES));
    await collectBetweenHeadersAndBody();
    const timeoutOutcome = await Promise.race([timedOut, sleep(3000).then(() => "still reading after 3 s")]);
    const timeoutMs = performance.now() - startedAt;
    expect(timeoutOutcome).toBeInstanceOf(NetworkError);
    expect((timeoutOutcome as NetworkError).kind).toBe("timeout");
    expect((timeoutOutcome as NetworkError).url).toBe(`${server.url}/${TENANT}/oauth2/v2.0/token`);
    expect(timeoutMs).toBeGreaterThanOrEqual(1000);
    expect(timeoutMs).toBeLessThan(1600);

    // Both reads let go of their connections, so the server stops sending.
    await sleep(200);
    expect(bodies.map((b) => b.closed)).toEqual([true, true]);
    expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(2);
  });

  it("a gzip bomb as the discovery response: NetworkError response_too_large, bounded memory, nothing cached", async () => {
    // 16 MiB of zeros compress to 16 KiB; 128 gzip members in a row are one valid body of 2 GiB.
    const member = gzipSync(Buffer.alloc(16 * MiB), { level: 9 });
    const members = 128;
    const bombs = new Set<TLSSocket>();
    const server = await start((request, socket) => {
      if (!isDiscovery(request)) return socket.destroy();
      bombs.add(socket);
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: ${member.length * members}\r\n\r\n`,
      );
      let sent = 0;
      const pump = () => {
        while (sent < members && !socket.destroyed) {
          sent++;
          if (!socket.write(member)) return socket.once("drain", pump);
        }
      };
      pump();
    });
    // The client runs in this process: its memory is sampled while it reads, and past the ceiling
    // the test has failed and the bomb is stopped (so that old code cannot take the machine down).
    const rssBefore = process.memoryUsage.rss();
    let peakGrowth = 0;
    let stoppedByCeiling = false;
    const sampler = setInterval(() => {
      peakGrowth = Math.max(peakGrowth, process.memoryUsage.rss() - rssBefore);
      if (peakGrowth <= 200 * MiB) return;
      stoppedByCeiling = true;
      for (const socket of bombs) socket.destroy();
    }, 5);
    const cca = daemon(server.url);
    const discoveryUrl = `${server.url}/${TENANT}/v2.0/.well-known/openid-configuration`;
    const error = await Promise.race([
      failure(cca.acquireTokenForClient(SCOPES)),
      sleep(10_000).then(() => "no answer within 10 s"),
    ]);
    clearInterval(sampler);
    expect({ stoppedByCeiling, peakGrowthBelow200MiB: peakGrowth < 200 * MiB }).toEqual({
      stoppedByCeiling: false,
      peakGrowthBelow200MiB: true,
    });
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("response_too_large");
    expect((error as NetworkError).code).toBe("network_error");
    expect((error as NetworkError).url).toBe(discoveryUrl);
    expect((error as NetworkError).message).toBe(
      `The response from ${discoveryUrl} is larger than 1048576 bytes (1 MiB), the most msal-ts reads for this request, so it stopped reading and cached nothing. ${(error as NetworkError).hint}`,
    );

    // Nothing was cached: the next call asks again, and fails the same way.
    const again = await failure(cca.acquireTokenForClient(SCOPES));
    expect((again as NetworkError).kind).toBe("response_too_large");
    expect(server.requests.filter(isDiscovery)).toHaveLength(2);
    expect(server.requests).toHaveLength(2);
  });

  it("a token POST the server read in full before dropping the connection is sent once: NetworkError connection_reset", async () => {
    const server = await start((request, socket, base) => {
      if (isDiscovery(request)) return respondJson(socket, openIdConfiguration(base, TENANT));
      socket.destroy();
    });
    const error = await failure(daemon(server.url).acquireTokenForClient(SCOPES));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("connection_reset");
    expect((error as NetworkError).url).toBe(`${server.url}/${TENANT}/oauth2/v2.0/token`);
    const posts = server.requests.filter((r) => r.method === "POST");
    expect(posts).toHaveLength(1);
    expect(posts[0]?.path).toBe(`/${TENANT}/oauth2/v2.0/token`);
    expect(posts[0]?.body).toContain("grant_type=client_credentials");
  });

  it("a federated password POST (WS-Trust) the server read in full before dropping the connection is sent once", async () => {
    const wsTrustPath = "/adfs/services/trust/13/usernamemixed";
    const server = await start((request, socket, base) => {
      if (isDiscovery(request)) return respondJson(socket, openIdConfiguration(base, "organizations"));
      if (request.method === "GET" && request.path.startsWith("/common/userrealm/"))
        return respondJson(socket, {
          ver: "1.0",
          account_type: "Federated",
          domain_name: "contoso.test",
          federation_protocol: "WSTrust",
          federation_active_auth_url: `${base}${wsTrustPath}`,
          cloud_audience_urn: "urn:federation:MicrosoftOnline",
        });
      socket.destroy();
    });
    const pca = new PublicClientApplication(CLIENT_ID, {
      authority: `${server.url}/organizations`,
      validateAuthority: false,
    });
    const error = await failure(
      pca.acquireTokenByUsernamePassword("someone@contoso.test", "a-password", SCOPES),
    );
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).kind).toBe("connection_reset");
    expect((error as NetworkError).url).toBe(`${server.url}${wsTrustPath}`);
    const posts = server.requests.filter((r) => r.method === "POST");
    expect(posts.map((r) => r.path)).toEqual([wsTrustPath]);
    expect(posts[0]?.body).toContain("<wsse:Password>a-password</wsse:Password>");
  });
});

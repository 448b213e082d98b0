import { execFile } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  createClientCertificate,
  createServerCertificate,
  type GeneratedCertificate,
} from "../../../emulator/x509.js";

const run = promisify(execFile);
const OPENSSL = "/usr/bin/openssl";
const PYTHON = "/usr/bin/python3";
const HOUR = 3_600_000;
const DAY = 86_400_000;

const ca = createCertificateAuthority("msal-ts emulator CA");
const server = createServerCertificate(ca);
const issuedClient = createClientCertificate({
  subject: "CN=daemon.contoso.test, O=Contoso, C=US",
  issuer: ca,
});
const selfSignedClient = createClientCertificate({ commonName: "app.contoso.test" });

const x509 = (cert: GeneratedCertificate) => new X509Certificate(cert.certificatePem);

function expectValidity(cert: X509Certificate, days: number): void {
  const now = Date.now();
  expect(Math.abs(new Date(cert.validFrom).getTime() - (now - HOUR))).toBeLessThan(60_000);
  expect(Math.abs(new Date(cert.validTo).getTime() - (now + days * DAY))).toBeLessThan(60_000);
}

function expectCommonShape(generated: GeneratedCertificate): void {
  const cert = x509(generated);
  expect(generated.certificatePem).toMatch(
    /^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n$/,
  );
  expect(generated.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  expect(cert.raw.equals(generated.certificateDer)).toBe(true);
  expect(cert.checkPrivateKey(generated.privateKey)).toBe(true);
  expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
  expect(generated.thumbprintSha1).toBe(cert.fingerprint.replaceAll(":", ""));
  expect(generated.thumbprintSha256).toBe(cert.fingerprint256.replaceAll(":", ""));
  expect(cert.subject.split("\n").join(", ")).toBe(generated.subject);
  // 16 random octets with the top bit clear: a positive INTEGER of full length.
  expect(cert.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
}

describe("x509 certificate generation", () => {
  it("creates a self-signed CA", () => {
    const cert = x509(ca);
    expectCommonShape(ca);
    expect(ca.subject).toBe("CN=msal-ts emulator CA");
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.ca).toBe(true);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expectValidity(cert, 3650);
  });

  it("creates a localhost server certificate issued by the CA", () => {
    const cert = x509(server);
    expectCommonShape(server);
    expect(server.subject).toBe("CN=localhost");
    expect(cert.issuer).toBe("CN=msal-ts emulator CA");
    expect(cert.subjectAltName).toBe("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkIP("::1")).toBe("::1");
    expect(cert.keyUsage).toEqual(["1.3.6.1.5.5.7.3.1"]);
    expect(cert.ca).toBe(false);
    expect(cert.checkIssued(x509(ca))).toBe(true);
    expect(cert.verify(x509(ca).publicKey)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(false);
    expectValidity(cert, 397);
  });

  it("creates client certificates, issued or self-signed", () => {
    const issued = x509(issuedClient);
    expectCommonShape(issuedClient);
    expect(issued.subject).toBe("CN=daemon.contoso.test\nO=Contoso\nC=US");
    expect(issued.issuer).toBe("CN=msal-ts emulator CA");
    expect(issued.keyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(issued.ca).toBe(false);
    expect(issued.checkIssued(x509(ca))).toBe(true);
    expect(issued.verify(x509(ca).publicKey)).toBe(true);
    expectValidity(issued, 365);

    const self = x509(selfSignedClient);
    expectCommonShape(selfSignedClient);
    expect(selfSignedClient.subject).toBe("CN=app.contoso.test");
    expect(self.issuer).toBe("CN=app.contoso.test");
    expect(self.ca).toBe(false);
    expect(self.verify(self.publicKey)).toBe(true);
  });

  it("honours validityDays, switching to GeneralizedTime from 2050", () => {
    expectValidity(x509(createClientCertificate({ commonName: "short", validityDays: 30 })), 30);
    const longLived = x509(createCertificateAuthority("long-lived CA", { validityDays: 40 * 365 }));
    expectValidity(longLived, 40 * 365);
    expect(new Date(longLived.validTo).getUTCFullYear()).toBeGreaterThanOrEqual(2050);
  });

  it("encodes IPv6 forms and other names in subjectAltName", () => {
    const cert = x509(
      createServerCertificate(ca, {
        dnsNames: [],
        ipAddresses: ["2001:db8::8:800:200c:417a", "::ffff:192.0.2.1", "fe80::", "10.0.0.1"],
      }),
    );
    expect(cert.subject).toBe("CN=2001:db8::8:800:200c:417a");
    expect(cert.subjectAltName).toBe(
      "IP Address:2001:DB8:0:0:8:800:200C:417A, IP Address:0:0:0:0:0:FFFF:C000:201, " +
        "IP Address:FE80:0:0:0:0:0:0:0, IP Address:10.0.0.1",
    );
    const named = x509(createServerCertificate(ca, { dnsNames: ["login.emulator.test", "*.emulator.test"] }));
    expect(named.checkHost("tenant.emulator.test")).toBe("*.emulator.test");
  });

  it("rejects invalid input", () => {
    expect(() => createServerCertificate(ca, { ipAddresses: ["localhost"] })).toThrow(/Not an IP address/);
    expect(() => createServerCertificate(ca, { dnsNames: [], ipAddresses: [] })).toThrow(/at least one name/);
    expect(() => createClientCertificate({ subject: "XX=unknown" })).toThrow(/Unsupported subject/);
    expect(() => createClientCertificate({ commonName: "x", issuer: server })).toThrow(/not a CA/);
    expect(() => createCertificateAuthority("x", { validityDays: 0 })).toThrow(/validityDays/);
  });
});

describe("x509 certificates in real TLS stacks", () => {
  const servers: https.Server[] = [];
  let port: number;
  let dir: string;

  function get(url: string, options: https.RequestOptions): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      https
        .get(url, { agent: false, family: 4, ...options }, (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            body += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
  }

  async function listen(options: https.ServerOptions): Promise<number> {
    const s = https.createServer(options, (req, res) => {
      const socket = req.socket as TLSSocket;
      const { authorized, authorizationError } = socket;
      res.end(
        JSON.stringify({ authorized, authorizationError, peer: socket.getPeerCertificate().subject?.CN }),
      );
    });
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    return (s.address() as AddressInfo).port;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "msal-ts-x509-"));
    for (const [name, cert] of Object.entries({ ca, server, issuedClient, selfSignedClient })) {
      writeFileSync(join(dir, `${name}.pem`), cert.certificatePem);
    }
    // Serves the leaf only (no chain), so the client's trust store alone decides.
    port = await listen({ key: server.privateKeyPem, cert: server.certificatePem });
  });

  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("is trusted by Node https when the CA is given", async () => {
    const response = await get(`https://localhost:${port}/`, { ca: ca.certificatePem });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ authorized: false, authorizationError: null });
    expect((await get(`https://127.0.0.1:${port}/`, { ca: ca.certificatePem })).status).toBe(200);
  });

  it("is rejected by Node https without the CA", async () => {
    await expect(get(`https://localhost:${port}/`, {})).rejects.toMatchObject({
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
    await expect(
      get(`https://localhost:${port}/`, { ca: createCertificateAuthority("other CA").certificatePem }),
    ).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
  });

  it("authenticates a CA-issued client certificate over mutual TLS, not a self-signed one", async () => {
    const mtlsPort = await listen({
      key: server.privateKeyPem,
      cert: server.certificatePem,
      ca: ca.certificatePem,
      requestCert: true,
      // Accept the handshake either way and let the handler report the verification outcome.
      rejectUnauthorized: false,
    });
    const response = await get(`https://localhost:${mtlsPort}/`, {
      ca: ca.certificatePem,
      cert: issuedClient.certificatePem,
      key: issuedClient.privateKeyPem,
    });
    expect(JSON.parse(response.body)).toEqual({
      authorized: true,
      authorizationError: null,
      peer: "daemon.contoso.test",
    });
    const selfSigned = { cert: selfSignedClient.certificatePem, key: selfSignedClient.privateKeyPem };
    const rejected = await get(`https://localhost:${mtlsPort}/`, { ca: ca.certificatePem, ...selfSigned });
    expect(JSON.parse(rejected.body)).toEqual({
      authorized: false,
      authorizationError: "DEPTH_ZERO_SELF_SIGNED_CERT",
      peer: "app.contoso.test",
    });
  });

  it.skipIf(!existsSync(OPENSSL))(
    "passes openssl verify -x509_strict and parses with openssl x509",
    async () => {
      const verify = async (purpose: string, file: string) =>
        (
          await run(OPENSSL, [
            "verify",
            "-x509_strict",
            "-purpose",
            purpose,
            "-CAfile",
            join(dir, "ca.pem"),
            join(dir, file),
          ])
        ).stdout.trim();
      expect(await verify("sslserver", "server.pem")).toBe(`${join(dir, "server.pem")}: OK`);
      expect(await verify("sslclient", "issuedClient.pem")).toBe(`${join(dir, "issuedClient.pem")}: OK`);
      expect(await verify("any", "ca.pem")).toBe(`${join(dir, "ca.pem")}: OK`);

      for (const name of ["ca", "server", "issuedClient", "selfSignedClient"]) {
        const { stdout } = await run(OPENSSL, ["x509", "-noout", "-text", "-in", join(dir, `${name}.pem`)]);
        expect(stdout).toContain("Version: 3 (0x2)");
        expect(stdout).toContain("Signature Algorithm: sha256WithRSAEncryption");
        expect(stdout).toContain("X509v3 Subject Key Identifier");
        expect(stdout).toContain("X509v3 Authority Key Identifier");
      }
      const { stdout: serverText } = await run(OPENSSL, [
        "x509",
        "-noout",
        "-text",
        "-in",
        join(dir, "server.pem"),
      ]);
      expect(serverText).toContain("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1");
      expect(serverText).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
      expect(serverText).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment/);
      const { stdout: caText } = await run(OPENSSL, ["x509", "-noout", "-text", "-in", join(dir, "ca.pem")]);
      expect(caText).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
      expect(caText).toMatch(/Key Usage: critical\s+Certificate Sign, CRL Sign/);
    },
  );

  it.skipIf(!existsSync(PYTHON))("is trusted by Python ssl with VERIFY_X509_STRICT", async () => {
    const script = [
      "import socket, ssl, sys",
      "ctx = ssl.create_default_context(cafile=sys.argv[1])",
      "strict = getattr(ssl, 'VERIFY_X509_STRICT', 0)",
      "ctx.verify_flags |= strict",
      "try:",
      "    with socket.create_connection(('127.0.0.1', int(sys.argv[2])), timeout=10) as raw:",
      "        with ctx.wrap_socket(raw, server_hostname='localhost') as tls:",
      "            tls.sendall(b'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n')",
      "            print(tls.recv(64).split(b'\\r\\n')[0].decode(), bool(ctx.verify_flags & strict))",
      "except ssl.SSLCertVerificationError as e:",
      "    print('error', e.verify_message)",
    ].join("\n");
    const python = async (cafile: string) =>
      (await run(PYTHON, ["-c", script, cafile, String(port)], { timeout: 20_000 })).stdout.trim();

    expect(await python(join(dir, "ca.pem"))).toBe("HTTP/1.1 200 OK True");
    expect(await python(join(dir, "selfSignedClient.pem"))).toMatch(
      /^error unable to get local issuer certificate/,
    );
  });
});

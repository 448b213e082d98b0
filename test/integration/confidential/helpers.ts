/**
 * Shared pieces of the confidential client integration tests: apps pointed at the emulator, the
 * emulator's token request log, JWT headers, OpenSSL-made key and certificate files, a CONNECT
 * proxy and a capturing logger.
 */
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import type { Emulator, LoggedRequest } from "../../../emulator/index.js";
import {
  type ClientCredential,
  ConfidentialClientApplication,
  type ConfidentialClientOptions,
  type LogLevel,
  type TokenFailure,
  type TokenResult,
  type TokenSuccess,
} from "../../../src/node/index.js";
import { app, authority } from "../../support/emulator.js";

export const GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"];
export const OPENSSL = "/usr/bin/openssl";

export type DirectoryApp = ReturnType<typeof app>;

/** An app registered in the emulator's directory, as a confidential client against its first tenant. */
export function confidentialApp(
  emulator: Emulator,
  registered: DirectoryApp,
  clientCredential: ClientCredential,
  options: Partial<ConfidentialClientOptions> = {},
): ConfidentialClientApplication {
  return new ConfidentialClientApplication(registered.clientId, {
    authority: authority(emulator),
    validateAuthority: false,
    clientCredential,
    ...options,
  });
}

/** The daemon app with its secret. */
export function daemonWithSecret(
  emulator: Emulator,
  options: Partial<ConfidentialClientOptions> = {},
): ConfidentialClientApplication {
  const daemon = app(emulator, "daemon");
  return confidentialApp(emulator, daemon, daemon.secret as string, options);
}

/** The daemon's registered certificate (key, certificate, thumbprints). */
export function daemonCertificate(emulator: Emulator) {
  const certificate = app(emulator, "daemon").certificate;
  if (!certificate) throw new Error("The seeded daemon app has no certificate.");
  return certificate;
}

export function tokenRequests(emulator: Emulator): LoggedRequest[] {
  return emulator.requests("token");
}

/** The one token request the emulator logged since the last `clearRequests()`. */
export function onlyTokenRequest(emulator: Emulator): LoggedRequest {
  const requests = tokenRequests(emulator);
  if (requests.length !== 1) throw new Error(`Expected one token request, the log has ${requests.length}.`);
  return requests[0] as LoggedRequest;
}

/** The form fields of the `index`th token request the emulator logged. */
export function tokenForm(emulator: Emulator, index: number): Record<string, string> {
  const request = tokenRequests(emulator)[index];
  if (!request) throw new Error(`The emulator logged no token request #${index}.`);
  return form(request);
}

/** A user of the emulator's directory by username. */
export function directoryUser(emulator: Emulator, username: string): { username: string; password: string } {
  const found = emulator.directory.users.find((u) => u.username === username);
  if (!found) throw new Error(`The emulator directory has no user ${username}.`);
  return found;
}

export function form(request: LoggedRequest): Record<string, string> {
  if (!request.form) throw new Error(`The logged request ${request.path} has no form.`);
  return request.form;
}

/** Narrows a result to a success, failing with the server's error when it is not one. */
export function success(result: TokenResult): TokenSuccess {
  if (result.error)
    throw new Error(`Expected a token, got ${result.error}: ${String(result.error_description)}`);
  return result;
}

/** Narrows a result to a failure, failing when it is a token. */
export function failure(result: TokenResult): TokenFailure {
  if (!result.error) throw new Error(`Expected an OAuth error, got a token from ${result.token_source}.`);
  return result;
}

export const jwtHeader = (jwt: string): Record<string, unknown> =>
  decodeProtectedHeader(jwt) as Record<string, unknown>;
export const jwtClaims = (jwt: string): Record<string, unknown> => decodeJwt(jwt) as Record<string, unknown>;

/** base64url of a certificate's SHA-1 or SHA-256 digest: its `x5t` / `x5t#S256`. */
export function thumbprintOf(certificatePem: string, algorithm: "sha1" | "sha256"): string {
  return createHash(algorithm).update(new X509Certificate(certificatePem).raw).digest("base64url");
}

/** The base64 DER of a PEM certificate, as `x5c` carries it. */
export function derBase64(certificatePem: string): string {
  return new X509Certificate(certificatePem).raw.toString("base64");
}

/** A temporary directory for OpenSSL's input and output files. */
export class Workspace {
  readonly dir = mkdtempSync(join(tmpdir(), "msal-ts-confidential-"));

  path(name: string): string {
    return join(this.dir, name);
  }

  write(name: string, contents: string | Uint8Array): string {
    const file = this.path(name);
    writeFileSync(file, contents, { mode: 0o600 });
    return file;
  }

  read(name: string): string {
    return readFileSync(this.path(name), "utf8");
  }

  bytes(name: string): Uint8Array {
    return new Uint8Array(readFileSync(this.path(name)));
  }

  openssl(...args: string[]): void {
    execFileSync(OPENSSL, args, { cwd: this.dir, stdio: ["ignore", "ignore", "pipe"] });
  }

  /** `openssl pkcs12 -export` of a key and certificate (OpenSSL 3 defaults, or `-legacy`: RC2/3DES, SHA-1 MAC). */
  pfx(name: string, keyPem: string, certificatePem: string, passphrase: string, legacy: boolean): Uint8Array {
    this.write(`${name}.key.pem`, keyPem);
    this.write(`${name}.cert.pem`, certificatePem);
    this.openssl(
      "pkcs12",
      "-export",
      "-inkey",
      `${name}.key.pem`,
      "-in",
      `${name}.cert.pem`,
      "-out",
      `${name}.pfx`,
      "-passout",
      `pass:${passphrase}`,
      ...(legacy ? ["-legacy"] : []),
    );
    return this.bytes(`${name}.pfx`);
  }

  /**
   * A fresh key and certificate for `subject`, issued by the test run's CA (the emulator's CA):
   * its thumbprint is registered nowhere, so only its subject name and issuer can vouch for it.
   */
  issuedByTestCa(name: string, subject: string): { keyPem: string; certificatePem: string } {
    const caCert = process.env.MSAL_TS_TEST_CA_CERT;
    const caKey = process.env.MSAL_TS_TEST_CA_KEY;
    if (!caCert || !caKey) throw new Error("Run through vitest: test/global-setup.ts provides the test CA.");
    this.openssl(
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      `${name}.key.pem`,
    );
    this.openssl("req", "-new", "-key", `${name}.key.pem`, "-subj", `/${subject}`, "-out", `${name}.csr`);
    this.write(`${name}.ext`, "basicConstraints=critical,CA:FALSE\nextendedKeyUsage=clientAuth\n");
    this.openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      caCert,
      "-CAkey",
      caKey,
      "-set_serial",
      `0x${createHash("sha1").update(`${name}${Date.now()}${Math.random()}`).digest("hex").slice(0, 16)}`,
      "-days",
      "2",
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.cert.pem`,
    );
    return { keyPem: this.read(`${name}.key.pem`), certificatePem: this.read(`${name}.cert.pem`) };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A forward proxy that only tunnels (HTTP CONNECT), counting the tunnels it opened. */
export interface TunnelProxy {
  url: string;
  tunnels: number;
  close(): Promise<void>;
}

export async function startTunnelProxy(): Promise<TunnelProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((_req, res) => {
    res.writeHead(405, { "content-type": "text/plain" }).end("This proxy only tunnels (CONNECT).");
  });
  const proxy: TunnelProxy = { url: "", tunnels: 0, close: async () => {} };
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    const [host, port] = (req.url ?? "").split(":");
    proxy.tunnels++;
    const upstream = connect(Number(port), host ?? "", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return proxy;
}

/** A logger at `verbose` that keeps every line. */
export function capturingLogger(): {
  lines: string[];
  logger: { level: LogLevel; log(level: LogLevel, message: string): void };
} {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      level: "verbose",
      log: (level, message) => {
        lines.push(`[${level}] ${message}`);
      },
    },
  };
}

/**
 * A user's access token for `scope`, straight from the emulator's token endpoint (the password
 * grant, as the public app): what a web API receives as its bearer token.
 */
export async function userAccessToken(
  emulator: Emulator,
  who: { username: string; password: string },
  scope: string,
): Promise<string> {
  const response = await fetch(`${authority(emulator)}/oauth2/v2.0/token`, {
    method: "POST",
    body: new URLSearchParams({
      grant_type: "password",
      client_id: app(emulator, "public").clientId,
      username: who.username,
      password: who.password,
      scope,
    }),
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status !== 200 || typeof body.access_token !== "string")
    throw new Error(`The password grant failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

/** The token for the middle-tier API's `access_as_user` scope that `who` calls it with. */
export function middleTierAssertion(
  emulator: Emulator,
  who: { username: string; password: string },
): Promise<string> {
  return userAccessToken(emulator, who, `api://${app(emulator, "middle-tier").clientId}/access_as_user`);
}

/**
 * `startEmulator()`: an HTTPS server on 127.0.0.1 that behaves like Microsoft Entra ID closely
 * enough for unmodified MSAL clients. A CA and a `localhost` certificate are made at start; the CA
 * is written to `caFile` for clients to trust (`NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`).
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomUUID, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ControlOperations, controlEndpoint, type FaultInput, type RevokeRequest } from "./control.js";
import { describeDirectory, type PublicDirectory } from "./describe.js";
import { approveDeviceCode, denyDeviceCode } from "./device.js";
import {
  type AppCertificate,
  type Directory,
  type DirectoryInput,
  directoryProblems,
  seedDirectory,
} from "./directory.js";
import { createFederatedSts, type FederatedSts } from "./federation.js";
import { type EmuRequest, type EmuResponse, parseCookies } from "./http.js";
import { endpointName, route } from "./router.js";
import {
  DEFAULT_SETTINGS,
  type EmulatorSettings,
  type Fault,
  findUser,
  type LoggedRequest,
  userOid,
  type World,
} from "./world.js";
import {
  createCertificateAuthority,
  createClientCertificate,
  createServerCertificate,
  type GeneratedCertificate,
} from "./x509.js";

/** Options of {@link startEmulator}. */
export interface EmulatorOptions {
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** A directory to use instead of the seeded one: an object, or the path of a JSON file. */
  directory?: DirectoryInput | string;
  /** Token lifetimes and polling settings; short lifetimes make expiry testable. */
  settings?: Partial<EmulatorSettings>;
  /** Which WS-Trust versions the federated STS's MEX document offers (default both). */
  mexOffers?: Array<"13" | "2005">;
  /**
   * A CA to issue the server certificate with, instead of a new one, so clients can trust it once
   * (for example through `NODE_EXTRA_CA_CERTS`, which Node reads only at start).
   */
  certificateAuthority?: {
    /** The CA certificate (PEM, `basicConstraints CA:TRUE`). */
    certificatePem: string;
    /** The CA's private key (PEM). */
    privateKeyPem: string;
  };
}

/** A running emulator: its URL, the CA to trust, the directory, and the control operations as methods. */
export interface Emulator extends Omit<ControlOperations, "directory"> {
  /** `https://localhost:<port>`: authorities are `${url}/<tenant>`. */
  url: string;
  /** Absolute path of the CA certificate (PEM) that issued the server certificate. */
  caFile: string;
  /** The CA certificate (PEM) that issued the server certificate, for a client's `ca` option. */
  caPem: string;
  /** The directory, with secrets and certificates, as printed in the ready line. */
  directory: PublicDirectory;
  /** Closes the server and its connections, and deletes the temporary directory that holds `caFile`. */
  stop(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const REDACTED_FIELDS = ["client_secret", "password"];

function appCertificate(cert: GeneratedCertificate): AppCertificate {
  return {
    privateKey: cert.privateKeyPem,
    certificate: cert.certificatePem,
    thumbprint: cert.thumbprintSha1,
    thumbprintSha256: cert.thumbprintSha256,
  };
}

function loadCertificateAuthority(pem: {
  certificatePem: string;
  privateKeyPem: string;
}): GeneratedCertificate {
  const cert = new X509Certificate(pem.certificatePem);
  if (!cert.ca)
    throw new Error(
      "certificateAuthority.certificatePem is not a CA certificate (basicConstraints CA:TRUE).",
    );
  const hex = (fingerprint: string) => fingerprint.replace(/:/g, "");
  return {
    certificatePem: pem.certificatePem,
    privateKeyPem: pem.privateKeyPem,
    certificateDer: cert.raw,
    privateKey: createPrivateKey(pem.privateKeyPem),
    thumbprintSha1: hex(cert.fingerprint),
    thumbprintSha256: hex(cert.fingerprint256),
    subject: cert.subject.split("\n").join(", "),
  };
}

function loadDirectory(
  input: DirectoryInput | string | undefined,
  certificates: { web: AppCertificate; daemon: AppCertificate },
): Directory {
  if (input === undefined) return seedDirectory(certificates);
  const value: unknown = typeof input === "string" ? JSON.parse(readFileSync(input, "utf8")) : input;
  const problems = directoryProblems(value);
  if (problems.length > 0) throw new Error(`The emulator directory is not usable: ${problems.join("; ")}.`);
  return value as Directory;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) reject(new Error("request body too large"));
      else chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function loggedForm(form: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of form) out[k] = REDACTED_FIELDS.includes(k) ? "[redacted]" : v;
  return out;
}

function loggedHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    out[k] = k === "authorization" || k === "cookie" ? "[redacted]" : Array.isArray(v) ? v.join(", ") : v;
  }
  return out;
}

function matchingFault(world: World, endpoint: string, req: EmuRequest): Fault | undefined {
  const fault = world.faults.find(
    (f) =>
      (!f.endpoint || f.endpoint === endpoint) &&
      (!f.path || req.url.pathname.includes(f.path)) &&
      (!f.clientId || req.form.get("client_id") === f.clientId),
  );
  if (fault && fault.times !== "always") {
    fault.times -= 1;
    if (fault.times <= 0) world.faults.splice(world.faults.indexOf(fault), 1);
  }
  return fault;
}

/**
 * Starts an emulator on 127.0.0.1 with a new CA and `localhost` certificate (the CA is written to `caFile`)
 * and the seeded directory unless `options.directory` is given.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const ca = options.certificateAuthority
    ? loadCertificateAuthority(options.certificateAuthority)
    : createCertificateAuthority("msal-ts emulator CA");
  const tls = createServerCertificate(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] });
  const certificates = {
    web: appCertificate(createClientCertificate({ commonName: "web.contoso.test" })),
    daemon: appCertificate(createClientCertificate({ commonName: "daemon.contoso.test", issuer: ca })),
  };
  const directory = loadDirectory(options.directory, certificates);
  const { privateKey: signingKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keyId = createHash("sha256")
    .update(publicKey.export({ format: "der", type: "spki" }))
    .digest("base64url")
    .slice(0, 27);
  const world: World = {
    baseUrl: "",
    directory,
    signingKey,
    keyId,
    ca: new X509Certificate(ca.certificatePem),
    settings: { ...DEFAULT_SETTINGS, ...options.settings },
    codes: new Map(),
    refreshTokens: new Map(),
    deviceCodes: new Map(),
    sessions: new Map(),
    pendingAuthorize: new Map(),
    consents: new Map(),
    faults: [],
    log: [],
    caeEvents: new Map(),
  };
  // Created once the port is known: the STS puts its own URLs in the MEX document.
  let sts: FederatedSts | undefined;
  let faultCounter = 0;
  let requestCounter = 0;

  const ops: ControlOperations = {
    directory: () => describeDirectory(world.directory),
    approveDeviceCode: (userCode, username) => approveDeviceCode(world, userCode, username),
    denyDeviceCode: (userCode, error) => denyDeviceCode(world, userCode, error),
    injectFault: (fault: FaultInput) => {
      const id = `fault-${++faultCounter}`;
      world.faults.push({ ...fault, id, times: fault.times ?? 1 });
      return id;
    },
    faults: () => world.faults.map((f) => ({ ...f })),
    clearFaults: () => {
      world.faults.length = 0;
    },
    requests: (endpoint) =>
      world.log.filter((r) => !endpoint || r.endpoint === endpoint).map((r) => ({ ...r })),
    clearRequests: () => {
      world.log.length = 0;
    },
    revoke: (what: RevokeRequest) => revokeGrants(world, what),
    configure: (settings) => {
      const { mexOffers, ...rest } = settings;
      if (mexOffers) sts?.setMexOffers(mexOffers);
      for (const [k, v] of Object.entries(rest)) {
        if (k in DEFAULT_SETTINGS || k === "refreshIn")
          (world.settings as unknown as Record<string, unknown>)[k] = v;
      }
      return { ...world.settings };
    },
    reset: () => {
      for (const map of [
        world.codes,
        world.refreshTokens,
        world.deviceCodes,
        world.sessions,
        world.pendingAuthorize,
        world.consents,
        world.caeEvents,
      ])
        map.clear();
      world.faults.length = 0;
      world.log.length = 0;
      world.settings = { ...DEFAULT_SETTINGS, ...options.settings };
      sts?.reset();
    },
  };

  async function handle(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(incoming);
    const url = new URL(incoming.url ?? "/", world.baseUrl);
    const isForm = (incoming.headers["content-type"] ?? "").includes("application/x-www-form-urlencoded");
    const requestId = incoming.headers["client-request-id"];
    const req: EmuRequest = {
      method: incoming.method ?? "GET",
      url,
      headers: incoming.headers,
      rawBody,
      form: isForm ? new URLSearchParams(rawBody) : new URLSearchParams(),
      correlationId: typeof requestId === "string" && requestId ? requestId : randomUUID(),
      cookies: parseCookies(incoming.headers.cookie),
    };
    const path = url.pathname.split("/").filter(Boolean);
    const endpoint = endpointName(path);
    if (endpoint === "control") return send(res, req, controlEndpoint(req, ops, path.slice(1)));
    const entry: LoggedRequest = {
      id: ++requestCounter,
      time: new Date().toISOString(),
      method: req.method,
      path: url.pathname,
      endpoint,
      query: Object.fromEntries(url.searchParams),
      headers: loggedHeaders(incoming),
      ...(isForm ? { form: loggedForm(req.form) } : {}),
    };
    world.log.push(entry);
    const fault = matchingFault(world, endpoint, req);
    if (fault) {
      entry.fault = fault.id;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.drop) {
        incoming.socket.destroy();
        return;
      }
      if (fault.status !== undefined) {
        const body =
          typeof fault.body === "string"
            ? fault.body
            : fault.body === undefined
              ? ""
              : JSON.stringify(fault.body);
        const contentType =
          typeof fault.body === "object" ? "application/json; charset=utf-8" : "text/plain; charset=utf-8";
        entry.status = fault.status;
        return send(res, req, {
          status: fault.status,
          headers: { "content-type": contentType, ...fault.headers },
          body,
        });
      }
    }
    const response = route(req, world, sts as FederatedSts, path);
    entry.status = response.status;
    send(res, req, response);
  }

  const server = createServer({ key: tls.privateKeyPem, cert: tls.certificatePem }, (incoming, res) => {
    handle(incoming, res).catch((err: unknown) => {
      if (!res.headersSent) {
        const message = err instanceof Error ? err.message : String(err);
        res
          .writeHead(500, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "server_error", error_description: message }));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  world.baseUrl = `https://localhost:${port}`;
  sts = createFederatedSts({
    baseUrl: world.baseUrl,
    directory: () => world.directory,
    ...(options.mexOffers ? { mexOffers: options.mexOffers } : {}),
  });
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-emulator-"));
  const caFile = join(dir, "ca.pem");
  writeFileSync(caFile, ca.certificatePem);

  const { directory: _ignored, ...control } = ops;
  return {
    ...control,
    url: world.baseUrl,
    caFile,
    caPem: ca.certificatePem,
    directory: describeDirectory(world.directory),
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function send(res: ServerResponse, req: EmuRequest, response: EmuResponse): void {
  res.writeHead(response.status, {
    ...response.headers,
    "client-request-id": req.correlationId,
    "x-ms-request-id": randomUUID(),
    "x-ms-ests-server": "msal-ts-emulator",
    "content-length": Buffer.byteLength(response.body),
  });
  res.end(response.body);
}

function revokeGrants(world: World, what: RevokeRequest): number {
  const user = what.username ? findUser(world, what.username) : undefined;
  if (what.username && !user) return 0;
  const oid = user ? userOid(user) : undefined;
  let count = 0;
  for (const [token, grant] of world.refreshTokens) {
    if (grant.revoked) continue;
    if (what.refreshToken && token !== what.refreshToken) continue;
    if (oid && grant.userOid !== oid) continue;
    if (what.clientId && grant.clientId !== what.clientId) continue;
    grant.revoked = true;
    count++;
  }
  if (oid) for (const s of world.sessions.values()) s.users = s.users.filter((u) => u.oid !== oid);
  return count;
}

/**
 * `startEmulator()`: an HTTPS server on 127.0.0.1 that behaves like Microsoft Entra ID closely
 * enough for unmodified MSAL clients. A CA and a `localhost` certificate are made at start; the CA
 * is written to `caFile` for clients to trust (`NODE_EXTRA_CA_CERTS`, `REQUESTS_CA_BUNDLE`).
 */

import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { armEndpoint } from "./arm.js";
import {
  type ControlOperations,
  controlEndpoint,
  type FaultInput,
  type ResetOptions,
  type RevokeRequest,
} from "./control.js";
import { describeApp, describeDirectory, describeUser, type PublicDirectory } from "./describe.js";
import { approveDeviceCode, denyDeviceCode } from "./device.js";
import { type AppCertificate, type Directory, type DirectoryInput, seedDirectory } from "./directory.js";
import { buildDirectory, type DirectoryMode, registerApp, registerUser } from "./directory-edit.js";
import { createFederatedSts, type FederatedSts } from "./federation.js";
import {
  type ManagedIdentityEmulator,
  type ManagedIdentityOptions,
  startManagedIdentity,
} from "./managed-identity/index.js";
import { applyFault, emuRequest, logRequest, send, sendUnexpected } from "./requests.js";
import { endpointName, route } from "./router.js";
import { sshCaPublicKey } from "./ssh.js";
import { DEFAULT_SETTINGS, type EmulatorSettings, findUser, userOid, type World } from "./world.js";
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
  /**
   * Tenants, users and apps to add to the seeded directory (or to use instead of it, see
   * `directoryMode`): an object, or the path of a JSON file. The ready line's `directory` is accepted
   * as is.
   */
  directory?: DirectoryInput | string;
  /**
   * `add` (the default): `directory` adds to the seeded directory, its entries replacing seeded ones
   * with the same tenant id, username or client id; `replace`: only `directory` is used.
   */
  directoryMode?: DirectoryMode;
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
  /**
   * Serve the managed-identity endpoints of every source (App Service, Service Fabric, Azure Arc,
   * Cloud Shell, Azure Machine Learning, IMDS): `true` for the defaults, or options. See
   * docs/emulator.md and `emulator.managedIdentity.environment(source)`.
   */
  managedIdentity?: boolean | ManagedIdentityOptions;
}

/** A running emulator: its URL, the CA to trust, the directory, and the control operations as methods. */
export interface Emulator extends Omit<ControlOperations, "directory"> {
  /** `https://localhost:<port>`: authorities are `${url}/<tenant>`. */
  url: string;
  /** Absolute path of the CA certificate (PEM) that issued the server certificate. */
  caFile: string;
  /** The CA certificate (PEM) that issued the server certificate, for a client's `ca` option. */
  caPem: string;
  /**
   * The directory, with secrets and certificates, as printed in the ready line; read when accessed, so
   * it includes apps and users registered since.
   */
  readonly directory: PublicDirectory;
  /** The managed-identity listeners, when `managedIdentity` was asked for. */
  managedIdentity: ManagedIdentityEmulator | undefined;
  /**
   * Closes the server, its connections and the managed-identity listeners, and deletes the temporary
   * directory that holds `caFile`.
   */
  stop(): Promise<void>;
}

/** An emulator started with `managedIdentity`: its managed-identity side is there. */
export type EmulatorWithManagedIdentity = Emulator & {
  /** The managed-identity listeners. */
  managedIdentity: ManagedIdentityEmulator;
};

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
  mode: DirectoryMode | undefined,
  certificates: { web: AppCertificate; daemon: AppCertificate },
): Directory {
  const seed = seedDirectory(certificates);
  if (input === undefined) return seed;
  if (mode !== undefined && mode !== "add" && mode !== "replace")
    throw new Error(`directoryMode must be "add" or "replace", got "${mode}".`);
  const value: unknown = typeof input === "string" ? JSON.parse(readFileSync(input, "utf8")) : input;
  return buildDirectory(seed, value, mode ?? "add");
}

/**
 * How long an idle kept-alive connection stays open. Clients pool connections for longer than
 * Node's 5 s default (Python's urllib3 keeps them until the server closes them; load balancers in
 * front of Azure services idle out after minutes), and a POST sent on a socket the server is closing
 * at that moment gets a reset, so the emulator waits longer than common client idle timeouts.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 120_000;

/**
 * Starts an emulator on 127.0.0.1 with a new CA and `localhost` certificate (the CA is written to `caFile`)
 * and the seeded directory unless `options.directory` is given.
 */
export async function startEmulator(
  options: EmulatorOptions & { managedIdentity: true | ManagedIdentityOptions },
): Promise<EmulatorWithManagedIdentity>;
export async function startEmulator(options?: EmulatorOptions): Promise<Emulator>;
export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const ca = options.certificateAuthority
    ? loadCertificateAuthority(options.certificateAuthority)
    : createCertificateAuthority("msal-ts emulator CA");
  const tls = createServerCertificate(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] });
  const certificates = {
    web: appCertificate(createClientCertificate({ commonName: "web.contoso.test" })),
    daemon: appCertificate(createClientCertificate({ commonName: "daemon.contoso.test", issuer: ca })),
  };
  const directory = loadDirectory(options.directory, options.directoryMode, certificates);
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
    requestCount: 0,
    caeEvents: new Map(),
  };
  // Created once the port is known: the STS puts its own URLs in the MEX document.
  let sts: FederatedSts | undefined;
  let faultCounter = 0;

  const ops: ControlOperations = {
    directory: () => describeDirectory(world.directory),
    sshCaPublicKey: () => sshCaPublicKey(world.baseUrl),
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
    reset: (resetOptions: ResetOptions = {}) => {
      for (const map of [
        world.codes,
        world.refreshTokens,
        world.deviceCodes,
        world.sessions,
        world.pendingAuthorize,
        world.consents,
      ])
        map.clear();
      if (resetOptions.revocations === true) world.caeEvents.clear();
      world.faults.length = 0;
      world.log.length = 0;
      world.settings = { ...DEFAULT_SETTINGS, ...options.settings };
      sts?.reset();
      managedIdentity?.reset();
    },
    registerApp: (app) => describeApp(world.directory, registerApp(world.directory, app)),
    registerUser: (user) => describeUser(world.directory, registerUser(world.directory, user)),
  };

  async function handle(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    const req = await emuRequest(incoming, world.baseUrl);
    const path = req.url.pathname.split("/").filter(Boolean);
    // The sliver of Azure Resource Manager that tools call after signing in (arm.ts).
    const isArm = path[0] === "_emulator" && path[1] === "arm";
    const endpoint = isArm ? "arm" : endpointName(path);
    if (endpoint === "control") return send(res, req, controlEndpoint(req, ops, path.slice(1)));
    const entry = logRequest(world, req, endpoint);
    const faulted = await applyFault(world, endpoint, req, entry, incoming);
    if (faulted === "dropped") return;
    if (faulted) return send(res, req, faulted);
    const response = isArm
      ? armEndpoint(req, world, path.slice(2))
      : route(req, world, sts as FederatedSts, path);
    entry.status = response.status;
    send(res, req, response);
  }

  const server = createServer(
    {
      key: tls.privateKeyPem,
      cert: tls.certificatePem,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      // Node applies headersTimeout to a kept-alive socket's wait for the next request as well, so it
      // must exceed the idle timeout or idle connections are cut at headersTimeout instead.
      headersTimeout: KEEP_ALIVE_TIMEOUT_MS + 5_000,
    },
    (incoming, res) => {
      handle(incoming, res).catch((err: unknown) => sendUnexpected(res, err));
    },
  );
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

  const managedIdentity = options.managedIdentity
    ? await startManagedIdentity(world, options.managedIdentity === true ? {} : options.managedIdentity)
    : undefined;

  const { directory: _ignored, ...control } = ops;
  return {
    ...control,
    url: world.baseUrl,
    caFile,
    caPem: ca.certificatePem,
    get directory() {
      return describeDirectory(world.directory);
    },
    managedIdentity,
    stop: async () => {
      await managedIdentity?.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
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

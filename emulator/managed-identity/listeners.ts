/**
 * The managed-identity listeners. Real hosts serve their token endpoints over plain HTTP on a
 * link-local or loopback address (IMDS at 169.254.169.254, App Service, Arc, Cloud Shell and Azure
 * Machine Learning on localhost), so one plain-HTTP listener on 127.0.0.1 serves those five, each
 * under its own path so that they can share a port. Service Fabric alone serves HTTPS with the
 * cluster's certificate, so it has a second listener with a certificate from its own CA, not the
 * emulator's: a client that trusts the emulator's CA must still check Service Fabric's certificate
 * by `IDENTITY_SERVER_THUMBPRINT`, as it must on a real cluster.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmuRequest, type EmuResponse, json } from "../http.js";
import { applyFault, emuRequest, logRequest, send, sendUnexpected } from "../requests.js";
import type { World } from "../world.js";
import { createCertificateAuthority, createServerCertificate } from "../x509.js";
import { appServiceEndpoint } from "./app-service.js";
import { azureArcEndpoint, removeArcKeyFiles } from "./azure-arc.js";
import { cloudShellEndpoint } from "./cloud-shell.js";
import {
  type ManagedIdentityCatalog,
  type ManagedIdentitySource,
  seedManagedIdentities,
} from "./identities.js";
import { IMDS_TOKEN_PATH, imdsEndpoint } from "./imds.js";
import { machineLearningEndpoint } from "./machine-learning.js";
import { SERVICE_FABRIC_API_VERSION, serviceFabricEndpoint } from "./service-fabric.js";
import {
  DEFAULT_MANAGED_IDENTITY_SETTINGS,
  type ManagedIdentitySettings,
  type ManagedIdentityState,
} from "./tokens.js";

/** Settings as callers give them: any subset, lifetimes per source. */
export type ManagedIdentitySettingsInput = Partial<Omit<ManagedIdentitySettings, "lifetimes">> & {
  /** Token lifetimes in seconds for the sources named; the others keep theirs. */
  lifetimes?: Partial<Record<ManagedIdentitySource, number>>;
};

/** Options of the managed-identity listeners (`startEmulator({ managedIdentity })`). */
export interface ManagedIdentityOptions {
  /** Port of the plain-HTTP listener on 127.0.0.1 (default 0: a free one). */
  port?: number;
  /** Port of Service Fabric's HTTPS listener on 127.0.0.1 (default 0: a free one). */
  serviceFabricPort?: number;
  /**
   * Where Azure Arc writes its key files. Default: a new temporary directory. Clients look in a
   * fixed one (`/var/opt/azcmagent/tokens` on Linux), so real peers need that path here.
   */
  arcKeyDirectory?: string;
  /** Identities to serve instead of the seeded ones. */
  identities?: ManagedIdentityCatalog;
  /** Resources to accept besides the built-in Azure ones and the directory's apps. */
  resources?: string[];
  /** Token lifetimes, source-side caching, Arc key length. */
  settings?: ManagedIdentitySettingsInput;
  /** The user whose tokens Cloud Shell hands out (default: the directory's first managed user). */
  cloudShellUser?: string;
}

/**
 * The managed-identity side of a running emulator (`emulator.managedIdentity`).
 *
 * @example
 * ```ts
 * import { startEmulator } from "msal-ts/emulator";
 *
 * const emulator = await startEmulator({ managedIdentity: true });
 * const env = emulator.managedIdentity.environment("imds");
 * const res = await fetch(
 *   `${env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com/`,
 *   { headers: { Metadata: "true" } },
 * );
 * await emulator.stop();
 * ```
 */
export interface ManagedIdentityEmulator {
  /** `http://127.0.0.1:<port>`: the plain-HTTP listener. */
  url: string;
  /** Each source's token endpoint URL. */
  endpoints: Record<ManagedIdentitySource, string>;
  /** The environment variables an app on `source` would see; set these, and only these, to use it. */
  environment(source: ManagedIdentitySource): Record<string, string>;
  /** The served identities (system-assigned per host, user-assigned). */
  identities: ManagedIdentityCatalog;
  /** The directory Azure Arc writes its key files into. */
  arcKeyDirectory: string;
  /** Service Fabric's HTTPS listener: what a client must trust to reach it. */
  serviceFabric: {
    /** Upper-case hex SHA-1 of the listener's certificate: `IDENTITY_SERVER_THUMBPRINT`. */
    thumbprint: string;
    /** The listener's certificate (PEM). */
    certificatePem: string;
    /** The CA that issued it (PEM), and a file holding it, for `NODE_EXTRA_CA_CERTS`. */
    caPem: string;
    /** The file holding {@link ManagedIdentityEmulator.serviceFabric}'s `caPem`. */
    caFile: string;
  };
  /** Changes settings from now on (and forgets the tokens sources kept); returns them all. */
  configure(settings: ManagedIdentitySettingsInput): ManagedIdentitySettings;
  /** Forgets the tokens sources kept and the Arc keys not yet used; settings back to the start. */
  reset(): void;
  /**
   * Closes both listeners, removes the Arc key files left, and deletes the temporary directory (certificates,
   * default Arc key directory).
   */
  stop(): Promise<void>;
}

type Endpoint = { name: string; serve: (req: EmuRequest, state: ManagedIdentityState) => EmuResponse };

/** The plain listener's paths, one prefix per source (IMDS keeps the path clients append to a host). */
const PLAIN_ROUTES: Record<string, Endpoint> = {
  [IMDS_TOKEN_PATH]: { name: "imds", serve: imdsEndpoint },
  [`/azure-arc${IMDS_TOKEN_PATH}`]: { name: "azure-arc", serve: azureArcEndpoint },
  "/app-service/msi/token": { name: "app-service", serve: appServiceEndpoint },
  "/cloud-shell/oauth2/token": { name: "cloud-shell", serve: cloudShellEndpoint },
  "/machine-learning/msi/auth": { name: "machine-learning", serve: machineLearningEndpoint },
};
const SERVICE_FABRIC_ROUTE: Endpoint = { name: "service-fabric", serve: serviceFabricEndpoint };

function settingsFrom(base: ManagedIdentitySettings, input: ManagedIdentitySettingsInput = {}) {
  const { lifetimes, ...rest } = input;
  const known = Object.fromEntries(
    Object.entries(rest).filter(([k, v]) => k in DEFAULT_MANAGED_IDENTITY_SETTINGS && v !== undefined),
  );
  return { ...base, ...known, lifetimes: { ...base.lifetimes, ...lifetimes } };
}

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return (server.address() as AddressInfo).port;
}

function handler(
  state: ManagedIdentityState,
  baseUrl: () => string,
  route: (path: string) => Endpoint | undefined,
) {
  const world = state.world;
  async function handle(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    const req = await emuRequest(incoming, baseUrl());
    const path = req.url.pathname.replace(/\/+$/, "").toLowerCase();
    const endpoint = route(path);
    const entry = logRequest(world, req, endpoint?.name ?? "unknown");
    const faulted = endpoint ? await applyFault(world, endpoint.name, req, entry, incoming) : undefined;
    if (faulted === "dropped") return;
    const response =
      faulted ??
      endpoint?.serve(req, state) ??
      json(404, {
        error: "not_found",
        error_description: `No managed-identity endpoint at ${req.url.pathname}.`,
      });
    entry.status = response.status;
    send(res, req, response);
  }
  return (incoming: IncomingMessage, res: ServerResponse) => {
    handle(incoming, res).catch((err: unknown) => sendUnexpected(res, err));
  };
}

/** Starts the managed-identity listeners for a running emulator's world. */
export async function startManagedIdentity(
  world: World,
  options: ManagedIdentityOptions = {},
): Promise<ManagedIdentityEmulator> {
  const dir = mkdtempSync(join(tmpdir(), "msal-ts-managed-identity-"));
  const initialSettings = settingsFrom(DEFAULT_MANAGED_IDENTITY_SETTINGS, options.settings);
  const secret = () => randomBytes(24).toString("base64url");
  const state: ManagedIdentityState = {
    world,
    catalog: options.identities ?? seedManagedIdentities(),
    secrets: { appService: secret(), serviceFabric: secret(), machineLearning: secret() },
    settings: initialSettings,
    resources: options.resources ?? [],
    ...(options.cloudShellUser ? { cloudShellUser: options.cloudShellUser } : {}),
    issued: new Map(),
    arc: { directory: options.arcKeyDirectory ?? join(dir, "arc-tokens"), keys: new Map() },
  };

  const clusterCa = createCertificateAuthority("msal-ts emulator Service Fabric cluster CA");
  const clusterCert = createServerCertificate(clusterCa, {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "::1"],
  });
  const caFile = join(dir, "service-fabric-ca.pem");
  writeFileSync(caFile, clusterCa.certificatePem);

  let url = "";
  let sfUrl = "";
  const plain = createHttpServer(
    handler(
      state,
      () => url,
      (path) => PLAIN_ROUTES[path],
    ),
  );
  const secure = createHttpsServer(
    { key: clusterCert.privateKeyPem, cert: clusterCert.certificatePem },
    handler(
      state,
      () => sfUrl,
      (path) => (path === IMDS_TOKEN_PATH ? SERVICE_FABRIC_ROUTE : undefined),
    ),
  );
  url = `http://127.0.0.1:${await listen(plain, options.port ?? 0)}`;
  sfUrl = `https://127.0.0.1:${await listen(secure, options.serviceFabricPort ?? 0)}`;

  const endpoints: Record<ManagedIdentitySource, string> = {
    imds: `${url}${IMDS_TOKEN_PATH}`,
    azureArc: `${url}/azure-arc${IMDS_TOKEN_PATH}`,
    appService: `${url}/app-service/msi/token`,
    cloudShell: `${url}/cloud-shell/oauth2/token`,
    machineLearning: `${url}/machine-learning/MSI/auth`,
    serviceFabric: `${sfUrl}${IMDS_TOKEN_PATH}`,
  };
  const environments: Record<ManagedIdentitySource, Record<string, string>> = {
    appService: { IDENTITY_ENDPOINT: endpoints.appService, IDENTITY_HEADER: state.secrets.appService },
    serviceFabric: {
      IDENTITY_ENDPOINT: endpoints.serviceFabric,
      IDENTITY_HEADER: state.secrets.serviceFabric,
      IDENTITY_SERVER_THUMBPRINT: clusterCert.thumbprintSha1,
      IDENTITY_API_VERSION: SERVICE_FABRIC_API_VERSION,
    },
    azureArc: { IDENTITY_ENDPOINT: endpoints.azureArc, IMDS_ENDPOINT: `${url}/azure-arc` },
    cloudShell: { MSI_ENDPOINT: endpoints.cloudShell, AZUREPS_HOST_ENVIRONMENT: "cloud-shell/1.0" },
    machineLearning: {
      MSI_ENDPOINT: endpoints.machineLearning,
      MSI_SECRET: state.secrets.machineLearning,
      DEFAULT_IDENTITY_CLIENT_ID: state.catalog.systemAssigned.machineLearning.clientId,
    },
    imds: { AZURE_POD_IDENTITY_AUTHORITY_HOST: url },
  };

  return {
    url,
    endpoints,
    environment: (source) => {
      const env = environments[source];
      if (!env) throw new Error(`No managed-identity source "${source}".`);
      return { ...env };
    },
    identities: state.catalog,
    arcKeyDirectory: state.arc.directory,
    serviceFabric: {
      thumbprint: clusterCert.thumbprintSha1,
      certificatePem: clusterCert.certificatePem,
      caPem: clusterCa.certificatePem,
      caFile,
    },
    configure: (input) => {
      state.settings = settingsFrom(state.settings, input);
      state.issued.clear();
      return { ...state.settings, lifetimes: { ...state.settings.lifetimes } };
    },
    reset: () => {
      state.settings = initialSettings;
      state.issued.clear();
      removeArcKeyFiles(state);
    },
    stop: async () => {
      for (const server of [plain, secure]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      removeArcKeyFiles(state);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

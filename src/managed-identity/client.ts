/**
 * `ManagedIdentityClient`: tokens for code running on Azure, from the managed identity source the
 * host offers (spec sections 1.10, 3.14, 8.3). The cache first, unless a claims challenge asks for
 * a new token; a token past its `refresh_on` is renewed, and kept as the answer if renewal fails;
 * identical concurrent requests share one call; every wait ends when the caller's signal aborts.
 */
import { DEFAULT_TIMEOUT_MS, validateClaimsChallenge } from "../app/options.js";
import type { AccessTokenHit } from "../cache/queries.js";
import { TokenCache } from "../cache/token-cache.js";
import { ArgumentError, ConfigurationError } from "../errors.js";
import { send } from "../http/client.js";
import { NetworkError } from "../http/network-error.js";
import { joinSharedCall, type SharedCall, startSharedCall } from "../http/shared-call.js";
import type { FetchLike, HttpCacheStore, HttpResponse } from "../http/types.js";
import { type Logger, type LogSink, logSink, logs } from "../logging.js";
import type { TokenResult, TokenSuccess } from "../protocol/token-result.js";
import { appServiceToken } from "./app-service.js";
import { azureArcToken } from "./azure-arc.js";
import {
  cacheClientId,
  cacheEnvironment,
  findManagedIdentityToken,
  type ManagedIdentityCacheSlot,
  sha256Hex,
  storeManagedIdentityToken,
} from "./cache.js";
import { cloudShellToken } from "./cloud-shell.js";
import { type DetectedSource, detectSource } from "./detect-source.js";
import { ManagedIdentityError } from "./errors.js";
import { type ManagedIdentity, validateManagedIdentity } from "./identity.js";
import { type ImdsRetryPolicy, imdsToken, retryingImds } from "./imds.js";
import { machineLearningToken } from "./machine-learning.js";
import { defaultManagedIdentityPlatform, type ManagedIdentityPlatform } from "./platform.js";
import { isFailure, type SourceCall, type SourceRequest, type SourceResult } from "./response.js";
import { serviceFabricToken } from "./service-fabric.js";
import { throttled } from "./throttling.js";

/** Options of {@link ManagedIdentityClient}; all optional. */
export interface ManagedIdentityClientOptions {
  /** Where tokens are cached (default: a cache of its own). Share an app's `TokenCache` freely: the keys differ. */
  tokenCache?: TokenCache;
  /** Where throttled answers are kept (default: a `Map` of its own). */
  httpCache?: HttpCacheStore;
  /**
   * The transport (default: a direct one; the endpoints are local, so no proxy). A `fetch` of your
   * own also serves Service Fabric, whose self-signed certificate it must then check itself.
   */
  fetch?: FetchLike;
  /** Milliseconds for one request, connect to last byte (default 30 000). */
  timeout?: number;
  /** Client capabilities (`["cp1"]`: the app handles claims challenges), sent as `xms_cc` on App Service and Service Fabric. */
  clientCapabilities?: string[];
  /** How IMDS requests are retried on 404, 410, 429 and 5xx (default: 3 retries, 1, 2 then 4 s apart). */
  imdsRetry?: ImdsRetryPolicy;
  /** Receives log lines at `logger.level` and above (default `info`). */
  logger?: Logger;
  /**
   * Let personal data into log lines; off (the default), they show `[PII hidden]` in its place. Tokens and
   * secrets are never logged either way.
   */
  enablePiiLog?: boolean;
  /**
   * For tests only, never in production: the directory the Azure Arc challenge's key file must be
   * in, instead of the agent's (`/var/opt/azcmagent/tokens`, `%ProgramData%\AzureConnectedMachineAgent\Tokens`).
   * The emulator writes its key files where this points.
   */
  arcKeyDirectoryForTests?: string;
}

/** What {@link ManagedIdentityClient.acquireTokenForClient} takes. */
export interface ManagedIdentityRequest {
  /** The resource the token is for, e.g. `https://vault.azure.net` (a resource, not a scope). */
  resource: string;
  /** The claims challenge from a resource's `WWW-Authenticate` header: skips the cache. */
  claimsChallenge?: string;
  /** Aborts the request (and any retry or wait). */
  signal?: AbortSignal;
}

/** Access tokens within this many seconds of expiry are not served. */
const EXPIRY_BUFFER_SECONDS = 300;
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const SOURCES = {
  ServiceFabric: serviceFabricToken,
  AppService: appServiceToken,
  MachineLearning: machineLearningToken,
  CloudShell: cloudShellToken,
  Imds: imdsToken,
  DefaultToImds: imdsToken,
} as const;

/** Sources whose endpoint takes `token_sha256_to_refresh` (token revocation). */
const REVOCATION_SOURCES = new Set(["AppService", "ServiceFabric"]);

function cacheHit(hit: AccessTokenHit, now: number): TokenSuccess {
  const result: TokenSuccess = {
    access_token: hit.entry.secret,
    token_type: hit.entry.token_type ?? "Bearer",
    expires_in: hit.expiresOn - now,
    token_source: "cache",
  };
  if (hit.entry.refresh_on !== undefined) result.refresh_on = Number(hit.entry.refresh_on);
  return result;
}

/** The {@link ManagedIdentityError} a transport failed with (a Service Fabric certificate refused), if any. */
function managedIdentityCause(error: unknown): ManagedIdentityError | undefined {
  for (let link = error, depth = 0; link && depth < 10; depth++) {
    if (link instanceof ManagedIdentityError) return link;
    link = (link as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A transport failure where nothing in the environment named a source: most likely no managed
 * identity here at all (a laptop, a build agent), which the bare network error would not say.
 */
function unavailable(detected: DetectedSource, error: unknown): ManagedIdentityError | undefined {
  if (detected.source !== "DefaultToImds" || !(error instanceof NetworkError)) return undefined;
  return new ManagedIdentityError(
    "managed_identity_unavailable",
    `No managed identity source is configured here (none of IDENTITY_ENDPOINT, MSI_ENDPOINT, IMDS_ENDPOINT is set), and the VM's instance metadata service at ${detected.endpoint} could not be reached (${error.kind}). Run on an Azure resource with a managed identity, or, locally, use a developer credential or the emulator (docs/azure.md).`,
    { cause: error },
  );
}

/**
 * Tokens for the managed identity of the Azure resource the code runs on: App Service, Functions,
 * VMs and scale sets, AKS, Azure Arc, Service Fabric, Cloud Shell, Azure Machine Learning. The
 * source comes from the environment (see {@link getManagedIdentitySource} and docs/azure.md).
 *
 * @example
 * ```ts
 * import { ManagedIdentityClient, SystemAssignedManagedIdentity, isTokenError } from "msal-ts";
 *
 * const client = new ManagedIdentityClient(new SystemAssignedManagedIdentity());
 * const result = await client.acquireTokenForClient({ resource: "https://vault.azure.net" });
 * if (isTokenError(result)) throw new Error(result.error_description);
 * const secret = await fetch("https://my-vault.vault.azure.net/secrets/db?api-version=7.4", {
 *   headers: { Authorization: `Bearer ${result.access_token}` },
 * });
 * ```
 */
export class ManagedIdentityClient {
  /** The identity tokens are for. */
  readonly identity: ManagedIdentity;
  readonly #options: ManagedIdentityClientOptions;
  readonly #platform: ManagedIdentityPlatform;
  readonly #cache: TokenCache;
  readonly #httpCache: HttpCacheStore;
  readonly #log: LogSink;
  readonly #inflight = new Map<string, SharedCall<TokenResult>>();
  readonly #transports = new Map<string, FetchLike>();
  #slot: ManagedIdentityCacheSlot | undefined;

  constructor(
    identity: ManagedIdentity,
    options: ManagedIdentityClientOptions = {},
    platform: ManagedIdentityPlatform = defaultManagedIdentityPlatform(),
  ) {
    this.identity = validateManagedIdentity(identity);
    validateOptions(options);
    this.#options = options;
    this.#platform = platform;
    this.#cache = options.tokenCache ?? new TokenCache();
    this.#httpCache = options.httpCache ?? new Map();
    this.#log = logSink(options.logger);
  }

  /** The token cache this client reads and writes. */
  get tokenCache(): TokenCache {
    return this.#cache;
  }

  /**
   * A token for `resource`, from the cache when it holds one valid for 5 more minutes and not past
   * its `refresh_on`. An error from the endpoint is a result (`error`, `error_description`); a
   * source that cannot serve this identity throws {@link ManagedIdentityError}; a transport failure
   * throws `NetworkError`.
   *
   * @example
   * ```ts
   * const client = new ManagedIdentityClient(new UserAssignedManagedIdentity({ clientId: "9f1c2d3e-0000-4000-8000-000000000001" }));
   * const result = await client.acquireTokenForClient({
   *   resource: "https://management.azure.com",
   *   signal: AbortSignal.timeout(10_000),
   * });
   * ```
   */
  async acquireTokenForClient(request: ManagedIdentityRequest): Promise<TokenResult> {
    const { resource, claimsChallenge, signal } = request ?? ({} as ManagedIdentityRequest);
    if (typeof resource !== "string" || resource.trim() === "")
      throw new ArgumentError(
        "resource",
        typeof request === "string"
          ? `acquireTokenForClient takes an object: acquireTokenForClient({ resource: ${JSON.stringify(request)} }).`
          : 'acquireTokenForClient needs { resource }, the resource the token is for, e.g. { resource: "https://vault.azure.net" }.',
      );
    validateClaimsChallenge(claimsChallenge);
    signal?.throwIfAborted();
    const slot = this.#cacheSlot();
    let aging: AccessTokenHit | undefined;
    if (claimsChallenge === undefined) {
      const now = nowSeconds();
      const found = await findManagedIdentityToken(slot, resource, now, EXPIRY_BUFFER_SECONDS);
      if (found && !(found.entry.refresh_on !== undefined && !(Number(found.entry.refresh_on) >= now)))
        return cacheHit(found, now);
      aging = found;
    }
    const key = `${resource}\n${claimsChallenge ?? ""}`;
    let call = this.#inflight.get(key);
    if (!call) {
      const started = startSharedCall((shared) => this.#obtain(resource, claimsChallenge, shared));
      this.#inflight.set(key, started);
      const forget = () => {
        if (this.#inflight.get(key) === started) this.#inflight.delete(key);
      };
      started.promise.then(forget, forget);
      call = started;
    }
    try {
      const result = await joinSharedCall(call, signal);
      if (!result.error || !aging) return result;
      this.#log(
        "warning",
        `Managed identity: renewing the token failed (${result.error}); the cached one is still valid.`,
      );
      return cacheHit(aging, nowSeconds());
    } catch (error) {
      if (!aging || signal?.aborted) throw error;
      this.#log(
        "warning",
        `Managed identity: renewing the token failed (${String(error)}); the cached one is still valid.`,
      );
      return cacheHit(aging, nowSeconds());
    }
  }

  #cacheSlot(): ManagedIdentityCacheSlot {
    this.#slot ??= {
      cache: this.#cache,
      clientId: cacheClientId(this.identity),
      environment: cacheEnvironment(this.#platform.hostname()),
    };
    return this.#slot;
  }

  /** One request to the source, its result cached. */
  async #obtain(resource: string, claims: string | undefined, signal: AbortSignal): Promise<TokenResult> {
    const detected = detectSource(this.#platform);
    const slot = this.#cacheSlot();
    let throttledUntil: number | undefined;
    const sender = this.#sender(detected, signal);
    const call: SourceCall = {
      detected,
      identity: this.identity,
      resource,
      send: async (request) => {
        const response = await sender(request);
        throttledUntil = response.throttledUntil;
        return response;
      },
      now: nowSeconds,
      warn: (message) => this.#log("warning", message),
    };
    if (this.#options.clientCapabilities) call.clientCapabilities = this.#options.clientCapabilities;
    if (claims !== undefined && REVOCATION_SOURCES.has(detected.source)) {
      // Token revocation: the endpoint is told which token the resource refused, so it does not hand it out again.
      const stale = await findManagedIdentityToken(slot, resource, nowSeconds(), 0);
      if (stale) call.revokedTokenHash = await sha256Hex(stale.entry.secret);
    }
    const started = Date.now();
    let result: SourceResult;
    try {
      result =
        detected.source === "AzureArc"
          ? await azureArcToken(call, {
              os: this.#platform.os,
              env: this.#platform.env(),
              readKeyFile: (path, max) => this.#platform.readKeyFile(path, max),
              ...(this.#options.arcKeyDirectoryForTests !== undefined
                ? { keyDirectory: this.#options.arcKeyDirectoryForTests }
                : {}),
            })
          : await SOURCES[detected.source](call);
    } catch (error) {
      if (signal.aborted) throw signal.reason;
      throw managedIdentityCause(error) ?? unavailable(detected, error) ?? error;
    }
    if (isFailure(result)) {
      if (throttledUntil !== undefined)
        result.retry_after = Math.max(1, Math.ceil((throttledUntil - Date.now()) / 1000));
      this.#log(
        "warning",
        `Managed identity (${detected.source}): ${result.error}${result.status !== undefined ? `, HTTP ${result.status}` : ""}.`,
      );
      return result;
    }
    const success = await storeManagedIdentityToken(slot, resource, result, nowSeconds());
    if (logs(this.#log, "info"))
      this.#log(
        "info",
        `Managed identity (${detected.source}): token obtained for ${resource} in ${Date.now() - started} ms.`,
      );
    return success;
  }

  /** How requests to the source go: the transport, IMDS's retries, then throttling. */
  #sender(detected: DetectedSource, signal: AbortSignal): (request: SourceRequest) => Promise<HttpResponse> {
    const fetch = this.#transport(detected);
    const config = {
      fetch,
      timeoutMs: this.#options.timeout ?? DEFAULT_TIMEOUT_MS,
      defaultRetryAfterSeconds: 5,
      cache: this.#httpCache,
      log: this.#log,
    };
    let sender = (request: SourceRequest) =>
      send(config, { ...request, signal, retryAndThrottle: false, maxResponseBytes: 64 * 1024 });
    if (detected.source === "Imds" || detected.source === "DefaultToImds")
      sender = retryingImds(sender, this.#options.imdsRetry ?? {}, this.#log, signal);
    return throttled(sender, this.#httpCache, sha256Hex);
  }

  #transport(detected: DetectedSource): FetchLike {
    if (this.#options.fetch) {
      if (detected.thumbprint && !this.#transports.has("pinned-by-caller")) {
        this.#transports.set("pinned-by-caller", this.#options.fetch);
        this.#log(
          "warning",
          "Service Fabric: with a fetch of your own, checking the endpoint's certificate against IDENTITY_SERVER_THUMBPRINT is that fetch's job.",
        );
      }
      return this.#options.fetch;
    }
    const timeoutMs = this.#options.timeout ?? DEFAULT_TIMEOUT_MS;
    const key = detected.thumbprint ? `pinned:${detected.thumbprint}` : "direct";
    let transport = this.#transports.get(key);
    if (transport) return transport;
    if (detected.thumbprint) {
      if (!this.#platform.createPinnedFetch)
        throw new ManagedIdentityError(
          "service_fabric_certificate_unverifiable",
          "Service Fabric's endpoint has a self-signed certificate that must match IDENTITY_SERVER_THUMBPRINT, and this runtime cannot check it. Use the Node entry of msal-ts, or pass a `fetch` that accepts only that certificate.",
        );
      transport = this.#platform.createPinnedFetch(detected.thumbprint, { timeoutMs });
    } else {
      transport = this.#platform.createFetch({ timeoutMs });
    }
    this.#transports.set(key, transport);
    return transport;
  }
}

function validateOptions(options: ManagedIdentityClientOptions): void {
  if (typeof options !== "object" || options === null)
    throw new ConfigurationError(
      "options",
      "ManagedIdentityClient's options must be an object, e.g. { tokenCache }.",
    );
  const { timeout, clientCapabilities } = options;
  if (timeout !== undefined && !(typeof timeout === "number" && timeout > 0))
    throw new ConfigurationError(
      "timeout",
      "timeout is in milliseconds and must be a positive number, e.g. 10_000.",
    );
  if (
    clientCapabilities !== undefined &&
    !(Array.isArray(clientCapabilities) && clientCapabilities.every((c) => typeof c === "string"))
  )
    throw new ConfigurationError(
      "clientCapabilities",
      'clientCapabilities must be an array of strings, e.g. ["cp1"].',
    );
}

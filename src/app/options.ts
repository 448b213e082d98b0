/**
 * Application options and their validation: a wrong option throws a `ConfigurationError` naming
 * the option and the fix, in the constructor, before any I/O.
 */

import type { AuthorityBuilder } from "../authority/authority.js";
import type { AzureRegionOption } from "../authority/region.js";
import type { TokenCache } from "../cache/token-cache.js";
import type { ClientCredential } from "../credentials/types.js";
import { ArgumentError, ConfigurationError } from "../errors.js";
import type { FetchLike, HttpCacheStore } from "../http/types.js";
import type { Logger } from "../logging.js";

export interface ClientApplicationOptions {
  /** The authority, e.g. `https://login.microsoftonline.com/<tenant>`. Default: `.../common`. */
  authority?: string | AuthorityBuilder;
  /** A generic OpenID Connect provider's issuer URL, instead of `authority`. */
  oidcAuthority?: string;
  /** `false` trusts the authority's host without instance discovery (custom domains, test servers). */
  validateAuthority?: boolean;
  /** `false` never calls instance discovery; a URL uses that endpoint instead of Microsoft's. */
  instanceDiscovery?: boolean | string;
  /** The token cache; default: a new in-memory one. */
  tokenCache?: TokenCache;
  /** The HTTP transport. Default: Node's with proxy and CA support, or the global fetch. */
  fetch?: FetchLike;
  /** Proxy URL; default from HTTPS_PROXY / NO_PROXY (Node). */
  proxy?: string;
  /** Extra CA certificates (PEM) to trust, e.g. a TLS-inspecting proxy's (Node). */
  ca?: string | string[];
  /** Milliseconds before a request is abandoned (default 30000). */
  timeout?: number;
  /** Claims merged into the client assertion JWT (certificate credentials). */
  clientClaims?: Record<string, unknown>;
  appName?: string;
  appVersion?: string;
  /** Client capabilities such as `["CP1"]`, sent as `xms_cc` in the claims parameter. */
  clientCapabilities?: string[];
  /** Scopes MSAL would add (`offline_access`, `profile`) to leave out. */
  excludeScopes?: string[];
  /** Where throttling entries and discovery responses are kept; persist it to skip discovery on the next run. */
  httpCache?: HttpCacheStore;
  logger?: Logger;
  /**
   * Let personal data into log lines: user names (UPNs, emails), object ids and account ids. Off
   * (the default), lines show `[PII hidden]` in their place. Tokens, codes, secrets, assertions and
   * passwords are never logged either way.
   */
  enablePiiLog?: boolean;
}

export interface ConfidentialClientOptions extends ClientApplicationOptions {
  clientCredential: ClientCredential;
  /** A region name (`"westus"`), `ATTEMPT_REGION_DISCOVERY`, or `false`; client credentials only. */
  azureRegion?: AzureRegionOption;
}

export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common";
export const DEFAULT_TIMEOUT_MS = 30_000;

export function validateClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== "string" || clientId.trim() === "") {
    throw new ConfigurationError(
      "clientId",
      "clientId must be the application (client) id from the app registration, a non-empty string.",
    );
  }
}

export function validateCommonOptions(options: ClientApplicationOptions): void {
  if (options.authority !== undefined && options.oidcAuthority !== undefined) {
    throw new ConfigurationError(
      "oidcAuthority",
      "Give either authority (Entra ID) or oidcAuthority (another OpenID provider), not both.",
    );
  }
  if (options.timeout !== undefined && !(Number.isFinite(options.timeout) && options.timeout > 0)) {
    throw new ConfigurationError(
      "timeout",
      `timeout must be a positive number of milliseconds, got ${String(options.timeout)}.`,
    );
  }
  if (options.excludeScopes !== undefined) {
    if (!Array.isArray(options.excludeScopes))
      throw new ConfigurationError("excludeScopes", "excludeScopes must be an array of scope strings.");
    if (options.excludeScopes.includes("openid")) {
      throw new ConfigurationError(
        "excludeScopes",
        "excludeScopes cannot contain openid: sign-in needs it. Leave out profile or offline_access instead.",
      );
    }
  }
  if (
    options.clientCapabilities !== undefined &&
    !(
      Array.isArray(options.clientCapabilities) &&
      options.clientCapabilities.every((c) => typeof c === "string")
    )
  ) {
    throw new ConfigurationError(
      "clientCapabilities",
      'clientCapabilities must be an array of strings, such as ["CP1"].',
    );
  }
  if (options.fetch !== undefined && typeof options.fetch !== "function") {
    throw new ConfigurationError(
      "fetch",
      "fetch must be a fetch-compatible function (url, init) => Promise<Response>.",
    );
  }
  if (options.fetch !== undefined && (options.proxy !== undefined || options.ca !== undefined)) {
    throw new ConfigurationError(
      options.proxy !== undefined ? "proxy" : "ca",
      "proxy and ca configure the built-in transport; with your own fetch, set them up in it.",
    );
  }
}

export function validateScopes(scopes: unknown, argument = "scopes"): asserts scopes is string[] {
  if (!Array.isArray(scopes) || !scopes.every(isScope)) {
    throw new ArgumentError(
      argument,
      `${argument} must be an array of non-empty scope strings, e.g. ["https://graph.microsoft.com/.default"].`,
    );
  }
}

const isScope = (s: unknown) => typeof s === "string" && s.length > 0;

/** A claims challenge must be the JSON the resource sent (in WWW-Authenticate), not anything else. */
export function validateClaimsChallenge(claims: unknown): asserts claims is string | undefined {
  if (claims === undefined) return;
  try {
    if (typeof claims !== "string" || typeof JSON.parse(claims) !== "object")
      throw new Error("not a JSON object");
  } catch (cause) {
    throw new ArgumentError(
      "claimsChallenge",
      "claimsChallenge must be the JSON object text from the resource's WWW-Authenticate claims (base64-decoded).",
      { cause },
    );
  }
}

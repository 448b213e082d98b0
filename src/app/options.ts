/**
 * Application options and their validation: a wrong option throws a `ConfigurationError` naming
 * the option, the type it takes and the fix, in the constructor, before any I/O. The checks are one
 * table ({@link OPTION_RULES}); an unknown name is refused with the option it most likely meant, as
 * MSAL Python refuses an unexpected keyword argument.
 */

import { AuthorityBuilder } from "../authority/authority.js";
import type { AzureRegionOption } from "../authority/region.js";
import { TokenCache } from "../cache/token-cache.js";
import type { ClientCredential } from "../credentials/types.js";
import { ArgumentError, ConfigurationError } from "../errors.js";
import type { FetchLike, HttpCacheStore } from "../http/types.js";
import type { Logger } from "../logging.js";

/**
 * Options of both applications. A name it does not have, or a value of another type, throws a
 * `ConfigurationError` in the constructor that names the option (and what was meant, for a typo).
 *
 * @example
 * ```ts
 * const options: ClientApplicationOptions = { authority: "https://login.microsoftonline.com/organizations" };
 * ```
 */
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
  /** Extra CA certificates to trust (Node), e.g. a TLS-inspecting proxy's: PEM text, not a file path. */
  ca?: string | string[];
  /** Milliseconds before a request is abandoned (default 30000). */
  timeout?: number;
  /** Claims merged into the client assertion JWT (certificate credentials). */
  clientClaims?: Record<string, unknown>;
  /** Sent as the `x-app-name` and `x-app-ver` headers of token requests. */
  appName?: string;
  /** Sent as the `x-app-ver` header of token requests, with `appName`. */
  appVersion?: string;
  /** Client capabilities such as `["CP1"]`, sent as `xms_cc` in the claims parameter. */
  clientCapabilities?: string[];
  /** Scopes MSAL would add (`offline_access`, `profile`) to leave out. */
  excludeScopes?: string[];
  /** Where throttling entries and discovery responses are kept; persist it to skip discovery on the next run. */
  httpCache?: HttpCacheStore;
  /** Receives log lines at `logger.level` and above (default `info`). */
  logger?: Logger;
  /**
   * Let personal data into log lines: user names (UPNs, emails), object ids and account ids. Off
   * (the default), lines show `[PII hidden]` in their place. Tokens, codes, secrets, assertions and
   * passwords are never logged either way.
   */
  enablePiiLog?: boolean;
}

/**
 * A confidential client's options: a credential, and a region for client credentials.
 *
 * @example
 * ```ts
 * const options: ConfidentialClientOptions = { authority, clientCredential: secret, azureRegion: "westus" };
 * ```
 */
export interface ConfidentialClientOptions extends ClientApplicationOptions {
  /** A secret string, `{ privateKey, ... }` (PEM), `{ pfx, passphrase? }` or `{ clientAssertion }`. */
  clientCredential: ClientCredential;
  /** A region name (`"westus"`), `ATTEMPT_REGION_DISCOVERY`, or `false`; client credentials only. */
  azureRegion?: AzureRegionOption;
}

export const DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common";
export const DEFAULT_TIMEOUT_MS = 30_000;

/** Which constructor the options are for: a few options belong to confidential clients only. */
export type ApplicationKind = "public" | "confidential";

/** One option's check: `valid` on its value (never `undefined`), and what it takes, for the message. */
interface OptionRule {
  valid: (value: unknown) => boolean;
  expected: string;
}

const isString = (v: unknown): v is string => typeof v === "string";
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const hasMethods = (v: unknown, ...names: string[]) =>
  isObject(v) && names.every((name) => typeof v[name] === "function");
const isBoolean = (v: unknown) => typeof v === "boolean";
const isStringOrBoolean = (v: unknown) => isString(v) || isBoolean(v);
const isPositiveNumber = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
const LOG_LEVELS = [undefined, "error", "warning", "info", "verbose"];

const OPTION_RULES: Record<keyof ConfidentialClientOptions, OptionRule> = {
  authority: {
    valid: (v) => isString(v) || v instanceof AuthorityBuilder || v instanceof URL,
    expected: 'a URL string such as "https://login.microsoftonline.com/<tenant>", or an AuthorityBuilder',
  },
  oidcAuthority: { valid: isString, expected: "the issuer URL (a string) of an OpenID Connect provider" },
  validateAuthority: { valid: isBoolean, expected: "true or false" },
  instanceDiscovery: {
    valid: isStringOrBoolean,
    expected: "true, false, or the URL (a string) of an instance discovery endpoint",
  },
  tokenCache: {
    valid: (v) => v instanceof TokenCache,
    expected: "a TokenCache (or SerializableTokenCache, PersistedTokenCache, DistributedTokenCache)",
  },
  fetch: { valid: (v) => typeof v === "function", expected: "a function (url, init) => Promise<Response>" },
  proxy: { valid: isString, expected: 'a proxy URL string such as "http://proxy.corp:8080"' },
  ca: {
    valid: (v) => isString(v) || isStringArray(v),
    expected: 'PEM text or an array of PEM texts: ca: readFileSync("ca.pem", "utf8")',
  },
  timeout: { valid: isPositiveNumber, expected: "a positive number of milliseconds" },
  clientClaims: { valid: isObject, expected: "an object of claims to add to the client assertion" },
  appName: { valid: isString, expected: "a string" },
  appVersion: { valid: isString, expected: "a string" },
  clientCapabilities: { valid: isStringArray, expected: 'an array of strings, such as ["CP1"]' },
  excludeScopes: { valid: isStringArray, expected: 'an array of scopes, such as ["offline_access"]' },
  httpCache: {
    valid: (v) => hasMethods(v, "get", "set", "delete"),
    expected: "a Map, or an object with get, set and delete methods",
  },
  logger: {
    valid: (v) => hasMethods(v, "log") && LOG_LEVELS.includes((v as Logger).level),
    expected: 'an object { level?: "error" | "warning" | "info" | "verbose", log(level, message) }',
  },
  enablePiiLog: { valid: isBoolean, expected: "true or false" },
  clientCredential: {
    valid: (v) => isString(v) || isObject(v),
    expected:
      "a secret string, { privateKey, thumbprintSha256?, publicCertificate? }, { pfx, passphrase? } or { clientAssertion }",
  },
  azureRegion: {
    valid: isStringOrBoolean,
    expected: 'a region name such as "westus", ATTEMPT_REGION_DISCOVERY (true), or false',
  },
};

const CONFIDENTIAL_ONLY = new Set(["clientCredential", "azureRegion"]);

/** Names for options that msal-node (`clientSecret`, `knownAuthorities`) or MSAL Python (`verify`) use. */
const RENAMED: Record<string, string> = {
  clientSecret: "clientCredential (the secret string)",
  clientCertificate: "clientCredential: { privateKey, thumbprintSha256, publicCertificate }",
  clientAssertion: "clientCredential: { clientAssertion }",
  authorityUrl: "authority",
  tenant: 'authority: "https://login.microsoftonline.com/<tenant>"',
  tenantId: 'authority: "https://login.microsoftonline.com/<tenant>"',
  knownAuthorities: "validateAuthority: false",
  cache: "tokenCache",
  httpClient: "fetch",
  proxies: "proxy",
  verify: "ca",
  region: "azureRegion",
};

/** msal-node's configuration sections: their presence means the whole object is msal-node's shape. */
const MSAL_NODE_SECTIONS = ["auth", "system", "broker", "telemetry"];

/**
 * Checks a constructor's arguments: the client id, then every option against {@link OPTION_RULES},
 * then the rules between options. Throws a `ConfigurationError` that names the option.
 */
export function validateApplicationArguments(
  kind: ApplicationKind,
  clientId: unknown,
  options: unknown,
): asserts options is ClientApplicationOptions {
  const className = kind === "public" ? "PublicClientApplication" : "ConfidentialClientApplication";
  if (isObject(clientId)) throw msalNodeShapeError(className, clientId);
  validateClientId(clientId);
  if (options === undefined && kind === "public") return;
  if (!isObject(options)) {
    throw new ConfigurationError(
      "options",
      `The second argument of ${className} is the options object, got ${describe(options)}. Write new ${className}(clientId, { ${kind === "public" ? "authority" : "clientCredential: secret, authority"} }).`,
    );
  }
  for (const [name, value] of Object.entries(options)) checkOption(kind, className, name, value);
  if (kind === "confidential" && options.clientCredential === undefined) {
    throw new ConfigurationError(
      "clientCredential",
      "A confidential client needs clientCredential: a client secret, a certificate, a PFX or an assertion.",
    );
  }
  validateCommonOptions(options as ClientApplicationOptions);
}

function checkOption(kind: ApplicationKind, className: string, name: string, value: unknown): void {
  const rule = (OPTION_RULES as Record<string, OptionRule | undefined>)[name];
  if (rule === undefined) throw unknownOptionError(className, name);
  if (kind === "public" && CONFIDENTIAL_ONLY.has(name) && value !== undefined) {
    throw new ConfigurationError(
      name,
      name === "clientCredential"
        ? "A public client has no credential: use ConfidentialClientApplication for apps that hold a secret or certificate."
        : `${name} applies to client credentials, in ConfidentialClientApplication only.`,
    );
  }
  // `null` is refused rather than read as "not given": flows read some options without a default.
  if (value === undefined || rule.valid(value)) return;
  throw new ConfigurationError(
    name,
    value === null
      ? `${name} must be ${rule.expected}, got null. Leave it out for the default.`
      : `${name} must be ${rule.expected}, got ${describe(value)}.`,
  );
}

function unknownOptionError(className: string, name: string): ConfigurationError {
  if (MSAL_NODE_SECTIONS.includes(name)) {
    return new ConfigurationError(
      name,
      `${name} is a section of msal-node's configuration; msal-ts takes flat options: new ${className}(clientId, { authority, ... }). See the options of ${className} in the README.`,
    );
  }
  const suggestion = suggestOption(name);
  return new ConfigurationError(
    name,
    `${className} has no option ${name}${suggestion ? `: did you mean ${suggestion}?` : "."} Its options are ${optionNames(className).join(", ")}.`,
  );
}

const optionNames = (className: string) =>
  Object.keys(OPTION_RULES).filter(
    (name) => className !== "PublicClientApplication" || !CONFIDENTIAL_ONLY.has(name),
  );

/** The option a misspelt or foreign name most likely means, or `undefined`. */
function suggestOption(name: string): string | undefined {
  const camel = name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const known = Object.keys(OPTION_RULES);
  const exact = known.find((k) => k.toLowerCase() === camel.toLowerCase());
  if (exact) return exact;
  const renamed = Object.entries(RENAMED).find(([k]) => k.toLowerCase() === camel.toLowerCase());
  if (renamed) return renamed[1];
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(camel.length / 4)) + 1;
  for (const candidate of known) {
    const distance = editDistance(camel.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

/** Levenshtein distance; option names are short, so the quadratic table costs nothing. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** msal-node's fields, by section, and how each is written in msal-ts's options. */
const MSAL_NODE_FIELDS: Array<[section: string, field: string, written: string]> = [
  ["auth", "authority", "authority: auth.authority"],
  ["auth", "clientSecret", "clientCredential: auth.clientSecret"],
  [
    "auth",
    "clientCertificate",
    "clientCredential: { privateKey, thumbprintSha256, publicCertificate /* x5c */ }",
  ],
  ["auth", "clientAssertion", "clientCredential: { clientAssertion: auth.clientAssertion }"],
  ["auth", "knownAuthorities", "validateAuthority: false"],
  ["auth", "clientCapabilities", "clientCapabilities: auth.clientCapabilities"],
  ["system", "proxyUrl", "proxy: system.proxyUrl"],
  ["system", "networkClient", "fetch"],
  ["system", "loggerOptions", "logger: { level, log(level, message) }"],
  ["cache", "cachePlugin", "tokenCache"],
];

/**
 * msal-node takes one `{ auth: { clientId, authority, clientSecret }, system, cache }` object; say
 * how the same app is written here, from the fields it has (never their values: one is a secret).
 */
function msalNodeShapeError(className: string, config: Record<string, unknown>): ConfigurationError {
  const fields = MSAL_NODE_FIELDS.filter(([section, field]) => {
    const part = config[section];
    return isObject(part) && part[field] !== undefined;
  }).map(([, , written]) => written);
  const id = isObject(config.auth) && isString(config.auth.clientId) ? "auth.clientId" : "clientId";
  const rewritten = `new ${className}(${id}${fields.length ? `, { ${fields.join(", ")} }` : ""})`;
  return new ConfigurationError(
    "clientId",
    `${className} takes the client id and the options as two arguments, not msal-node's { auth: { clientId, ... } } object. Write ${rewritten}.`,
  );
}

/** What a wrong value is, for a message: its type, and its value only when it cannot be a secret. */
function describe(value: unknown): string {
  if (value === null || typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "bytes (a Buffer or Uint8Array)";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function validateClientId(clientId: unknown): asserts clientId is string {
  if (typeof clientId !== "string" || clientId.trim() === "") {
    throw new ConfigurationError(
      "clientId",
      "clientId must be the application (client) id from the app registration, a non-empty string.",
    );
  }
}

/** The rules between options, and those a type cannot say; each option's type is already checked. */
function validateCommonOptions(options: ClientApplicationOptions): void {
  if (options.authority !== undefined && options.oidcAuthority !== undefined) {
    throw new ConfigurationError(
      "oidcAuthority",
      "Give either authority (Entra ID) or oidcAuthority (another OpenID provider), not both.",
    );
  }
  if (options.excludeScopes?.includes("openid")) {
    throw new ConfigurationError(
      "excludeScopes",
      "excludeScopes cannot contain openid: sign-in needs it. Leave out profile or offline_access instead.",
    );
  }
  if (options.fetch !== undefined && (options.proxy !== undefined || options.ca !== undefined)) {
    throw new ConfigurationError(
      options.proxy !== undefined ? "proxy" : "ca",
      "proxy and ca configure the built-in transport; with your own fetch, set them up in it.",
    );
  }
  if (options.ca !== undefined) validateCa(options.ca);
}

const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/;

/**
 * `ca` is PEM text: a file path, a private key or any other text would only fail later, at the
 * first TLS handshake, with an error that does not point back here.
 */
export function validateCa(ca: unknown): void {
  const all = Array.isArray(ca) ? ca : [ca];
  all.forEach((pem, i) => {
    const name = Array.isArray(ca) ? `ca[${i}]` : "ca";
    if (typeof pem !== "string") {
      throw new ConfigurationError(
        "ca",
        `${name} must be ${OPTION_RULES.ca.expected}, got ${describe(pem)}.`,
      );
    }
    if (PEM_CERTIFICATE.test(pem)) return;
    const looksLikePath = !pem.includes("-----BEGIN") && !/[\r\n]/.test(pem);
    throw new ConfigurationError(
      "ca",
      looksLikePath
        ? `${name} takes the CA certificate's PEM text, not a file path${pem.length <= 200 ? ` ("${pem}")` : ""}: write ca: readFileSync(path, "utf8").`
        : `${name} holds no PEM certificate (-----BEGIN CERTIFICATE-----): pass the CA certificates' PEM text, e.g. readFileSync(path, "utf8"), not a key or another format.`,
    );
  });
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

/**
 * Authorities: what kind an authority URL is and what follows from it (spec section 6).
 *
 * | kind | rule | instance discovery | discovery document |
 * |---|---|---|---|
 * | aad  | any other host | for hosts not known to Microsoft, unless turned off | `<authority>/v2.0/.well-known/openid-configuration` |
 * | adfs | tenant `adfs` | never | `<authority>/.well-known/openid-configuration` |
 * | b2c  | `*.b2clogin.com` (and .cn/.us/.de), or `/<tenant>/b2c_<policy>`, or `/tfp/<tenant>/<policy>` | never | `<authority>/v2.0/.well-known/openid-configuration` |
 * | ciam | `*.ciamlogin.com` (tenant defaults to `<subdomain>.onmicrosoft.com`) | never | `https://<host>/<tenant>/v2.0/.well-known/openid-configuration` |
 * | oidc | the `oidcAuthority` option | never | `<oidcAuthority>/.well-known/openid-configuration` |
 */
import { ConfigurationError } from "../errors.js";

export type AuthorityKind = "aad" | "adfs" | "b2c" | "ciam" | "oidc";

export interface Authority {
  kind: AuthorityKind;
  /** The authority URL, normalised (no trailing slash, no query). */
  url: string;
  /** Lower-cased host, with the port when it has one: the cache's `environment`. */
  host: string;
  /** The tenant as given: a GUID, a domain, `common`, `organizations`, `consumers`, or `adfs`. */
  tenant: string;
  /** Where the OpenID configuration is. */
  discoveryUrl: string;
  /** Hosts whose metadata Microsoft publishes: no instance discovery call is needed. */
  knownToMicrosoft: boolean;
  /** ADFS, B2C, CIAM, OIDC or `validateAuthority: false`: the developer vouches for the host. */
  knownToDeveloper: boolean;
}

export const WELL_KNOWN_AUTHORITY_HOSTS: readonly string[] = [
  "login.microsoftonline.com",
  "login.windows.net",
  "login.microsoft.com",
  "sts.windows.net",
  "login.chinacloudapi.cn",
  "login.partner.microsoftonline.cn",
  "login-us.microsoftonline.com",
  "login.microsoftonline.us",
  "login.usgovcloudapi.net",
];

const B2C_HOST_SUFFIXES = [".b2clogin.com", ".b2clogin.cn", ".b2clogin.us", ".b2clogin.de"];
const TENANT_ALIASES = new Set(["common", "organizations", "consumers"]);

function parseHttps(option: string, value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigurationError(
      option,
      `${option} "${value}" is not a URL. Use e.g. https://login.microsoftonline.com/<tenant id or domain>.`,
    );
  }
  if (url.protocol !== "https:") {
    throw new ConfigurationError(
      option,
      `${option} must use https, got "${value}". Authorities are always served over TLS.`,
    );
  }
  return url;
}

/** Parses an authority URL; `validateAuthority: false` makes any host trusted. */
export function parseAuthority(value: string, options: { validateAuthority?: boolean } = {}): Authority {
  const url = parseHttps("authority", value);
  const host = url.host.toLowerCase();
  const segments = url.pathname.split("/").filter(Boolean);
  const base = `https://${host}`;
  if (host.endsWith(".ciamlogin.com")) {
    const tenant = segments[0] ?? `${host.slice(0, host.indexOf("."))}.onmicrosoft.com`;
    return authority(
      "ciam",
      `${base}/${tenant}`,
      host,
      tenant,
      `${base}/${tenant}/v2.0/.well-known/openid-configuration`,
      true,
    );
  }
  const [first] = segments;
  if (!first) {
    throw new ConfigurationError(
      "authority",
      `authority "${value}" has no tenant. Use https://${host}/<tenant id or domain>, or /common, /organizations or /consumers.`,
    );
  }
  const path = `/${segments.join("/")}`;
  const isB2c =
    B2C_HOST_SUFFIXES.some((s) => host.endsWith(s)) ||
    (segments.length === 2 && segments[1]?.toLowerCase().startsWith("b2c_")) ||
    (first.toLowerCase() === "tfp" && segments.length === 3);
  if (isB2c) {
    const tenant = first.toLowerCase() === "tfp" ? (segments[1] as string) : first;
    return authority(
      "b2c",
      `${base}${path}`,
      host,
      tenant,
      `${base}${path}/v2.0/.well-known/openid-configuration`,
      true,
    );
  }
  if (first.toLowerCase() === "adfs") {
    return authority(
      "adfs",
      `${base}/adfs`,
      host,
      "adfs",
      `${base}/adfs/.well-known/openid-configuration`,
      true,
    );
  }
  const known = options.validateAuthority === false;
  return authority(
    "aad",
    `${base}/${first}`,
    host,
    first,
    `${base}/${first}/v2.0/.well-known/openid-configuration`,
    known,
  );
}

/** A generic OpenID Connect provider: discovery is `<url>/.well-known/openid-configuration`. */
export function parseOidcAuthority(value: string): Authority {
  const url = parseHttps("oidcAuthority", value);
  const trimmed = `${url.origin}${url.pathname}`.replace(/\/+$/, "");
  const tenant = url.pathname.split("/").filter(Boolean)[0] ?? "";
  return authority(
    "oidc",
    trimmed,
    url.host.toLowerCase(),
    tenant,
    `${trimmed}/.well-known/openid-configuration`,
    true,
  );
}

function authority(
  kind: AuthorityKind,
  url: string,
  host: string,
  tenant: string,
  discoveryUrl: string,
  knownToDeveloper: boolean,
): Authority {
  return {
    kind,
    url,
    host,
    tenant,
    discoveryUrl,
    knownToMicrosoft: WELL_KNOWN_AUTHORITY_HOSTS.includes(host),
    knownToDeveloper,
  };
}

/**
 * What to do when an authority on a host msal-ts does not know fails instance discovery: the
 * usual cause is an authority that is not Microsoft Entra's at all. Spec 6.2: MSAL Python asks
 * Microsoft's instance discovery about such hosts and refuses them with `invalid_instance`.
 *
 * @example
 * ```ts
 * const authority = parseAuthority("https://login.example.com/tenant");
 * console.log(unknownAuthorityAdvice(authority));
 * ```
 */
export function unknownAuthorityAdvice(authority: Authority): string {
  return `${authority.host} is not a Microsoft Entra ID host that msal-ts knows. For another OpenID Connect provider, pass its issuer as oidcAuthority instead of authority; for ADFS, use https://${authority.host}/adfs; for a private cloud, a custom domain or a test server you trust, add validateAuthority: false.`;
}

/** The same authority with another tenant: for per-request tenant overrides in multi-tenant apps. */
export function withTenant(
  base: Authority,
  tenant: string,
  options: { validateAuthority?: boolean } = {},
): Authority {
  if (base.kind !== "aad") {
    throw new ConfigurationError(
      "tenant",
      `A per-request tenant needs an Entra ID authority; this app's authority is ${base.kind.toUpperCase()} (${base.url}).`,
    );
  }
  return parseAuthority(`https://${base.host}/${encodeURIComponent(tenant)}`, options);
}

/** Whether the tenant names no tenant in particular (multi-tenant endpoints). */
export function isTenantAlias(tenant: string): boolean {
  return TENANT_ALIASES.has(tenant.toLowerCase());
}

/** The Microsoft Entra ID host of the public (worldwide) cloud. */
export const AZURE_PUBLIC = "login.microsoftonline.com";
/** The Microsoft Entra ID host of Azure operated by 21Vianet (China). */
export const AZURE_CHINA = "login.chinacloudapi.cn";
/** The Microsoft Entra ID host of Azure Government (US). */
export const AZURE_US_GOVERNMENT = "login.microsoftonline.us";

/**
 * Builds an authority URL from a cloud's host and a tenant.
 *
 * @example
 * ```ts
 * new ConfidentialClientApplication(id, {
 *   authority: new AuthorityBuilder(AZURE_US_GOVERNMENT, "contoso.onmicrosoft.com"),
 *   clientCredential: secret,
 * });
 * ```
 */
export class AuthorityBuilder {
  constructor(
    /** The cloud's host, e.g. {@link AZURE_PUBLIC}; an `https://` prefix and trailing slashes are allowed. */
    readonly instance: string,
    /** A tenant id or domain, or `common`, `organizations` or `consumers`. */
    readonly tenant: string,
  ) {}

  /** The authority URL: `https://<instance>/<tenant>`. */
  toString(): string {
    const host = this.instance.replace(/^https:\/\//, "").replace(/\/+$/, "");
    return `https://${host}/${this.tenant.replace(/^\/+|\/+$/g, "")}`;
  }
}

/**
 * Azure Storage as a built-in resource of the emulator, so that Azure SDK storage clients can be
 * tested against Azurite (`azurite --oauth basic`) with tokens from the emulator.
 *
 * Storage accepts Entra ID's v1.0 access tokens: their issuer is Entra's public form
 * `https://sts.windows.net/<tenant id>/` (not the v2.0 endpoint's `<authority>/v2.0`), `ver` is
 * `1.0` and the app is `appid`, and `aud` is the resource URI as asked, `https://storage.azure.com`.
 * The emulator issues tokens for that resource (and only those) in this form, as Entra does.
 * Azurite's basic OAuth check accepts exactly this: an issuer starting with
 * `https://sts.windows.net/` (or another national cloud's STS), an audience of
 * `https://storage.azure.com` (or an account's blob endpoint), and a valid `nbf`/`exp`; it does not
 * check the signature. See docs/azure.md.
 * https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { ParsedScopes } from "./scopes.js";
import { createServerCertificate } from "./x509.js";

/** The resource (and token audience) of Azure Storage: blobs, queues, tables, files. */
export const STORAGE_RESOURCE = "https://storage.azure.com";

/** The one delegated permission Azure Storage exposes. */
const STORAGE_PERMISSIONS = new Set(["user_impersonation"]);

/** Entra ID's public issuer form, used by v1.0 access tokens. */
export function publicIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/**
 * The parsed scopes when `resource` is Azure Storage (its name in any letter case, with or without
 * a trailing slash), else `undefined`. An unknown permission is answered as Entra does (AADSTS65005).
 */
export function storageScopes(
  resource: string,
  permissions: string[],
  oidc: Set<string>,
  grantedOidc: string[],
): ParsedScopes | { code: number; error: string; message: string } | undefined {
  if (resource.replace(/\/+$/, "").toLowerCase() !== STORAGE_RESOURCE) return undefined;
  const unknown = permissions.filter((p) => p !== ".default" && !STORAGE_PERMISSIONS.has(p));
  if (unknown.length > 0)
    return {
      code: 65005,
      error: "invalid_client",
      message: `The application asked for scope '${unknown.join(" ")}' that doesn't exist on the resource '${STORAGE_RESOURCE}'. Contact the app vendor.`,
    };
  return {
    oidc,
    resource,
    audience: STORAGE_RESOURCE,
    permissions,
    granted: [...permissions.map((p) => `${resource}/${p}`), ...grantedOidc],
  };
}

/**
 * An access token's claims as the resource receives them: for Azure Storage, the v1.0 form (public
 * issuer, `ver: "1.0"`, `appid`/`appidacr` for `azp`/`azpacr`); for any other resource, unchanged.
 */
export function accessTokenClaims(
  scopes: ParsedScopes,
  claims: Record<string, unknown>,
): Record<string, unknown> {
  if (scopes.audience !== STORAGE_RESOURCE) return claims;
  const { azp, azpacr, ...rest } = claims;
  return {
    ...rest,
    iss: publicIssuer(String(claims.tid)),
    ver: "1.0",
    ...(azp !== undefined ? { appid: azp } : {}),
    ...(azpacr !== undefined ? { appidacr: azpacr } : {}),
  };
}

/**
 * A TLS certificate and key for a local storage emulator (Azurite's `--cert` and `--key`), issued
 * by the CA the emulator was started with (`startEmulator({ certificateAuthority })`), so clients
 * that trust the emulator trust it too. Valid for `localhost`, `127.0.0.1` and `::1`.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { storageEmulatorCertificate } from "msal-ts/emulator";
 *
 * const tls = storageEmulatorCertificate({ certificatePem: caPem, privateKeyPem: caKeyPem });
 * writeFileSync("azurite-cert.pem", tls.certificatePem);
 * writeFileSync("azurite-key.pem", tls.privateKeyPem, { mode: 0o600 });
 * // azurite-blob --oauth basic --cert azurite-cert.pem --key azurite-key.pem
 * ```
 */
export function storageEmulatorCertificate(ca: { certificatePem: string; privateKeyPem: string }): {
  /** The certificate (PEM), for Azurite's `--cert`. */
  certificatePem: string;
  /** Its private key (PEM, PKCS#8), for Azurite's `--key`. */
  privateKeyPem: string;
} {
  const cert = new X509Certificate(ca.certificatePem);
  if (!cert.ca) throw new Error("The CA certificate is not a CA certificate (basicConstraints CA:TRUE).");
  const hex = (fingerprint: string) => fingerprint.replace(/:/g, "");
  const issued = createServerCertificate(
    {
      certificatePem: ca.certificatePem,
      privateKeyPem: ca.privateKeyPem,
      certificateDer: cert.raw,
      privateKey: createPrivateKey(ca.privateKeyPem),
      thumbprintSha1: hex(cert.fingerprint),
      thumbprintSha256: hex(cert.fingerprint256),
      subject: cert.subject.split("\n").join(", "),
    },
    { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1", "::1"] },
  );
  return { certificatePem: issued.certificatePem, privateKeyPem: issued.privateKeyPem };
}

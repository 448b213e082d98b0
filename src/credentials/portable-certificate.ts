/**
 * Preparing a certificate credential without Node: the private key must already be an unencrypted
 * PKCS#8 PEM. The Node entry replaces this with a preparer that also reads PFX files, encrypted
 * PEM and PKCS#1 keys.
 */
import { ConfigurationError } from "../errors.js";
import { certificateThumbprints, extractCerts } from "./certificate.js";
import type { CertificateCredential, PfxCredential, PreparedCertificate } from "./types.js";

export async function preparePortableCertificate(
  credential: CertificateCredential | PfxCredential,
): Promise<PreparedCertificate> {
  if ("pfx" in credential) {
    throw new ConfigurationError(
      "clientCredential",
      'PFX credentials need the Node entry of msal-ts (import from "msal-ts" on Node.js).',
    );
  }
  const key =
    typeof credential.privateKey === "string"
      ? credential.privateKey
      : new TextDecoder().decode(credential.privateKey);
  if (credential.passphrase !== undefined || !key.includes("-----BEGIN PRIVATE KEY-----")) {
    throw new ConfigurationError(
      "clientCredential",
      "Outside Node.js the private key must be an unencrypted PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert it with `openssl pkcs8 -topk8 -nocrypt`.",
    );
  }
  return withThumbprints({ privateKeyPkcs8: key }, credential);
}

/** Fills in thumbprints from the certificate when not given, and `x5c` when the certificate is. */
export async function withThumbprints(
  prepared: PreparedCertificate,
  credential: CertificateCredential,
): Promise<PreparedCertificate> {
  const out: PreparedCertificate = { ...prepared };
  if (credential.thumbprint) out.thumbprintSha1 = credential.thumbprint.replace(/[:\s]/g, "").toUpperCase();
  if (credential.thumbprintSha256)
    out.thumbprintSha256 = credential.thumbprintSha256.replace(/[:\s]/g, "").toUpperCase();
  if (credential.publicCertificate) {
    out.x5c = extractCerts(credential.publicCertificate);
    const derived = await certificateThumbprints(credential.publicCertificate);
    out.thumbprintSha1 ??= derived.sha1;
    out.thumbprintSha256 ??= derived.sha256;
  }
  if (!out.thumbprintSha1 && !out.thumbprintSha256) {
    throw new ConfigurationError(
      "clientCredential",
      "A certificate credential needs `thumbprint`, `thumbprintSha256` or `publicCertificate` to say which certificate the key belongs to.",
    );
  }
  return out;
}

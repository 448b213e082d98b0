/**
 * Certificate credentials: the `private_key_jwt` client assertion (RFC 7523) Entra expects, signed
 * PS256 with `x5t#S256` when the SHA-256 thumbprint is known, else RS256 with `x5t` (ADFS only
 * accepts the latter). An assertion is reused while it is valid: it lives 10 minutes and is
 * replaced after 9. https://learn.microsoft.com/entra/identity-platform/certificate-credentials
 */
import { ConfigurationError } from "../errors.js";
import { decodeBase64, encodeBase64Url } from "../protocol/base64.js";
import type { PreparedCertificate } from "./types.js";

const LIFETIME_SECONDS = 600;
const REUSE_SECONDS = 540;

function hexToBase64Url(hex: string): string {
  const clean = hex.replace(/[:\s]/g, "");
  if (!/^[0-9a-fA-F]+$/.test(clean) || clean.length % 2 !== 0) {
    throw new ConfigurationError(
      "clientCredential",
      `The thumbprint "${hex}" is not hex. Copy it from the certificate's Thumbprint column in the Entra portal.`,
    );
  }
  const bytes = new Uint8Array(clean.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return encodeBase64Url(bytes);
}

/** Each `-----BEGIN CERTIFICATE-----` body of a PEM, as one base64 string (for `x5c`). */
export function extractCerts(pem: string): string[] {
  const bodies = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map(
    (m) => (m[1] as string).replace(/\s+/g, ""),
  );
  if (bodies.length > 0) return bodies;
  if (pem.includes("PRIVATE KEY")) {
    throw new ConfigurationError(
      "publicCertificate",
      "publicCertificate holds a private key; pass the certificate (-----BEGIN CERTIFICATE-----) instead.",
    );
  }
  return [pem.replace(/\s+/g, "")];
}

/** Upper-case hex SHA-1 and SHA-256 thumbprints of a PEM certificate (the first in a chain). */
export async function certificateThumbprints(pem: string): Promise<{ sha1: string; sha256: string }> {
  const der = decodeBase64(extractCerts(pem)[0] as string);
  const hex = async (algorithm: string) =>
    Array.from(new Uint8Array(await crypto.subtle.digest(algorithm, der)), (b) =>
      b.toString(16).padStart(2, "0"),
    )
      .join("")
      .toUpperCase();
  return { sha1: await hex("SHA-1"), sha256: await hex("SHA-256") };
}

export interface AssertionSigner {
  /** A valid assertion for this token endpoint, reused while it is fresh. */
  assertionFor(tokenEndpoint: string, now?: number): Promise<string>;
}

export function certificateSigner(
  certificate: PreparedCertificate,
  options: { clientId: string; clientClaims?: Record<string, unknown>; adfs: boolean },
): AssertionSigner {
  const usePss = certificate.thumbprintSha256 !== undefined && !options.adfs;
  if (!usePss && certificate.thumbprintSha1 === undefined) {
    throw new ConfigurationError(
      "clientCredential",
      "The certificate credential needs its SHA-1 thumbprint (`thumbprint`) for this authority, or the certificate itself (`publicCertificate`) to derive it from.",
    );
  }
  const alg = usePss ? "PS256" : "RS256";
  const header: Record<string, unknown> = { alg, typ: "JWT" };
  if (usePss) header["x5t#S256"] = hexToBase64Url(certificate.thumbprintSha256 as string);
  else header.x5t = hexToBase64Url(certificate.thumbprintSha1 as string);
  if (certificate.x5c) header.x5c = certificate.x5c;
  let key: Promise<CryptoKey> | undefined;
  const issued = new Map<string, { jwt: string; at: number }>();
  return {
    async assertionFor(tokenEndpoint, now = Math.floor(Date.now() / 1000)) {
      const reusable = issued.get(tokenEndpoint);
      if (reusable && now - reusable.at < REUSE_SECONDS) return reusable.jwt;
      // jose is loaded with the first certificate assertion: apps with a secret never pay for it.
      const { importPKCS8, SignJWT } = await import("jose");
      key ??= importPKCS8(certificate.privateKeyPkcs8, alg, { extractable: false }) as Promise<CryptoKey>;
      const jwt = await new SignJWT({
        aud: tokenEndpoint,
        iss: options.clientId,
        sub: options.clientId,
        jti: crypto.randomUUID(),
        iat: now,
        nbf: now,
        exp: now + LIFETIME_SECONDS,
        ...options.clientClaims,
      })
        .setProtectedHeader(header as { alg: string })
        .sign(await key);
      issued.set(tokenEndpoint, { jwt, at: now });
      return jwt;
    },
  };
}

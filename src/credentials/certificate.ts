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

/**
 * Each `-----BEGIN CERTIFICATE-----` body of a PEM, as one base64 string (for `x5c`). Found with
 * `indexOf` rather than a lazy regular expression, which takes time quadratic in the input when
 * it holds many BEGIN lines without an END (25 s for 1 MB).
 */
export function extractCerts(pem: string): string[] {
  const begin = "-----BEGIN CERTIFICATE-----";
  const end = "-----END CERTIFICATE-----";
  const bodies: string[] = [];
  for (let at = pem.indexOf(begin); at !== -1; at = pem.indexOf(begin, at)) {
    const stop = pem.indexOf(end, at + begin.length);
    if (stop === -1) break;
    bodies.push(pem.slice(at + begin.length, stop).replace(/\s+/g, ""));
    at = stop + end.length;
  }
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

const utf8 = new TextEncoder();
const jsonPart = (value: unknown) => encodeBase64Url(utf8.encode(JSON.stringify(value)));

/** An RSA private key (unencrypted PKCS#8 PEM) for RS256 (PKCS#1 v1.5) or PS256 (PSS), through Web Crypto. */
function importSigningKey(pkcs8Pem: string, pss: boolean): Promise<CryptoKey> {
  const der = decodeBase64(pkcs8Pem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, "").replace(/\s+/g, ""));
  return crypto.subtle.importKey(
    "pkcs8",
    der,
    { name: pss ? "RSA-PSS" : "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false,
    ["sign"],
  );
}

/** A compact JWS (RFC 7515): base64url(header).base64url(payload).base64url(signature). */
async function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: CryptoKey,
  pss: boolean,
): Promise<string> {
  const signingInput = `${jsonPart(header)}.${jsonPart(payload)}`;
  // PS256 uses a salt as long as the SHA-256 digest (RFC 7518 section 3.5).
  const algorithm = pss ? { name: "RSA-PSS", saltLength: 32 } : { name: "RSASSA-PKCS1-v1_5" };
  const signature = await crypto.subtle.sign(algorithm, key, utf8.encode(signingInput));
  return `${signingInput}.${encodeBase64Url(new Uint8Array(signature))}`;
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
      key ??= importSigningKey(certificate.privateKeyPkcs8, usePss);
      const payload = {
        aud: tokenEndpoint,
        iss: options.clientId,
        sub: options.clientId,
        jti: crypto.randomUUID(),
        iat: now,
        nbf: now,
        exp: now + LIFETIME_SECONDS,
        ...options.clientClaims,
      };
      const jwt = await signJwt(header, payload, await key, usePss);
      issued.set(tokenEndpoint, { jwt, at: now });
      return jwt;
    },
  };
}

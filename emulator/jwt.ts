/**
 * Compact JWS signing and verification for the emulator (RS256 and PS256), on `node:crypto`.
 * The emulator is the independent "other side" of msal-ts, so it does not share the library's JOSE code.
 */
import { constants, createPublicKey, type KeyObject, sign, verify } from "node:crypto";

export function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString("base64url");
}

export function decodeBase64url(input: string): Buffer {
  return Buffer.from(input.replace(/\+/g, "-").replace(/\//g, "_"), "base64url");
}

export type JwtAlgorithm = "RS256" | "PS256";

const SIGNATURE_OPTIONS: Record<JwtAlgorithm, object> = {
  RS256: {},
  PS256: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
};

export function signJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
  alg: JwtAlgorithm = "RS256",
): string {
  const signingInput = `${base64url(JSON.stringify({ ...header, alg }))}.${base64url(JSON.stringify(payload))}`;
  const signature = sign("sha256", Buffer.from(signingInput), { key, ...SIGNATURE_OPTIONS[alg] });
  return `${signingInput}.${base64url(signature)}`;
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a JWT without checking its signature; `undefined` when it is not a JWT. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(decodeBase64url(parts[0] as string).toString("utf8"));
    const payload = JSON.parse(decodeBase64url(parts[1] as string).toString("utf8"));
    if (typeof header !== "object" || header === null || typeof payload !== "object" || payload === null)
      return undefined;
    return {
      header,
      payload,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: decodeBase64url(parts[2] as string),
    };
  } catch {
    return undefined;
  }
}

export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject | string): boolean {
  const alg = jwt.header.alg;
  if (alg !== "RS256" && alg !== "PS256") return false;
  const publicKey = typeof key === "string" ? createPublicKey(key) : key;
  return verify(
    "sha256",
    Buffer.from(jwt.signingInput),
    { key: publicKey, ...SIGNATURE_OPTIONS[alg] },
    jwt.signature,
  );
}

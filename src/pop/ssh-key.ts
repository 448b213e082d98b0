/**
 * The `data` of an SSH certificate request (spec section 3.10) from a public key as people have it:
 * an OpenSSH line (`ssh-rsa AAAA... comment`) or a PEM (`BEGIN PUBLIC KEY`, SPKI, or `BEGIN RSA
 * PUBLIC KEY`, PKCS#1). Entra signs RSA keys only. The parsing is bounded: the input's length and
 * every length field inside it are checked before use.
 */
import { ArgumentError } from "../errors.js";
import { decodeBase64, encodeBase64Url } from "../protocol/base64.js";
import { jwkThumbprint, type PopPublicJwk } from "./key-store.js";

/** Longer than any RSA public key in either format (a 16384-bit key's OpenSSH line is under 3 KiB). */
const MAX_KEY_TEXT = 16_384;

/** The request fields that ask for an SSH certificate: pass them as `data`. */
export interface SshCertificateData {
  [field: string]: string;
  /** Always `ssh-cert`. */
  token_type: "ssh-cert";
  /** Names the key; the cache keeps the certificate under it. */
  key_id: string;
  /** The public key as a JWK JSON string (RFC 7517) with its `kid`. */
  req_cnf: string;
}

const bad = (why: string) =>
  new ArgumentError(
    "publicKey",
    `The public key could not be read (${why}): give an OpenSSH RSA line ("ssh-rsa AAAA...") or a PEM "PUBLIC KEY" / "RSA PUBLIC KEY".`,
  );

/** Reads the length-prefixed fields of an OpenSSH key blob (RFC 4253 section 6.6). */
function sshFields(blob: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const fields: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > blob.length) throw bad("the key blob ends early");
    const length = view.getUint32(at);
    at += 4;
    if (length > blob.length - at) throw bad("a length field points past the key blob");
    fields.push(blob.subarray(at, at + length));
    at += length;
  }
  return fields;
}

/** An unsigned big-endian integer without its leading zero bytes (JWK's form, RFC 7518 section 6.3.1). */
function unsigned(bytes: Uint8Array): string {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  return encodeBase64Url(bytes.subarray(start));
}

async function fromPem(pem: string): Promise<PopPublicJwk> {
  const match = /-----BEGIN (RSA )?PUBLIC KEY-----([\s\S]*?)-----END \1?PUBLIC KEY-----/.exec(pem);
  if (!match) throw bad("no PUBLIC KEY block");
  let der: Uint8Array;
  try {
    der = decodeBase64((match[2] ?? "").replace(/\s+/g, ""));
  } catch {
    throw bad("the PEM body is not base64");
  }
  const spki = match[1] ? pkcs1ToSpki(der) : der;
  try {
    const key = await crypto.subtle.importKey(
      "spki",
      spki as Uint8Array<ArrayBuffer>,
      { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
      true,
      ["verify"],
    );
    const jwk = await crypto.subtle.exportKey("jwk", key);
    return { kty: "RSA", n: String(jwk.n), e: String(jwk.e) };
  } catch {
    throw bad("not an RSA public key");
  }
}

/** DER length octets (X.690 section 8.1.3). */
function derLength(length: number): number[] {
  if (length < 0x80) return [length];
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return [0x80 | bytes.length, ...bytes];
}

/** Wraps a PKCS#1 RSAPublicKey in the SPKI structure Web Crypto imports (RFC 5280 section 4.1). */
function pkcs1ToSpki(pkcs1: Uint8Array): Uint8Array {
  const algorithm = [
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
  ];
  const bitString = [0x03, ...derLength(pkcs1.length + 1), 0x00];
  const body = [...algorithm, ...bitString];
  return new Uint8Array([0x30, ...derLength(body.length + pkcs1.length), ...body, ...pkcs1]);
}

function fromOpenSsh(line: string): PopPublicJwk {
  const [type, body] = line.trim().split(/\s+/);
  if (type !== "ssh-rsa") throw bad(`key type ${type ?? "missing"}; Entra signs ssh-rsa keys only`);
  let blob: Uint8Array;
  try {
    blob = decodeBase64(body ?? "");
  } catch {
    throw bad("the key body is not base64");
  }
  const [name, e, n] = sshFields(blob, 3) as [Uint8Array, Uint8Array, Uint8Array];
  if (new TextDecoder().decode(name) !== "ssh-rsa") throw bad("the key blob is not ssh-rsa");
  return { kty: "RSA", n: unsigned(n), e: unsigned(e) };
}

/**
 * The RSA public key of an OpenSSH line or a PEM, as a JWK.
 *
 * @example
 * ```ts
 * const jwk = await publicKeyToJwk(await readFile(`${homedir()}/.ssh/id_rsa.pub`, "utf8"));
 * ```
 * @throws ArgumentError when the text is no RSA public key in either format.
 */
export async function publicKeyToJwk(publicKey: string): Promise<PopPublicJwk> {
  if (typeof publicKey !== "string" || publicKey.length > MAX_KEY_TEXT)
    throw bad(`not a string of at most ${MAX_KEY_TEXT} characters`);
  return publicKey.includes("-----BEGIN") ? fromPem(publicKey) : fromOpenSsh(publicKey);
}

/**
 * The `data` that asks for an SSH certificate for a public key: `token_type: "ssh-cert"`, `key_id`
 * (default: the key's RFC 7638 thumbprint) and `req_cnf`, the key as a JWK JSON string naming that
 * `kid`. Ask for the scope `https://pas.windows.net/CheckMyAccess/Linux/.default`.
 *
 * @example
 * ```ts
 * const data = await sshCertificateRequestData(await readFile("id_rsa.pub", "utf8"));
 * const cert = await app.acquireTokenSilent(["https://pas.windows.net/CheckMyAccess/Linux/.default"], account, { data });
 * if (cert) await writeFile("id_rsa-cert.pub", `ssh-rsa-cert-v01@openssh.com ${cert.access_token}\n`);
 * ```
 */
export async function sshCertificateRequestData(
  publicKey: string,
  keyId?: string,
): Promise<SshCertificateData> {
  const jwk = await publicKeyToJwk(publicKey);
  const kid = keyId ?? (await jwkThumbprint(jwk));
  return { token_type: "ssh-cert", key_id: kid, req_cnf: JSON.stringify({ ...jwk, kid }) };
}

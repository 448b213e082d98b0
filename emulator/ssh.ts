/**
 * OpenSSH user certificates, as Entra ID issues them for Azure Linux VM sign-in (`az ssh`): a token
 * request for `https://pas.windows.net/CheckMyAccess/Linux/.default` with `token_type=ssh-cert`,
 * `key_id` and `req_cnf` (the user's RSA public key as a JWK in a JSON string) is answered with
 * `token_type: "ssh-cert"` and an `access_token` that is the certificate's base64 body, the part of a
 * `-cert.pub` line after its `ssh-rsa-cert-v01@openssh.com` prefix (the Azure CLI adds the prefix
 * when it writes the file). The emulator signs with an Ed25519 CA of its own that tests and hosts trust
 * through `TrustedUserCAKeys`.
 * Format: https://cvsweb.openbsd.org/src/usr.bin/ssh/PROTOCOL.certkeys
 * Framing (string, uint32, uint64, mpint): RFC 4251 section 5.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { type EntraError, type ErrorContext, entraError } from "./errors.js";
import { decodeBase64url } from "./jwt.js";
import { nowSeconds, type World } from "./world.js";

/** The scope the Azure CLI asks for an SSH certificate with. */
export const SSH_CERT_SCOPE = "https://pas.windows.net/CheckMyAccess/Linux/.default";

const CERT_TYPE = "ssh-rsa-cert-v01@openssh.com";
const USER_CERT = 1;
/** What a certificate lets the session do; OpenSSH wants extensions sorted by name. */
const EXTENSIONS = [
  "permit-X11-forwarding",
  "permit-agent-forwarding",
  "permit-port-forwarding",
  "permit-pty",
  "permit-user-rc",
];
/** The Azure CLI's key ids are 64 hex digits; the bound keeps what a client sends out of the certificate small. */
const MAX_KEY_ID_LENGTH = 256;
/** Accepted a little before issue, so a host whose clock is behind still takes a new certificate. */
const BACKDATE_SECONDS = 300;

interface SshCa {
  privateKey: KeyObject;
  /** The CA's public key in SSH wire form (`string "ssh-ed25519" || string key`). */
  publicBlob: Buffer;
}

// One CA per running emulator, made when first needed; keyed by the emulator's URL so that code in
// the same process that holds only the URL (tests, `startEmulator`'s caller) can read the public key.
const authorities = new Map<string, SshCa>();

function certificateAuthority(baseUrl: string): SshCa {
  const existing = authorities.get(baseUrl);
  if (existing) return existing;
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = decodeBase64url(String(publicKey.export({ format: "jwk" }).x));
  const ca = { privateKey, publicBlob: Buffer.concat([sshString("ssh-ed25519"), sshString(raw)]) };
  authorities.set(baseUrl, ca);
  return ca;
}

/**
 * The emulator's SSH CA public key as an OpenSSH line (`ssh-ed25519 AAAA... msal-ts emulator SSH CA`),
 * for `TrustedUserCAKeys`. `emulatorUrl` is the `url` of an emulator started in this process.
 *
 * @example
 * ```ts
 * import { writeFileSync } from "node:fs";
 * import { sshCaPublicKey, startEmulator } from "msal-ts/emulator";
 *
 * const emulator = await startEmulator();
 * writeFileSync("/etc/ssh/emulator_ca.pub", `${sshCaPublicKey(emulator.url)}\n`);
 * ```
 */
export function sshCaPublicKey(emulatorUrl: string): string {
  const ca = certificateAuthority(emulatorUrl);
  return `ssh-ed25519 ${ca.publicBlob.toString("base64")} msal-ts emulator SSH CA`;
}

function sshString(value: Buffer | string): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : value;
  const length = Buffer.alloc(4);
  length.writeUInt32BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value);
  return out;
}

function uint64(value: bigint): Buffer {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(value);
  return out;
}

/** RFC 4251 mpint for a non-negative integer given big-endian: no leading zeros, one 0x00 if the top bit is set. */
function mpint(magnitude: Buffer): Buffer {
  let start = 0;
  while (start < magnitude.length && magnitude[start] === 0) start++;
  const bytes = magnitude.subarray(start);
  const top = bytes[0];
  return sshString(top !== undefined && top >= 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** What the token request asks to be certified. */
export interface SshCertRequest {
  /** The client's name for the key (`key_id`); it becomes the certificate's key id. */
  keyId: string;
  /** RSA public exponent and modulus, big-endian. */
  e: Buffer;
  n: Buffer;
}

function invalidParameter(ctx: ErrorContext, name: string, why: string): EntraError {
  return entraError(ctx, "invalid_request", 90100, `The '${name}' parameter is empty or not valid: ${why}`);
}

function missingParameter(ctx: ErrorContext, name: string): EntraError {
  return entraError(
    ctx,
    "invalid_request",
    900144,
    `The request body must contain the following parameter: '${name}'.`,
  );
}

/** Reads `key_id` and `req_cnf` of a `token_type=ssh-cert` request, or the error Entra-style. */
export function sshCertRequest(form: URLSearchParams, ctx: ErrorContext): SshCertRequest | EntraError {
  const keyId = form.get("key_id");
  if (!keyId) return missingParameter(ctx, "key_id");
  if (keyId.length > MAX_KEY_ID_LENGTH)
    return invalidParameter(ctx, "key_id", `it must be at most ${MAX_KEY_ID_LENGTH} characters.`);
  const reqCnf = form.get("req_cnf");
  if (!reqCnf) return missingParameter(ctx, "req_cnf");
  let jwk: unknown;
  try {
    jwk = JSON.parse(reqCnf);
  } catch {
    return invalidParameter(ctx, "req_cnf", "it must be an RSA public key as a JWK in a JSON string.");
  }
  const { kty, n, e } = (typeof jwk === "object" && jwk !== null ? jwk : {}) as Record<string, unknown>;
  if (kty !== "RSA" || typeof n !== "string" || typeof e !== "string" || n === "" || e === "")
    return invalidParameter(ctx, "req_cnf", "it must be a JWK with kty 'RSA' and the key's 'n' and 'e'.");
  // The Azure CLI sends base64url; standard base64 decodes the same way here.
  const modulus = decodeBase64url(n);
  if (modulus.length < 256 || modulus.length > 2048)
    return invalidParameter(ctx, "req_cnf", "the RSA modulus must have 2048 to 16384 bits.");
  return { keyId, e: decodeBase64url(e), n: modulus };
}

/** The certificate's fields other than the key, all chosen by the issuer. */
export interface SshCertificateFields {
  /** Who may sign in with it: the user's UPN for a user, the service principal's id for an app. */
  principal: string;
  /** Lifetime in seconds from now. */
  lifetime: number;
}

/**
 * An OpenSSH user certificate for the requested RSA key, signed by the emulator's CA: the base64 body
 * of a `-cert.pub` line (without the `ssh-rsa-cert-v01@openssh.com` type in front).
 */
export function issueSshCertificate(
  world: World,
  request: SshCertRequest,
  fields: SshCertificateFields,
): string {
  const ca = certificateAuthority(world.baseUrl);
  const now = BigInt(nowSeconds());
  const extensions = Buffer.concat(EXTENSIONS.flatMap((name) => [sshString(name), sshString("")]));
  const signed = Buffer.concat([
    sshString(CERT_TYPE),
    sshString(randomBytes(32)),
    mpint(request.e),
    mpint(request.n),
    randomBytes(8), // serial
    uint32(USER_CERT),
    sshString(request.keyId),
    sshString(sshString(fields.principal)),
    uint64(now - BigInt(BACKDATE_SECONDS)),
    uint64(now + BigInt(fields.lifetime)),
    sshString(""), // critical options: none
    sshString(extensions),
    sshString(""), // reserved
    sshString(ca.publicBlob),
  ]);
  // Ed25519 signs the message itself (no separate digest): RFC 8709 section 6.
  const signature = sign(null, signed, ca.privateKey);
  const blob = Buffer.concat([
    signed,
    sshString(Buffer.concat([sshString("ssh-ed25519"), sshString(signature)])),
  ]);
  return blob.toString("base64");
}

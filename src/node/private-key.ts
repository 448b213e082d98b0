/**
 * Private keys and certificates for confidential clients that authenticate with a certificate:
 * reading the key the user gives (PEM or DER, encrypted or not) into one form, and the values a
 * client assertion needs from the certificate (thumbprints for `x5t` / `x5t#S256`, the DER for
 * `x5c`). Everything here uses `node:crypto`; PKCS#12 / PFX files are read by `./pkcs12.ts`.
 */

import type { KeyObject, X509Certificate } from "node:crypto";
import { type CredentialErrorCode, MsalError } from "../errors.js";
import { nodeCrypto } from "./builtins.js";
import {
  DerError,
  DerLimitError,
  type DerNode,
  integer,
  octets,
  oid,
  parseDer,
  sequence,
  Tag,
  TagClass,
} from "./der.js";

/** The stable codes of {@link CredentialError}. */
export type { CredentialErrorCode };

/**
 * A private key, certificate or PKCS#12 / PFX file could not be read: wrong or missing
 * passphrase, damaged input, or an algorithm msal-ts does not implement. `code` says which; the
 * message says what to do.
 *
 * @example
 * ```ts
 * try {
 *   new ConfidentialClientApplication(clientId, {
 *     authority,
 *     clientCredential: { pfx: await readFile("app.pfx"), passphrase: process.env.PFX_PASSPHRASE },
 *   });
 * } catch (e) {
 *   if (e instanceof CredentialError && e.code === "pfx_wrong_passphrase") console.error("Wrong PFX passphrase: set PFX_PASSPHRASE to the one the file was exported with.");
 * }
 * ```
 */
export class CredentialError extends MsalError {
  /** Which part of the credential could not be read. */
  declare readonly code: CredentialErrorCode;

  constructor(code: CredentialErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * What a key file or PFX may ask of the machine that reads it. Each is checked before the work it
 * bounds is done, so a hostile file of a few hundred bytes is refused in microseconds instead of
 * asking for gigabytes of key material or minutes of hashing (`*_limit_exceeded` errors).
 *
 * - `maxInputBytes`: a key with its certificate chain is a few KB; 1 MiB leaves room for any
 *   real chain and bounds every parse's time and memory.
 * - `maxIterations`: PBKDF2 and PKCS#12 KDF iteration counts. OpenSSL 3 writes 2048, Windows
 *   2000, Java 10,000; 600,000 is OWASP's 2023 figure for PBKDF2-HMAC-SHA256, the most any
 *   guidance asks for. It costs about 0.15 s in native PBKDF2 and 0.7 to 1.8 s in the PKCS#12
 *   KDF, which Node has no native form of.
 * - `maxDerivationWork`: iterations times hash blocks derived, summed over one PFX and checked
 *   before each derivation, so that many encrypted bags cannot multiply the cost of one: a file
 *   asking for more is refused when its next derivation would pass the sum, after at most a few
 *   seconds of hashing. 1.8 million is what OpenSSL 3 needs for `-iter 600000` (a MAC and two
 *   PBES2 contents); `-legacy`, with six derivations, fits up to `-iter 300000`.
 * - `maxSaltBytes`: tools write 8 to 20 bytes.
 * - `maxScryptCost`: N × r × p for scrypt-encrypted PKCS#8 keys; `openssl pkcs8 -scrypt`
 *   writes 2^17 (N 16384, r 8, p 1), and OpenSSL caps scrypt's memory at 32 MiB itself.
 *
 * @example
 * ```ts
 * if (pfx.length > CREDENTIAL_LIMITS.maxInputBytes) refuse();
 * ```
 */
export const CREDENTIAL_LIMITS = {
  maxInputBytes: 1024 * 1024,
  maxIterations: 600_000,
  maxDerivationWork: 1_800_000,
  maxSaltBytes: 1024,
  maxScryptCost: 2 ** 20,
} as const;

/** A private key in the one form the rest of msal-ts uses. */
export interface NormalisedPrivateKey {
  /** Unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
  pkcs8Pem: string;
  /** `rsa` (signs RS256 / PS256) or `ec` (P-256, P-384 or P-521: ES256, ES384, ES512). */
  publicKeyAlgorithm: "rsa" | "ec";
}

const MESSAGES = {
  passphraseRequired:
    "The private key is encrypted and no passphrase was given: pass the passphrase it was encrypted with.",
  wrongPassphrase:
    "The private key could not be decrypted with the passphrase given: the passphrase is wrong. Pass the passphrase the key was encrypted with.",
  malformed:
    'The private key could not be read: give a PEM private key (PKCS#8 "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY") or its DER bytes.',
  certificateMalformed:
    'The certificate could not be read: give a PEM certificate ("-----BEGIN CERTIFICATE-----").',
} as const;

/** The `private_key_limit_exceeded` error; `detail` says which limit the key broke. */
function keyLimit(detail: string, cause?: unknown): CredentialError {
  return new CredentialError(
    "private_key_limit_exceeded",
    `The private key was refused before decrypting it: ${detail}. It is damaged or made to exhaust the machine that reads it; if it is yours, encrypt it again with OpenSSL 3's defaults: openssl pkcs8 -topk8 -in key.pem -out key-encrypted.pem.`,
    { cause },
  );
}

const PBE_OID = {
  pbes2: "1.2.840.113549.1.5.13",
  pbkdf2: "1.2.840.113549.1.5.12",
  scrypt: "1.3.6.1.4.1.11591.4.11",
} as const;

/** The largest key any cipher OpenSSL offers for PKCS#8 takes, in bytes. */
const MAX_CIPHER_KEY_BYTES = 64;

const isInteger = (node: DerNode | undefined): node is DerNode =>
  node?.tagClass === TagClass.universal && node.tag === Tag.integer;

/**
 * Checks the costs an EncryptedPrivateKeyInfo (RFC 5958) asks for before OpenSSL pays them:
 * OpenSSL bounds scrypt's memory and checks PBKDF2's key length against the cipher, but runs
 * any iteration count it is given. Parameters OpenSSL cannot read are left for it to refuse.
 */
function checkKeyEncryption(der: Uint8Array): void {
  const { maxIterations, maxSaltBytes, maxScryptCost } = CREDENTIAL_LIMITS;
  try {
    const [algorithm] = sequence(parseDer(der), "EncryptedPrivateKeyInfo");
    const [id, params] = sequence(algorithm, "AlgorithmIdentifier");
    if (oid(id) !== PBE_OID.pbes2) {
      // PBES1 and the PKCS#12 PBEs (RFC 8018 A.3, RFC 7292 appendix C): { salt, iterationCount }.
      const fields = params?.constructed ? sequence(params, "PBEParameter") : [];
      if (isInteger(fields[1])) integer(fields[1], "the iteration count", maxIterations);
      return;
    }
    const [kdf] = sequence(params, "PBES2-params");
    const [kdfId, kdfParams] = sequence(kdf, "keyDerivationFunc");
    const kdfOid = oid(kdfId);
    if (kdfOid !== PBE_OID.pbkdf2 && kdfOid !== PBE_OID.scrypt) return;
    const fields = sequence(kdfParams, "KDF parameters");
    const salt = octets(fields[0], "salt");
    if (salt.length > maxSaltBytes)
      throw keyLimit(`the salt is ${salt.length} bytes, above the limit of ${maxSaltBytes}`);
    // PBKDF2-params (RFC 8018 A.2): salt, iterationCount, keyLength?, prf?.
    // scrypt-params (RFC 7914 section 7.1): salt, N, r, p, keyLength?.
    const numbers = fields.slice(1).filter(isInteger);
    if (kdfOid === PBE_OID.pbkdf2) {
      integer(numbers[0], "the iteration count", maxIterations);
      if (numbers[1]) integer(numbers[1], "the key length in bytes", MAX_CIPHER_KEY_BYTES);
      return;
    }
    const [n, r, p] = numbers.slice(0, 3).map((f) => integer(f, "a scrypt parameter", maxScryptCost));
    const cost = (n ?? 0) * (r ?? 0) * (p ?? 0);
    if (cost > maxScryptCost)
      throw keyLimit(`scrypt's cost N × r × p is ${cost}, above the limit of ${maxScryptCost}`);
  } catch (e) {
    if (e instanceof CredentialError) throw e;
    if (e instanceof DerLimitError) throw keyLimit(e.message, e);
    throw new CredentialError("private_key_malformed", MESSAGES.malformed, { cause: e });
  }
}

/** The DER of each `ENCRYPTED PRIVATE KEY` block, found without a regular expression that could backtrack. */
function encryptedPemBlocks(text: string): Buffer[] {
  const begin = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
  const end = "-----END ENCRYPTED PRIVATE KEY-----";
  const blocks: Buffer[] = [];
  for (let at = text.indexOf(begin); at !== -1; at = text.indexOf(begin, at)) {
    const stop = text.indexOf(end, at + begin.length);
    if (stop === -1) break;
    blocks.push(Buffer.from(text.slice(at + begin.length, stop), "base64"));
    at = stop + end.length;
  }
  return blocks;
}

const SUPPORTED_CURVES = new Set(["prime256v1", "secp384r1", "secp521r1"]);

type KeyInput =
  | { key: string; format: "pem" }
  | { key: Buffer; format: "der"; type: "pkcs8" | "pkcs1" | "sec1" };

/** Decodes a Uint8Array that holds PEM text, or returns undefined for DER. */
function pemText(bytes: Uint8Array): string | undefined {
  const head = Buffer.from(bytes.subarray(0, 64)).toString("latin1");
  return /^(\uFEFF|\u00EF\u00BB\u00BF)?\s*-----BEGIN /.test(head)
    ? Buffer.from(bytes).toString("utf8")
    : undefined;
}

/** Candidate decodings of DER bytes, and whether the key in them is encrypted. */
function derInputs(bytes: Uint8Array): { inputs: KeyInput[]; encrypted: boolean } {
  let first: ReturnType<typeof sequence>[number] | undefined;
  try {
    first = sequence(parseDer(bytes), "private key")[0];
  } catch (e) {
    if (e instanceof DerLimitError) throw keyLimit(e.message, e);
    if (e instanceof DerError)
      throw new CredentialError("private_key_malformed", MESSAGES.malformed, { cause: e });
    throw e;
  }
  const key = Buffer.from(bytes);
  // EncryptedPrivateKeyInfo starts with an AlgorithmIdentifier; the others start with a version.
  if (first?.tagClass === TagClass.universal && first.tag === Tag.sequence) {
    checkKeyEncryption(bytes);
    return { inputs: [{ key, format: "der", type: "pkcs8" }], encrypted: true };
  }
  const types = ["pkcs8", "pkcs1", "sec1"] as const;
  return { inputs: types.map((type) => ({ key, format: "der", type })), encrypted: false };
}

function load(inputs: KeyInput[], encrypted: boolean, passphrase: string | undefined): KeyObject {
  if (encrypted) {
    const [input] = inputs;
    if (!input) throw new CredentialError("private_key_malformed", MESSAGES.malformed);
    if (!passphrase) {
      // An empty passphrase is a passphrase too (`-passout pass:`); try it before asking for one.
      try {
        return nodeCrypto().createPrivateKey({ ...input, passphrase: "" });
      } catch (e) {
        throw new CredentialError("private_key_passphrase_required", MESSAGES.passphraseRequired, {
          cause: e,
        });
      }
    }
    try {
      return nodeCrypto().createPrivateKey({ ...input, passphrase });
    } catch (e) {
      throw new CredentialError("private_key_wrong_passphrase", MESSAGES.wrongPassphrase, { cause: e });
    }
  }
  let cause: unknown;
  for (const input of inputs) {
    try {
      return nodeCrypto().createPrivateKey(input);
    } catch (e) {
      cause = e;
    }
  }
  throw new CredentialError("private_key_malformed", MESSAGES.malformed, { cause });
}

/**
 * Checks that a key can sign client assertions (RSA, or EC on P-256 / P-384 / P-521) and gives
 * its algorithm family.
 *
 * @example
 * ```ts
 * const algorithm = signingKeyAlgorithm(nodeCrypto().createPrivateKey(pem)); // "rsa"
 * ```
 */
export function signingKeyAlgorithm(key: KeyObject): "rsa" | "ec" {
  const type = key.asymmetricKeyType;
  if (type === "rsa") return "rsa";
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (type === "ec" && curve && SUPPORTED_CURVES.has(curve)) return "ec";
  const what =
    type === "ec" ? `an EC key on curve ${curve ?? "(unnamed)"}` : `a key of type ${type ?? "(none)"}`;
  throw new CredentialError(
    "private_key_unsupported_algorithm",
    `The private key is ${what}; client assertions are signed with RSA keys or EC keys on P-256, P-384 or P-521: use one of those.`,
  );
}

/**
 * Reads a private key, decrypting it if needed, and gives it back as unencrypted PKCS#8 PEM.
 *
 * Accepts PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8 (`ENCRYPTED PRIVATE KEY`, PBES2 or the PKCS#12
 * 3DES PBE), PKCS#1 (`RSA PRIVATE KEY`, including OpenSSL's `Proc-Type: 4,ENCRYPTED` form) and
 * SEC 1 (`EC PRIVATE KEY`), as PEM text or as the DER bytes. A PEM file may hold certificates too.
 * The passphrase is ignored for a key that is not encrypted; an empty one counts as absent.
 *
 * Input over {@link CREDENTIAL_LIMITS}' 1 MiB, and encryption that asks for more iterations or
 * memory than those limits allow, are refused before any decryption is tried.
 *
 * @throws {@link CredentialError} `private_key_passphrase_required`, `private_key_wrong_passphrase`,
 * `private_key_malformed`, `private_key_unsupported_algorithm` or `private_key_limit_exceeded`.
 *
 * @example
 * ```ts
 * const { pkcs8Pem, publicKeyAlgorithm } = normalisePrivateKey(readFileSync("key.pem", "utf8"), "secret");
 * ```
 */
export function normalisePrivateKey(pem: string | Uint8Array, passphrase?: string): NormalisedPrivateKey {
  const size = typeof pem === "string" ? Buffer.byteLength(pem) : pem.length;
  if (size > CREDENTIAL_LIMITS.maxInputBytes)
    throw keyLimit(`it is ${size} bytes, above the limit of ${CREDENTIAL_LIMITS.maxInputBytes}`);
  const text = typeof pem === "string" ? pem : pemText(pem);
  let inputs: KeyInput[];
  let encrypted: boolean;
  if (text === undefined) {
    ({ inputs, encrypted } = derInputs(pem as Uint8Array));
  } else {
    if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
      throw new CredentialError("private_key_malformed", MESSAGES.malformed);
    }
    inputs = [{ key: text, format: "pem" }];
    const blocks = encryptedPemBlocks(text);
    for (const der of blocks) checkKeyEncryption(der);
    encrypted =
      text.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || /Proc-Type:\s*4\s*,\s*ENCRYPTED/.test(text);
  }
  const key = load(inputs, encrypted, passphrase);
  const publicKeyAlgorithm = signingKeyAlgorithm(key);
  return { pkcs8Pem: key.export({ type: "pkcs8", format: "pem" }).toString(), publicKeyAlgorithm };
}

function certificate(pem: string): X509Certificate {
  try {
    return new (nodeCrypto().X509Certificate)(pem);
  } catch (e) {
    throw new CredentialError("certificate_malformed", MESSAGES.certificateMalformed, { cause: e });
  }
}

/**
 * The SHA-1 and SHA-256 thumbprints of a certificate: upper-case hex digests of its DER, as the
 * Entra admin center shows them and as `x5t` / `x5t#S256` carry them (base64url of the same
 * bytes). With several certificates in the PEM, the first one counts.
 *
 * @throws {@link CredentialError} `certificate_malformed`.
 *
 * @example
 * ```ts
 * const { sha1, sha256 } = certificateThumbprints(readFileSync("cert.pem", "utf8"));
 * // sha1: "5AB7AC8E2890878FF82FFADC51F3267A64CACFDD"
 * ```
 */
export function certificateThumbprints(certPem: string): { sha1: string; sha256: string } {
  const der = certificate(certPem).raw;
  const hex = (algorithm: string) =>
    nodeCrypto().createHash(algorithm).update(der).digest("hex").toUpperCase();
  return { sha1: hex("sha1"), sha256: hex("sha256") };
}

/**
 * A certificate's DER as one base64 string (no line breaks, no PEM armour), the form of an `x5c`
 * entry. With several certificates in the PEM, the first one counts.
 *
 * @throws {@link CredentialError} `certificate_malformed`.
 *
 * @example
 * ```ts
 * const x5c = chainPem.map(certificateDerBase64);
 * ```
 */
export function certificateDerBase64(certPem: string): string {
  return certificate(certPem).raw.toString("base64");
}
